"""server.db.database_unavailable: which failures mean "the database can't be reached or used
right now" (answered `unavailable`) and which are bugs (answered `internal`).

Each error is the driver's own, raised for real where that is quick: a refused PostgreSQL
connection, an exhausted pool, a SQLite file that can't be opened, a locked SQLite file.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from server.db import (
    DISK_FULL_HOLD_SECONDS,
    Database,
    database_unavailable,
    disk_full,
    make_engine,
    unavailable_reason,
)
from tests.conftest import require


def raised_by(action) -> BaseException:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the test wants whatever the driver raised
        return error
    raise AssertionError("expected the action to fail")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def test_a_postgresql_server_that_refuses_the_connection_is_unavailable():
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing")
    try:
        error = raised_by(engine.connect)
    finally:
        engine.dispose()
    assert isinstance(error, OperationalError)
    assert database_unavailable(error)
    assert unavailable_reason(error).startswith("OperationalError: ")


def exhausted_pool_error(tmp_path: Path) -> BaseException:
    """What a checkout raises when the pool's one connection is in use past its timeout."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1,
                         max_overflow=0, pool_timeout=0.05)
    try:
        with engine.connect():
            return raised_by(engine.connect)
    finally:
        engine.dispose()


def test_an_exhausted_pool_is_unavailable(tmp_path: Path):
    error = exhausted_pool_error(tmp_path)
    assert database_unavailable(error)
    reason = unavailable_reason(error)
    assert reason.startswith("TimeoutError: QueuePool limit") and "Background" not in reason


def test_a_sqlite_file_that_cant_be_opened_is_unavailable(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'mend.sqlite3'}")
    try:
        error = raised_by(engine.connect)
    finally:
        engine.dispose()
    assert "unable to open database file" in str(error)
    assert database_unavailable(error)


def test_a_sqlite_file_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path):
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # holds the write lock
    waiter = sqlite3.connect(path, timeout=0)  # Mend waits 5 s; this gives up at once
    try:
        driver_error = raised_by(lambda: waiter.execute("INSERT INTO t VALUES (1)"))
    finally:
        waiter.close()
        holder.close()
    assert str(driver_error) == "database is locked"
    assert database_unavailable(OperationalError("INSERT INTO t VALUES (?)", None, driver_error))


def test_bugs_and_refusals_stay_internal(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'bugs.sqlite3'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x UNIQUE)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            duplicate = raised_by(lambda: conn.execute(text("INSERT INTO t VALUES (1)")))
        with engine.connect() as conn:
            # An OperationalError too, but a bug: the statement, not the database.
            missing = raised_by(lambda: conn.execute(text("SELECT * FROM no_such_table")))
    finally:
        engine.dispose()
    assert isinstance(duplicate, IntegrityError) and isinstance(missing, OperationalError)
    for error in (duplicate, missing, SQLAlchemyError("something else"), ValueError("x"),
                  RuntimeError("database is locked")):  # not a database error at all
        assert not database_unavailable(error), error


@pytest.mark.parametrize("message", [
    "server closed the connection unexpectedly\n\tThis probably means the server terminated",
    "terminating connection due to administrator command",
    'connection to server at "db", port 5432 failed: Connection refused',
    "the database system is starting up",
])
def test_postgresql_losing_or_refusing_the_connection_is_unavailable(message):
    import psycopg2

    error = OperationalError("SELECT 1", None, psycopg2.OperationalError(message))
    assert database_unavailable(error)


def test_the_background_loops_log_a_database_away_as_one_line_and_a_bug_with_its_trace(
        tmp_path: Path, caplog):
    from server.realtime.scheduler import _log_failure

    away = exhausted_pool_error(tmp_path)
    with caplog.at_level("WARNING", logger="mend"):
        _log_failure("log-in guard", away)
        _log_failure("deadline sweep", ValueError("a bug"))
    first, second = caplog.records
    assert first.levelname == "WARNING" and first.exc_info is None
    assert first.getMessage().startswith("log-in guard skipped: database unavailable (Timeout")
    assert second.levelname == "ERROR" and second.exc_info is not None
    assert second.getMessage() == "deadline sweep failed"


# --- a full disk, and a PostgreSQL too slow to answer ----------------------------------------


def test_a_full_sqlite_database_is_unavailable_and_remembered_for_healthz(tmp_path: Path):
    """SQLITE_FULL raised for real (max_page_count: the file may not grow; tests/live/
    test_disk_full.py fills a real file system)."""
    database = Database(f"sqlite:///{tmp_path / 'full.sqlite3'}")
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x)"))
        assert not database.disk_full()
        with database.engine.connect() as conn:
            pages = conn.execute(text("PRAGMA page_count")).scalar()
            conn.execute(text(f"PRAGMA max_page_count = {pages}"))
            error = raised_by(lambda: conn.execute(text("INSERT INTO t VALUES (:x)"),
                                                   {"x": "x" * 100_000}))
    finally:
        database.dispose()
    assert "database or disk is full" in str(error)
    assert database_unavailable(error) and disk_full(error)
    # The file system itself has room, so /healthz would let it go at once; without room,
    # it counts for DISK_FULL_HOLD_SECONDS.
    assert database.disk_full_at is not None
    assert not database.disk_full()
    database.disk_full_at = time.monotonic()
    database._room_again = lambda: False
    assert database.disk_full()
    database.disk_full_at = time.monotonic() - DISK_FULL_HOLD_SECONDS
    assert not database.disk_full()


@pytest.mark.parametrize("message,sqlstate", [
    ('could not extend file "base/16384/16385": No space left on device', "53100"),
    ('could not write to file "pg_wal/xlogtemp.1": No space left on device', None),
    ("canceling statement due to statement timeout", "57014"),
])
def test_postgresql_out_of_disk_or_cancelled_for_time_is_unavailable(message, sqlstate):
    import psycopg2

    class Driver(psycopg2.OperationalError):
        pgcode = sqlstate

    error = OperationalError("INSERT INTO t VALUES (%s)", None, Driver(message))
    assert database_unavailable(error)
    assert disk_full(error) is ("No space" in message)


def test_a_postgresql_statement_past_the_statement_timeout_is_unavailable():
    url = os.environ.get("MEND_TEST_POSTGRES_URL")
    require(bool(url), "MEND_TEST_POSTGRES_URL is not set")
    database = Database(url, statement_timeout=0.2)
    started = time.monotonic()
    try:
        with database.session() as db:
            assert db.execute(text("SHOW statement_timeout")).scalar() == "200ms"
            error = raised_by(lambda: db.execute(text("SELECT pg_sleep(5)")))
    finally:
        database.dispose()
    assert time.monotonic() - started < 3
    assert database_unavailable(error), error
