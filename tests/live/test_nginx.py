"""The production setup of docs/deployment.md, run for real: nginx (deploy/nginx.conf, TLS,
ip_hash, WebSocket upgrade) in front of two `mend run` workers on PostgreSQL + Redis, and
what a clinic lives through: a worker killed, Redis restarted, the database gone a while.

Ana and Ben each come from an address of their own, which nginx's ip_hash sends to
different workers, so everything between them crosses workers through Redis."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import redis
import requests
import socketio
from sqlalchemy import text

from server.db import UNAVAILABLE_MESSAGE, make_engine
from tests.checking import pass_check_over_socket
from tests.conftest import require, unique_marker
from tests.live.conftest import Inbox, MendServer, assert_private_until_both_submit, free_port
from tests.live.nginx import Nginx, Person, Relay, addresses_per_worker, nginx_binary, wait_until

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("MEND_TEST_REDIS_URL")


@dataclass
class Deployment:
    nginx: Nginx
    workers: list[MendServer]
    addresses: dict[int, str]  # worker port -> a client address ip_hash sends there

    def person(self, worker: MendServer, name: str) -> Person:
        return Person(self.nginx, self.addresses[worker.port], name)

    def health(self) -> requests.Response:
        return requests.get(f"https://127.0.0.1:{self.nginx.port}/healthz",
                            verify=str(self.nginx.cert), timeout=20)


def fresh_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def deploy(stack: ExitStack, tmp_path, database_url: str, redis_url: str) -> Deployment:
    """Two workers and nginx, configured as docs/deployment.md says."""
    env = {"MEND_DATABASE_URL": database_url, "MEND_REDIS_URL": redis_url,
           "MEND_SECRET_KEY": f"one-secret-for-every-worker-{uuid.uuid4().hex}",
           "MEND_TRUSTED_PROXIES": "1"}
    workers = []
    for name in ("one", "two"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        worker = MendServer(data_dir, "gevent", env_extra=env)
        stack.callback(worker.stop)
        workers.append(worker.start())
    nginx = Nginx(tmp_path / "nginx", [w.port for w in workers])
    stack.callback(nginx.stop)
    nginx.start()
    return Deployment(nginx, workers, addresses_per_worker(nginx))


@pytest.fixture
def needs():
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    require(shutil.which("openssl") is not None, "openssl is not installed")
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    require(bool(REDIS_URL), "MEND_TEST_REDIS_URL is not set")
    fresh_schema(POSTGRES_URL)


@pytest.fixture
def deployment(needs, tmp_path):
    with ExitStack() as stack:
        yield deploy(stack, tmp_path, POSTGRES_URL, REDIS_URL)


# --- helpers ----------------------------------------------------------------------------------


def couple_on_two_workers(d: Deployment):
    """Ana on worker one, Ben on worker two, in a session past its welcome step."""
    one, two = d.workers
    ana, ben = d.person(one, "Ana").sign_up(), d.person(two, "Ben").sign_up()
    code = ana.post("/couples").json()["invite_code"]
    couple_id = ben.post("/couples/join", {"invite_code": code}).json()["couple"]["id"]
    response = ana.post("/sessions", {"couple_id": couple_id,
                                      "track_id": "understanding-our-trust"})
    assert response.status_code == 201, response.text
    session_id = response.json()["session"]["id"]
    sock_a, sock_b = ana.connect(), ben.connect()
    assert sock_a.transport() == "websocket" and sock_b.transport() == "websocket"
    inbox_a, inbox_b = Inbox(sock_a), Inbox(sock_b)
    for sock in (sock_a, sock_b):
        join(sock, session_id)
    for sock, who in ((sock_a, "a"), (sock_b, "b")):
        pass_check_over_socket(sock, session_id, who)
    for sock in (sock_a, sock_b):
        assert call(sock, "step:ready", {"session_id": session_id, "step_id": "welcome"})["ok"]
    step = join(sock_a, session_id)["session"]["current_step_id"]
    assert step != "welcome"
    return ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b)


def call(sock, event: str, payload: dict, timeout: float = 15) -> dict:
    """Send an event and wait for its ack. Like the browser client, send it once more if the
    socket dropped and came back meanwhile (its ack is lost with the old connection): every
    event may be repeated (a submit carries its client_id)."""
    sid = sock.get_sid()
    try:
        return sock.call(event, payload, timeout=timeout)
    except socketio.exceptions.TimeoutError:
        if not sock.connected or sock.get_sid() == sid:
            raise
    return sock.call(event, payload, timeout=timeout)


def join(sock, session_id: str) -> dict:
    ack = call(sock, "session:join", {"session_id": session_id})
    assert ack["ok"], ack
    return ack["state"]


def step_of(state: dict, step_id: str) -> dict:
    return next(s for s in state["steps"] if s["id"] == step_id)


def submit(sock, session_id: str, step: str, client_id: str, body: str) -> dict:
    return call(sock, "entry:submit", {"session_id": session_id, "step_id": step,
                                       "client_id": client_id, "body": body})


def revealed_bodies(inbox: Inbox, step: str, timeout: float = 20) -> list[str]:
    state = inbox.wait_for(lambda s: step_of(s, step)["status"] == "revealed", timeout)
    return [e["body"] for e in step_of(state, step)["revealed"]["entries"]]


# --- the loop ---------------------------------------------------------------------------------


def test_the_whole_loop_through_nginx_across_two_workers(deployment):
    d = deployment
    # TLS ends at nginx; the workers trust its X-Forwarded-Proto (MEND_TRUSTED_PROXIES=1).
    csrf = requests.get(f"https://127.0.0.1:{d.nginx.port}/api/v1/csrf",
                        verify=str(d.nginx.cert), timeout=10)
    cookies = csrf.raw.headers.getlist("Set-Cookie")
    assert cookies and all("; Secure" in c for c in cookies), cookies
    assert csrf.headers["Strict-Transport-Security"].startswith("max-age=")

    ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b) = \
        couple_on_two_workers(d)
    # The welcome's readiness crossed workers; now the reveal does, and stays private.
    assert_private_until_both_submit(session_id, step, sock_a, sock_b, inbox_a, inbox_b)
    # nginx really spread them: each worker served one of them.
    one, two = d.workers
    assert d.nginx.upstream_of("/api/v1/couples/join") == two.port
    assert d.nginx.upstream_of("/api/v1/sessions ") == one.port
    ana.close(), ben.close()


def test_presence_is_right_whichever_worker_a_partner_is_on(deployment):
    ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b) = \
        couple_on_two_workers(deployment)

    def online(sock) -> dict:
        return {p["user_id"]: p["online"] for p in join(sock, session_id)["participants"]}

    both = {ana.user["id"]: True, ben.user["id"]: True}
    wait_until(lambda: online(sock_a) == both, 10, "Ana's view to show Ben online")
    wait_until(lambda: online(sock_b) == both, 10, "Ben's view to show Ana online")
    assert call(sock_b, "presence:typing", {"session_id": session_id, "step_id": step,
                                            "typing": True})["ok"]
    wait_until(lambda: any(name == "presence" and ben.user["id"] in data["typing"]
                           for name, data in inbox_a.events),
               10, "Ana to hear Ben typing on the other worker")
    ben.close()
    wait_until(lambda: online(sock_a).get(ben.user["id"]) is False, 15,
               "Ana's view to show Ben gone")
    ana.close()


# --- faults -----------------------------------------------------------------------------------


def test_kill_9_a_worker_its_clients_move_to_the_other_and_nothing_acked_is_lost(deployment):
    d = deployment
    one, two = d.workers
    ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b) = \
        couple_on_two_workers(d)
    words_b = unique_marker("ben")
    draft = call(sock_b, "entry:draft", {"session_id": session_id, "step_id": step,
                                          "body": "half a thought"})
    assert draft["ok"], draft
    acked = submit(sock_b, session_id, step, "ben-submit-0001", words_b)
    assert acked["ok"], acked
    inbox_a.wait_for(lambda s: step_of(s, step)["partner_status"] == "submitted")
    old_sid = sock_b.get_sid()

    two.kill_9()

    # Ben's client reconnects by itself; nginx finds worker two dead and sends it to one.
    wait_until(lambda: sock_b.connected and sock_b.get_sid() not in (None, old_sid), 20,
               "Ben's socket to reconnect through nginx")
    assert sock_a.connected  # Ana, on the surviving worker, never noticed
    state = join(sock_b, session_id)  # what the client does on every reconnect: resync
    mine = step_of(state, step)["mine"]
    assert mine["entry"]["id"] == acked["entry"]["id"] and mine["entry"]["body"] == words_b
    # A client that never saw its ack sends again with the same client_id: nothing new.
    assert submit(sock_b, session_id, step, "ben-submit-0001", words_b) == acked
    # Ana sees Ben online again, now on her worker.
    wait_until(lambda: all(p["online"] for p in join(sock_a, session_id)["participants"]),
               15, "Ana's view to show Ben online again")

    words_a = unique_marker("ana")
    assert submit(sock_a, session_id, step, "ana-submit-0001", words_a)["ok"]
    assert revealed_bodies(inbox_a, step) == [words_a, words_b]
    assert revealed_bodies(inbox_b, step) == [words_a, words_b]
    assert d.health().status_code == 200
    ana.close(), ben.close()


class RedisServer:
    """A Redis of this test's own (the machine's shared one is left alone)."""

    def __init__(self, directory) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, 10, "redis-server to answer")
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def test_restart_redis_mid_session_events_resume_and_nothing_is_lost(needs, tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    with ExitStack() as stack:
        own = RedisServer(tmp_path).start()
        stack.callback(own.kill)
        d = deploy(stack, tmp_path, POSTGRES_URL, own.url)
        ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b) = \
            couple_on_two_workers(d)

        own.kill()
        # While Redis is away the database still takes Ana's answer: Redis only carries
        # pushes between workers.
        words_a = unique_marker("ana")
        acked = submit(sock_a, session_id, step, "ana-submit-0001", words_a)
        assert acked["ok"], acked
        own.start()
        # Redis is back once every worker listens on it again (what docs/deployment.md
        # says to check): python-socketio retries after 1 s, 2 s, 4 s...
        probe = redis.Redis.from_url(own.url)
        wait_until(lambda: probe.pubsub_numsub("flask-socketio")[0][1] == 2, 15,
                   "both workers to listen on Redis again")
        probe.close()
        # A push sent while Redis was away is gone (pub/sub keeps nothing); the client's
        # resync brings the truth back: nothing acknowledged is lost.
        assert step_of(join(sock_a, session_id), step)["mine"]["entry"]["id"] == \
            acked["entry"]["id"]
        assert step_of(join(sock_b, session_id), step)["partner_status"] == "submitted"
        assert submit(sock_a, session_id, step, "ana-submit-0001", words_a) == acked
        # The restarted Redis came back empty; the workers' heartbeats put presence back.
        wait_until(lambda: all(p["online"] for p in join(sock_a, session_id)["participants"]),
                   15, "Ana's view to show both online again")
        # Pushes between the workers flow again: Ana (worker one) hears the reveal that
        # worker two makes.
        words_b = unique_marker("ben")
        assert submit(sock_b, session_id, step, "ben-submit-0001", words_b)["ok"]
        assert revealed_bodies(inbox_a, step) == [words_a, words_b]
        assert revealed_bodies(inbox_b, step) == [words_a, words_b]
        ana.close(), ben.close()


def test_database_gone_a_while_clear_errors_nothing_acked_then_recovery(needs, tmp_path):
    engine = make_engine(POSTGRES_URL)
    target = (engine.url.host or "127.0.0.1", engine.url.port or 5432)
    relay = Relay(target)
    relayed = engine.url.set(host="127.0.0.1", port=relay.port).render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://")
    engine.dispose()
    with ExitStack() as stack:
        relay.start()
        stack.callback(relay.cut)
        d = deploy(stack, tmp_path, relayed, REDIS_URL)
        ana, ben, session_id, step, (sock_a, sock_b), (inbox_a, inbox_b) = \
            couple_on_two_workers(d)

        relay.cut()
        words_a = unique_marker("ana")
        refused = submit(sock_a, session_id, step, "ana-submit-0001", words_a)
        # Not a bug on our side: the database is away, and the person is told so.
        assert refused == {"ok": False, "error": {"code": "unavailable",
                                                  "message": UNAVAILABLE_MESSAGE}}, refused
        down = wait_until(lambda: [r for r in [d.health()] if r.status_code == 503], 25,
                          "/healthz through nginx to say 503")[0]
        assert down.json()["error"]["code"] == "unavailable"

        relay.start()
        wait_until(lambda: d.health().status_code == 200, 25, "/healthz to say 200 again")
        # Nothing was stored for the refused submit; the retry stores it once.
        assert step_of(join(sock_a, session_id), step)["mine"]["entry"] is None
        assert submit(sock_a, session_id, step, "ana-submit-0001", words_a)["ok"]
        words_b = unique_marker("ben")
        assert submit(sock_b, session_id, step, "ben-submit-0001", words_b)["ok"]
        assert revealed_bodies(inbox_a, step) == [words_a, words_b]
        assert revealed_bodies(inbox_b, step) == [words_a, words_b]
        ana.close(), ben.close()
