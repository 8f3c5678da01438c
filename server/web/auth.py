"""Flask-Login wiring: who the current user is, for HTTP and the Socket.IO handshake, and
when a log-in ends.

A log-in ends server-side, so a copy of the cookie stops working too:

* log-out, a password change or reset, and account erasure bump the account's
  `login_generation`; every cookie carries the generation it was made with, and one that
  no longer matches loads no user (checked on every request and handshake; a socket event
  checks it inside its own transaction, see `socket_user`);
* after `idle_timeout_hours` without a request or event, and `max_login_days` after the
  log-in whatever happens: the signed session carries both moments.

"Leave quickly" locks the log-in (services.accounts.lock_login): the generation moves on as
for a log-out, so all of the above refuses its cookies at once, but those cookies are
answered "locked" (401 `unauthenticated` with `locked: true`, and the message
accounts.LOGIN_LOCKED), keep their identity, and the password opens them again
(POST /api/v1/auth/unlock, server.web.lock_api).

Each worker's guard (server.realtime.scheduler) applies the same rules to open sockets, so
a socket on another worker closes within seconds too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, g, jsonify, request, session
from flask_login import UserMixin, login_user

from server.config import Config
from server.context import mend
from server.engine import MendError
from server.extensions import login_manager
from server.services import accounts
from server.web.errors import error_response

# The signed session's own fields (Flask-Login keeps "_user_id", "_fresh" and "_id").
LOGIN_AT = "mend_login_at"  # when this log-in began (seconds since the epoch)
SEEN_AT = "mend_seen_at"  # the last request or event, refreshed at most once a minute
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", LOGIN_AT, SEEN_AT)
SEEN_REFRESH = 60.0  # seconds; shorter when the idle timeout is tiny (tests)
NO_LIMIT_DAYS = 3650  # the cookie's own lifetime when max_login_days is 0 (no limit)

ENDED_MESSAGES = {
    "idle": "You were logged out after a while without activity. Please log in again.",
    "lifetime": "Your log-in has reached its time limit. Please log in again.",
    "revoked": "Your log-in has ended (you logged out, or the password changed). "
               "Please log in again.",
    "locked": accounts.LOGIN_LOCKED,
}


@dataclass(frozen=True)
class CurrentUser(UserMixin):
    id: str
    email: str
    display_name: str
    role: str
    login_generation: int = 0
    counsellor_requested: bool = False

    @classmethod
    def from_account(cls, account: accounts.Account) -> CurrentUser:
        return cls(account.id, account.email, account.display_name, account.role,
                   account.login_generation, account.counsellor_requested)

    def get_id(self) -> str:
        # What the log-in cookie stores: a log-out or a password change bumps the
        # generation, and every cookie made before it stops loading a user.
        return f"{self.id}:{self.login_generation}"

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name,
                "role": self.role, "counsellor_requested": self.counsellor_requested}


def start_login(account: accounts.Account) -> None:
    """Log this account in on a fresh session (a new CSRF token too): the only way in."""
    session.clear()
    login_user(CurrentUser.from_account(account))
    now = time.time()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def cookie_identity(saved: Mapping) -> tuple[str, str] | None:
    """(user id, generation) a session (a cookie's, or a socket's copy) was logged in as."""
    cookie_id = saved.get("_user_id")
    if not isinstance(cookie_id, str) or not cookie_id:
        return None
    user_id, _, generation = cookie_id.partition(":")
    return user_id, generation or "0"


def login_ended(saved: Mapping, config: Config, now: float | None = None) -> str | None:
    """Why this session's log-in is over by the clock ("idle", "lifetime"), or None."""
    now = time.time() if now is None else now
    login_at, seen_at = saved.get(LOGIN_AT), saved.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return "lifetime"  # made before log-ins were timed: log in once more
    if config.max_login_days and now - login_at > config.max_login_days * 86400:
        return "lifetime"
    if config.idle_timeout_hours and now - seen_at > config.idle_timeout_hours * 3600:
        return "idle"
    return None


def _touch(saved: MutableMapping, config: Config, now: float) -> None:
    """Record activity, at most once a minute (each write re-sends the HTTP cookie)."""
    every = SEEN_REFRESH
    if config.idle_timeout_hours:
        every = min(every, config.idle_timeout_hours * 3600 / 10)
    if now - saved.get(SEEN_AT, 0) >= every:
        saved[SEEN_AT] = now


def _clock_allows(saved: MutableMapping, config: Config, now: float) -> bool:
    """Whether the idle timeout and the lifetime still allow this log-in; when not, it is
    forgotten (and why is kept for the error message)."""
    ended = login_ended(saved, config, now)
    if ended:
        _forget_login(saved, ended)
        return False
    return True


