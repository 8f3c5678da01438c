"""The database engine, sessions and migrations (SQLite WAL by default, PostgreSQL too)."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from server.config import resource_dir

log = logging.getLogger("mend.db")

# Answers live in these files: readable by the account that runs Mend and nobody else.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
# How long a PostgreSQL connection attempt may take before it counts as unreachable, and
# how long a statement may run (or the server stay silent) before it counts as unavailable
# (MEND_DB_CONNECT_TIMEOUT, MEND_DB_STATEMENT_TIMEOUT; server/postgres.py says how).
CONNECT_TIMEOUT_SECONDS = 5.0
STATEMENT_TIMEOUT_SECONDS = 5.0
# How long a unit of work waits for a free pooled connection before it is answered
# `unavailable` (SQLAlchemy's own default is 30 s, longer than a client waits for an ack).
POOL_TIMEOUT_SECONDS = 10.0

# A full disk: Mend can't save until an operator makes room (the same request works then).
DISK_FULL_MESSAGES = (
    "database or disk is full",  # SQLite: SQLITE_FULL (ENOSPC, or max_page_count)
    "could not extend file",  # PostgreSQL: a table or index file can't grow
    "no space left on device",  # PostgreSQL (WAL, temporary files), any OS write
)
# The driver's words for "the database can't be reached or used right now" (matched in the
# first line of its message, lower-cased). PostgreSQL (libpq/psycopg2): connecting failed,
# or the server went away under an open connection. SQLite: the file can't be opened, or
# another writer kept it locked past busy_timeout (5 s): Mend can't save now, and the same
# request succeeds once the lock or the file is back, which is what `unavailable` tells the
# person; a bug (bad SQL, a constraint) stays `internal`.
UNAVAILABLE_MESSAGES = (
    "could not connect",
    "connection refused",
    "could not translate host name",
    "timeout expired",
    "the database system is",  # starting up, shutting down, in recovery mode
    "too many clients",
    "remaining connection slots are reserved",
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "connection not open",
    "connection already closed",
    "could not receive data from server",
    "could not send data to server",
    "connection has been closed unexpectedly",
    "unable to open database file",
    "database is locked",
    "disk i/o error",
    *DISK_FULL_MESSAGES,
)
# SQLSTATEs of the same: class 08 (connection exception), 57P01-57P03 (the server is
# shutting down, crashed, or can't take connections yet), 53300 (too many connections),
# 57014 (a statement cancelled: statement_timeout, the server too slow to answer), 53100
# (disk full).
DISK_FULL_SQLSTATE = "53100"
UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03", "53300", "57014", DISK_FULL_SQLSTATE)
# /healthz answers 503 for this long after a write failed on a full disk. A read-only
# health check can't see a full disk (SELECT 1 still works), and a probe write can't either
# (SQLite reuses WAL space; a rolled-back write touches no disk): the failures themselves
# are the evidence. While the disk stays full each write renews it; on SQLite it ends as
# soon as the database's file system has room again (DISK_ROOM_BYTES free), elsewhere after
# the hold, and a load balancer then tries the worker again.
DISK_FULL_HOLD_SECONDS = 30.0
DISK_ROOM_BYTES = 1024 * 1024
# What the person is told (HTTP 503 and socket acks, code `unavailable`): the unit of work
# was rolled back, so nothing of the request was stored.
UNAVAILABLE_MESSAGE = ("Mend can't reach its database right now, so nothing was saved. "
                       "Please try again in a moment.")


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; NORMAL still survives a process
    # crash (kill -9) and avoids an fsync per commit blocking the event loop.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Deleted and overwritten rows (an erased account's words) are zeroed in their page,
    # and freed pages too, instead of lingering in free space: many SQLite builds leave
    # this off. Erasure then checkpoints the WAL (server/services/data_rights.py).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory and URI-style databases)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(name)


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions away from one of Mend's own files or directories."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            path.chmod(current & mode)
    except FileNotFoundError:
        pass
    except OSError as error:  # not ours to change (another owner): say so, carry on
        log.warning("could not make %s private: %s", path, error.strerror)


def protect_data_dir(data_dir: Path) -> None:
    """The data directory (database, secret key) is the owner's alone: 0700."""
    _tighten(Path(data_dir), PRIVATE_DIR)


