"""A real server process over the network: the loop, the handshake, and kill -9."""

from __future__ import annotations

import pytest
import socketio

from tests.conftest import unique_marker
from tests.live.conftest import (
    Browserless,
    Inbox,
    MendServer,
    assert_private_until_both_submit,
    make_couple_session,
)

pytestmark = pytest.mark.live


def join(sock, session_id):
    ack = sock.call("session:join", {"session_id": session_id}, timeout=10)
    assert ack["ok"], ack
    return ack["state"]


def pass_welcome(socks, session_id) -> str:
    for sock in socks:
        assert sock.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                         timeout=10)["ok"]
    return join(socks[0], session_id)["session"]["current_step_id"]


def test_two_partners_reach_the_reveal_over_websockets(server):
    ana, ben, session_id = make_couple_session(server.url)
    sock_a, sock_b = ana.connect(), ben.connect()
    assert sock_a.transport() == "websocket"
    inbox_a, inbox_b = Inbox(sock_a), Inbox(sock_b)
    join(sock_a, session_id), join(sock_b, session_id)
    step = pass_welcome((sock_a, sock_b), session_id)
    assert_private_until_both_submit(session_id, step, sock_a, sock_b, inbox_a, inbox_b)
    ana.close(), ben.close()


def test_a_logged_out_handshake_is_refused(server):
    stranger = socketio.Client(reconnection=False)
    refusals = []
    stranger.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect(server.url, transports=["websocket"], wait_timeout=5)
    assert refusals and refusals[0]["data"]["code"] == "unauthenticated"


def test_an_acknowledged_submit_survives_kill_9_and_a_retry_creates_nothing(data_dir):
    first = MendServer(data_dir, "gevent").start()
    try:
        ana, ben, session_id = make_couple_session(first.url)
        sock_a, sock_b = ana.connect(), ben.connect()
        join(sock_a, session_id), join(sock_b, session_id)
        step = pass_welcome((sock_a, sock_b), session_id)
        words = unique_marker("durable")
        submit = {"session_id": session_id, "step_id": step, "client_id": "durable-0001",
                  "body": words}
        ack = sock_a.call("entry:submit", submit, timeout=10)
        assert ack["ok"]
        first.kill_9()
    finally:
        first.stop()
    ana.close(), ben.close()

    second = MendServer(data_dir, "gevent", port=first.port).start()
    try:
        # The cookie still works: the secret key was kept in the data directory.
        state = ana.get(f"/sessions/{session_id}").json()["state"]
        mine = next(s for s in state["steps"] if s["id"] == step)["mine"]
        assert mine["entry"]["body"] == words and mine["entry"]["id"] == ack["entry"]["id"]
        # A client that never saw the ack resends with the same client_id: same entry back.
        sock_a = ana.connect()
        again = sock_a.call("entry:submit", submit, timeout=10)
        assert again == ack
        # Ben's view still shows only a status.
        assert words not in ben.get(f"/sessions/{session_id}").text
    finally:
        ana.close()
        second.stop()


def test_an_oversized_frame_is_refused_and_the_server_carries_on(server):
    ana, ben, session_id = make_couple_session(server.url)
    sock = ana.connect()
    join(sock, session_id)
    step = pass_welcome((sock, ben.connect()), session_id)
    too_long = sock.call("entry:submit", {"session_id": session_id, "step_id": step,
                                          "client_id": "long-00001", "body": "x" * 20_001},
                         timeout=10)
    assert too_long["error"]["code"] == "too_large"
    try:
        sock.emit("entry:draft", {"session_id": session_id, "step_id": step,
                                  "body": "x" * 1_000_000})
        sock.sleep(1)
    except socketio.exceptions.SocketIOError:
        pass
    # The connection that sent the oversized frame is dropped; others are not affected.
    other = Browserless(server.url, "Cleo").sign_up().connect()
    assert other.connected
    state = ana.get(f"/sessions/{session_id}").json()["state"]
    assert next(s for s in state["steps"] if s["id"] == step)["mine"]["draft"] is None
    ana.close(), ben.close()
