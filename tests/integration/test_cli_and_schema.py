"""The `mend` command and the migrations, run as a newcomer would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command

from server.db import alembic_config, upgrade

MEND = str(Path(sys.executable).with_name("mend"))


def run_mend(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEND, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MEND_DATA_DIR": str(data_dir), **env})


def test_migrations_match_the_models(data_dir):
    url = f"sqlite:///{data_dir / 'check.sqlite3'}"
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models and migrations disagree


def test_content_check_lists_the_tracks(data_dir):
    result = run_mend("content", "check", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "understanding-our-trust" in result.stdout


def test_a_bad_setting_stops_mend_with_one_sentence(data_dir):
    result = run_mend("db", "upgrade", data_dir=data_dir, MEND_ASYNC_MODE="fast")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("mend: MEND_ASYNC_MODE must be one of")
    assert "Traceback" not in result.stderr


def test_demo_prints_working_logins_and_can_run_twice(data_dir):
    first = run_mend("demo", data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    second = run_mend("demo", data_dir=data_dir)
    assert second.returncode == 0, second.stderr
    assert "alex@demo.mend.local" in second.stdout and "mend-demo-pass" in second.stdout

    from server.config import Config
    from server.db import Database
    from server.services import accounts, couples

    database = Database(Config.from_env({"MEND_DATA_DIR": str(data_dir)}).database_url)
    with database.session() as db:
        alex = accounts.authenticate(db, email="alex@demo.mend.local", password="mend-demo-pass")
        [couple] = couples.couples_of(db, alex.id)
        assert len(couple.members) == 2
    database.dispose()
