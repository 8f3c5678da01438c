"""A push lost while Redis was away is caught up: when a worker's Redis listener is back, the
worker tells each of its own sockets `resync`, and the client's `session:join` brings the
truth (server/realtime/redis_queue.py).

Two `mend run` workers on PostgreSQL and a Redis of this test's own, which it restarts:
Ana on worker one, Ben on worker two, so Ana's pushes reach Ben only through Redis."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from contextlib import ExitStack

import pytest
import redis

from server.realtime.redis_queue import CHANNEL
from tests.conftest import require, unique_marker
from tests.live.conftest import Inbox, MendServer, make_couple_session
from tests.live.nginx import wait_until
from tests.live.test_nginx import RedisServer, fresh_schema, join, revealed_bodies, step_of, submit

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")


def resyncs(inbox: Inbox) -> int:
    return sum(1 for name, _ in inbox.events if name == "resync")


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_push_lost_while_redis_was_down_is_caught_up_by_a_resync(tmp_path, async_mode):
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    fresh_schema(POSTGRES_URL)
    with ExitStack() as stack:
        own = RedisServer(tmp_path).start()
        stack.callback(own.kill)
        env = {"MEND_DATABASE_URL": POSTGRES_URL, "MEND_REDIS_URL": own.url,
               "MEND_SECRET_KEY": f"one-secret-for-every-worker-{uuid.uuid4().hex}"}
        workers = []
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            worker = MendServer(tmp_path / name, async_mode, env_extra=env)
            stack.callback(worker.stop)
            workers.append(worker.start())
        one, two = workers

        ana, ben, session_id = make_couple_session(one.url)
        stack.callback(ana.close)
        stack.callback(ben.close)
        sock_a, sock_b = ana.connect(one.url), ben.connect(two.url)
        inbox_a, inbox_b = Inbox(sock_a), Inbox(sock_b)
        for sock in (sock_a, sock_b):
            join(sock, session_id)
        for sock in (sock_a, sock_b):
            assert sock.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                             timeout=10)["ok"]
        step = join(sock_a, session_id)["session"]["current_step_id"]
        assert step != "welcome"
        probe = redis.Redis.from_url(own.url)
        wait_until(lambda: probe.pubsub_numsub(CHANNEL)[0][1] == 2, 15,
                   "both workers to listen on Redis")
        assert resyncs(inbox_a) == resyncs(inbox_b) == 0  # nothing was lost yet

        own.kill()
        words_a = unique_marker("ana")
        acked = submit(sock_a, session_id, step, "ana-submit-0001", words_a)
        assert acked["ok"], acked  # committed: Redis only carries pushes between workers
        own.start()
        # Whatever crosses Redis from now on: the resync must not (each worker tells its own).
        probe = redis.Redis.from_url(own.url)
        watch = probe.pubsub(ignore_subscribe_messages=True)
        watch.subscribe(CHANNEL)

        wait_until(lambda: resyncs(inbox_b), 30, "Ben's worker to tell him to resync")
        # The push of Ana's submit was lost with Redis: Ben's screen only learns it by resyncing.
        assert not [s for s in inbox_b.states()
                    if step_of(s, step)["partner_status"] == "submitted"], inbox_b.states()
        assert step_of(join(sock_b, session_id), step)["partner_status"] == "submitted"
        # Ana's worker lost Redis too, and tells her the same.
        wait_until(lambda: resyncs(inbox_a), 30, "Ana's worker to tell her to resync")

        # Pushes cross the workers again: Ben's answer reveals both, on both screens.
        words_b = unique_marker("ben")
        assert submit(sock_b, session_id, step, "ben-submit-0001", words_b)["ok"]
        assert revealed_bodies(inbox_a, step) == [words_a, words_b]
        assert revealed_bodies(inbox_b, step) == [words_a, words_b]
        assert resyncs(inbox_a) == resyncs(inbox_b) == 1

        crossed = []
        deadline = time.monotonic() + 1  # the reveal's pushes went long ago; read them all
        while time.monotonic() < deadline:
            message = watch.get_message(timeout=0.1)  # None too for the subscribe reply
            if message is not None:
                crossed.append(json.loads(message["data"]))
        assert any(m.get("event") == "session:state" for m in crossed), crossed
        assert not [m for m in crossed if m.get("event") == "resync"]
        watch.close()
        probe.close()
