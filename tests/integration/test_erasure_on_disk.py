"""Gone means gone (issue 15): after `DELETE /api/v1/me` no word the person wrote can be
read from any file Mend controls, not only from any row.

One story plants a unique marker in everything Ana writes, over the real handlers: her
check-in's high and low, an answer, boundary items, a counter-proposal and its note,
listening turns, a mirror, an apology's parts (long enough to spill into SQLite overflow
pages) and its draft, saved three times, a commitment, a closing draft, a break reason, and
a counsellor's message to her; her name and e-mail too. Ben and the counsellor write theirs.
Then Ana erases her account and the raw bytes are searched:

* SQLite: every file of the data directory (the database, its `-wal` and `-shm`), while
  the app still holds its connections open (closing the last one would checkpoint the WAL
  by itself and hide a missing checkpoint). Run twice: with this machine's SQLite, and as a
  build whose secure_delete is off by default (most builds outside Debian's), so the test
  fails when either the checkpoint in `scrub_after_erasure` or the `secure_delete` pragma
  in `server/db.py` is removed.
* PostgreSQL: every file of the test's own database directory (`base/<oid>/`: tables,
  TOAST, indexes, the planner's statistics), after `mend db scrub` run as a command.
  First it checks the words are still in those files right after the erasure (dead row
  versions), which is why the scrub exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from server.content import TrackLibrary, load_library
from server.db import make_engine
from server.models import User
from tests.conftest import require, unique_marker
from tests.integration.conftest import POSTGRES_URL
from tests.integration.test_data_rights import Seat, grant

ROOT = Path(__file__).resolve().parents[2]
MEND = str(Path(sys.executable).with_name("mend"))
TRACK_ID = "every-kind-of-words"
# One step of each kind that keeps a person's words (long apology parts: overflow pages).
TRACK_YAML = """
id: every-kind-of-words
title: Every kind of words
summary: A test track with one step of every kind that keeps words.
version: 1
steps:
  - id: check
    kind: safety
    title: A private check
    settings:
      questions:
        - id: carry_on
          text: Would you like to carry on together today?
          options:
            - {id: "yes", label: "Yes"}
            - {id: not_today, label: "Not today", clear: false, help: false}
  - id: how
    kind: checkin
    title: Where you are today
    prompt: How are you both?
  - id: answer
    kind: prompt
    title: An answer
    prompt: What helps you feel like yourself?
    answer: {type: text, max_length: 2000}
  - id: needs
    kind: boundary
    title: Needs and offers
    prompt: What do you need, and what will you offer?
    settings: {max_items: 5, max_length: 300, revisit_days: 30}
  - id: listen
    kind: listening
    title: Taking turns
    prompt: One speaks, one listens.
    settings: {first_speaker: either, max_chars: 600, max_loops: 3, turn_minutes: 3,
               max_extensions: 2}
  - id: sorry
    kind: apology
    title: An apology
    prompt: About what happened.
    settings: {max_length: 6000, commitment_days: 7}
  - id: promise
    kind: commitment
    title: One small thing
    prompt: One small thing for this week?
    answer: {type: text, max_length: 500}
    settings: {days: 7}
  - id: closing
    kind: closing
    title: Before you finish
    prompt: What do you take with you?
    optional: true
    answer:
      type: closing
      reflection: {max_length: 2000}
      scale: {min: 1, max: 10}
"""
A_KEYS = ("a_name", "a_high", "a_low", "a_answer", "a_need", "a_offer", "a_counter", "a_note",
          "a_mirror", "a_share", "a_validate", "a_empathise", "a_ap_mirror", "a_ap_draft",
          "a_ap_act", "a_ap_impact", "a_ap_resp", "a_ap_regret", "a_ap_change", "a_ap_setup",
          "a_promise", "a_closing_draft", "a_reason", "dr_to_a")
OTHERS = ("b_name", "b_answer", "b_need", "b_share", "b_felt", "b_promise", "dr_private",
          "dr_to_b")


def _secure_delete_off_by_default(monkeypatch) -> None:
    """Every new SQLite connection starts with secure_delete off, as on a build without
    SQLITE_SECURE_DELETE (SQLAlchemy's pysqlite dialect connects through sqlite3.dbapi2)."""
    real = sqlite3.dbapi2.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.execute("PRAGMA secure_delete=OFF")
        return conn

    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)


