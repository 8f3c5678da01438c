"""Time in a real server: a stored deadline is applied by the worker's sweep and pushed,
and one that fell due while the server was down is applied after a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from server.db import make_engine
from server.models import Session
from server.models.base import utcnow
from tests.live.conftest import Inbox, MendServer, make_couple_session

pytestmark = pytest.mark.live


def set_break(data_dir, session_id: str, until) -> None:
    """What a break (issue 6) will store: an end time and the session's next deadline."""
    engine = make_engine(f"sqlite:///{data_dir / 'mend.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(update(Session).where(Session.id == session_id)
                     .values(paused_until=until, next_deadline_at=until))
    engine.dispose()


def join(sock, session_id: str) -> dict:
    ack = sock.call("session:join", {"session_id": session_id}, timeout=10)
    assert ack["ok"], ack
    return ack["state"]


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_break_ends_on_time_without_anyone_acting(data_dir, async_mode):
    server = MendServer(data_dir, async_mode, env_extra={"MEND_TICK_SECONDS": "0.2"}).start()
    try:
        ana, ben, session_id = make_couple_session(server.url)
        sock_b = ben.connect()
        inbox = Inbox(sock_b)
        set_break(data_dir, session_id, utcnow() + timedelta(seconds=1))
        assert join(sock_b, session_id)["session"]["paused_until"] is not None
        state = inbox.wait_for(lambda s: s["session"]["paused_until"] is None, timeout=10)
        assert state["session"]["id"] == session_id
        ana.close(), ben.close()
    finally:
        server.stop()


def test_a_deadline_that_fell_due_while_the_server_was_down_is_applied(data_dir):
    first = MendServer(data_dir, "gevent", env_extra={"MEND_TICK_SECONDS": "0.2"}).start()
    try:
        ana, ben, session_id = make_couple_session(first.url)
    finally:
        first.kill_9()
    set_break(data_dir, session_id, utcnow() - timedelta(seconds=5))
    second = MendServer(data_dir, "gevent", port=first.port,
                        env_extra={"MEND_TICK_SECONDS": "0.2"}).start()
    try:
        ben.log_in()
        sock_b = ben.connect()
        inbox = Inbox(sock_b)
        if join(sock_b, session_id)["session"]["paused_until"] is not None:
            inbox.wait_for(lambda s: s["session"]["paused_until"] is None, timeout=10)
        ana.close(), ben.close()
    finally:
        second.stop()
