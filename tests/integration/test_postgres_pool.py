"""PostgreSQL's pool pings a connection only when it sat idle (server.db._ping_if_idle): one
that a restart or an idle timeout killed is replaced before any statement runs, and one in
steady use costs no extra round trip."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from server import db as db_module
from server.db import make_engine
from tests.conftest import require
from tests.integration.conftest import POSTGRES_URL


@pytest.fixture
def engine(monkeypatch):
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.2)
    engine = make_engine(POSTGRES_URL)
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping",
                        lambda connection: pings.append(1) or ping(connection))
    yield engine, pings
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def wait_idle() -> None:
    # What is tested is time itself: the connection must sit idle past the threshold.
    time.sleep(db_module.PING_AFTER_IDLE_SECONDS * 2)


def test_a_connection_in_steady_use_is_not_pinged(engine):
    engine, pings = engine
    first = backend_pid(engine)
    for _ in range(20):
        assert backend_pid(engine) == first
    assert pings == []
    wait_idle()
    assert backend_pid(engine) == first
    assert pings == [1]


def test_a_connection_killed_while_idle_is_replaced_before_use(engine):
    engine, pings = engine
    doomed = backend_pid(engine)
    killer = make_engine(POSTGRES_URL)
    try:
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"),
                                {"pid": doomed}).scalar_one()
    finally:
        killer.dispose()
    wait_idle()
    # No error reaches the caller: the ping found it dead, the pool opened a new one.
    assert backend_pid(engine) != doomed
    assert pings
