"""A write the database refuses half-way through an event: the ack says so, nothing of the
event is stored, and the same submit goes through once the database is back.

The fault is real, planted in the database itself: a trigger on the reveal (the second
write of a submit that completes a step, after its entry) aborts the statement on SQLite
(a failure Mend can't explain: `internal`), and on PostgreSQL terminates the server process
serving the connection, mid-transaction (the database went away: `unavailable`).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from server.db import UNAVAILABLE_MESSAGE
from tests.conftest import unique_marker

SQLITE_CUT = """
CREATE TRIGGER cut_the_reveal BEFORE INSERT ON reveals
BEGIN SELECT RAISE(ABORT, 'the disk went away'); END
"""
POSTGRES_CUT = (
    """CREATE FUNCTION cut_the_connection() RETURNS trigger AS $$
       BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER cut_the_reveal BEFORE INSERT ON reveals
       FOR EACH ROW EXECUTE FUNCTION cut_the_connection()""",
)


def run_sql(app, *statements: str) -> None:
    with app.extensions["mend"].database.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def cut(app) -> None:
    if app.extensions["mend"].database.engine.dialect.name == "postgresql":
        run_sql(app, *POSTGRES_CUT)
    else:
        run_sql(app, SQLITE_CUT)


def mend_back(app) -> None:
    run_sql(app, "DROP TRIGGER cut_the_reveal" + (
        " ON reveals" if app.extensions["mend"].database.engine.dialect.name == "postgresql"
        else ""))


def stored(app, session_id: str) -> dict:
    """What the database holds of the session, row by row."""
    out = {}
    with app.extensions["mend"].database.engine.connect() as conn:
        for table in ("entries", "drafts", "reveals", "step_ready", "step_states"):
            rows = conn.execute(text(f"SELECT * FROM {table} WHERE session_id = :sid"),
                                {"sid": session_id})
            out[table] = sorted(json.dumps(dict(r._mapping), default=str) for r in rows)
        out["version"] = conn.execute(text("SELECT version FROM sessions WHERE id = :sid"),
                                      {"sid": session_id}).scalar()
    return out


@pytest.mark.parametrize("retry", [False, True])
def test_a_submit_the_database_cuts_off_answers_and_stores_nothing(partners, retry):
    live, app = partners, partners.app
    for sock in (live.sock_a, live.sock_b):
        assert live.emit(sock, "step:ready", step_id="welcome")["ok"]
    step = live.current_step(live.sock_a)
    words_a, words_b = unique_marker("a"), unique_marker("b")
    assert live.emit(live.sock_a, "entry:submit", step_id=step, client_id="fault-a-0001",
                     body=words_a)["ok"]
    assert live.emit(live.sock_b, "entry:draft", step_id=step, body=words_b)["ok"]
    before = stored(app, live.session_id)
    live.sock_a.get_received()

    cut(app)
    try:
        ack = live.emit(live.sock_b, "entry:submit", step_id=step, client_id="fault-b-0001",
                        body=words_b)
        if app.extensions["mend"].database.engine.dialect.name == "postgresql":
            assert ack == {"ok": False, "error": {"code": "unavailable",
                                                  "message": UNAVAILABLE_MESSAGE}}, ack
        else:
            assert ack["ok"] is False and ack["error"]["code"] == "internal", ack
            assert "nothing was changed" in ack["error"]["message"]
        # Not the entry without its reveal, nor the draft gone: exactly what was there.
        assert stored(app, live.session_id) == before
        assert words_b not in json.dumps(live.sock_a.get_received())
        state = live.emit(live.sock_a, "session:join")["state"]
        assert next(s for s in state["steps"] if s["id"] == step)["partner_status"] == "writing"
    finally:
        mend_back(app)
    if retry:  # the same client_id, once the database is back: stored once, revealed
        ack = live.emit(live.sock_b, "entry:submit", step_id=step, client_id="fault-b-0001",
                        body=words_b)
        assert ack["ok"], ack
        after = stored(app, live.session_id)
        assert len(after["entries"]) == 2 and len(after["reveals"]) == 1
        assert after["drafts"] == []
