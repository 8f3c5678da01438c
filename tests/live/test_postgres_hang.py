"""A PostgreSQL that hangs (it accepts connections and never answers) is `unavailable`
within the worker's timeouts, like one that refuses, and Mend carries on when it answers
again. The hang is a TCP proxy in front of the test's PostgreSQL that the test switches to
"accept, read, never answer" and back."""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import suppress

import pytest
import requests
from sqlalchemy import text

from server.db import UNAVAILABLE_MESSAGE, make_engine
from tests.conftest import require
from tests.live.conftest import MendServer, make_couple_session

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
CONNECT_TIMEOUT = 1.0
STATEMENT_TIMEOUT = 1.0
# The worst case: a pooled connection's pre-ping waits out the statement limit (+1 s of
# grace, server/postgres.py), then the fresh connection it tries waits out the connect
# limit (libpq reads 1 s as 2 s). Plus slack for a busy test machine.
ANSWERED_WITHIN = (STATEMENT_TIMEOUT + 1) + 2 * CONNECT_TIMEOUT + 3.0
UNAVAILABLE = {"ok": False, "error": {"code": "unavailable", "message": UNAVAILABLE_MESSAGE}}


class HangingProxy:
    """A TCP relay to PostgreSQL. hang(): open connections and new ones are accepted and
    read, but nothing reaches PostgreSQL and nothing comes back (the kernel still
    acknowledges every packet, as a hung server's does). answer(): new connections relay
    again; the hung ones are closed."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.hanging = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.held.append(client)
            if self.hanging.is_set():
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.held.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _swallow(self, client: socket.socket) -> None:
        with suppress(OSError):
            while client.recv(65536):
                pass

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self.hanging.is_set():
                    continue  # read and dropped: the other side hears nothing
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def hang(self) -> None:
        self.hanging.set()

    def answer(self) -> None:
        with self.lock:
            held, self.held = self.held, []
        for conn in held:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.hanging.clear()

    def close(self) -> None:
        self.hanging.clear()
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.answer()


def wait_for(condition, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_hanging_postgresql_answers_unavailable_within_the_timeouts_then_recovers(
        data_dir, async_mode):
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    proxy = HangingProxy((engine.url.host or "127.0.0.1", engine.url.port or 5432))
    relayed = engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    engine.dispose()
    server = MendServer(data_dir, async_mode, env_extra={
        "MEND_DATABASE_URL": relayed,
        "MEND_DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "MEND_DB_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
    }).start()
    try:
        ana, _ben, session_id = make_couple_session(server.url)
        sock = ana.connect()
        assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]

        proxy.hang()
        started = time.monotonic()
        me = ana.http.get(f"{server.url}/api/v1/me", timeout=30)
        took = time.monotonic() - started
        assert (me.status_code, me.json()) == (503, UNAVAILABLE), me.text
        assert took < ANSWERED_WITHIN, took
        print(f"{async_mode}: GET /me answered 503 after {took:.2f} s of hang")

        started = time.monotonic()
        ack = sock.call("session:join", {"session_id": session_id}, timeout=30)
        took = time.monotonic() - started
        assert ack == UNAVAILABLE, ack
        assert took < ANSWERED_WITHIN, took
        print(f"{async_mode}: session:join acked 'unavailable' after {took:.2f} s")

        health = requests.get(f"{server.url}/healthz", timeout=30)
        assert health.status_code == 503, health.text

        proxy.answer()
        assert wait_for(lambda: ana.get("/me").status_code == 200), "no recovery"
        assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert "Traceback" not in server.log()
    finally:
        server.stop()
        proxy.close()
