"""Socket.IO event handlers (default namespace).

Each handler only parses, checks access through a service, calls one operation, acks, and
publishes. Views are computed per viewer by engine.visibility and sent to that viewer's
personal room `user:<id>`; the shared room `session:<id>` carries presence only.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room
from sqlalchemy.orm import Session as DbSession

from server.context import mend
from server.db import UNAVAILABLE_MESSAGE, database_unavailable, unavailable_reason
from server.engine import MendError
from server.engine.session import COUNSELLOR
from server.engine.visibility import view_for
from server.extensions import socketio
from server.realtime import limits, logins, scheduler, schemas
from server.realtime.publish import (
    broadcast_presence,
    publish,
    session_room,
    user_room,
    watch_sessions,
)
from server.services import accounts
from server.services import moderation as moderation_service
from server.services import sessions as session_service
from server.services.sessions import Outcome
from server.web import auth

log = logging.getLogger("mend.realtime")

INTERNAL_ERROR = {
    "ok": False,
    "error": {
        "code": "internal",
        "message": "Something went wrong on our side and nothing was changed. Please try again.",
    },
}
# The database can't be reached (down, unreachable, its connection pool exhausted): the
# unit of work was rolled back, so nothing of the event was stored.
UNAVAILABLE_ERROR = {"ok": False, "error": {"code": "unavailable", "message": UNAVAILABLE_MESSAGE}}


def event(name: str) -> Callable:
    """Register a client event: authenticated, payload is an object, errors become acks."""

    def decorate(fn: Callable[[dict], dict | None]) -> Callable:
        @functools.wraps(fn)
        def handler(*args: Any) -> dict:
            started = time.perf_counter()
            try:
                user = auth.socket_user(request.environ)
                if user is None:
                    raise MendError("unauthenticated", accounts.LOGIN_ENDED)
                limits.admit(request.sid, user.id)
                if len(args) != 1 or not isinstance(args[0], dict):
                    raise MendError("invalid", "This event needs one JSON object as its payload.")
                payload = args[0]
                schemas.check(name, payload)
                return {"ok": True, **(fn(payload) or {})}
            except MendError as error:
                log.info("event %s refused: %s", name, error.code)
                if error.code == "unauthenticated":
                    auth.end_socket_login()
                return error.to_dict()
            except Exception as error:
                if database_unavailable(error):
                    # Expected while the database is away: one line naming the cause, no trace.
                    log.warning("event %s refused: database unavailable (%s)", name,
                                unavailable_reason(error))
                    return UNAVAILABLE_ERROR
                log.exception("event %s failed", name)
                return INTERNAL_ERROR
            finally:
                log.debug("event %s took %.1f ms", name, (time.perf_counter() - started) * 1000)

        socketio.on_event(name, handler)
        return handler

    return decorate


@contextmanager
def unit_of_work() -> Iterator[DbSession]:
    """A database session acting for this socket's user, as logged in on this socket: the
    service's read of the session's participants refuses it if that log-in has ended."""
    with mend().database.session() as db:
        accounts.expect_login(db, current_user.id, current_user.login_generation)
        yield db


def disconnect_user(user_id: str) -> None:
    """Close every socket of a user on every worker, before returning (after a log-out, a
    password change or reset, an erasure): nothing pushed afterwards reaches them."""
    logins.end_everywhere(user_id)


@socketio.on("connect")
def on_connect(_auth: Any = None) -> None:
    opened = time.monotonic()  # before the cookie's user is loaded
    if not current_user.is_authenticated:
        # The client sees {message, data: {code, message}} in its connect_error handler; a
        # log-in that Leave quickly locked says so (and `locked: true`, as over HTTP).
        if g.get("mend_login_ended") == "locked":
            message = accounts.LOGIN_LOCKED
            raise ConnectionRefusedError(message, {"code": "unauthenticated", "message": message,
                                                   "locked": True})
        message = "Log in to Mend to connect."
        raise ConnectionRefusedError(message, {"code": "unauthenticated", "message": message})
    try:
        limits.connect(request.sid, current_user.id)
    except MendError as error:
        raise ConnectionRefusedError(error.message, error.to_dict()["error"]) from None
    auth.remember_socket_user(request.environ, current_user._get_current_object())
    join_room(user_room(current_user.id))
    if logins.dropped_since(current_user.id, opened):
        # Its log-in ended while this handshake was on its way (after the user was loaded).
        limits.forget(request.sid)
        message = accounts.LOGIN_ENDED
        raise ConnectionRefusedError(message, {"code": "unauthenticated", "message": message})
    mend().presence.connect(request.sid, current_user.id)
    if current_user.role == COUNSELLOR:
        watch_sessions(request.sid, current_user.id)  # their dashboard hears presence
    scheduler.start(current_app._get_current_object())


@socketio.on("disconnect")
def on_disconnect(*_reason: Any) -> None:
    limits.forget(request.sid)
    _user_id, sessions = mend().presence.disconnect(request.sid)
    for session_id in sessions:
        broadcast_presence(session_id)


@event("session:join")
def join_session(payload: dict) -> dict:
    ctx = mend()
    with unit_of_work() as db:
        rechecked = session_service.recheck_if_due(db, ctx.library, current_user.id,
                                                   payload.get("session_id"))
        state = session_service.open_session(
            db, ctx.library, payload.get("session_id"), current_user.id
        )
    if rechecked is not None:  # picked up after a gap: both are asked the check again
        publish(rechecked)
    join_room(session_room(state.id))
    online_before = ctx.presence.online(state.id)
    ctx.presence.join(request.sid, state.id)
    if ctx.presence.online(state.id) != online_before:
        broadcast_presence(state.id)
    if state.participant(current_user.id).role == COUNSELLOR:
        # A counsellor opening the session reads the partners' answers: audited.
        with unit_of_work() as db:
            outcome = moderation_service.record_read(db, ctx.library, current_user.id,
                                                     state.id, "opened")
        publish(outcome)
        state = outcome.state
    return {"state": view_for(state, current_user.id, ctx.presence.online(state.id))}


@event("session:leave")
def leave_session(payload: dict) -> dict:
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not mend().presence.in_session(request.sid, session_id):
        raise MendError("not_found", "You are not in that session.")
    leave_room(session_room(session_id))
    mend().presence.leave(request.sid, session_id)
    broadcast_presence(session_id)
    return {}


def session_action(name: str, service: Callable[..., Outcome], *fields: str) -> None:
    """Register an event that runs one session service for the current user and pushes the
    outcome: `service(db, library, user_id, session_id, *payload[fields])`."""

    @event(name)
    def handler(payload: dict) -> dict:
        ctx = mend()
        with unit_of_work() as db:
            outcome = service(db, ctx.library, current_user.id, payload.get("session_id"),
                              *(payload.get(f) for f in fields))
        publish(outcome)
        return outcome.result


session_action("entry:draft", session_service.save_draft, "step_id", "body", "fields")
session_action("entry:submit", session_service.submit_entry,
               "step_id", "client_id", "body", "fields", "skip")
session_action("entry:withdraw", session_service.withdraw_entry, "step_id")
session_action("step:ready", session_service.mark_ready, "step_id")
session_action("turn:submit", session_service.submit_turn,
               "step_id", "client_id", "kind", "body", "fields")
session_action("step:acknowledge", session_service.acknowledge, "step_id", "ack")
session_action("session:pause", session_service.pause_session, "minutes", "reason")
session_action("session:resume", session_service.resume_session)
session_action("check:submit", session_service.submit_check, "client_id", "fields")
session_action("check:stop", session_service.stop_for_today)

# The counsellor's controls (`forbidden` for anyone else).
session_action("step:advance", moderation_service.advance, "step_id", "to_step_id")
session_action("step:revisit", moderation_service.revisit, "step_id")
session_action("reveal:hold", moderation_service.hold, "step_id")
session_action("reveal:release", moderation_service.release, "step_id")
session_action("reveal:preview", moderation_service.preview, "step_id")
session_action("floor:grant", moderation_service.floor, "step_id", "user_id")
session_action("card:add", moderation_service.add_card, "kind", "body")
session_action("session:end", moderation_service.end)
session_action("note:add", moderation_service.add_note, "client_id", "body", "user_id")
session_action("checkin:private", moderation_service.check_in, "client_id", "body")


@event("presence:typing")
def typing(payload: dict) -> dict:
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not mend().presence.in_session(request.sid, session_id):
        raise MendError("forbidden", "Join the session before sending typing updates.")
    if mend().presence.set_typing(session_id, current_user.id, bool(payload.get("typing"))):
        # Typing changes often: at most one broadcast per presence_interval, the last
        # state always sent; a signal that changes nothing sends nothing.
        broadcast_presence(session_id, coalesce=True)
    return {}
