"""PostgreSQL through psycopg2: every wait for the server is bounded.

Two limits, set per worker (MEND_DB_CONNECT_TIMEOUT, MEND_DB_STATEMENT_TIMEOUT):

* **connect**: libpq's `connect_timeout` (a blocking connect), and the same limit on the
  wait callback while a connection is being set up (a green connect goes through
  PQconnectPoll, where libpq's own timeout is not applied).
* **statement**: PostgreSQL's `statement_timeout`, sent once in the start-up packet
  (`options=-c statement_timeout=…`: no extra round trip per statement), so a statement
  the server is slow with is cancelled there (SQLSTATE 57014); and, for a server that
  accepted the connection but never answers (a hung host, a stopped process, a proxy
  holding on), a client-side limit of that plus a second on each wait for an answer.

Why a wait callback and not TCP settings: when the server's kernel still acknowledges the
packets (it is there, it just doesn't answer), neither TCP keepalives (their probes are
acknowledged) nor `tcp_user_timeout` (the data *is* acknowledged) ever fire; measured here
against a listener that accepts and never answers, a connect with keepalives every 1 s and
tcp_user_timeout=1000 waited until it was killed, while `connect_timeout=2` gave up after
2.0 s. A query on an open connection has no libpq timeout at all. So psycopg2 runs in its
asynchronous mode under every async mode (`install_wait_callback`), and a wait that passes
its limit ends: under gevent and eventlet a watchdog shuts the connection's socket down (a
timer per round trip cost ~20 us, a tenth of a SELECT 1; a dict entry costs ~1 us),
under threads select() gives up. psycopg2 then closes the connection (green.c
`green_panic`), SQLAlchemy sees it closed and drops it from the pool, and the edges answer
`unavailable`.
"""

from __future__ import annotations

import math
import os
import select
import socket
import threading
import time

# A statement may run up to statement_timeout on the server before it is cancelled there;
# the client waits this much longer for the cancellation's answer before giving up.
ANSWER_GRACE_SECONDS = 1.0
TIMEOUT_MESSAGE = "timeout expired: the database did not answer within {limit:g} s"


def connect_args(connect_timeout: float | None,
                 statement_timeout: float | None) -> dict[str, object]:
    """psycopg2.connect() arguments for these limits (None or 0: no limit)."""
    from psycopg2 import extensions

    args: dict[str, object] = {}
    if connect_timeout:
        # libpq takes whole seconds (and reads 1 as 2).
        args["connect_timeout"] = max(1, math.ceil(connect_timeout))
    answer_limit = None
    if statement_timeout:
        args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
        answer_limit = statement_timeout + ANSWER_GRACE_SECONDS
    args["connection_factory"] = type("MendConnection", (extensions.connection,), {
        "connect_limit": connect_timeout or None,
        "answer_limit": answer_limit,
    })
    return args


def _timed_out(limit: float):
    from psycopg2 import OperationalError

    # "timeout expired" is libpq's own word for a connect that took too long: the edges
    # (server.db.database_unavailable) read it as `unavailable`.
    return OperationalError(TIMEOUT_MESSAGE.format(limit=limit))


# Under gevent and eventlet, a timeout on each wait would cost a timer per round trip
# (measured: gevent's wait_read with a timeout took ~20 us more than without, a tenth of a
# SELECT 1, and a draft save makes several; this callback costs ~1 us more than an
# unbounded one). Instead each bounded wait registers its
# deadline here (a dict entry), and one watchdog looks every WATCH_PERIOD seconds: a wait
# past its deadline has its socket shut down, which wakes it with libpq's "server closed
# the connection", and the callback raises the timeout instead.
WATCH_PERIOD = 0.25
_WAITS: dict[int, tuple[float, object]] = {}  # id(connection) -> (deadline, connection)
_EXPIRED: set[int] = set()  # ids whose wait the watchdog ended
_watchdog: list[threading.Thread] = []


def _watch() -> None:
    while True:
        time.sleep(WATCH_PERIOD)
        now = time.monotonic()
        for key, entry in list(_WAITS.items()):
            if entry[0] <= now and _WAITS.get(key) is entry:
                _EXPIRED.add(key)
                _shut(entry[1])


def _shut(conn) -> None:
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):  # already closed
        pass


def _start_watchdog() -> None:
    if not _watchdog:
        _watchdog.append(threading.Thread(target=_watch, name="mend-postgres-watchdog",
                                          daemon=True))
        _watchdog[0].start()


def install_wait_callback(async_mode: str) -> None:
    """Make psycopg2 wait through the event loop (gevent, eventlet) or select (threads),
    never longer than the connection's limit. Nothing without psycopg2 installed.
    Call it after monkey-patching: the watchdog is a green thread then."""
    try:
        from psycopg2 import OperationalError, extensions
    except ImportError:  # no PostgreSQL driver installed: nothing to do
        return
    setting_up = extensions.STATUS_SETUP
    poll_ok, poll_read, poll_write = (extensions.POLL_OK, extensions.POLL_READ,
                                      extensions.POLL_WRITE)

    def limit_of(conn) -> float | None:
        return getattr(conn, "connect_limit" if conn.status == setting_up else "answer_limit",
                       None)

    if async_mode in ("gevent", "eventlet"):
        if async_mode == "gevent":
            from gevent.socket import wait_read, wait_write
        else:
            from eventlet.hubs import trampoline

            def wait_read(fileno: int) -> None:
                trampoline(fileno, read=True)

            def wait_write(fileno: int) -> None:
                trampoline(fileno, write=True)

        def green_wait(conn, timeout=None) -> None:
            limit = limit_of(conn)
            key = id(conn)
            if limit is not None:
                _WAITS[key] = (time.monotonic() + limit, conn)
            try:
                while True:
                    state = conn.poll()
                    if state == poll_ok:
                        return
                    if state == poll_read:
                        wait_read(conn.fileno())
                    elif state == poll_write:
                        wait_write(conn.fileno())
                    else:
                        raise OperationalError(f"unexpected poll state {state!r}")
            except OperationalError:
                if key in _EXPIRED:
                    raise _timed_out(limit) from None
                raise
            finally:
                if limit is not None:
                    _WAITS.pop(key, None)
                    if _EXPIRED:
                        _EXPIRED.discard(key)

        _start_watchdog()
        extensions.set_wait_callback(green_wait)
        return

    def thread_wait(conn, timeout=None) -> None:
        # select() takes a timeout at no extra cost: no watchdog (and no race with another
        # thread reusing a file descriptor) needed.
        limit = limit_of(conn)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            state = conn.poll()
            if state == poll_ok:
                return
            if state not in (poll_read, poll_write):
                raise OperationalError(f"unexpected poll state {state!r}")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise _timed_out(limit)
            fileno = conn.fileno()
            select.select([fileno] if state == poll_read else [],
                          [fileno] if state == poll_write else [], [], left)

    extensions.set_wait_callback(thread_wait)