def protect_sqlite_files(path: Path) -> None:
    """Create the database file 0600 before SQLite does, and tighten older ones.

    SQLite gives the -wal and -shm files it creates the database file's permissions, so a
    0600 database keeps its companions private too. Files an older Mend created 0644 are
    narrowed here, at start. When the file can't be created (a read-only directory),
    SQLite's own attempt fails next and start-up explains it.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        pass
    except OSError:
        return
    for suffix in SQLITE_COMPANIONS:
        _tighten(path.with_name(path.name + suffix), PRIVATE_FILE)


def make_engine(url: str, *, pool_timeout: float = POOL_TIMEOUT_SECONDS,
                pool_size: int | None = None, max_overflow: int | None = None,
                connect_timeout: float | None = CONNECT_TIMEOUT_SECONDS,
                statement_timeout: float | None = None) -> Engine:
    """The engine for a database URL. pool_size/max_overflow: None keeps SQLAlchemy's
    (5 + 10); pool_timeout: how long a checkout waits for a free connection;
    connect_timeout/statement_timeout (PostgreSQL; None: no limit): see server/postgres.py.
    Migrations run without a statement timeout (they may wait for another worker's)."""
    # hide_parameters: a failed statement's error (and so any log line with it) names the
    # SQL but never the values: no answer text, e-mail or password hash reaches a log.
    # LIFO: the connection used last is handed out next. SQLite empties a connection's page
    # cache whenever another connection wrote since, so rotating through the pool (FIFO,
    # SQLAlchemy's default) made most events read their pages again (profiled: a draft save
    # 290 -> 210 us); on PostgreSQL, connections beyond the busy few stay idle.
    pool = {"pool_timeout": pool_timeout, "pool_use_lifo": True}
    if pool_size is not None:
        pool["pool_size"] = pool_size
    if max_overflow is not None:
        pool["max_overflow"] = max_overflow
    if url.startswith("postgresql://"):
        # psycopg2 works under both gevent and eventlet; psycopg 3 does not support eventlet.
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            protect_sqlite_files(path)
        # A database file gets SQLAlchemy's QueuePool; in-memory ones a pool without these.
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               hide_parameters=True, **(pool if path is not None else {}))
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    connect_args = {}
    if "psycopg2" in url:
        from server.postgres import connect_args as postgres_args

        connect_args = postgres_args(connect_timeout, statement_timeout)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                         connect_args=connect_args, **pool)


class Database:
    def __init__(self, url: str, *, pool_timeout: float = POOL_TIMEOUT_SECONDS,
                 pool_size: int | None = None, max_overflow: int | None = None,
                 connect_timeout: float | None = CONNECT_TIMEOUT_SECONDS,
                 statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.engine = make_engine(url, pool_timeout=pool_timeout, pool_size=pool_size,
                                  max_overflow=max_overflow, connect_timeout=connect_timeout,
                                  statement_timeout=statement_timeout)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Set by dispose(): background loops stop instead of opening a new pool on an engine
        # that was closed (tests build many apps in one process; each pool holds connections).
        self.closed = False
        # When a statement last failed on a full disk (monotonic seconds), for /healthz;
        # the listener runs on errors only: nothing is added to a statement that works.
        self.disk_full_at: float | None = None
        event.listen(self.engine, "handle_error", self._note_error)

    def _note_error(self, context) -> None:
        if disk_full(context.original_exception):
            self.disk_full_at = time.monotonic()

    def disk_full(self) -> bool:
        """Whether a write failed on a full disk lately (DISK_FULL_HOLD_SECONDS says how
        long that counts)."""
        at = self.disk_full_at
        if at is None:
            return False
        if time.monotonic() - at < DISK_FULL_HOLD_SECONDS and not self._room_again():
            return True
        self.disk_full_at = None
        return False

    def _room_again(self) -> bool:
        path = sqlite_path(self.url)
        if path is None:
            return False
        try:
            found = os.statvfs(path.parent)
        except OSError:
            return False
        return found.f_bavail * found.f_frsize >= DISK_ROOM_BYTES

    @contextmanager
    def session(self) -> Iterator[DbSession]:
        """One unit of work; services commit, anything left open is rolled back."""
        db = self._sessions()
        try:
            yield db
        finally:
            try:
                db.rollback()
            finally:
                # Even when the rollback fails (the connection is gone), the connection goes
                # back to the pool (invalidated), so a lost database doesn't drain the pool.
                db.close()

    def ping(self) -> bool:
        """Whether the database answers a `SELECT 1` now (for /healthz)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.closed = True
        self.engine.dispose()


def disk_full(error: BaseException | None) -> bool:
    """Whether a driver's (or SQLAlchemy's) error says the disk is full."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    if cause is None:
        return False
    if getattr(cause, "pgcode", None) == DISK_FULL_SQLSTATE:
        return True
    first_line = str(cause).strip().partition("\n")[0].lower()
    return any(message in first_line for message in DISK_FULL_MESSAGES)


