"""Sessions that end, against real `mend run` processes: a log-out or a password change on
one worker closes the account's sockets on the other within seconds (each worker's guard
reads the log-in generation from the shared database), and the old cookie then fails for
HTTP and the handshake on both. An idle log-in ends on a live server too."""

from __future__ import annotations

import os
import time

import pytest
import socketio

from tests.live.conftest import Browserless, MendServer, make_couple_session

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("MEND_TEST_REDIS_URL")
WITHIN = 5.0  # seconds: "every socket of that user on every worker closes within seconds"


def copy_of(person: Browserless) -> Browserless:
    """Another browser holding a copy of `person`'s cookie (what an attacker would take)."""
    copy = Browserless(person.base_url, person.name)
    copy.email, copy.password, copy.user = person.email, person.password, person.user
    copy.http.cookies.update(person.http.cookies)
    return copy


def closes_within(sock: socketio.Client, seconds: float) -> float:
    started = time.monotonic()
    while sock.connected:
        if time.monotonic() - started > seconds:
            raise AssertionError(f"the socket was still open after {seconds} s")
        time.sleep(0.05)
    return time.monotonic() - started


def refused_handshake(person: Browserless, url: str) -> bool:
    try:
        person.connect(url)
    except socketio.exceptions.ConnectionError:
        return True
    return False


def test_logout_on_one_worker_closes_the_socket_on_the_other_and_the_cookie_dies(two_workers):
    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    stolen = copy_of(ana)
    far = ana.connect(two.url)  # Ana's socket on the other worker
    bens = ben.connect(two.url)
    assert far.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    assert stolen.get(f"/sessions/{session_id}").status_code == 200  # a working copy

    assert ana.post("/auth/logout").status_code == 200  # on worker one
    took = closes_within(far, WITHIN)

    for worker in (one, two):
        stolen.base_url = worker.url
        assert stolen.get(f"/sessions/{session_id}").status_code == 401
        assert stolen.get("/me").status_code == 401
    assert refused_handshake(stolen, two.url)
    assert refused_handshake(stolen, one.url)
    assert bens.connected  # Ben was never touched
    print(f"closed on the other worker after {took:.2f} s")
    ana.close(), ben.close(), stolen.close()


def test_a_password_change_closes_the_other_devices_sockets_on_every_worker(two_workers):
    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    other_device = copy_of(ana)
    near, far = other_device.connect(one.url), other_device.connect(two.url)

    response = ana.post("/auth/password", {"old_password": ana.password,
                                           "new_password": "a new passphrase"})
    assert response.status_code == 200, response.text
    closes_within(near, 1.0)  # this worker: at once
    closes_within(far, WITHIN)  # the other: by its guard

    assert other_device.get("/me").status_code == 401
    assert refused_handshake(other_device, two.url)
    # The caller stays logged in, on both workers.
    mine = ana.connect(two.url)
    assert mine.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    ana.base_url = two.url
    assert ana.get(f"/sessions/{session_id}").status_code == 200
    ana.close(), ben.close(), other_device.close()


def test_a_copied_cookie_dies_at_logout_on_one_worker(server):
    ana, _ben, session_id = make_couple_session(server.url)
    stolen = copy_of(ana)
    sock = stolen.connect()
    assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]

    assert ana.post("/auth/logout").status_code == 200
    closes_within(sock, 1.0)
    assert stolen.get(f"/sessions/{session_id}").status_code == 401
    assert refused_handshake(stolen, server.url)
    stolen.close()


def test_an_idle_socket_is_closed_and_its_cookie_refused(data_dir):
    idle = 1.5  # seconds
    server = MendServer(data_dir, "gevent",
                        env_extra={"MEND_IDLE_TIMEOUT_HOURS": str(idle / 3600)}).start()
    try:
        ana = Browserless(server.url, "Ana").sign_up()
        sock = ana.connect()
        opened = time.monotonic()
        closes_within(sock, idle + 2 + WITHIN)  # idle, then the guard's next round
        assert time.monotonic() - opened >= idle - 0.2
        response = ana.get("/me")
        assert response.status_code == 401
        assert "without activity" in response.json()["error"]["message"]
        assert refused_handshake(ana, server.url)
        ana.close()
    finally:
        server.stop()


def test_after_logout_returns_a_reveal_reaches_no_socket_of_that_user_on_any_worker(
        two_workers):
    """Ana has a socket on each worker, Ben his on worker two. Ana logs out on worker one;
    the moment the answer is back, Ben's submit on worker two reveals both answers. Ben's
    push leaves worker two without Redis (a worker's own emits skip its listener), so only
    a log-out that waits until every worker has dropped Ana's sockets keeps it from her."""
    from tests.conftest import unique_marker
    from tests.live.conftest import Inbox

    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    near, far, bens = ana.connect(one.url), ana.connect(two.url), ben.connect(two.url)
    inboxes = {"near": Inbox(near), "far": Inbox(far)}
    inbox_b = Inbox(bens)
    for sock in (near, far, bens):
        assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    for sock in (near, bens):
        assert sock.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                         timeout=10)["ok"]
    state = bens.call("session:join", {"session_id": session_id}, timeout=10)["state"]
    step = state["session"]["current_step_id"]
    ack = near.call("entry:submit", {"session_id": session_id, "step_id": step,
                                     "client_id": f"ana-{session_id[:8]}",
                                     "body": "what Ana wrote"}, timeout=10)
    assert ack["ok"], ack

    assert ana.post("/auth/logout").status_code == 200  # on worker one
    words = unique_marker("ben")
    ack = bens.call("entry:submit", {"session_id": session_id, "step_id": step,
                                     "client_id": f"ben-{session_id[:8]}", "body": words},
                    timeout=10)
    assert ack["ok"], ack
    inbox_b.wait_for(lambda s: any(st["id"] == step and st["status"] == "revealed"
                                   for st in s["steps"]))
    # Everything a socket was sent arrives before its close: once both are closed, what
    # they hold is all they will ever get (the guard closes them within seconds anyway).
    for sock in (near, far):
        closes_within(sock, WITHIN)
    for name, inbox in inboxes.items():
        assert words not in repr(inbox.events), f"Ana's {name} socket received the reveal"
    assert bens.connected
    ana.close(), ben.close()
