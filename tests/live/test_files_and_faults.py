"""A real `mend run`: its files are private, its answers are not cached, HTTPS gets Secure
cookies and HSTS, and a database it can't reach or write is explained in one sentence
(at start) or by /healthz (while running).
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from server.db import UNAVAILABLE_MESSAGE, make_engine
from tests.conftest import require
from tests.live.conftest import MEND, Browserless, MendServer, free_port

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_the_data_directory_and_database_files_are_the_owners_alone(tmp_path, async_mode):
    data_dir = tmp_path / "fresh" / "mend"  # mend run creates it
    server = MendServer(data_dir.parent, async_mode,
                        env_extra={"MEND_DATA_DIR": str(data_dir)})
    data_dir.parent.mkdir()
    server.start()
    try:
        Browserless(server.url, "Ana").sign_up()  # a write: the WAL holds it
        database = data_dir / "mend.sqlite3"
        files = [database, data_dir / "mend.sqlite3-wal", data_dir / "mend.sqlite3-shm",
                 data_dir / "secret_key"]
        assert all(f.exists() for f in files), sorted(os.listdir(data_dir))
        assert mode_of(data_dir) == 0o700
        assert {f.name: mode_of(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        server.stop()


def test_files_an_older_mend_left_readable_are_made_private_at_start(data_dir):
    # Every file an older install can leave behind, the secret key too (this test once
    # planted only the database's files, and a readable key, which forges any log-in
    # cookie, stayed readable).
    data_dir.chmod(0o755)
    for name in ("mend.sqlite3", "mend.sqlite3-wal", "mend.sqlite3-shm"):
        (data_dir / name).touch(mode=0o644)
        (data_dir / name).chmod(0o644)
    (data_dir / "mend.sqlite3").unlink()  # a fresh database, beside stale companions
    import sqlite3

    sqlite3.connect(data_dir / "mend.sqlite3").close()
    (data_dir / "mend.sqlite3").chmod(0o644)
    old_key = os.urandom(32).hex()
    (data_dir / "secret_key").write_text(old_key)
    (data_dir / "secret_key").chmod(0o644)
    # The key file is used when MEND_SECRET_KEY is empty or unset.
    server = MendServer(data_dir, "gevent", env_extra={"MEND_SECRET_KEY": ""}).start()
    try:
        Browserless(server.url, "Ben").sign_up()
        assert mode_of(data_dir) == 0o700
        for name in ("mend.sqlite3", "mend.sqlite3-wal", "mend.sqlite3-shm", "secret_key"):
            assert mode_of(data_dir / name) == 0o600, name
        # The same key, so nobody was logged out by the change.
        assert (data_dir / "secret_key").read_text() == old_key
    finally:
        server.stop()


# --- faults at start: one sentence -----------------------------------------------------------


def run_mend(data_dir: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEND_DATA_DIR": str(data_dir), "MEND_ASYNC_MODE": "gevent",
           **env_extra}
    return subprocess.run([MEND, "run", "--host", "127.0.0.1", "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=60)


def one_sentence(result: subprocess.CompletedProcess) -> str:
    """The one line `mend run` printed before exiting non-zero (and nothing else)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "Mend is running" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("mend: ") and line.endswith("."), line
    assert not re.search(r"[.!?]\s+[A-Z]", line.removeprefix("mend: ")), line  # one sentence
    return line


def test_an_unreachable_postgresql_is_one_sentence_naming_what_to_check(data_dir):
    port = free_port()  # nothing listens there
    url = f"postgresql://mend:s3cret-pass@127.0.0.1:{port}/mend"
    line = one_sentence(run_mend(data_dir, MEND_DATABASE_URL=url))
    assert f"127.0.0.1:{port}" in line and "MEND_DATABASE_URL" in line
    assert "s3cret-pass" not in line


