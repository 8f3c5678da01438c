"""A fair share for every client: the event budget each socket and user spends.

`admit` runs before every client event's handler (server.realtime.handlers.event), `connect`
at every handshake and `forget` when a socket goes. Each socket has a token bucket (the
config's event_rate per second, event_burst at once) and so has each user across all their
sockets (user_event_rate; a burst scaled alike). An event over either budget is refused with
`rate_limited`; a socket that keeps sending into refusals — refusals_before_disconnect of them
before its budget has recovered to half — is disconnected, and its user's new sockets are
refused for as long as a full budget takes to refill. A user holds at most
max_sockets_per_user sockets on this worker. A 0 in any of these settings turns that guard off.

Everything is in memory, per worker process, and costs a dictionary lookup and a little
arithmetic: no database, and the one lock is held for microseconds (under gevent and eventlet
it is a green lock and nothing in between can yield; under threads it is a real one).

A refused event must cost next to nothing, or a flood still stalls everyone while being
refused: so the first `connect` puts a gate in front of python-socketio's event dispatch
(`_gate`). It charges the budget as each frame is read and answers a refusal there, before a
handler is spawned, a request context is made, the cookie is read or the user is loaded from
the database. `admit` then has nothing left to charge for a socket the gate saw.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from socketio import packet

from server.context import mend
from server.engine import MendError
from server.extensions import socketio

log = logging.getLogger("mend.realtime")

SLOW_DOWN = "You are sending faster than Mend can take: wait a moment, then try again."
CLOSING = ("This connection sent far too many events and is being closed. "
           "Reload the page to carry on.")
TOO_MANY_SOCKETS = ("You have too many Mend windows open. Close some of them, "
                    "then reload this one.")
COOLING_DOWN = "Your last connection sent too many events. Wait a few seconds, then reload."


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; one event spends one token."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, now

    def level(self, now: float) -> float:
        """Refill for the time that passed; returns the tokens there are now."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens

    def full(self, now: float) -> bool:
        return self.level(now) >= self.burst


@dataclass
class _Socket:
    user_id: str
    bucket: TokenBucket | None
    refusals: int = 0
    closing: bool = False


@dataclass
class _User:
    bucket: TokenBucket | None
    sids: set[str] = field(default_factory=set)
    cooldown_until: float = 0.0


# What `Budgets.admit` decides: let the event through; refuse it (FIRST_REFUSAL when it starts
# a run of refusals, worth a log line); or refuse it and close the socket.
ADMIT, FIRST_REFUSAL, REFUSE, CLOSE = "admit", "first refusal", "refuse", "close"


