"""On PostgreSQL, a query that waits must not stop the worker: psycopg2 runs in C, out of
monkey-patching's reach, so `mend run` installs a wait callback (server.cli). Here one
couple's action waits on a row lock held from outside while another couple is served by
the same worker; then the lock goes and the waiting action completes."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import text

from server.db import make_engine
from tests.conftest import require
from tests.live.conftest import MendServer, make_couple_session

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(0.05)


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_query_waiting_on_postgres_does_not_stop_the_worker(data_dir, async_mode):
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    server = MendServer(data_dir, async_mode,
                        env_extra={"MEND_DATABASE_URL": POSTGRES_URL}).start()
    holder = engine.connect()
    try:
        ana, _ben, stuck_session = make_couple_session(server.url)
        cleo, _dan, other_session = make_couple_session(server.url)
        sock_ana, sock_cleo = ana.connect(), cleo.connect()
        joined = sock_ana.call("session:join", {"session_id": stuck_session}, timeout=10)
        step_id = joined["state"]["session"]["current_step_id"]

        # Someone else holds the session's row: Ana's action waits for it in PostgreSQL.
        transaction = holder.begin()
        holder.execute(text("SELECT id FROM sessions WHERE id = :id FOR UPDATE"),
                       {"id": stuck_session})
        acks: list[dict] = []
        arrived = threading.Event()

        def on_ack(ack: dict) -> None:
            acks.append(ack)
            arrived.set()

        sock_ana.emit("step:ready", {"session_id": stuck_session, "step_id": step_id},
                      callback=on_ack)

        def ana_is_waiting() -> bool:
            with engine.connect() as probe:
                return probe.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE sessions%'")) > 0

        wait_until(ana_is_waiting, timeout=10)

        # Meanwhile the same worker serves another couple.
        started = time.monotonic()
        ack = sock_cleo.call("session:join", {"session_id": other_session}, timeout=5)
        assert ack["ok"], ack
        assert time.monotonic() - started < 2.0
        assert not arrived.is_set()  # Ana's action is still waiting, not failed

        transaction.rollback()
        assert arrived.wait(10), "the waiting action never completed"
        assert acks[0]["ok"], acks[0]
    finally:
        holder.close()
        server.stop()
        engine.dispose()
