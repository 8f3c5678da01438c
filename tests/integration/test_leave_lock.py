"""Leave quickly locks the log-in (issue 15): every tab, socket and copy of the cookie of
that log-in is refused at once with the lock's answer, and only the password opens it.

The lock is POST /api/v1/auth/lock (sent by the page as it leaves); the refusal is the
contract's `unauthenticated`, marked `locked: true` over HTTP, with the message
accounts.LOGIN_LOCKED over HTTP and sockets alike.
"""

from __future__ import annotations

import pytest

from server.realtime import schemas
from server.services import accounts
from server.web.limits import set_limits
from tests.integration.conftest import TRACK_ID, Person


def copy_of(app, person: Person):
    """Another browser holding a copy of `person`'s cookie (another tab or device of the log-in)."""
    copy = app.test_client()
    copy.set_cookie("session", person.client.get_cookie("session").value)
    return copy


def handshake_accepted(app, client) -> bool:
    from server.extensions import socketio

    sock = socketio.test_client(app, flask_test_client=client)
    accepted = sock.is_connected()
    if accepted:
        sock.disconnect()
    return accepted


@pytest.fixture
def quiet_guard(monkeypatch):
    """The guard waits an hour between rounds: the test sees the refusals before it closes
    the socket (list it before the fixtures that connect sockets)."""
    from server.realtime import scheduler

    monkeypatch.setattr(scheduler, "GUARD_SECONDS", 3600.0)

# Routes under /api/v1 that need no log-in: they answer anyone alike and name nobody.
PUBLIC = {
    "api.csrf_token", "api.signup", "api.login", "api.logout", "api.tracks",
    "help.get_help", "account.request_password_reset", "account.reset_password",
    "account.invite", "lock.lock", "lock.unlock",
}


def is_locked_answer(response) -> bool:
    body = response.get_json()
    return (response.status_code == 401 and body["ok"] is False
            and body["error"] == {"code": "unauthenticated", "message": accounts.LOGIN_LOCKED,
                                  "locked": True})


def lock(person: Person) -> None:
    response = person.post("/auth/lock")
    assert response.status_code == 200 and response.get_json() == {"ok": True}


def unlock(client, password: str):
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    return client.post("/api/v1/auth/unlock", json={"password": password},
                       headers={"X-CSRFToken": token})


def private_routes(app) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule, rule.endpoint))
    return routes


@pytest.fixture
def session_id(couple) -> str:
    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["session"]["id"]


def test_every_api_route_refuses_a_locked_log_in_with_the_lock(app, couple, session_id):
    ana, ben = couple.a, couple.b
    other_device = copy_of(app, ana)  # another tab, or a copy of the cookie
    assert ana.get("/me").status_code == 200
    lock(ana)

    ids = {"session_id": session_id, "couple_id": couple.couple_id}
    bodies = {  # a well-formed body where the route declares one, so only the lock refuses
        "api.change_password": {"old_password": ana.password, "new_password": "a new passphrase"},
        "api.join_couple": {"invite_code": "ABCD-EFGH"},
        "api.start_session": {"couple_id": couple.couple_id, "track_id": TRACK_ID},
        "counsellor_api.join": {"invite_code": "ABCD-EFGH"},
        "data_rights.erase": {"password": ana.password},
    }
    routes = private_routes(app)
    assert len(routes) >= 12, routes  # me, sessions, summaries, couples, export, erase…
    for client in (ana.client, other_device):
        token = client.get("/api/v1/csrf").get_json()["csrf_token"]
        for method, rule, endpoint in routes:
            path = rule
            for name, value in ids.items():
                path = path.replace(f"<{name}>", value)
            response = client.open(path, method=method, json=bodies.get(endpoint, {}),
                                   headers={"X-CSRFToken": token})
            assert is_locked_answer(response), (method, rule, response.get_json())
        # Nothing of the person in any answer: no name, no e-mail.
        text = client.get("/api/v1/me").get_data(as_text=True)
        assert "Ana" not in text and ana.email not in text
    # Nothing was changed or erased by those calls, and Ben was never affected.
    assert ben.get("/me").status_code == 200
    assert ben.get(f"/sessions/{session_id}").status_code == 200
    assert unlock(ana.client, ana.password).status_code == 200
    assert ana.get(f"/sessions/{session_id}").status_code == 200


def test_the_lock_closes_the_log_ins_sockets_and_refuses_their_handshake(
        app, partners, monkeypatch):
    from server.realtime import handlers

    refusals = []

    class Recorded(handlers.ConnectionRefusedError):
        def __init__(self, *args):
            refusals.append(args)
            super().__init__(*args)

    monkeypatch.setattr(handlers, "ConnectionRefusedError", Recorded)
    ana = partners.a
    second_tab = ana.socket(app)
    assert second_tab.is_connected() and partners.sock_a.is_connected()
    lock(ana)
    assert not partners.sock_a.is_connected() and not second_tab.is_connected()
    assert not handshake_accepted(app, ana.client)
    # The handshake is refused with the lock's words, as over HTTP.
    assert refusals[-1][1] == {"code": "unauthenticated", "message": accounts.LOGIN_LOCKED,
                               "locked": True}
    assert partners.sock_b.is_connected()  # Ben's log-in is his own
    assert partners.emit(partners.sock_b, "session:join")["ok"]


