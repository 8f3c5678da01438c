"""A fair share for every client: the event budget each user (or address) spends.

`admit` runs before every client event's handler (server.realtime.handlers.event), `connect`
at every handshake and `forget` when a socket goes. Budgets belong to whoever sends, not to
a connection, so reconnecting buys nothing:

* a logged-in user's sockets each spend from a token bucket (the config's event_rate per
  second, event_burst at once) and all of them from the user's own (user_event_rate; a burst
  scaled alike). A socket that closes leaves its bucket with the user, and the user's next
  socket starts from it, refilled for the time that passed: a fresh connection is not a
  fresh burst;
* frames from a connection with no logged-in socket (before the handshake, a refused one,
  no cookie) spend from a bucket of its remote address (user_event_rate, the same burst).

An event over budget is refused with `rate_limited`; a socket that keeps sending into
refusals — refusals_before_disconnect of them before its budget has recovered to half — is
disconnected and its user (or address) is struck: its buckets are emptied, nothing refills
and every new socket is refused for a cool-down that doubles with each strike (event_burst /
event_rate, then twice that, ... up to MAX_COOLDOWN; strikes are forgotten after
STRIKE_MEMORY seconds without one). A user holds at most max_sockets_per_user sockets on this
worker. A 0 in any of these settings turns that guard off.

Frames that can't be read (engine.io or Socket.IO framing that fails to decode) cost a token
like any frame, are logged once per connection (one line, no traceback), and close the
connection after MALFORMED_BEFORE_CLOSE of them.

Everything is in memory, per worker process, and costs a dictionary lookup and a little
arithmetic: no database, and the one lock is held for microseconds (under gevent and eventlet
it is a green lock and nothing in between can yield; under threads it is a real one).

A refused event must cost next to nothing, or a flood still stalls everyone while being
refused: so a gate sits in front of python-socketio's dispatch (`_gate`, installed when the
app is made and at the latest by the first handshake). It charges the budget as each frame is
read and answers a refusal there, before a handler is spawned, a request context is made, the
cookie is read or the user is loaded from the database. `admit` then has nothing left to
charge for a socket the gate saw. And after every frame the reading greenlet yields: a
socket's frames are read one after another in one greenlet (async_handlers=False), and
without the yield a flooder's buffered frames, admitted or refused, ran back to back for up
to a second while every other client waited (measured: bench/load.py --mode
reconnect-flood).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from socketio import packet

from server.engine import MendError
from server.extensions import socketio
from server.realtime.frames import UNREADABLE

log = logging.getLogger("mend.realtime")

SLOW_DOWN = "You are sending faster than Mend can take: wait a moment, then try again."
CLOSING = ("This connection sent far too many events and is being closed. "
           "Reload the page to carry on.")
TOO_MANY_SOCKETS = ("You have too many Mend windows open. Close some of them, "
                    "then reload this one.")
COOLING_DOWN = "Your last connection sent too many events. Wait a few seconds, then reload."

MAX_COOLDOWN = 300.0  # seconds: the longest a repeat offender waits to connect again
STRIKE_MEMORY = 600.0  # seconds without a strike after which earlier strikes are forgotten
MALFORMED_BEFORE_CLOSE = 10  # unreadable frames a connection may send before it is closed


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; one event spends one token. Nothing
    refills before `stamp` (a cool-down puts it in the future)."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, now

    def level(self, now: float) -> float:
        """Refill for the time that passed; returns the tokens there are now."""
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens

    def full(self, now: float) -> bool:
        return self.level(now) >= self.burst

    def empty_until(self, when: float) -> None:
        self.tokens, self.stamp = 0.0, when

    def copy(self) -> TokenBucket:
        twin = TokenBucket(self.rate, self.burst, self.stamp)
        twin.tokens = self.tokens
        return twin


@dataclass
class _Socket:
    principal: str
    bucket: TokenBucket | None
    refusals: int = 0
    closing: bool = False


@dataclass
class _Principal:
    """A user ("user:<id>") or, for frames from no logged-in socket, an address."""
    bucket: TokenBucket | None
    sids: set[str] = field(default_factory=set)
    # What the user's closed sockets left of their own budget: the next socket starts there.
    carried: TokenBucket | None = None
    cooldown_until: float = 0.0
    strikes: int = 0
    struck_at: float = 0.0


@dataclass
class _Connection:
    """An engine.io connection's unreadable frames."""
    malformed: int = 0


