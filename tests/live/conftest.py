"""A real `mend run` process on a free port, and real clients over the network."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import socketio
from sqlalchemy import text

from server.db import make_engine
from tests.conftest import require

MEND = str(Path(sys.executable).with_name("mend"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MendServer:
    data_dir: Path
    async_mode: str
    port: int = field(default_factory=free_port)
    env_extra: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MendServer:
        env = {**os.environ, "MEND_DATA_DIR": str(self.data_dir),
               "MEND_ASYNC_MODE": self.async_mode, **self.env_extra}
        with open(self.data_dir / f"server-{self.port}.log", "ab") as log:
            self.process = subprocess.Popen(
                [MEND, "run", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mend run exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"mend run did not answer in 30 s:\n{self.log()}")

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill_9()

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.data_dir.glob("server-*.log"))


@pytest.fixture(params=["gevent", "eventlet"])
def server(request, data_dir):
    srv = MendServer(data_dir, request.param).start()
    yield srv
    srv.stop()


class Browserless:
    """A person using Mend over the network: an HTTP session and Socket.IO clients."""

    def __init__(self, base_url: str, name: str):
        self.base_url = base_url
        self.name = name
        self.http = requests.Session()
        self.email = f"{name.lower()}-{os.urandom(3).hex()}@example.test"
        self.password = "correct horse battery"
        self.user: dict = {}
        self.sockets: list[socketio.Client] = []

    def _csrf(self) -> dict:
        token = self.http.get(f"{self.base_url}/api/v1/csrf", timeout=5).json()["csrf_token"]
        return {"X-CSRFToken": token}

    def post(self, path: str, json: dict | None = None) -> requests.Response:
        return self.http.post(f"{self.base_url}/api/v1{path}", json=json or {},
                              headers=self._csrf(), timeout=10)

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.base_url}/api/v1{path}", timeout=10)

    def sign_up(self) -> Browserless:
        """Sign up, then log in (sign-up logs nobody in: it answers alike for a taken
        address)."""
        response = self.post("/auth/signup", {"email": self.email, "password": self.password,
                                              "display_name": self.name})
        assert response.status_code == 202, response.text
        self.log_in()
        return self

    def log_in(self) -> None:
        response = self.post("/auth/login", {"email": self.email, "password": self.password})
        assert response.ok, response.text
        self.user = response.json()["user"]

    def connect(self, base_url: str | None = None, **options) -> socketio.Client:
        sock = socketio.Client(reconnection=options.pop("reconnection", False))
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        sock.connect(base_url or self.base_url, headers={"Cookie": cookie},
                     transports=["websocket"], wait_timeout=10, **options)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            if sock.connected:
                sock.disconnect()


class Inbox:
    """Records every event a socket receives."""

    def __init__(self, sock: socketio.Client):
        self.events: list[tuple[str, object]] = []
        sock.on("*", lambda event, data: self.events.append((event, data)))

    def states(self) -> list[dict]:
        return [data for name, data in self.events if name == "session:state"]

    def wait_for(self, predicate, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for state in reversed(self.states()):
                if predicate(state):
                    return state
            time.sleep(0.02)
        raise AssertionError("the expected session:state never arrived")


def make_couple_session(base_url: str, track_id: str = "understanding-our-trust"):
    ana, ben = Browserless(base_url, "Ana").sign_up(), Browserless(base_url, "Ben").sign_up()
    code = ana.post("/couples").json()["invite_code"]
    couple_id = ben.post("/couples/join", {"invite_code": code}).json()["couple"]["id"]
    response = ana.post("/sessions", {"couple_id": couple_id, "track_id": track_id})
    assert response.status_code == 201, response.text
    session_id = response.json()["session"]["id"]
    pass_checks(session_id, ana, ben)
    return ana, ben, session_id


def pass_checks(session_id: str, *people: Browserless) -> None:
    """Each partner answers the private check that opens every session (clear), over a
    socket of their own that is closed again: the session is then ready for joint work."""
    from tests.checking import pass_check_over_socket

    for index, person in enumerate(people):
        sock = person.connect()
        try:
            assert sock.call("session:join", {"session_id": session_id}, timeout=15)["ok"]
            pass_check_over_socket(sock, session_id, f"p{index}")
        finally:
            sock.disconnect()
            person.sockets.remove(sock)


def assert_private_until_both_submit(session_id: str, step_id: str, sock_a, sock_b,
                                     inbox_a: Inbox, inbox_b: Inbox) -> None:
    """A submits: B learns only a status. B submits: both receive both answers."""
    from tests.conftest import unique_marker

    words_a, words_b = unique_marker("a"), unique_marker("b")
    for sock, words, name in ((sock_a, words_a, "a"), (sock_b, words_b, "b")):
        ack = sock.call("entry:submit", {"session_id": session_id, "step_id": step_id,
                                         "client_id": f"live-{name}-{session_id[:8]}",
                                         "body": words}, timeout=10)
        assert ack["ok"], ack
        if sock is sock_a:
            inbox_b.wait_for(lambda s: s["steps"][1]["partner_status"] == "submitted")
            assert words_a not in repr(inbox_b.events)
    for inbox in (inbox_a, inbox_b):
        state = inbox.wait_for(lambda s: s["steps"][1]["status"] == "revealed")
        assert [e["body"] for e in state["steps"][1]["revealed"]["entries"]] == [words_a, words_b]


POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("MEND_TEST_REDIS_URL")


@pytest.fixture
def two_workers(tmp_path):
    """Two gevent `mend run` workers on a fresh PostgreSQL schema, joined by Redis."""
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    require(bool(REDIS_URL), "MEND_TEST_REDIS_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    env = {"MEND_DATABASE_URL": POSTGRES_URL, "MEND_REDIS_URL": REDIS_URL,
           "MEND_SECRET_KEY": "shared-secret-for-both-workers-0123456789"}
    workers = []
    for name in ("one", "two"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        workers.append(MendServer(data_dir, "gevent", env_extra=env).start())
    yield workers
    for worker in workers:
        worker.stop()