@contextmanager
def read_only(path: Path):
    """Make a directory or file unwritable, even for root (who ignores permission bits)."""
    if os.geteuid() != 0:
        before = mode_of(path)
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(before)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    require(done.returncode == 0, f"chattr +i is not available here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_new_data_directory_is_one_sentence(data_dir):
    with read_only(data_dir):
        line = one_sentence(run_mend(data_dir))
    assert str(data_dir) in line and "MEND_DATA_DIR" in line


def test_an_installed_mend_whose_directory_became_read_only_is_one_sentence(data_dir):
    MendServer(data_dir, "gevent").start().stop()  # an installed Mend, stopped cleanly
    with read_only(data_dir):
        line = one_sentence(run_mend(data_dir))
    assert str(data_dir / "mend.sqlite3") in line and "MEND_DATA_DIR" in line


def test_a_read_only_database_file_is_one_sentence(data_dir):
    MendServer(data_dir, "gevent").start().stop()
    with read_only(data_dir / "mend.sqlite3"):
        line = one_sentence(run_mend(data_dir))
    assert "can't be written" in line and str(data_dir) in line


# --- /healthz while PostgreSQL goes away ------------------------------------------------------


class Relay:
    """A TCP relay in front of PostgreSQL that the test can cut (as if the database host
    went away: connections drop, new ones are refused) and bring back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []

    def start(self) -> Relay:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with suppress(OSError):  # wakes the thread blocked in accept(); close() would not
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for conn in self.open:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.open = []


def wait_for_health(url: str, status: int, timeout: float = 20) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{url}/healthz", timeout=15)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_healthz_says_503_while_postgresql_is_unreachable_and_200_when_it_is_back(data_dir):
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    target = (engine.url.host or "127.0.0.1", engine.url.port or 5432)
    engine.dispose()
    relay = Relay(target).start()
    relayed = engine.url.set(host="127.0.0.1", port=relay.port).render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    server = MendServer(data_dir, "gevent", env_extra={"MEND_DATABASE_URL": relayed}).start()
    try:
        ana = Browserless(server.url, "Ana").sign_up()
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"ok": True}
        relay.cut()
        down = wait_for_health(server.url, 503)
        assert down.status_code == 503
        assert down.json()["ok"] is False and down.json()["error"]["code"] == "unavailable"
        # Everything else answers too, in the contract's shape, instead of hanging: the
        # database is away (503 `unavailable`), not a bug (500 `internal`).
        me = ana.get("/me")
        assert me.status_code == 503, me.text
        assert me.json() == {"ok": False, "error": {"code": "unavailable",
                                                    "message": UNAVAILABLE_MESSAGE}}
        relay.start()
        assert wait_for_health(server.url, 200).json() == {"ok": True}
        assert ana.get("/me").status_code == 200
    finally:
        server.stop()
        relay.cut()


# --- transport: cache, Secure cookies, HSTS ----------------------------------------------------


def set_cookies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def test_personal_answers_are_never_cached_and_plain_http_gets_no_hsts(server):
    ana = Browserless(server.url, "Ana").sign_up()
    code = ana.post("/couples").json()["invite_code"]
    for response in (ana.get("/me"), ana.get("/csrf"), ana.get("/tracks"),
                     ana.get(f"/invites/{code}"), ana.get("/sessions/nope"),
                     ana.http.get(f"{server.url}/", timeout=10),
                     ana.http.get(f"{server.url}/s/anything", timeout=10)):
        assert response.headers["Cache-Control"] == "no-store", response.url
        assert "Strict-Transport-Security" not in response.headers
    # Socket.IO's polling answers carry session views too.
    poll = ana.http.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=10)
    assert poll.status_code == 200 and poll.headers["Cache-Control"] == "no-store"
    cookie = set_cookies(requests.get(f"{server.url}/api/v1/csrf", timeout=10))
    assert cookie and all("Secure" not in c for c in cookie), cookie


def test_mend_secure_cookies_marks_the_cookie_secure_and_sends_hsts(data_dir):
    server = MendServer(data_dir, "gevent", env_extra={"MEND_SECURE_COOKIES": "1"}).start()
    try:
        response = requests.get(f"{server.url}/api/v1/csrf", timeout=10)
        cookies = set_cookies(response)
        assert cookies and all("; Secure" in c and "HttpOnly" in c for c in cookies), cookies
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        shell = requests.get(f"{server.url}/", timeout=10)
        assert shell.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        server.stop()


def test_https_behind_a_trusted_proxy_is_secure_and_an_untrusted_header_is_ignored(tmp_path):
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for proxies, secure in (("1", True), ("0", False)):
        data_dir = tmp_path / f"proxies-{proxies}"
        data_dir.mkdir()
        server = MendServer(data_dir, "gevent",
                            env_extra={"MEND_TRUSTED_PROXIES": proxies}).start()
        try:
            response = requests.get(f"{server.url}/api/v1/csrf", headers=https, timeout=10)
            cookies = set_cookies(response)
            assert cookies and all(("; Secure" in c) is secure for c in cookies), cookies
            assert ("Strict-Transport-Security" in response.headers) is secure
            # Over plain HTTP (no header) nothing is marked, whatever is trusted.
            plain = set_cookies(requests.get(f"{server.url}/api/v1/csrf", timeout=10))
            assert all("Secure" not in c for c in plain), plain
        finally:
            server.stop()