class Budgets:
    """One worker's budgets. The clock is passed in so tests can drive it."""

    def __init__(self, *, event_rate: float, event_burst: int, user_event_rate: float,
                 refusals_before_disconnect: int, max_sockets_per_user: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.event_rate = event_rate
        self.event_burst = max(event_burst, 1)
        self.user_event_rate = user_event_rate
        # A user's burst grows with their rate: one socket's worth per event_rate.
        self.user_burst = (max(self.event_burst * user_event_rate / event_rate, 1)
                           if event_rate else max(event_burst, 1))
        self.refusals_before_disconnect = refusals_before_disconnect
        self.max_sockets_per_user = max_sockets_per_user
        # How long a full budget takes to refill: the pause after a disconnect for flooding.
        self.cooldown = self.event_burst / event_rate if event_rate else 0.0
        self.clock = clock
        self._lock = threading.Lock()
        self._sockets: dict[str, _Socket] = {}
        self._users: dict[str, _User] = {}

    @classmethod
    def from_config(cls, config) -> Budgets:
        return cls(event_rate=config.event_rate, event_burst=config.event_burst,
                   user_event_rate=config.user_event_rate,
                   refusals_before_disconnect=config.refusals_before_disconnect,
                   max_sockets_per_user=config.max_sockets_per_user)

    def _socket_bucket(self, now: float) -> TokenBucket | None:
        return TokenBucket(self.event_rate, self.event_burst, now) if self.event_rate else None

    def _user(self, user_id: str, now: float) -> _User:
        user = self._users.get(user_id)
        if user is None:
            bucket = (TokenBucket(self.user_event_rate, self.user_burst, now)
                      if self.user_event_rate else None)
            user = self._users[user_id] = _User(bucket)
        return user

    def connect(self, sid: str, user_id: str) -> None:
        """Register a new socket, or raise MendError("rate_limited") to refuse it."""
        now = self.clock()
        with self._lock:
            user = self._user(user_id, now)
            if now < user.cooldown_until:
                raise MendError("rate_limited", COOLING_DOWN)
            if self.max_sockets_per_user and len(user.sids) >= self.max_sockets_per_user:
                raise MendError("rate_limited", TOO_MANY_SOCKETS)
            user.sids.add(sid)
            self._sockets[sid] = _Socket(user_id, self._socket_bucket(now))

    def knows(self, sid: str) -> bool:
        return sid in self._sockets

    def admit(self, sid: str, user_id: str | None = None) -> str:
        """ADMIT the event, (FIRST_)REFUSE it, or CLOSE: refuse it and disconnect the socket.
        A socket `connect` never saw is admitted without a user, else budgeted from now."""
        now = self.clock()
        with self._lock:
            sock = self._sockets.get(sid)
            if sock is None:
                if user_id is None:
                    return ADMIT
                user = self._user(user_id, now)
                user.sids.add(sid)
                sock = self._sockets[sid] = _Socket(user_id, self._socket_bucket(now))
            else:
                user = self._user(sock.user_id, now)
            if sock.closing:
                return REFUSE
            mine = sock.bucket.level(now) if sock.bucket else 1.0
            ours = user.bucket.level(now) if user.bucket else 1.0
            if mine >= 1 and ours >= 1:
                if sock.bucket:
                    sock.bucket.tokens -= 1
                if user.bucket:
                    user.bucket.tokens -= 1
                # Refusals are forgiven once the client has slowed down enough for both
                # budgets to recover to half; a flood never lets them, however it is paced.
                if ((not sock.bucket or mine >= sock.bucket.burst / 2)
                        and (not user.bucket or ours >= user.bucket.burst / 2)):
                    sock.refusals = 0
                return ADMIT
            sock.refusals += 1
            if self.refusals_before_disconnect and \
                    sock.refusals >= self.refusals_before_disconnect:
                sock.closing = True
                user.cooldown_until = now + self.cooldown
                return CLOSE
            return FIRST_REFUSAL if sock.refusals == 1 else REFUSE

    def forget(self, sid: str) -> None:
        """A socket went away: drop its budget (its user's stays while it still matters)."""
        now = self.clock()
        with self._lock:
            sock = self._sockets.pop(sid, None)
            if sock is None:
                return
            user = self._users.get(sock.user_id)
            if user is None:
                return
            user.sids.discard(sid)
            if (not user.sids and now >= user.cooldown_until
                    and (user.bucket is None or user.bucket.full(now))):
                del self._users[sock.user_id]



_KEY = "mend.budgets"
_gate_lock = threading.Lock()


def budgets() -> Budgets:
    """This app's budgets, made from its config on first use."""
    extensions = current_app.extensions
    found = extensions.get(_KEY)
    if found is None:
        found = extensions.setdefault(_KEY, Budgets.from_config(mend().config))
    return found


def connect(sid: str, user_id: str) -> None:
    """At the handshake: raise MendError("rate_limited") when this user may not open another
    socket (too many open on this worker, or just disconnected for flooding)."""
    found = budgets()
    _gate(socketio.server, found)
    found.connect(sid, user_id)


def admit(sid: str, user_id: str) -> None:
    """Raise MendError("rate_limited") when this socket or user is over budget."""
    found = budgets()
    if getattr(socketio.server, "_mend_budgets", None) is found and found.knows(sid):
        return  # the gate charged this event as it arrived
    verdict = found.admit(sid, user_id)
    if verdict != ADMIT:
        _refused(socketio.server, sid, verdict)
        raise MendError("rate_limited", _message(verdict))


def forget(sid: str) -> None:
    budgets().forget(sid)


def _message(verdict: str) -> str:
    return CLOSING if verdict == CLOSE else SLOW_DOWN


def _refused(server, sid: str, verdict: str) -> None:
    if verdict == FIRST_REFUSAL:
        log.info("socket %s is over its event budget", sid)
    elif verdict == CLOSE:
        log.warning("socket %s disconnected: it kept sending into refusals", sid)
        # After this event's refusal has gone out: the client reads why before it is cut off.
        server.start_background_task(_disconnect, server, sid)


def _disconnect(server, sid: str) -> None:
    server.sleep(0.1)
    server.disconnect(sid, namespace="/")


def _gate(server, found: Budgets) -> None:
    """Charge each event to its socket as python-socketio reads it, and answer a refusal
    right there (see the module's docstring). Installed once per Socket.IO server."""
    if getattr(server, "_mend_budgets", None) is found:
        return
    with _gate_lock:
        if getattr(server, "_mend_budgets", None) is found:
            return
        # The server's own dispatch, even if a gate for another app's budgets was here.
        dispatch = getattr(server, "_mend_dispatch", None) or server._handle_event
        server._mend_dispatch = dispatch

        def gated(eio_sid: str, namespace: str | None, ack_id: int | None, data) -> None:
            namespace = namespace or "/"
            sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
            verdict = found.admit(sid) if sid else ADMIT
            if verdict == ADMIT:
                dispatch(eio_sid, namespace, ack_id, data)
                return
            if ack_id is not None:
                refusal = MendError("rate_limited", _message(verdict)).to_dict()
                server._send_packet(eio_sid, server.packet_class(
                    packet.ACK, namespace=namespace, id=ack_id, data=[refusal]))
            _refused(server, sid, verdict)

        server._handle_event = gated
        server._mend_budgets = found
