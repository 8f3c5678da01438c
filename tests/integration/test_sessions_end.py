"""Sessions that end: log-out, password changes, the idle timeout and the log-in's lifetime
end a log-in on the server, so a copy of the cookie stops working for HTTP, the Socket.IO
handshake and socket events, and the account's open sockets close.

(Across two workers: tests/live/test_sessions_end_live.py.)
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from server.realtime import scheduler
from server.services import accounts
from tests.integration.conftest import TRACK_ID, Person

NEW_PASSWORD = "a fresh passphrase"


def copy_of(app, person: Person):
    """A second browser holding a copy of `person`'s cookie (what an attacker would take)."""
    copy = app.test_client()
    copy.set_cookie("session", person.client.get_cookie("session").value)
    return copy


def reads(client, path: str) -> int:
    return client.get(f"/api/v1{path}").status_code


def log_in(person: Person) -> int:
    return person.post("/auth/login", {"email": person.email,
                                       "password": person.password}).status_code


def handshake_accepted(app, client) -> bool:
    from server.extensions import socketio

    sock = socketio.test_client(app, flask_test_client=client)
    accepted = sock.is_connected()
    if accepted:
        sock.disconnect()
    return accepted


def configure(app, **changes) -> None:
    ctx = app.extensions["mend"]
    ctx.config = dataclasses.replace(ctx.config, **changes)