# What `Budgets.admit` decides: let the event through; refuse it (FIRST_REFUSAL when it starts
# a run of refusals, worth a log line); or refuse it and close the socket.
ADMIT, FIRST_REFUSAL, REFUSE, CLOSE = "admit", "first refusal", "refuse", "close"


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def address_key(address: str | None) -> str:
    return f"address:{address or '?'}"


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
        # How long a full budget takes to refill: the first pause after a disconnect for
        # flooding; each further strike doubles it.
        self.cooldown = self.event_burst / event_rate if event_rate else 0.0
        self.clock = clock
        self._lock = threading.Lock()
        self._sockets: dict[str, _Socket] = {}
        self._principals: dict[str, _Principal] = {}
        self._connections: dict[str, _Connection] = {}
        # Address buckets hold no sockets: frames charged to them come from connections
        # that may never log in. They are dropped once full again (see `_tidy`).
        self._tidied = clock()
        self.config: object = None  # the configuration these budgets were made from

    @classmethod
    def from_config(cls, config) -> Budgets:
        made = cls(event_rate=config.event_rate, event_burst=config.event_burst,
                   user_event_rate=config.user_event_rate,
                   refusals_before_disconnect=config.refusals_before_disconnect,
                   max_sockets_per_user=config.max_sockets_per_user)
        made.config = config
        return made

    # --- bookkeeping (call with the lock held) ---

    def _socket_bucket(self, now: float) -> TokenBucket | None:
        return TokenBucket(self.event_rate, self.event_burst, now) if self.event_rate else None

    def _principal(self, key: str, now: float) -> _Principal:
        found = self._principals.get(key)
        if found is None:
            bucket = (TokenBucket(self.user_event_rate, self.user_burst, now)
                      if self.user_event_rate else None)
            found = self._principals[key] = _Principal(bucket)
        if found.strikes and now - found.struck_at > STRIKE_MEMORY:
            found.strikes = 0
        return found

    def _settled(self, who: _Principal, now: float) -> bool:
        """Nothing about this principal is worth remembering any more."""
        return (not who.sids and now >= who.cooldown_until
                and (not who.strikes or now - who.struck_at > STRIKE_MEMORY)
                and (who.bucket is None or who.bucket.full(now))
                and (who.carried is None or who.carried.full(now)))

    def _tidy(self, now: float) -> None:
        """Now and then, forget principals with nothing left to remember."""
        if now - self._tidied < 60:
            return
        self._tidied = now
        for key in [k for k, who in self._principals.items() if self._settled(who, now)]:
            del self._principals[key]

    def _new_socket(self, sid: str, key: str, who: _Principal, now: float) -> _Socket:
        bucket = who.carried.copy() if who.carried is not None else self._socket_bucket(now)
        who.sids.add(sid)
        sock = self._sockets[sid] = _Socket(key, bucket)
        return sock

    def _strike(self, who: _Principal, now: float) -> None:
        """A hard-limit disconnect: empty buckets, and a cool-down that grows each time."""
        who.strikes += 1
        who.struck_at = now
        pause = min(self.cooldown * 2 ** (who.strikes - 1), MAX_COOLDOWN)
        who.cooldown_until = max(who.cooldown_until, now + pause)
        if who.bucket is not None:
            who.bucket.empty_until(who.cooldown_until)
        if self.event_rate:
            who.carried = self._socket_bucket(now)
            who.carried.empty_until(who.cooldown_until)

    def _charge(self, sock: _Socket | None, who: _Principal, now: float) -> str:
        if sock is not None and sock.closing:
            return REFUSE
        mine = sock.bucket.level(now) if sock is not None and sock.bucket else 1.0
        ours = who.bucket.level(now) if who.bucket else 1.0
        if mine >= 1 and ours >= 1:
            if sock is not None and sock.bucket:
                sock.bucket.tokens -= 1
            if who.bucket:
                who.bucket.tokens -= 1
            # Refusals are forgiven once the client has slowed down enough for both
            # budgets to recover to half; a flood never lets them, however it is paced.
            if sock is not None and (not sock.bucket or mine >= sock.bucket.burst / 2) \
                    and (not who.bucket or ours >= who.bucket.burst / 2):
                sock.refusals = 0
            return ADMIT
        if sock is None:
            return REFUSE  # an address's frames: refused; the connection closes on its own
        sock.refusals += 1
        if self.refusals_before_disconnect and \
                sock.refusals >= self.refusals_before_disconnect:
            sock.closing = True
            self._strike(who, now)
            return CLOSE
        return FIRST_REFUSAL if sock.refusals == 1 else REFUSE

    # --- the interface ---

    def connect(self, sid: str, user_id: str) -> None:
        """Register a new socket, or raise MendError("rate_limited") to refuse it."""
        now = self.clock()
        key = user_key(user_id)
        with self._lock:
            self._tidy(now)
            who = self._principal(key, now)
            if now < who.cooldown_until:
                raise MendError("rate_limited", COOLING_DOWN)
            if self.max_sockets_per_user and len(who.sids) >= self.max_sockets_per_user:
                raise MendError("rate_limited", TOO_MANY_SOCKETS)
            self._new_socket(sid, key, who, now)

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
                key = user_key(user_id)
                who = self._principal(key, now)
                sock = self._new_socket(sid, key, who, now)
            else:
                who = self._principal(sock.principal, now)
            return self._charge(sock, who, now)

    def admit_address(self, address: str | None) -> str:
        """ADMIT or REFUSE a frame from a connection with no logged-in socket."""
        now = self.clock()
        with self._lock:
            self._tidy(now)
            return self._charge(None, self._principal(address_key(address), now), now)

    def malformed(self, connection: str) -> int:
        """Count an unreadable frame on this engine.io connection; returns how many so far."""
        with self._lock:
            found = self._connections.setdefault(connection, _Connection())
            found.malformed += 1
            return found.malformed

    def connection_gone(self, connection: str) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def forget(self, sid: str) -> None:
        """A socket went away: its budget stays with its user while it still matters."""
        now = self.clock()
        with self._lock:
            sock = self._sockets.pop(sid, None)
            if sock is None:
                return
            who = self._principals.get(sock.principal)
            if who is None:
                return
            who.sids.discard(sid)
            if sock.bucket is not None and now >= who.cooldown_until and (
                    who.carried is None or sock.bucket.level(now) < who.carried.level(now)):
                who.carried = sock.bucket  # the emptiest a closed socket left
            if self._settled(who, now):
                del self._principals[sock.principal]


