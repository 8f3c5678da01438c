"""A real `mend run` (gevent and eventlet, SQLite and PostgreSQL) driven through the happy
path and its failure paths with planted markers: answers, drafts, e-mails, passwords,
display names, a break reason, frames with extra arguments, unknown events, a duplicate
sign-up, wrong passwords, and statements the database refuses (an internal error over a
socket and over HTTP). Everything the process wrote (stdout, stderr, its log) is then
searched: no marker, no cookie value, no password hash.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import socketio
from sqlalchemy import text

from server.db import make_engine
from tests.checking import pass_check_over_socket
from tests.conftest import require, unique_marker
from tests.live.conftest import Browserless, MendServer

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
TRACK = "understanding-our-trust"

# Statements the database refuses, planted while the server runs. On PostgreSQL the errors
# quote the values (a DETAIL line, as a real unique violation does); on SQLite the statement
# itself fails, so only its parameters could carry the words.
POSTGRES_FAULTS = (
    """CREATE FUNCTION refuse_entry() RETURNS trigger AS $$ BEGIN
         RAISE unique_violation USING
           MESSAGE = 'duplicate key value violates unique constraint "uq_entries_body"',
           DETAIL = 'Key (body)=(' || NEW.body || ') already exists.';
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER refuse_entry BEFORE INSERT ON entries
       FOR EACH ROW EXECUTE FUNCTION refuse_entry()""",
    """CREATE FUNCTION refuse_user() RETURNS trigger AS $$ BEGIN
         RAISE EXCEPTION 'refused' USING DETAIL = NEW.email || ' ' || NEW.password_hash
           || ' ' || NEW.display_name;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER refuse_user BEFORE INSERT ON users
       FOR EACH ROW EXECUTE FUNCTION refuse_user()""",
)
POSTGRES_MENDED = ("DROP TRIGGER refuse_entry ON entries", "DROP TRIGGER refuse_user ON users")
SQLITE_FAULTS = (
    "CREATE TRIGGER refuse_entry BEFORE INSERT ON entries "
    "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: entries.body'); END",
    "CREATE TRIGGER refuse_user BEFORE INSERT ON users "
    "BEGIN INSERT INTO a_table_that_is_not_there VALUES (1); END",
)
SQLITE_MENDED = ("DROP TRIGGER refuse_entry", "DROP TRIGGER refuse_user")


class Database:
    """The test's own door into the server's database, to plant faults."""

    def __init__(self, url: str | None, data_dir: Path) -> None:
        self.url = url
        self.path = data_dir / "mend.sqlite3"

    def run(self, statements: tuple[str, ...]) -> None:
        if self.url:
            engine = make_engine(self.url)
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(text(statement))
            engine.dispose()
            return
        with sqlite3.connect(self.path) as conn:
            for statement in statements:
                conn.execute(statement)

    def password_hash(self, email: str) -> str:
        query = "SELECT password_hash FROM users WHERE email = :e"
        if self.url:
            engine = make_engine(self.url)
            with engine.connect() as conn:
                found = conn.execute(text(query), {"e": email}).scalar_one()
            engine.dispose()
            return found
        with sqlite3.connect(self.path) as conn:
            return conn.execute(query.replace(":e", "?"), (email,)).fetchone()[0]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str | None:
    if request.param == "sqlite":
        return None
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES_URL


def person(base_url: str, label: str) -> tuple[Browserless, list[str]]:
    """Someone whose e-mail, password and name are markers."""
    who = Browserless(base_url, label)
    who.email = f"{unique_marker(label + '-mail').lower()}@example.test"
    who.password = unique_marker(label + "-password")
    who.name = unique_marker(label + "-name")[:60]
    return who, [who.email, who.password, who.name]


def sign_up(who: Browserless) -> None:
    response = who.post("/auth/signup", {"email": who.email, "password": who.password,
                                         "display_name": who.name})
    assert response.status_code in (201, 202), response.text
    who.log_in()


def call(sock: socketio.Client, event: str, *args) -> dict | None:
    """An event, waiting for its ack (malformed frames may get none: then 5 s pass)."""
    try:
        return sock.call(event, args[0] if len(args) == 1 else args, timeout=5)
    except socketio.exceptions.TimeoutError:
        return None


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_no_log_line_holds_a_word_an_address_a_password_a_hash_or_a_cookie(
        data_dir, async_mode, database_url):
    env = {"MEND_DATABASE_URL": database_url} if database_url else {}
    server = MendServer(data_dir, async_mode, env_extra=env).start()
    db = Database(database_url, data_dir)
    secrets: list[str] = []
    try:
        ana, planted = person(server.url, "ana")
        secrets += planted
        ben, planted = person(server.url, "ben")
        secrets += planted
        sign_up(ana)
        sign_up(ben)
        secrets += [db.password_hash(ana.email), db.password_hash(ben.email)]
        secrets += [c.value for who in (ana, ben) for c in who.http.cookies]

        # Failure paths of the account edges: a duplicate sign-up, wrong passwords.
        again = unique_marker("duplicate-password")
        secrets.append(again)
        ana.post("/auth/signup", {"email": ana.email, "password": again,
                                  "display_name": unique_marker("duplicate-name")})
        wrong = unique_marker("wrong-password")
        secrets.append(wrong)
        stranger = Browserless(server.url, "Stranger")
        assert stranger.post("/auth/login", {"email": ana.email, "password": wrong}
                             ).status_code == 401
        assert ana.post("/auth/login", {"email": ana.email, "password": ana.password}).ok
        secrets += [c.value for c in ana.http.cookies]

        code = ana.post("/couples").json()["invite_code"]
        couple_id = ben.post("/couples/join", {"invite_code": code}).json()["couple"]["id"]
        started = ana.post("/sessions", {"couple_id": couple_id, "track_id": TRACK})
        session_id = started.json()["session"]["id"]
        sock_a, sock_b = ana.connect(), ben.connect()
        for sock in (sock_a, sock_b):
            assert call(sock, "session:join", {"session_id": session_id})["ok"]
        for sock, who in ((sock_a, "a"), (sock_b, "b")):
            pass_check_over_socket(sock, session_id, who)
        for sock in (sock_a, sock_b):
            assert call(sock, "step:ready", {"session_id": session_id,
                                             "step_id": "welcome"})["ok"]
        step = call(sock_a, "session:join", {"session_id": session_id}
                    )["state"]["session"]["current_step_id"]

        words = {name: unique_marker(name) for name in (
            "draft", "answer", "extra-payload", "extra-argument", "unknown-event",
            "bad-field", "internal-answer", "reason", "internal-email", "internal-name",
            "internal-password")}
        secrets += list(words.values())
        base = {"session_id": session_id, "step_id": step}
        assert call(sock_a, "entry:draft", {**base, "body": words["draft"]})["ok"]
        # Malformed frames: an extra argument, an unknown event, a field of the wrong type.
        call(sock_a, "entry:draft", {**base, "body": words["extra-payload"]},
             words["extra-argument"])
        call(sock_a, "no:such-event", {**base, "body": words["unknown-event"]})
        call(sock_a, "entry:submit", {**base, "client_id": 12345,
                                      "body": {"nested": words["bad-field"]}})

        # The database refuses an answer (socket) and a sign-up (HTTP): `internal`.
        db.run(POSTGRES_FAULTS if database_url else SQLITE_FAULTS)
        try:
            refused = call(sock_b, "entry:submit", {**base, "client_id": "logs-b-0001",
                                                    "body": words["internal-answer"]})
            assert refused["error"]["code"] == "internal", refused
            carol = Browserless(server.url, "Carol")
            failed = carol.post("/auth/signup", {
                "email": f"{words['internal-email'].lower()}@example.test",
                "password": words["internal-password"],
                "display_name": words["internal-name"][:60]})
            assert failed.status_code == 500, failed.text
            assert failed.json()["error"]["code"] == "internal"
        finally:
            db.run(POSTGRES_MENDED if database_url else SQLITE_MENDED)

        assert call(sock_a, "entry:submit", {**base, "client_id": "logs-a-0001",
                                             "body": words["answer"]})["ok"]
        assert call(sock_a, "session:pause", {"session_id": session_id,
                                              "reason": words["reason"]})["ok"]
        assert ana.get("/me/export").ok
        # Erasing an account: a wrong password first, then the right one.
        wrong_again = unique_marker("erase-wrong-password")
        secrets.append(wrong_again)
        refused = ben.http.delete(f"{server.url}/api/v1/me", json={"password": wrong_again},
                                  headers=ben._csrf(), timeout=10)
        assert refused.status_code == 403, refused.text
        erased = ben.http.delete(f"{server.url}/api/v1/me", json={"password": ben.password},
                                 headers=ben._csrf(), timeout=10)
        assert erased.status_code == 200, erased.text
        assert ana.post("/auth/logout").ok
        ana.close()
        ben.close()
    finally:
        server.stop()

    log = server.log()
    # The failure paths did run and were logged (without their words).
    assert "event entry:submit failed" in log, log[-3000:]
    assert "unhandled error on POST /api/v1/auth/signup" in log, log[-3000:]
    lowered = log.lower()
    leaked = [s for s in secrets if s and s.lower() in lowered]
    assert leaked == [], [line for line in log.splitlines()
                          if any(s.lower() in line.lower() for s in leaked)][:5]
