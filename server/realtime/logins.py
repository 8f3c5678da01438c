"""A log-in that ends (log-out, password change or reset, erasure) takes its sockets off
every worker before the HTTP answer returns, so nothing pushed after it reaches them.

Why this way, and not a check of the log-in generation before each push: a push goes to a
`user:<id>` room on every worker through Redis, and a worker knows a socket's generation
but not the account's current one without a database read per push (pushes are per event).
Ending a log-in is rare; pushes are the hot path. So the cost goes where it is rare:

1. this worker drops the user's sockets at once: each leaves every room (no emit can reach
   it from then on, not even one already running in another greenlet), then is
   disconnected;
2. with Redis, the request publishes one message on the Socket.IO channel and waits (at most
   WAIT seconds) until every worker listening there has done the same and said so. A
   worker's listener handles the channel in order, so a push published after the message
   cannot overtake it there; and since the answer waits for every worker, a push a worker
   makes itself (its own emits skip its listener) also comes after the drop.

The message is a `close_room` of `user:<id>` with one field more: a worker of an older
release still closes the room (private pushes stop there too); it just doesn't answer, and
the wait runs out after WAIT seconds with a warning. The guard (server.realtime.scheduler)
still closes any stale socket within seconds, whatever happened here.

A handshake on the way when its user's sockets were dropped (it read the old generation
just before the log-out committed) is refused: `on_connect` asks `dropped_since`.
"""

from __future__ import annotations

import logging
import threading
import time

from server.extensions import socketio

log = logging.getLogger("mend.realtime")

WAIT = 2.0  # seconds the answer waits, at most, for the other workers to drop the sockets
REMEMBER = 30.0  # seconds a drop is remembered for handshakes that were on their way

_dropped: dict[str, float] = {}
_lock = threading.Lock()


def end_everywhere(user_id: str) -> None:
    """Drop every socket of this user, on this worker now and on every other one (through
    the message queue) before returning."""
    server = socketio.server
    drop_here(server, user_id)
    end_logins = getattr(server.manager, "end_logins", None)
    if end_logins is not None:
        end_logins(user_id, WAIT)


def drop_here(server, user_id: str) -> int:
    """This worker's sockets of `user_id`: out of every room at once, then disconnected.
    Returns how many there were."""
    now = time.monotonic()
    with _lock:
        _dropped[user_id] = now
        for gone in [u for u, at in _dropped.items() if now - at > REMEMBER]:
            del _dropped[gone]
    manager = server.manager
    sids = [sid for sid, _eio_sid in manager.get_participants("/", f"user:{user_id}")]
    # No yield from here to the last leave: an emit running elsewhere can't slip in between.
    for sid in sids:
        for room in manager.get_rooms(sid, "/"):
            if room is not None and room != sid:
                manager.basic_leave_room(sid, "/", room)
    for sid in sids:
        server.disconnect(sid, namespace="/", ignore_queue=True)
    return len(sids)


def dropped_since(user_id: str, moment: float) -> bool:
    """Whether this user's sockets were dropped on this worker at or after `moment`
    (time.monotonic)."""
    at = _dropped.get(user_id)
    return at is not None and at >= moment