def wait_until(condition, timeout: float, step: float = 0.05) -> float:
    """Wait for `condition()`; returns how long it took (fails after `timeout` seconds)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


@pytest.fixture
def quiet_guard(monkeypatch):
    """The guard loop waits an hour between rounds, so a test sees what comes before it
    (list it before the fixtures that connect sockets)."""
    monkeypatch.setattr(scheduler, "GUARD_SECONDS", 3600.0)


@pytest.fixture
def session_id(couple) -> str:
    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["session"]["id"]


# ---- log-out --------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_stops_working_everywhere(app, couple, session_id):
    ana = couple.a
    stolen = copy_of(app, ana)
    # The copy works while Ana is logged in: it is a real copy.
    assert reads(stolen, f"/sessions/{session_id}") == 200 and reads(stolen, "/me") == 200
    assert handshake_accepted(app, stolen)

    assert ana.post("/auth/logout").status_code == 200

    assert reads(stolen, f"/sessions/{session_id}") == 401
    assert reads(stolen, "/me") == 401
    assert not handshake_accepted(app, stolen)
    body = stolen.get("/api/v1/me").get_json()
    assert body["error"]["code"] == "unauthenticated"
    # Logging in again works, and Ben was never affected.
    assert log_in(ana) == 200
    assert reads(ana.client, f"/sessions/{session_id}") == 200
    assert reads(couple.b.client, f"/sessions/{session_id}") == 200


def test_logout_ends_the_accounts_log_ins_on_every_device_and_closes_their_sockets(app, signup):
    ana = signup("Ana")
    phone = app.test_client()  # Ana's second device, logged in on its own
    token = phone.get("/api/v1/csrf").get_json()["csrf_token"]
    assert phone.post("/api/v1/auth/login", json={"email": ana.email, "password": ana.password},
                      headers={"X-CSRFToken": token}).status_code == 200
    phone_socket = Person(phone, ana.user, ana.email, ana.password).socket(app)
    assert phone_socket.is_connected()

    assert ana.post("/auth/logout").status_code == 200

    assert reads(phone, "/me") == 401
    assert not phone_socket.is_connected()  # same worker: closed at once


def test_a_socket_opened_before_logout_is_refused_on_its_next_event(app, quiet_guard, partners):
    from server.services import accounts as account_service

    # A log-out on another worker: the generation moves on, nothing here is told.
    with app.extensions["mend"].database.session() as db:
        account_service.end_logins(db, partners.a.user["id"])
    ack = partners.emit(partners.sock_a, "session:join")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    assert partners.emit(partners.sock_b, "session:join")["ok"]


def test_an_action_from_a_socket_whose_log_in_ended_elsewhere_changes_nothing(
        app, quiet_guard, partners):
    """The socket keeps its user from the handshake; the log-in generation is checked in
    each event's own transaction, so the action is refused before anything is written,
    and every later event on that socket (typing too) is refused at once."""
    from sqlalchemy import func, select

    from server.models import StepReady
    from server.services import accounts as account_service

    step_id = partners.current_step(partners.sock_a)
    with app.extensions["mend"].database.session() as db:
        account_service.end_logins(db, partners.a.user["id"])
    ack = partners.emit(partners.sock_a, "step:ready", step_id=step_id)
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    with app.extensions["mend"].database.session() as db:
        assert db.scalar(select(func.count()).select_from(StepReady)) == 0
    ack = partners.emit(partners.sock_a, "presence:typing", typing=True)
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    # Ben's log-in is his own: his socket acts as before.
    assert partners.emit(partners.sock_b, "step:ready", step_id=step_id)["ok"]


def test_the_guard_closes_sockets_whose_log_in_ended_elsewhere(app, quiet_guard, partners):
    with app.extensions["mend"].database.session() as db:
        accounts.end_logins(db, partners.a.user["id"])  # as a log-out on another worker does
    with app.app_context():
        assert scheduler.guard_once(app) == 1
    assert not partners.sock_a.is_connected()
    assert partners.sock_b.is_connected()
    with app.app_context():
        assert scheduler.guard_once(app) == 0  # nothing else to close


def test_the_guard_runs_by_itself_every_few_seconds(app, partners):
    with app.extensions["mend"].database.session() as db:
        accounts.end_logins(db, partners.a.user["id"])
    took = wait_until(lambda: not partners.sock_a.is_connected(),
                      timeout=scheduler.GUARD_SECONDS + 3)
    assert took <= scheduler.GUARD_SECONDS + 3
    assert partners.sock_b.is_connected()


# ---- password change ------------------------------------------------------------------


def change(person: Person, old: object, new: object):
    return person.post("/auth/password", {"old_password": old, "new_password": new})


def test_changing_the_password_needs_the_current_one_and_a_long_enough_new_one(signup):
    ana = signup("Ana")
    wrong = change(ana, "not my password", NEW_PASSWORD)
    assert wrong.status_code == 403
    assert wrong.get_json()["error"]["code"] == "forbidden"
    assert "current password" in wrong.get_json()["error"]["message"]
    short = change(ana, ana.password, "short")
    assert short.status_code == 400 and short.get_json()["error"]["code"] == "invalid"
    assert "8 characters" in short.get_json()["error"]["message"]
    missing = change(ana, None, NEW_PASSWORD)
    assert (missing.status_code, missing.get_json()["error"]["code"]) in (
        (400, "invalid"), (403, "forbidden"))
    # Nothing changed: the old password still logs in, and Ana is still logged in.
    assert reads(ana.client, "/me") == 200
    assert log_in(ana) == 200


def test_changing_the_password_ends_every_other_log_in_and_keeps_this_one(app, signup):
    ana = signup("Ana")
    other_device = copy_of(app, ana)
    other_socket = Person(other_device, ana.user, ana.email, ana.password).socket(app)
    assert other_socket.is_connected() and reads(other_device, "/me") == 200

    response = change(ana, ana.password, NEW_PASSWORD)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["id"] == ana.user["id"]

    # The caller stays logged in with its fresh cookie, over HTTP and a new socket.
    assert reads(ana.client, "/me") == 200
    assert handshake_accepted(app, ana.client)
    # The other log-in is over, and its socket closed.
    assert reads(other_device, "/me") == 401
    assert not other_socket.is_connected()
    assert not handshake_accepted(app, other_device)
    # Only the new password logs in now.
    fresh = app.test_client()
    token = {"X-CSRFToken": fresh.get("/api/v1/csrf").get_json()["csrf_token"]}
    for password, status in ((ana.password, 401), (NEW_PASSWORD, 200)):
        login = fresh.post("/api/v1/auth/login", json={"email": ana.email, "password": password},
                           headers=token)
        assert login.status_code == status


def test_changing_the_password_needs_a_log_in(app):
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    response = client.post("/api/v1/auth/password", headers={"X-CSRFToken": token},
                           json={"old_password": "whatever1", "new_password": NEW_PASSWORD})
    assert response.status_code == 401


# ---- idle timeout and lifetime --------------------------------------------------------

IDLE_SECONDS = 2.0  # events every fifth of it keep a log-in alive, even on a loaded machine


def test_a_log_in_ends_after_the_idle_timeout_and_activity_keeps_it(app, signup):
    ana = signup("Ana")
    stolen = copy_of(app, ana)
    configure(app, idle_timeout_hours=IDLE_SECONDS / 3600)
    # Active for three times the idle timeout: still logged in.
    started = time.monotonic()
    while time.monotonic() - started < 3 * IDLE_SECONDS:
        assert reads(ana.client, "/me") == 200
        time.sleep(IDLE_SECONDS / 5)
    # The copy was idle all along: over.
    assert reads(stolen, "/me") == 401
    assert not handshake_accepted(app, stolen)
    # Then Ana goes quiet for longer than the timeout: over too, and the answer says why.
    time.sleep(IDLE_SECONDS * 1.3)
    response = ana.get("/me")
    assert response.status_code == 401
    assert response.get_json()["error"] == {
        "code": "unauthenticated",
        "message": "You were logged out after a while without activity. Please log in again."}
    assert not handshake_accepted(app, ana.client)


def test_an_idle_socket_is_refused_and_closed(app, quiet_guard, partners):
    configure(app, idle_timeout_hours=IDLE_SECONDS / 3600)
    deadline = time.monotonic() + 3 * IDLE_SECONDS
    while time.monotonic() < deadline:  # Ben stays active over his socket
        assert partners.emit(partners.sock_b, "session:join")["ok"]
        time.sleep(IDLE_SECONDS / 5)
    ack = partners.emit(partners.sock_a, "session:join")  # Ana's socket was idle
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    with app.app_context():
        scheduler.guard_once(app)
    assert not partners.sock_a.is_connected()
    assert partners.sock_b.is_connected()


def test_a_log_in_ends_after_its_lifetime_however_active(app, signup):
    configure(app, idle_timeout_hours=IDLE_SECONDS / 3600)  # activity re-signs the cookie
    ana = signup("Ana")
    logged_in = time.monotonic()
    lifetime = 2.5
    configure(app, max_login_days=lifetime / 86400)
    answers = []
    took = wait_until(lambda: answers.append(ana.get("/me")) or answers[-1].status_code == 401,
                      timeout=lifetime + 3, step=0.2)
    assert time.monotonic() - logged_in >= lifetime - 0.5, took
    assert answers[-1].get_json()["error"]["message"] == (
        "Your log-in has reached its time limit. Please log in again.")
    assert not handshake_accepted(app, ana.client)
    # A new log-in starts a new lifetime.
    assert log_in(ana) == 200
    assert reads(ana.client, "/me") == 200


def test_a_socket_is_closed_when_its_log_in_reaches_its_lifetime(app, quiet_guard, partners):
    lifetime = 2.0
    configure(app, idle_timeout_hours=IDLE_SECONDS / 3600, max_login_days=lifetime / 86400)

    def closed() -> bool:
        partners.emit(partners.sock_a, "session:join")  # active all along
        with app.app_context():
            scheduler.guard_once(app)
        return not partners.sock_a.is_connected()

    wait_until(closed, timeout=lifetime + 4, step=0.2)


def test_flask_refuses_a_session_cookie_older_than_the_longest_log_in(app):
    lifetime = app.permanent_session_lifetime.total_seconds()
    assert lifetime == app.extensions["mend"].config.max_login_days * 86400


# ---- nothing reaches a socket after the log-out returns --------------------------------


def test_after_logout_returns_a_reveal_reaches_no_socket_of_that_user(app, quiet_guard,
                                                                      partners):
    """Ana answers, logs out; Ben's answer then reveals both. None of Ana's sockets (the
    one in the session, another on her home) gets anything after the log-out's answer."""
    from tests.integration.test_session_arc import walk_to

    live = partners
    other = live.a.socket(app)
    walk_to(live, "what-trust-means")
    assert live.emit(live.sock_a, "entry:submit", step_id="what-trust-means",
                     client_id="a-out-0001", body="Ana's words")["ok"]
    assert live.a.post("/auth/logout").status_code == 200
    for sock in (live.sock_a, other):
        assert not sock.is_connected()
    assert live.emit(live.sock_b, "entry:submit", step_id="what-trust-means",
                     client_id="b-out-0001", body="Ben's words after the log-out")["ok"]
    revealed = [args[0] for push in live.sock_b.get_received() if push["name"] ==
                "session:state" for args in [push["args"]]]
    assert any("Ben's words after the log-out" in repr(state) for state in revealed)
    for sock in (live.sock_a, other):
        with pytest.raises(RuntimeError):
            sock.get_received()  # closed: nothing more is delivered to it


def test_a_handshake_on_its_way_when_its_log_in_ends_is_refused(app, quiet_guard, partners,
                                                                 monkeypatch):
    """The handshake loaded Ana's user (the old log-in still valid), then her log-out
    dropped her sockets before this one joined her room: it is refused, not left in the
    room to hear pushes until the guard's next round."""
    from server.realtime import handlers, limits

    real_connect = limits.connect

    def log_out_meanwhile(sid: str, user_id: str) -> None:
        with app.extensions["mend"].database.session() as db:
            accounts.end_logins(db, user_id)
        handlers.disconnect_user(user_id)  # what the log-out does, on this worker
        real_connect(sid, user_id)

    monkeypatch.setattr(limits, "connect", log_out_meanwhile)
    assert not handshake_accepted(app, live_client := partners.a.client)
    monkeypatch.setattr(limits, "connect", real_connect)
    assert not handshake_accepted(app, live_client)  # and the cookie is dead now anyway
    assert partners.sock_b.is_connected()
