"""Each worker's presence heartbeat, when presence is shared (Redis): every few seconds the
worker refreshes the entries of the sockets it holds, so they outlive it by at most their
expiry; tells the session room when someone's entry expired (their worker died); and takes
its sockets out of sessions someone was removed from on another worker."""

from __future__ import annotations

import logging

from flask import Flask

from server.extensions import socketio
from server.realtime.presence import HEARTBEAT_SECONDS
from server.realtime.publish import broadcast_presence, session_room

log = logging.getLogger("mend.presence")


def heartbeat_once(app: Flask) -> set[str]:
    """One beat; returns the sessions whose presence was broadcast."""
    changed, drop = app.extensions["mend"].presence.heartbeat()
    for sid, session_id in drop:
        socketio.server.leave_room(sid, session_room(session_id), namespace="/")
    with app.app_context():
        for session_id in changed:
            broadcast_presence(session_id)
    return changed


def loop(app: Flask) -> None:
    server = socketio.server
    database = app.extensions["mend"].database
    # Until the app's database is closed, or (tests) the one SocketIO serves a new app.
    while socketio.server is server and not database.closed:
        try:
            heartbeat_once(app)
        except Exception:  # keep beating through a Redis blip
            log.exception("presence heartbeat failed")
        socketio.sleep(HEARTBEAT_SECONDS)
