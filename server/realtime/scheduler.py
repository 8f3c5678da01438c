"""Time in the engine: a sweep that applies due deadlines (breaks ending, turn timers).

Deadlines are timestamps in the database (`sessions.next_deadline_at`), never sleeping
greenlets holding state, so a restart loses nothing. Each worker sweeps every few seconds;
with several workers the session row lock serialises them and the second finds nothing due.
Any action on a session also applies what is due first (server.services.sessions._act), so
the sweep only matters for sessions where nobody acts.
"""

from __future__ import annotations

import logging

from flask import Flask

from server.context import mend
from server.engine import MendError
from server.extensions import socketio
from server.realtime.publish import publish
from server.services import sessions as session_service

log = logging.getLogger("mend.scheduler")


def sweep_once() -> int:
    """Apply every due deadline once; returns how many sessions changed."""
    ctx = mend()
    changed = 0
    with ctx.database.session() as db:
        due = session_service.due_sessions(db)
    for session_id in due:
        try:
            with ctx.database.session() as db:
                outcome = session_service.apply_tick(db, ctx.library, session_id)
        except MendError as error:
            log.warning("tick for session %s refused: %s", session_id, error.code)
            continue
        if outcome.changed:
            changed += 1
            publish(outcome)
    return changed


def start(app: Flask) -> None:
    """Start this worker's sweep, once (called on the first socket connection)."""
    interval = app.extensions["mend"].config.tick_seconds
    if interval <= 0 or app.extensions.get("mend.scheduler"):
        return
    app.extensions["mend.scheduler"] = True

    def loop() -> None:
        while True:
            socketio.sleep(interval)
            try:
                with app.app_context():
                    sweep_once()
            except Exception:  # the sweep must outlive one bad session or a database blip
                log.exception("deadline sweep failed")

    socketio.start_background_task(loop)
