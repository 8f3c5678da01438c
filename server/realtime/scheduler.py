"""Time in the engine: a sweep that applies due deadlines (breaks ending, turn timers);
and each worker's log-in guard, which closes sockets whose log-in has ended.

Deadlines are timestamps in the database (`sessions.next_deadline_at`), never sleeping
greenlets holding state, so a restart loses nothing. Each worker sweeps every few seconds;
with several workers the session row lock serialises them and the second finds nothing due.
Any action on a session also applies what is due first (server.services.sessions._act), so
the sweep only matters for sessions where nobody acts.

The guard: a log-out, a password change or an erasure on one worker bumps the account's
log-in generation in the database; every GUARD_SECONDS each worker compares the generation
each of its sockets was opened with against the database (one query for all of them) and
closes the stale ones, and the ones past the idle timeout or the log-in's lifetime.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from server.context import mend
from server.db import database_unavailable, unavailable_reason
from server.engine import MendError
from server.extensions import socketio
from server.realtime import heartbeat
from server.realtime.publish import publish
from server.services import accounts
from server.services import sessions as session_service
from server.web import auth

log = logging.getLogger("mend.scheduler")
GUARD_SECONDS = 2.0


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


def guard_once(app: Flask) -> int:
    """Close this worker's sockets whose log-in ended; returns how many it closed."""
    server = socketio.server
    config = app.extensions["mend"].config
    now = time.time()
    closing: list[str] = []
    alive: list[tuple[str, str, str]] = []  # (sid, user id, generation)
    for sid, _eio_sid in list(server.manager.get_participants("/", None)):
        environ = server.get_environ(sid, "/") or {}
        if environ.get("flask.app") is not app:
            continue  # another app's socket (tests build many apps in one process)
        saved = environ.get("saved_session")
        if saved is None:
            continue  # the handshake is still running
        identity = auth.cookie_identity(saved)
        if identity is None or auth.login_ended(saved, config, now):
            closing.append(sid)
        else:
            alive.append((sid, *identity))
    if alive:
        with app.extensions["mend"].database.session() as db:
            current = accounts.login_generations(db, {user_id for _, user_id, _ in alive})
        closing += [sid for sid, user_id, generation in alive
                    if str(current.get(user_id)) != generation]
    for sid in closing:
        server.disconnect(sid, namespace="/")
    if closing:
        log.info("closed %d socket(s) whose log-in ended", len(closing))
    return len(closing)


def start(app: Flask) -> None:
    """Start this worker's sweep and log-in guard, once (on the first socket connection)."""
    if app.extensions.get("mend.scheduler"):
        return
    app.extensions["mend.scheduler"] = True
    interval = app.extensions["mend"].config.tick_seconds
    server = socketio.server
    database = app.extensions["mend"].database

    def running() -> bool:
        # Until the app's database is closed, or (tests) the one SocketIO serves a new app.
        return socketio.server is server and not database.closed

    def sweep_loop() -> None:
        while running():
            socketio.sleep(interval)
            if not running():
                return
            try:
                with app.app_context():
                    sweep_once()
            except Exception as error:  # outlive one bad session or a database blip
                _log_failure("deadline sweep", error)

    def guard_loop() -> None:
        while running():
            socketio.sleep(GUARD_SECONDS)
            if not running():
                return
            try:
                with app.app_context():
                    guard_once(app)
            except Exception as error:  # keep guarding through a database blip
                _log_failure("log-in guard", error)

    if interval > 0:
        socketio.start_background_task(sweep_loop)
    socketio.start_background_task(guard_loop)
    if app.extensions["mend"].presence.shared:  # presence in Redis: keep ours fresh there
        socketio.start_background_task(heartbeat.loop, app)


def _log_failure(what: str, error: Exception) -> None:
    """A database that is away is expected: one line every round, naming the cause, not a
    stack trace every few seconds. Anything else is a bug and keeps its trace."""
    if database_unavailable(error):
        log.warning("%s skipped: database unavailable (%s)", what, unavailable_reason(error))
    else:
        log.error("%s failed", what, exc_info=error)
