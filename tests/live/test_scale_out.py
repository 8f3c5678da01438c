"""Two workers on PostgreSQL, joined by Redis: partners on different workers still meet."""

from __future__ import annotations

import os

import pytest

from tests.live.conftest import (
    Inbox,
    assert_private_until_both_submit,
    make_couple_session,
)

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("MEND_TEST_REDIS_URL")


def test_partners_on_different_workers_see_one_reveal(two_workers):
    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    sock_a = ana.connect(one.url)
    # Ben's cookie was issued by worker one; the shared secret makes it valid on worker two.
    sock_b = ben.connect(two.url)
    inbox_a, inbox_b = Inbox(sock_a), Inbox(sock_b)
    for sock in (sock_a, sock_b):
        assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    for sock in (sock_a, sock_b):
        assert sock.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                         timeout=10)["ok"]
    state = sock_a.call("session:join", {"session_id": session_id}, timeout=10)["state"]
    step = state["session"]["current_step_id"]
    # Worker one's pushes reach Ben on worker two through Redis.
    assert_private_until_both_submit(session_id, step, sock_a, sock_b, inbox_a, inbox_b)
    ana.close(), ben.close()
