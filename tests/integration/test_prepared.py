"""server.prepared runs the hot path's statements on the DB-API cursor. What it returns must be
exactly what SQLAlchemy's own execution returns (datetimes, JSON, booleans), on SQLite and
PostgreSQL, and a driver error must surface as SQLAlchemy's, with the values hidden.
"""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError

from server.config import Config
from server.content import load_library
from server.db import Database, upgrade
from server.models import Entry
from server.prepared import Prepared
from server.services import sessions as service
from tests.integration.conftest import couple_in_session

TRACK_ID = "understanding-our-trust"
SECRET = "marker-7f3a-an-answer-nobody-may-log"


@pytest.fixture
def lived_in(database_url, data_dir):
    """A session with something in every table the hot path reads: a submitted entry, a
    draft, a reveal, readies, a step advance."""
    upgrade(database_url)
    library = load_library(Config.from_env({"MEND_DATA_DIR": str(data_dir)}).content_dir)
    database = Database(database_url)
    with database.session() as db:
        a, b, couple_id, session_id = couple_in_session(db, library, TRACK_ID)
        for user in (a.id, b.id):
            service.mark_ready(db, library, user, session_id, "welcome")
        step = "what-trust-means"
        service.submit_entry(db, library, a.id, session_id, step, "client-a-0001", SECRET)
        service.submit_entry(db, library, b.id, session_id, step, "client-b-0001", "mine")
        for user in (a.id, b.id):
            service.mark_ready(db, library, user, session_id, step)
        service.save_draft(db, library, a.id, session_id, "feeling-secure-now", None,
                           {"value": 3})
        service.save_draft(db, library, b.id, session_id, "feeling-secure-now", None,
                           {"value": 8})
    yield database, session_id, couple_id
    database.dispose()


READS = ("_LOCK", "_LOAD_SESSION", "_LOAD_MEMBERS", "_LOAD_ENTRIES", "_LOAD_DRAFTS",
         "_LOAD_REVEALS", "_LOAD_READY", "_LOAD_STATES", "_LOAD_TURNS", "_LOAD_NOTES",
         "_LOAD_AUDIT", "_LOAD_RECORDS")


@pytest.mark.parametrize("name", READS)
def test_each_prepared_read_returns_exactly_what_sqlalchemy_returns(lived_in, name):
    database, session_id, couple_id = lived_in
    prepared = getattr(service, name)
    params = {"sid": session_id, "couple_id": couple_id}
    with database.session() as db:
        conn = db.connection()
        expected = [tuple(row) for row in conn.execute(prepared.statement, params)]
        got = prepared.rows(conn, params)
    assert [tuple(row) for row in got] == expected
    assert [type(v) for row in got for v in row] == [type(v) for row in expected for v in row]
    if name in ("_LOAD_ENTRIES", "_LOAD_DRAFTS", "_LOCK", "_LOAD_MEMBERS"):
        assert expected, "the fixture must give this read something to compare"
    if got:  # rows are read by column name in services.sessions
        first = got[0]
        for column in prepared.statement.exported_columns:
            if getattr(column, "key", None):
                assert getattr(first, column.key) == expected[0][
                    list(prepared.statement.exported_columns).index(column)]


def test_a_prepared_write_reports_the_rows_it_changed(lived_in):
    database, session_id, _couple = lived_in
    with database.session() as db:
        conn = db.connection()
        drafts = service._LOAD_DRAFTS.rows(conn, {"sid": session_id})
        draft = drafts[0]
        row = {"sid": session_id, "b_step": draft.step_id, "b_user": draft.user_id,
               "b_body": "changed", "b_fields": None, "b_saved_at": draft.saved_at}
        assert service._UPDATE_DRAFT.run(conn, row) == 1
        assert service._UPDATE_DRAFT.run(conn, {**row, "b_user": "nobody"}) == 0
        db.commit()
    with database.session() as db:
        again = service._LOAD_DRAFTS.rows(db.connection(), {"sid": session_id})
    assert {(d.user_id, d.step_id): d.body for d in again}[(draft.user_id, draft.step_id)] \
        == "changed"


def test_a_driver_error_is_sqlalchemys_and_never_shows_the_values(lived_in):
    database, session_id, _couple = lived_in
    with database.session() as db:
        conn = db.connection()
        entry = service._LOAD_ENTRIES.rows(conn, {"sid": session_id})[0]
        duplicate = {"id": entry.id, "session_id": session_id, "step_id": entry.step_id,
                     "user_id": entry.user_id, "client_id": "another-client", "body": SECRET,
                     "fields": None, "skipped": False, "submitted_at": entry.submitted_at}
        with pytest.raises(IntegrityError) as caught:
            service._INSERT_ENTRY.run(conn, duplicate)
    assert SECRET not in str(caught.value)
    # The connection is usable afterwards (rolled back by the unit of work).
    with database.session() as db:
        assert service._LOAD_ENTRIES.rows(db.connection(), {"sid": session_id})


def test_a_statement_that_needs_a_python_default_is_refused(lived_in):
    database, session_id, _couple = lived_in
    # entries.id has a Python-side default (new_id): leaving it out must not insert a row
    # without it.
    missing_id = Prepared(insert(Entry.__table__).values(
        session_id=bindparam("session_id"), step_id=bindparam("step_id")))
    with database.session() as db, pytest.raises(ValueError, match="default"):
        missing_id.run(db.connection(), {"session_id": session_id, "step_id": "x"})


def test_the_pool_hands_out_the_connection_returned_last(database_url):
    # SQLite drops a connection's page cache when another connection wrote in between: the
    # hot path keeps one warm connection only if the pool is LIFO.
    upgrade(database_url)
    database = Database(database_url)
    try:
        first, second = database.engine.connect(), database.engine.connect()
        first_raw, second_raw = first.connection.dbapi_connection, \
            second.connection.dbapi_connection
        first.close()
        second.close()
        with database.engine.connect() as again:
            assert again.connection.dbapi_connection is second_raw
            assert again.connection.dbapi_connection is not first_raw
    finally:
        database.dispose()