@pytest.fixture
def database_url(request, data_dir, monkeypatch):
    """Overrides conftest's (each test names its variants): SQLite as built here, SQLite
    as built without secure delete, and PostgreSQL in a database of the test's own (its
    directory holds nothing but this test's words; no other test's run shares it)."""
    if request.param.startswith("sqlite"):
        if request.param == "sqlite-secure-delete-off-by-default":
            _secure_delete_off_by_default(monkeypatch)
        yield f"sqlite:///{data_dir / 'mend.sqlite3'}"
        return
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    name = f"mend_scrub_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load_track(tmp_path: Path):
    content = tmp_path / "content"
    for part in ("schema", "rules"):
        shutil.copytree(ROOT / "content" / part, content / part)
    (content / "tracks").mkdir()
    (content / "tracks" / f"{TRACK_ID}.yaml").write_text(TRACK_YAML)
    return load_library(content).get(TRACK_ID)


def long_text(marker: str) -> str:
    """About 5,000 characters with the marker at the end: past a 4 KB page, so it lives in
    an overflow page on SQLite (and TOAST on PostgreSQL)."""
    return "I was wrong, and I know it. " * 175 + marker


def plant_every_kind_of_words(app: Flask, signup, tmp_path: Path) -> tuple[Seat, Seat, dict]:
    ctx = app.extensions["mend"]
    ctx.library = TrackLibrary({**ctx.library.tracks, TRACK_ID: _load_track(tmp_path)})
    m = {name: unique_marker(name) for name in (*A_KEYS, *OTHERS)}
    ana, ben = signup(m["a_name"]), signup(m["b_name"])
    dora = signup("Dora", role="counsellor")
    grant(app, dora)
    code = ana.post("/couples").get_json()["invite_code"]
    couple_id = ben.post("/couples/join", {"invite_code": code}).get_json()["couple"]["id"]
    started = ana.post("/sessions", {"couple_id": couple_id, "track_id": TRACK_ID})
    assert started.status_code == 201, started.get_json()
    sid = started.get_json()["session"]["id"]
    a, b, dr = (Seat(p, app, sid) for p in (ana, ben, dora))
    a.connect().ok("session:join")
    b.connect().ok("session:join")
    invite = ana.post(f"/sessions/{sid}/counsellor-invite")
    assert invite.status_code == 201, invite.get_json()
    assert ben.post(f"/sessions/{sid}/counsellor-consent").status_code == 200
    joined = dora.post("/counsellor/join", {"invite_code": invite.get_json()["invite_code"]})
    assert joined.status_code == 200, joined.get_json()
    dr.connect().ok("session:join")

    def both_ready(step_id: str) -> None:
        a.ok("step:ready", step_id=step_id)
        b.ok("step:ready", step_id=step_id)

    for seat in (a, b):
        seat.submit("check", fields={"answers": {"carry_on": "yes"}})
    both_ready("check")
    ratings = {"trust": 5, "closeness": 5, "mood": 5}
    a.submit("how", fields={"ratings": ratings, "high": m["a_high"], "low": m["a_low"],
                            "support": "listening"})
    b.submit("how", fields={"ratings": ratings, "support": "advice"})
    both_ready("how")
    a.submit("answer", body=m["a_answer"])
    b.submit("answer", body=m["b_answer"])
    both_ready("answer")

    a.submit("needs", fields={"items": [{"need": m["a_need"], "offer": m["a_offer"]}]})
    b.submit("needs", fields={"items": [{"need": m["b_need"]}]})
    b.turn("needs", "agree", fields={"item": f"{a.id}-1"})
    a.turn("needs", "counter", body=m["a_note"],
           fields={"item": f"{b.id}-1", "need": m["a_counter"]})
    b.turn("needs", "agree", fields={"item": f"{b.id}-1"})
    both_ready("needs")

    b.turn("listen", "speak_first")
    a.turn("listen", "ready")
    b.turn("listen", "share", body=m["b_share"])
    a.turn("listen", "mirror", body=m["a_mirror"])
    b.turn("listen", "confirm")
    a.turn("listen", "validate", body=m["a_validate"])
    a.turn("listen", "empathise", body=m["a_empathise"])
    b.turn("listen", "heard", fields={"heard": "yes"})
    b.turn("listen", "ready")  # the roles swap: Ana speaks, Ben listens
    a.turn("listen", "share", body=m["a_share"])
    b.turn("listen", "mirror", body="You said something")
    a.turn("listen", "confirm")
    b.turn("listen", "validate", body="That makes sense")
    b.turn("listen", "empathise", body="I imagine it was hard")
    a.turn("listen", "heard", fields={"heard": "yes"})
    both_ready("listen")

    # The apology: Ana apologises. Her draft is saved three times before she sends it.
    a.turn("sorry", "offer", fields={"role": "apologising"})
    b.turn("sorry", "accept")
    b.turn("sorry", "hurt", fields={"felt": m["b_felt"]})
    a.turn("sorry", "mirror", body=m["a_ap_mirror"])
    for n in range(3):
        a.ok("entry:draft", step_id="sorry", fields={"act": f"{m['a_ap_draft']} take {n}"})
    a.turn("sorry", "apology", fields={
        "act": long_text(m["a_ap_act"]), "impact": long_text(m["a_ap_impact"]),
        "responsibility": m["a_ap_resp"], "regret": m["a_ap_regret"],
        "change": m["a_ap_change"], "setup": long_text(m["a_ap_setup"])})
    b.turn("sorry", "reflect", body="You own it")
    b.turn("sorry", "response", fields={"choice": "more_time"})
    both_ready("sorry")

    a.submit("promise", body=m["a_promise"])
    b.submit("promise", body=m["b_promise"])
    both_ready("promise")

    # Under way at the end: Ana's closing draft, and a break with a reason only she reads.
    a.ok("entry:draft", step_id="closing", body=m["a_closing_draft"], fields={"value": 4})
    a.ok("session:pause", reason=m["a_reason"])
    for key, to in (("dr_private", None), ("dr_to_a", a.id), ("dr_to_b", b.id)):
        dr.count += 1
        dr.ok("note:add", client_id=f"note-{dr.count:04d}-{key}", body=m[key], user_id=to)
    with app.extensions["mend"].database.session() as db:
        m["a_password_hash"] = db.scalar(select(User.password_hash).where(User.id == a.id))
    m["a_email"] = a.person.email
    for seat in (a, b, dr):
        seat.pushes()
    return a, b, m


