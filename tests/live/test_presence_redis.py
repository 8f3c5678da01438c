"""Presence shared in Redis: who is online and typing is right whichever worker a partner is
on, and a killed worker's people stop counting as online within the expiry."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import redis
from sqlalchemy import text

from server.db import make_engine
from server.realtime.presence import EXPIRY_SECONDS, HEARTBEAT_SECONDS, RedisPresence
from tests.conftest import require
from tests.live.conftest import Inbox, MendServer, free_port, make_couple_session

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("MEND_TEST_REDIS_URL")


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s")


# Two workers' presence objects in one process, on the real Redis: the shared part.

@pytest.fixture
def workers():
    require(bool(REDIS_URL), "MEND_TEST_REDIS_URL is not set")
    made = [RedisPresence(REDIS_URL, expiry=1.5) for _ in range(2)]
    yield made
    for presence in made:
        for sid in list(presence._sockets):
            presence.disconnect(sid)


def test_partners_on_two_workers_see_each_other_online_and_typing(workers):
    one, two = workers
    session = os.urandom(8).hex()
    one.connect("sid-ana", "ana"), two.connect("sid-ben", "ben")
    one.join("sid-ana", session), two.join("sid-ben", session)
    assert one.online(session) == two.online(session) == {"ana", "ben"}
    assert two.set_typing(session, "ben", True) is True
    assert two.set_typing(session, "ben", True) is False  # nothing changed
    assert one.typing(session) == {"ben"}
    assert two.set_typing(session, "ben", False) is True
    assert one.typing(session) == frozenset()
    two.set_typing(session, "ben", True)
    # Ben leaves on worker two (another tab of his elsewhere would keep him online).
    assert two.disconnect("sid-ben") == ("ben", {session})
    assert one.online(session) == {"ana"} and one.typing(session) == frozenset()


def test_a_silent_workers_entries_vanish_within_the_expiry_and_a_live_one_keeps_them(workers):
    one, two = workers
    session = os.urandom(8).hex()
    one.connect("sid-ana", "ana"), two.connect("sid-ben", "ben")
    one.join("sid-ana", session), two.join("sid-ben", session)
    two.set_typing(session, "ben", True)
    started = time.monotonic()
    # Worker one keeps beating; worker two has died (no heartbeat, no disconnect).
    changed: set[str] = set()
    while time.monotonic() - started < 2 * one.expiry:
        beat, _drop = one.heartbeat()
        changed |= beat
        time.sleep(0.2)
    assert one.online(session) == {"ana"} and one.typing(session) == frozenset()
    # The worker that saw Ben's entries expire is told to broadcast the session's presence.
    assert changed == {session}


def test_someone_removed_on_one_worker_leaves_the_session_on_every_worker(workers):
    one, two = workers
    session = os.urandom(8).hex()
    one.connect("sid-ana", "ana"), two.connect("sid-rita", "rita")
    one.join("sid-ana", session), two.join("sid-rita", session)
    two.set_typing(session, "rita", True)
    one.forget(session, "rita")  # worker one published her removal
    assert one.online(session) == {"ana"} and one.typing(session) == frozenset()
    # Worker two's next beat does not put her back: it takes her socket out of the room.
    assert two.heartbeat() == (set(), [("sid-rita", session)])
    assert not two.in_session("sid-rita", session)
    assert two.set_typing(session, "rita", True) is False
    assert one.online(session) == {"ana"} and one.typing(session) == frozenset()
    # Let back in (the service allowed a new join): online again.
    two.join("sid-rita", session)
    assert one.online(session) == {"ana", "rita"}


def test_without_redis_a_worker_answers_from_its_own_sockets():
    presence = RedisPresence(f"redis://127.0.0.1:{free_port()}/0", expiry=1)
    presence.connect("sid-ana", "ana")
    presence.join("sid-ana", "s1")
    assert presence.online("s1") == {"ana"}
    assert presence.set_typing("s1", "ana", True) is True
    assert presence.typing("s1") == {"ana"}
    assert presence.heartbeat() == (set(), [])


def test_a_redis_restart_costs_one_timeout_and_the_heartbeats_put_everything_back(tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def start_redis() -> subprocess.Popen:
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
        wait_until(lambda: _answers(url), 10, "redis-server never answered")
        return process

    server = start_redis()
    try:
        one, two = RedisPresence(url), RedisPresence(url)
        one.connect("sid-ana", "ana"), two.connect("sid-ben", "ben")
        one.join("sid-ana", "s1"), two.join("sid-ben", "s1")
        assert one.online("s1") == {"ana", "ben"}
        server.terminate()
        server.wait(10)
        # Redis is gone (its data too): each worker answers from its own sockets, at once.
        started = time.monotonic()
        for _ in range(200):
            assert one.online("s1") == {"ana"} and two.online("s1") == {"ben"}
        assert time.monotonic() - started < 2 * 2.5
        server = start_redis()
        # Back, empty: the next heartbeats put both workers' people back.
        wait_until(lambda: [one.heartbeat(), two.heartbeat()]
                   and one.online("s1") == two.online("s1") == {"ana", "ben"}, 10,
                   "presence never came back after Redis restarted")
    finally:
        server.terminate()
        server.wait(10)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


# Two real `mend run` workers on PostgreSQL + Redis.

@pytest.fixture(params=["gevent", "eventlet"])
def two_workers(request, tmp_path):
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    require(bool(REDIS_URL), "MEND_TEST_REDIS_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(REDIS_URL).ping()
    env = {"MEND_DATABASE_URL": POSTGRES_URL, "MEND_REDIS_URL": REDIS_URL,
           "MEND_SECRET_KEY": "shared-secret-for-both-workers-0123456789"}
    workers = []
    for name in ("one", "two"):
        data_dir = tmp_path / name
        data_dir.mkdir()
        workers.append(MendServer(data_dir, request.param, env_extra=env).start())
    yield workers
    for worker in workers:
        worker.stop()


def online_flags(view: dict) -> dict[str, bool]:
    return {p["user_id"]: p["online"] for p in view["participants"]}


def test_online_flags_and_typing_across_workers_and_a_killed_worker(two_workers):
    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    sock_a, sock_b = ana.connect(one.url), ben.connect(two.url)
    inbox_a = Inbox(sock_a)
    a_id, b_id = ana.user["id"], ben.user["id"]
    assert sock_a.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    joined = sock_b.call("session:join", {"session_id": session_id}, timeout=10)
    # Ben, on worker two, sees Ana (worker one) online; so does every view on worker one.
    assert online_flags(joined["state"]) == {a_id: True, b_id: True}
    view = ana.get(f"/sessions/{session_id}").json()["state"]
    assert online_flags(view) == {a_id: True, b_id: True}

    def presence_a(predicate, since: int = 0):
        return lambda: next((data for name, data in reversed(inbox_a.events[since:])
                             if name == "presence" and predicate(data)), None)

    assert sock_b.call("presence:typing", {"session_id": session_id, "typing": True},
                       timeout=10)["ok"]
    wait_until(presence_a(lambda p: p["typing"] == [b_id]), 5,
               "Ana never saw Ben typing on the other worker")
    # A change pushed by worker one carries Ben's flag, though his socket is on worker two.
    assert sock_a.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                       timeout=10)["ok"]
    assert online_flags(inbox_a.wait_for(lambda s: True))[b_id] is True

    killed_at, seen = time.monotonic(), len(inbox_a.events)
    two.kill_9()
    # Worker one's heartbeat sees Ben's entries expire and tells the session room.
    bound = EXPIRY_SECONDS + 2 * HEARTBEAT_SECONDS + 2
    wait_until(presence_a(lambda p: p["online"] == [a_id] and p["typing"] == [], seen), bound,
               "Ana's screen never learned that Ben's worker died")
    assert time.monotonic() - killed_at <= bound
    view = ana.get(f"/sessions/{session_id}").json()["state"]
    assert online_flags(view) == {a_id: True, b_id: False}

    # Ben comes back through worker one: online again for both.
    ben_again = ben.connect(one.url)
    joined = ben_again.call("session:join", {"session_id": session_id}, timeout=10)
    assert online_flags(joined["state"]) == {a_id: True, b_id: True}
    ana.close(), ben.close()
