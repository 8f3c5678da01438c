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
asynchronous mode under every async mode (`install_wait_callback`), and the callback gives
up after the limit: psycopg2 then closes the connection (green.c `green_panic`), SQLAlchemy
sees it closed and drops it from the pool, and the edges answer `unavailable`.
"""

from __future__ import annotations

import math
import select
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


def install_wait_callback(async_mode: str) -> None:
    """Make psycopg2 wait through the event loop (gevent, eventlet) or select (threads),
    never longer than the connection's limit. Nothing without psycopg2 installed."""
    try:
        from psycopg2 import extensions
    except ImportError:  # no PostgreSQL driver installed: nothing to do
        return
    if async_mode == "gevent":
        from gevent.socket import wait_read, wait_write

        def wait_for(fileno: int, write: bool, timeout: float | None, error) -> None:
            (wait_write if write else wait_read)(fileno, timeout=timeout, timeout_exc=error)
    elif async_mode == "eventlet":
        from eventlet.hubs import trampoline

        def wait_for(fileno: int, write: bool, timeout: float | None, error) -> None:
            trampoline(fileno, read=not write, write=write, timeout=timeout,
                       timeout_exc=error)
    else:
        def wait_for(fileno: int, write: bool, timeout: float | None, error) -> None:
            ready = select.select([], [fileno], [], timeout) if write else \
                select.select([fileno], [], [], timeout)
            if not any(ready):
                raise error

    setting_up = extensions.STATUS_SETUP

    def wait(conn, timeout=None) -> None:
        limit = getattr(conn, "connect_limit" if conn.status == setting_up else "answer_limit",
                        None)
        deadline = error = None
        if limit is not None:
            deadline, error = time.monotonic() + limit, _timed_out(limit)
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state not in (extensions.POLL_READ, extensions.POLL_WRITE):
                raise extensions.OperationalError(f"unexpected poll state {state!r}")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise error
            wait_for(conn.fileno(), state == extensions.POLL_WRITE, left, error)

    extensions.set_wait_callback(wait)
