"""The database out of reach: every client is told `unavailable` (not `internal`), nothing is
stored, and the same request succeeds once the database is back.

Here the database is "out of reach" the way an overloaded server makes it: its connection
pool is exhausted. The app's pool is one connection with no overflow and a 1-s wait, and the
test holds that one connection checked out; a socket event and an HTTP request then wait for
a connection, give up, and answer `unavailable`. Released, the pool serves again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from server.db import UNAVAILABLE_MESSAGE, Database
from tests.conftest import unique_marker

POOL_WAIT_SECONDS = 1.0


@pytest.fixture
def tiny_pool(partners) -> Database:
    """The app's database swapped for one whose pool holds a single connection."""
    ctx = partners.app.extensions["mend"]
    original = ctx.database
    tiny = Database(original.url, pool_size=1, max_overflow=0, pool_timeout=POOL_WAIT_SECONDS)
    ctx.database = tiny
    yield tiny
    ctx.database = original
    tiny.dispose()


@contextmanager
def pool_taken(database: Database) -> Iterator:
    """Hold the pool's only connection; the test reads through it meanwhile."""
    conn = database.engine.connect()
    try:
        yield conn
    finally:
        conn.close()


def rows_of(conn, session_id: str) -> dict:
    out = {}
    for table in ("entries", "drafts", "reveals"):
        rows = conn.execute(text(f"SELECT * FROM {table} WHERE session_id = :sid"),
                            {"sid": session_id})
        out[table] = sorted(json.dumps(dict(r._mapping), default=str) for r in rows)
    conn.rollback()
    return out


def test_an_exhausted_pool_answers_unavailable_and_stores_nothing_then_recovers(
        partners, tiny_pool, caplog):
    live = partners
    for sock in (live.sock_a, live.sock_b):
        assert live.emit(sock, "step:ready", step_id="welcome")["ok"]
    step = live.current_step(live.sock_a)
    words = unique_marker("submit")

    with pool_taken(tiny_pool) as conn:
        before = rows_of(conn, live.session_id)
        with caplog.at_level(logging.WARNING, logger="mend"):
            refused = live.emit(live.sock_a, "entry:submit", step_id=step,
                                client_id="pool-a-0001", body=words)
            draft = live.emit(live.sock_a, "entry:draft", step_id=step, body=words)
            me = live.a.get("/me")
        assert refused == {"ok": False, "error": {"code": "unavailable",
                                                  "message": UNAVAILABLE_MESSAGE}}, refused
        assert draft["ok"] is False and draft["error"]["code"] == "unavailable", draft
        assert me.status_code == 503, me.get_json()
        assert me.get_json() == refused
        # Nothing of either event reached the database.
        assert rows_of(conn, live.session_id) == before
        assert words not in json.dumps(before)
    # One warning per refusal naming the cause, without a stack trace. (The log-in guard,
    # if its round fell in the window, logs its own skipped round: not a refusal.)
    edges = ("mend.realtime", "mend.web")
    refusals = [r for r in caplog.records
                if r.name in edges and "database unavailable" in r.getMessage()]
    assert len(refusals) == 3, [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in refusals)
    assert all("TimeoutError" in r.getMessage() for r in refusals)
    assert not [r for r in caplog.records if r.name in edges and r.levelno >= logging.ERROR]

    # The connection is back in the pool: the same submit (same client_id) is stored once.
    accepted = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="pool-a-0001",
                         body=words)
    assert accepted["ok"], accepted
    assert live.a.get("/me").status_code == 200
    with pool_taken(tiny_pool) as conn:
        after = rows_of(conn, live.session_id)
    assert len(after["entries"]) == len(before["entries"]) + 1
    assert words in json.dumps(after["entries"])