_KEY = "mend.budgets"
_gate_lock = threading.Lock()


def budgets() -> Budgets:
    """This app's budgets, made from its config on first use."""
    return budgets_of(current_app)


def budgets_of(app: Flask) -> Budgets:
    """Made again when the app's configuration was replaced since (tests turn budgets off
    after making the app; the next handshake puts the new ones behind the gate)."""
    config = app.extensions["mend"].config
    found = app.extensions.get(_KEY)
    if found is None or found.config is not config:
        found = app.extensions[_KEY] = Budgets.from_config(config)
    return found


def install(app: Flask) -> None:
    """Put the gate in front of this app's Socket.IO server (when the app is made, so a
    connection's first frame already pays)."""
    _gate(socketio.server, budgets_of(app))


def connect(sid: str, user_id: str) -> None:
    """At the handshake: raise MendError("rate_limited") when this user may not open another
    socket (too many open on this worker, or cooling down after a disconnect for flooding)."""
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


def _address(server, eio_sid: str) -> str | None:
    environ = server.environ.get(eio_sid) or {}
    return environ.get("REMOTE_ADDR")


def _unreadable(server, found: Budgets, eio_sid: str, error: BaseException | None) -> None:
    """A frame that doesn't decode: one line per connection, closed past the limit."""
    connection = server.eio.sockets.get(eio_sid)
    if connection is None or connection.closed:
        return  # read after the close: nothing left to count or to close
    count = found.malformed(eio_sid)
    if count == 1:
        sid = server.manager.sid_from_eio_sid(eio_sid, "/")
        who = "a logged-in socket" if sid and found.knows(sid) else "a connection"
        kind = type(error).__name__ if error is not None else "engine.io framing"
        log.warning("%s from %s sent a frame that can't be read (%s); it is closed after "
                    "%d such frames, and they are not logged", who,
                    _address(server, eio_sid), kind, MALFORMED_BEFORE_CLOSE)
    if count == MALFORMED_BEFORE_CLOSE:
        server.eio.disconnect(eio_sid)