def _forget_login(saved: MutableMapping, reason: str) -> None:
    for key in _LOGIN_KEYS:
        saved.pop(key, None)
    g.mend_login_ended = reason


def locked_identity(saved: Mapping) -> tuple[str, int] | None:
    """(user id, generation) of this session's log-in when "Leave quickly" locked it."""
    identity = cookie_identity(saved)
    if identity is None or not identity[1].isdigit():
        return None
    user_id, generation = identity[0], int(identity[1])
    with mend().database.session() as db:
        locked = accounts.is_locked(db, user_id, generation)
    return (user_id, generation) if locked else None


# Where a socket keeps the user its handshake loaded (in its WSGI environ, which lives as
# long as the socket), and why its log-in ended when an event found out.
SOCKET_USER = "mend.socket_user"
SOCKET_ENDED = "mend.socket_ended"


def remember_socket_user(environ: MutableMapping, user: CurrentUser) -> None:
    """At the handshake, after the full check: the user this socket's events act for."""
    environ[SOCKET_USER] = user


def socket_user(environ: Mapping) -> CurrentUser | None:
    """The user of a socket event, without a database read: the one the handshake loaded,
    while the socket's log-in holds by the clock and nothing on this socket ended it.

    The log-in generation is not read here: each event's unit of work checks it with the
    session's participants (services.accounts.expect_login), and the guard closes every
    socket whose log-in ended elsewhere within seconds. `current_user` is this user for
    the rest of the event. A socket whose log-in was found locked raises `unauthenticated`
    with the lock's message."""
    if environ.get(SOCKET_ENDED) == "locked":
        raise MendError("unauthenticated", accounts.LOGIN_LOCKED)
    user = environ.get(SOCKET_USER)
    if user is None or cookie_identity(session) != (user.id, str(user.login_generation)):
        return None
    config = mend().config
    now = time.time()
    if not _clock_allows(session, config, now):
        return None
    _touch(session, config, now)
    g._login_user = user  # what Flask-Login's current_user returns, instead of loading
    return user


def end_socket_login(reason: str = "revoked") -> None:
    """This socket's log-in ended (found out inside an event): its next events are refused
    at once, and the guard closes it. A locked log-in is told apart (one read, here on the
    refusal path only), so the socket's later refusals say "locked" too."""
    environ = request.environ
    user = environ.get(SOCKET_USER)
    if reason == "revoked" and user is not None and environ.get(SOCKET_ENDED) != "locked":
        with mend().database.session() as db:
            if accounts.is_locked(db, user.id, user.login_generation):
                reason = "locked"
    if environ.get(SOCKET_ENDED) != "locked":
        environ[SOCKET_ENDED] = reason
    _forget_login(session, reason)


def install_login(app: Flask) -> None:
    config: Config = app.extensions["mend"].config
    # Flask refuses a session cookie signed longer ago than this. Every activity refresh
    # re-signs it, so this bounds idle time too; the absolute limit is LOGIN_AT's check.
    days = config.max_login_days or NO_LIMIT_DAYS
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=days)
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=days)  # (no remember cookie)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(cookie_id: str) -> CurrentUser | None:
        # `session` is the cookie's for HTTP and the handshake, and the socket's own copy
        # for its events (Flask-SocketIO), so activity on a socket keeps that socket alive.
        config = mend().config
        now = time.time()
        if not _clock_allows(session, config, now):
            return None
        user_id, _, generation = cookie_id.partition(":")
        with mend().database.session() as db:
            account = accounts.get_account(db, user_id)
        if account is None or str(account.login_generation) != (generation or "0"):
            if account is not None and locked_identity(session) is not None:
                # Locked, not ended: the cookie keeps who it is, for the password to open.
                g.mend_login_ended = "locked"
                return None
            _forget_login(session, "revoked")
            return None
        _touch(session, config, now)
        return CurrentUser.from_account(account)

    @login_manager.unauthorized_handler
    def unauthorized():
        ended = g.get("mend_login_ended")
        if ended == "locked":
            return locked_response()
        return error_response("unauthenticated", ENDED_MESSAGES.get(ended, "Please log in first."))


def locked_response():
    """401 `unauthenticated`, marked `locked: true`: the client shows only "Enter your
    password to continue" (no name, no e-mail, no content)."""
    body = {"ok": False, "error": {"code": "unauthenticated", "message": accounts.LOGIN_LOCKED,
                                   "locked": True}}
    return jsonify(body), 401
