"""The database engine, sessions and migrations (SQLite WAL by default, PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from server.config import resource_dir


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; NORMAL still survives a process
    # crash (kill -9) and avoids an fsync per commit blocking the event loop.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        # psycopg2 works under both gevent and eventlet; psycopg 3 does not support eventlet.
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[DbSession]:
        """One unit of work; services commit, anything left open is rolled back."""
        db = self._sessions()
        try:
            yield db
        finally:
            db.rollback()
            db.close()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    """Alembic's settings, built in code: an installed Mend has no alembic.ini beside it."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    # set_main_option goes through ConfigParser interpolation: a '%' in the path is literal.
    cfg.set_main_option("script_location", str(resource_dir("migrations")).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
