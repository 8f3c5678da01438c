"""Workers started together on one PostgreSQL database migrate it once, never racing."""

from __future__ import annotations

import multiprocessing
import os
import traceback

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from server.db import alembic_config, make_engine
from tests.conftest import require
from tests.integration.conftest import _fresh_postgres

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
WORKERS = 6


def _upgrade_at_once(url: str, barrier, results) -> None:
    """One worker starting: everything imported, then all upgrade at the same instant."""
    from server.db import upgrade

    barrier.wait(timeout=60)
    try:
        upgrade(url)
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


def test_workers_starting_together_migrate_a_fresh_database_once():
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    _fresh_postgres(POSTGRES_URL)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(WORKERS), spawn.Queue()
    workers = [spawn.Process(target=_upgrade_at_once, args=(POSTGRES_URL, barrier, results))
               for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    failures = [o for o in outcomes if o != "ok"]
    assert not failures, f"{len(failures)} of {WORKERS} upgrades failed:\n" + failures[0]

    head = ScriptDirectory.from_config(alembic_config(POSTGRES_URL)).get_current_head()
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert list(versions) == [head]
        assert {"users", "sessions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