def _gate(server, found: Budgets) -> None:
    """Charge each frame as python-socketio reads it, answer a refusal right there, and
    yield after it (see the module's docstring). Installed once per Socket.IO server."""
    if getattr(server, "_mend_budgets", None) is found:
        return
    with _gate_lock:
        if getattr(server, "_mend_budgets", None) is found:
            return
        # The server's own dispatch, even if a gate for another app's budgets was here.
        dispatch = getattr(server, "_mend_dispatch", None) or server._handle_event
        server._mend_dispatch = dispatch
        handlers = server.eio.handlers
        on_message = getattr(server, "_mend_on_message", None) or handlers["message"]
        server._mend_on_message = on_message
        on_gone = getattr(server, "_mend_on_gone", None) or handlers["disconnect"]
        server._mend_on_gone = on_gone

        def gated(eio_sid: str, namespace: str | None, ack_id: int | None, data) -> None:
            """An event, read: charged to its socket (the message gate charged it when no
            logged-in socket of this connection sent it)."""
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

        def gated_message(eio_sid: str, data) -> None:
            """Every engine.io message from a client, before Socket.IO decodes it."""
            try:
                sid = server.manager.sid_from_eio_sid(eio_sid, "/")
                event = isinstance(data, str) and data[:1] == "2"
                if not (sid and found.knows(sid)):
                    # No logged-in socket on this connection: its address pays, except for
                    # a handshake (guarded on its own; behind a proxy that isn't trusted
                    # every client has one address, and a restart reconnects them all).
                    if not (isinstance(data, str) and data[:1] == "0") and \
                            found.admit_address(_address(server, eio_sid)) != ADMIT:
                        return
                    sid = None
                elif data is UNREADABLE or not event:
                    # Not an event (those pay in `gated`, with an answer to their ack).
                    verdict = found.admit(sid)
                    if verdict != ADMIT:
                        _refused(server, sid, verdict)
                        return
                if data is UNREADABLE:
                    _unreadable(server, found, eio_sid, None)
                    return
                try:
                    on_message(eio_sid, data)
                except Exception as error:  # framing Socket.IO can't decode
                    if sid and event:  # it never reached `gated`: it pays here
                        verdict = found.admit(sid)
                        if verdict != ADMIT:
                            _refused(server, sid, verdict)
                    _unreadable(server, found, eio_sid, error)
            finally:
                # Let everyone else run before this connection's next frame.
                server.sleep(0)

        def gated_gone(eio_sid: str, *args):
            found.connection_gone(eio_sid)
            return on_gone(eio_sid, *args)

        server._handle_event = gated
        handlers["message"] = gated_message
        handlers["disconnect"] = gated_gone
        server._mend_budgets = found