def hers(m: dict) -> dict[str, bytes]:
    """Everything of Ana's, as the bytes a file would hold (UTF-8: SQLite and PostgreSQL
    both store text so here)."""
    return {k: v.encode() for k, v in m.items() if k.startswith(("a_", "dr_to_a"))}


def halves(word: bytes) -> tuple[bytes, ...]:
    """The two halves of a long word (each still unique: a marker's half holds half a
    uuid4), or a short word whole (half of an e-mail address may be "example.test")."""
    if len(word) < 40:
        return (word,)
    return word[:len(word) // 2], word[len(word) // 2:]


def found_in(files: list[Path], words: dict[str, bytes]) -> dict[str, list[str]]:
    """Which words each file still holds, read as raw bytes: {file name: [word keys]}.

    A word counts as there when either half of it is: a value longer than a page is split
    across pages (SQLite overflow pages, PostgreSQL TOAST chunks), and a page boundary can
    fall inside a word, but never inside both halves (each is unique: half a uuid4 at
    least)."""
    found = {}
    for path in files:
        data = path.read_bytes()
        keys = [k for k, word in words.items() if any(part in data for part in halves(word))]
        if keys:
            found[path.name] = keys
    return found


def mend_db_scrub(data_dir: Path, database_url: str) -> subprocess.CompletedProcess:
    """`mend db scrub`, as an operator runs it beside the running server."""
    env = {**os.environ, "MEND_DATA_DIR": str(data_dir), "MEND_DATABASE_URL": database_url}
    return subprocess.run([MEND, "db", "scrub"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=data_dir)


def erase(a: Seat) -> None:
    response = a.erase(a.person.password)
    assert response.status_code == 200, response.get_json()


# --- SQLite ------------------------------------------------------------------------------


def variant(request) -> str:
    return request.node.callspec.params["database_url"]


@pytest.mark.parametrize("database_url", ["sqlite", "sqlite-secure-delete-off-by-default"],
                         indirect=True)
def test_after_erasure_no_file_of_the_sqlite_database_holds_a_word_she_wrote(
        app, signup, data_dir, tmp_path, database_url, request):
    db_file = Path(make_url(database_url).database)
    with app.extensions["mend"].database.engine.connect() as conn:
        # The emulated build is in force (or this one's default), and Mend turns it on.
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        raw = sqlite3.dbapi2.connect(db_file)
        off_by_default = variant(request) == "sqlite-secure-delete-off-by-default"
        assert raw.execute("PRAGMA secure_delete").fetchone()[0] == (0 if off_by_default
                                                                    else 1)
        raw.close()
    a, b, m = plant_every_kind_of_words(app, signup, tmp_path)
    words = hers(m)
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    before = found_in(files, words)
    # The story reached the disk: every word of hers is in some file before the erasure.
    assert {k for keys in before.values() for k in keys} == set(words), before
    assert db_file.with_name(db_file.name + "-wal").exists()

    erase(a)

    # The app still holds its pool open: the -wal is what a running server leaves.
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {db_file.name, f"{db_file.name}-wal",
                                       f"{db_file.name}-shm"}
    assert found_in(files, words) == {}
    # Ben's words are where they were: the search can see what is still there.
    others = {k: m[k].encode() for k in ("b_answer", "b_share", "b_promise", "dr_to_b")}
    assert {k for keys in found_in(files, others).values() for k in keys} == set(others)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_busy_wal_is_retried_then_reported_and_the_next_scrub_empties_it(
        app, signup, data_dir, tmp_path, database_url, caplog):
    """Another connection reading an older snapshot keeps the checkpoint from finishing:
    the erasure still succeeds, a warning says the words remain in the -wal, and `mend db
    scrub` empties it once the reader is done."""
    a, b, m = plant_every_kind_of_words(app, signup, tmp_path)
    words = hers(m)
    reader = sqlite3.dbapi2.connect(data_dir / "mend.sqlite3", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM users").fetchone()  # holds its snapshot open
    try:
        with caplog.at_level("WARNING", logger="mend.data_rights"):
            erase(a)
        assert any("-wal file until a complete checkpoint" in r.getMessage()
                   for r in caplog.records)
        wal = data_dir / "mend.sqlite3-wal"
        assert found_in([wal], words), "the reader should have kept the old frames"
    finally:
        reader.execute("COMMIT")
        reader.close()
    scrubbed = mend_db_scrub(data_dir, database_url)
    assert scrubbed.returncode == 0, scrubbed.stderr
    assert "write-ahead log checkpointed and truncated" in scrubbed.stdout
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert found_in(files, words) == {}


# --- PostgreSQL --------------------------------------------------------------------------


def _database_files(app: Flask) -> list[Path]:
    """Every file of this test's database: base/<oid>/ under the data directory."""
    with app.extensions["mend"].database.engine.connect() as conn:
        data_directory = conn.exec_driver_sql("SHOW data_directory").scalar()
        oid = conn.exec_driver_sql(
            "SELECT oid FROM pg_database WHERE datname = current_database()").scalar()
        entries = conn.exec_driver_sql("SELECT pg_relation_filepath('entries')").scalar()
    folder = Path(data_directory) / "base" / str(oid)
    require(os.access(folder, os.R_OK) and (Path(data_directory) / entries).exists(),
            f"PostgreSQL's files ({folder}) are not readable here: the test must run as root "
            f"or as postgres on the database's own machine")
    return sorted(p for p in folder.iterdir() if p.is_file())


def _store_uncompressed(app: Flask) -> None:
    """Text and JSON columns stored without compression (STORAGE EXTERNAL), in this test's
    database only: PostgreSQL compresses values past about 2 KB (pglz), which splits a word
    in the raw bytes, so a search could miss a word that is still there. The scrub does not
    depend on it: it rewrites compressed and plain values alike."""
    with app.extensions["mend"].database.engine.begin() as conn:
        columns = conn.exec_driver_sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb')").all()
        quote = conn.dialect.identifier_preparer.quote
        for table, column in columns:
            conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} "
                                 f"SET STORAGE EXTERNAL")


def _maintenance(database_url: str, statement: str) -> None:
    """ANALYZE or CHECKPOINT on a connection of its own: the app's have a 5-s statement
    timeout, which a checkpoint on a busy shared server can outlast."""
    engine = make_engine(database_url)  # no statement timeout
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_after_erasure_and_mend_db_scrub_no_postgresql_table_file_holds_a_word_she_wrote(
        app, signup, data_dir, tmp_path, database_url):
    """What remains after this test passes, and is written down in docs/security.md: the
    WAL segments in pg_wal/ that were written while Ana used Mend hold her words (row
    inserts and full-page images). The scrub's pg_switch_wal() and CHECKPOINT make them
    removable at once; PostgreSQL then renames them for reuse (wal_recycle = on, the
    default), keeping their old bytes until new WAL overwrites them, or deletes them with
    wal_recycle = off. Archived WAL (archive_mode), replicas and backups keep them for the
    operator's retention. This test does not search pg_wal: other databases of the same
    server write there too."""
    _store_uncompressed(app)
    a, b, m = plant_every_kind_of_words(app, signup, tmp_path)
    words = hers(m)
    # The planner's statistics hold sample values of text columns (autovacuum's ANALYZE
    # would gather them on its own in time): they must go too.
    _maintenance(database_url, "ANALYZE")
    _maintenance(database_url, "CHECKPOINT")
    files = _database_files(app)
    before = found_in(files, words)
    assert {k for keys in before.values() for k in keys} == set(words), before

    erase(a)
    _maintenance(database_url, "CHECKPOINT")
    # The rows hold none of her words now, but the dead row versions in the table files
    # do: that is why the scrub exists (and this test would see it missing).
    assert found_in(_database_files(app), words), "expected dead row versions before scrub"

    scrubbed = mend_db_scrub(data_dir, database_url)
    assert scrubbed.returncode == 0, scrubbed.stderr
    assert "rewrote the planner's statistics" in scrubbed.stdout, scrubbed.stdout
    with app.extensions["mend"].database.engine.connect() as conn:
        recycled = conn.exec_driver_sql("SHOW wal_recycle").scalar() == "on"
    # What stays in pg_wal is named to the operator (the docstring above says why).
    assert ("Remains: wal_recycle is on" in scrubbed.stdout) is recycled, scrubbed.stdout
    files = _database_files(app)
    assert found_in(files, words) == {}
    others = {k: m[k].encode() for k in ("b_answer", "b_share", "b_promise", "dr_to_b")}
    assert {k for keys in found_in(files, others).values() for k in keys} == set(others)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_scrub_leaves_a_table_busy_with_a_long_transaction_for_the_next_run(
        app, database_url, monkeypatch):
    """A rewrite queued behind a long transaction would hold every request behind it: the
    scrub waits SCRUB_LOCK_TIMEOUT for a table's lock, then leaves that table and says so."""
    from server.services import data_rights

    monkeypatch.setattr(data_rights, "SCRUB_LOCK_TIMEOUT", "200ms")
    engine = app.extensions["mend"].database.engine
    with engine.connect() as holder:
        # Without the scrub's lock timeout it would wait here for good: PostgreSQL ends
        # this transaction after 30 s instead, the scrub then gets the lock, and the test
        # fails on what it reports rather than hanging.
        holder.exec_driver_sql("SET idle_in_transaction_session_timeout = '30s'")
        holder.exec_driver_sql("LOCK TABLE users IN ACCESS SHARE MODE")  # until rollback
        scrubbed = data_rights.scrub_database(engine)
        with contextlib.suppress(DBAPIError):  # (ended by the timeout above)
            holder.rollback()
    assert [line for line in scrubbed.not_done if line.startswith("users:")], scrubbed
    assert any(line.startswith("rewrote and analysed") for line in scrubbed.done)