def test_every_socket_event_is_refused_once_the_log_in_is_locked_elsewhere(
        app, quiet_guard, partners):
    """A lock that lands on another worker: this socket is not told, but each event's own
    transaction finds it, and from then on every event on the socket is refused alike."""
    from sqlalchemy import func, select

    from server.models import Entry, StepReady

    step_id = partners.current_step(partners.sock_a)
    with app.extensions["mend"].database.session() as db:
        generation = accounts.get_account(db, partners.a.user["id"]).login_generation
        assert accounts.lock_login(db, partners.a.user["id"], generation)
    assert partners.sock_a.is_connected()
    events = ["step:ready", *schemas.EVENTS]
    for name in events:
        ack = partners.emit(partners.sock_a, name, step_id=step_id)
        assert ack == {"ok": False, "error": {"code": "unauthenticated",
                                              "message": accounts.LOGIN_LOCKED}}, (name, ack)
    with app.extensions["mend"].database.session() as db:
        assert db.scalar(select(func.count()).select_from(StepReady)) == 0
        assert db.scalar(select(func.count()).select_from(Entry)) == 0
    assert partners.emit(partners.sock_b, "session:join")["ok"]  # Ben acts as before


def test_the_guard_closes_a_locked_log_ins_sockets_on_every_worker(app, quiet_guard, partners):
    from server.realtime import scheduler

    with app.extensions["mend"].database.session() as db:
        generation = accounts.get_account(db, partners.a.user["id"]).login_generation
        accounts.lock_login(db, partners.a.user["id"], generation)
    with app.app_context():
        assert scheduler.guard_once(app) == 1
    assert not partners.sock_a.is_connected() and partners.sock_b.is_connected()


def test_only_the_password_opens_a_locked_log_in(app, signup):
    ana = signup("Ana")
    phone = copy_of(app, ana)
    lock(ana)
    lock(ana)  # twice (two tabs leaving): still one lock, still opened by the password

    wrong = unlock(ana.client, "not the password")
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "forbidden"
    assert is_locked_answer(ana.get("/me"))
    assert not handshake_accepted(app, ana.client)

    right = unlock(ana.client, ana.password)
    assert right.status_code == 200 and right.get_json()["user"]["id"] == ana.user["id"]
    assert ana.get("/me").status_code == 200
    assert handshake_accepted(app, ana.client)
    # Each browser opens its own: the phone is still locked until its password is typed.
    assert is_locked_answer(phone.get("/api/v1/me"))
    assert unlock(phone, ana.password).status_code == 200
    assert phone.get("/api/v1/me").status_code == 200


def test_an_ended_log_in_is_not_locked_and_cannot_be_unlocked(app, signup):
    ana = signup("Ana")
    copy = copy_of(app, ana)
    lock(ana)
    assert unlock(ana.client, ana.password).status_code == 200
    # A log-out after the lock ends the locked copies for good: "ended", not "locked".
    assert ana.post("/auth/logout").status_code == 200
    answer = copy.get("/api/v1/me")
    assert answer.status_code == 401 and "locked" not in answer.get_json()["error"]
    assert unlock(copy, ana.password).status_code == 401
    # Nobody logged in: lock does nothing, unlock is refused.
    stranger = app.test_client()
    assert stranger.post("/api/v1/auth/lock").get_json() == {"ok": True}
    assert unlock(stranger, ana.password).status_code == 401


def test_the_lock_needs_no_csrf_token_and_unlock_does(app, signup):
    """The page sends the lock as it leaves, maybe with a stale token."""
    ana = signup("Ana")
    assert ana.client.post("/api/v1/auth/lock").status_code == 200
    assert is_locked_answer(ana.get("/me"))
    refused = ana.client.post("/api/v1/auth/unlock", json={"password": ana.password})
    assert refused.status_code == 403  # no token
    assert is_locked_answer(ana.get("/me"))


def test_unlock_guesses_are_rate_limited_per_account_and_address(app, signup):
    ana = signup("Ana")
    lock(ana)
    set_limits(app, {"unlock-account": "3 per minute", "unlock-address": "off"})
    for _ in range(3):
        assert unlock(ana.client, "a wrong guess").status_code == 403
    over = unlock(ana.client, ana.password)  # even the right one, once over the limit
    assert over.status_code == 429 and over.get_json()["error"]["code"] == "rate_limited"
    assert over.headers["Retry-After"]
    assert is_locked_answer(ana.get("/me"))
    # Another locked account is counted apart; by address, everyone behind it is.
    ben = signup("Ben")
    lock(ben)
    assert unlock(ben.client, "a wrong guess").status_code == 403
    set_limits(app, {"unlock-account": "off", "unlock-address": "1 per minute"})
    assert unlock(ben.client, "a wrong guess").status_code == 403
    assert unlock(ben.client, ben.password).status_code == 429