def database_unavailable(error: BaseException) -> bool:
    """Whether an exception means Mend's database can't be reached or used right now (the
    request may succeed unchanged in a moment), rather than a bug.

    True for: a pool with no free connection within its timeout; a connection SQLAlchemy
    found dead (it invalidates it, so the pool opens a fresh one next time); and the
    driver's OperationalError/InterfaceError for a failed connect or a lost connection,
    or SQLite's unopenable or locked file (UNAVAILABLE_MESSAGES says why those count).
    The edges answer it `unavailable` (HTTP 503) instead of `internal`.
    """
    if isinstance(error, (PoolTimeoutError, DisconnectionError)):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    cause = error.orig
    sqlstate = getattr(cause, "pgcode", None) or ""
    if sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES:
        return True
    first_line = str(cause).strip().partition("\n")[0].lower()
    return any(message in first_line for message in UNAVAILABLE_MESSAGES)


def unavailable_reason(error: BaseException) -> str:
    """A short cause for an operator's log line: the exception's class and the driver's
    first line (no SQL, no values: hide_parameters keeps those out of the message)."""
    if not isinstance(error, DBAPIError) and error.args and isinstance(error.args[0], str):
        # The pool's own errors: their text without SQLAlchemy's "Background on this error".
        return f"{type(error).__name__}: {error.args[0]}"
    return f"{type(error).__name__}: {_reason(error)}"


def alembic_config(url: str):
    """Alembic's settings, built in code: an installed Mend has no alembic.ini beside it."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    # set_main_option goes through ConfigParser interpolation: a '%' in the path is literal.
    cfg.set_main_option("script_location", str(resource_dir("migrations")).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = url
    return cfg


def check_database(url: str) -> None:
    """Open the database and begin a write that changes nothing (rolled back): raises the
    driver's error when Mend could not serve, so start-up can say what to fix."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            conn.rollback()
    finally:
        engine.dispose()


def _reason(error: BaseException) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(cause).__name__


def explain_database_error(url: str, error: BaseException) -> str:
    """One sentence for the operator: what went wrong with the database, and what to fix.
    Never the URL's password."""
    reason = _reason(error)
    read_only = any(word in reason.lower() for word in ("readonly", "read-only", "read only"))
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        folder = path.parent if path is not None else "its directory"
        if read_only:
            return (f"The database {path} can't be written ({reason}): make {folder} and the "
                    f"files in it writable by the user running Mend, or set MEND_DATA_DIR to "
                    f"a directory it can write.")
        return (f"The database {path} can't be opened ({reason}): make sure {folder} exists "
                f"and the user running Mend can read and write it, or set MEND_DATA_DIR to a "
                f"directory it can.")
    parsed = make_url(url)
    place = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    if read_only:
        return (f"The database at {place} is read-only ({reason}): point MEND_DATABASE_URL "
                f"at a server Mend may write to.")
    return (f"Mend can't use the database at {place} ({reason}): check that PostgreSQL is "
            f"running there and that MEND_DATABASE_URL is right.")


# pg_advisory_lock's key for migrations: any fixed 64-bit number no other code uses.
MIGRATION_LOCK_KEY = 0x6D656E64_6D696772  # "mendmigr"


def upgrade(url: str) -> None:
    """Bring the schema to the newest revision (idempotent).

    On PostgreSQL the migration runs under a session advisory lock, so workers started
    together migrate one after another: the first applies the revisions, the others wait
    and then find nothing to do. SQLite is unchanged (one worker on one file; to start
    several on one, run `mend db upgrade` first).
    """
    from alembic import command

    if not make_url(url).drivername.startswith("postgresql"):
        command.upgrade(alembic_config(url), "head")
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            # Held by this connection until unlocked or it closes (a killed process frees
            # it), while Alembic migrates on a connection of its own.
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()  # the lock outlives the transaction; nothing is left open
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                             {"key": MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()
