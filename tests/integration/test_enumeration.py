"""Nothing to enumerate: sign-up and log-in answer alike, in about the same time, whether or
not an address has an account; a wrong, a used and an expired invite code answer alike."""

from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import timedelta

import pytest

from server.models import Couple
from server.services import couples
from server.services.mail_queue import mail_queue
from server.web import limits

TRIES = 7
# Hashing dominates both paths (a fifth of a second); before this work a taken address
# answered 25 times faster than a new one.
SLOWEST_OVER_FASTEST = 1.6


def fresh_client(app):
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    return client, {"X-CSRFToken": token}


def shape(response) -> tuple:
    """What a caller can see of an answer, less the headers that vary by themselves."""
    varying = {"Date", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}
    headers = sorted((k, v) for k, v in response.headers.items() if k not in varying)
    return response.status_code, response.get_json(), headers


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def assert_alike_in_time(first: list[float], second: list[float]) -> None:
    a, b = statistics.median(first), statistics.median(second)
    assert max(a, b) / min(a, b) < SLOWEST_OVER_FASTEST, (first, second)


# ---- sign-up --------------------------------------------------------------------------


def signup(app, email: str, password: str = "a long password", name: str = "Someone"):
    client, token = fresh_client(app)
    return client.post("/api/v1/auth/signup", headers=token,
                       json={"email": email, "password": password, "display_name": name})


def test_signup_answers_alike_for_a_new_and_a_taken_address(app, signup_person):
    new = signup(app, "new-person@example.test")
    taken = signup(app, signup_person.email.upper(), password="someone else's guess")
    assert shape(new) == shape(taken)
    assert new.status_code == 202
    body = new.get_json()
    assert body["ok"] is True and "log in" in body["message"]
    assert "exist" not in body["message"]
    # Neither logged anybody in.
    assert "Set-Cookie" not in new.headers and "Set-Cookie" not in taken.headers


def test_signup_takes_about_as_long_for_a_taken_address(app, signup_person):
    limits.set_limits(app, {"all": "off"})  # many sign-ups from one address
    signup(app, "warm-up@example.test")  # the first hash in a process does some set-up
    new_times, taken_times = [], []
    for n in range(TRIES):
        took, response = timed(lambda n=n: signup(app, f"new-{n}@example.test"))
        assert response.status_code == 202
        new_times.append(took)
        took, response = timed(lambda: signup(app, signup_person.email))
        assert response.status_code == 202
        taken_times.append(took)
    assert_alike_in_time(new_times, taken_times)


def test_signup_with_a_taken_address_changes_nothing_and_logs_in_nobody(app, signup_person):
    signup(app, signup_person.email, password="an attacker's password", name="Mallory")
    client, token = fresh_client(app)
    for password, status in (("an attacker's password", 401), (signup_person.password, 200)):
        response = client.post("/api/v1/auth/login", headers=token,
                               json={"email": signup_person.email, "password": password})
        assert response.status_code == status
    assert response.get_json()["user"]["display_name"] == "Ana"


def test_a_new_signup_logs_in_with_its_password_next(app):
    assert signup(app, "newcomer@example.test", name="Nia").status_code == 202
    client, token = fresh_client(app)
    response = client.post("/api/v1/auth/login", headers=token,
                           json={"email": "newcomer@example.test", "password": "a long password"})
    assert response.status_code == 200 and response.get_json()["user"]["display_name"] == "Nia"


# ---- log-in ---------------------------------------------------------------------------


def login(app, email: str, password: str):
    client, token = fresh_client(app)
    return client.post("/api/v1/auth/login", headers=token,
                       json={"email": email, "password": password})


def test_login_answers_alike_for_an_unknown_address_and_a_wrong_password(app, signup_person):
    unknown = login(app, "nobody@example.test", "a wrong password")
    wrong = login(app, signup_person.email, "a wrong password")
    assert shape(unknown) == shape(wrong)
    assert unknown.status_code == 401


def test_login_takes_about_as_long_for_an_unknown_address(app, signup_person):
    limits.set_limits(app, {"all": "off"})  # many failed log-ins from one address
    login(app, "warm-up@example.test", "a wrong password")
    unknown_times, wrong_times = [], []
    for n in range(TRIES):
        took, response = timed(lambda n=n: login(app, f"nobody-{n}@example.test", "wrong one"))
        assert response.status_code == 401
        unknown_times.append(took)
        took, response = timed(lambda: login(app, signup_person.email, "wrong one"))
        assert response.status_code == 401
        wrong_times.append(took)
    assert_alike_in_time(unknown_times, wrong_times)


# ---- the owner is told, when Mend can send e-mail --------------------------------------


def test_the_owner_of_a_taken_address_is_told_by_email(app, signup_person, inbox):
    ctx = app.extensions["mend"]
    ctx.config = dataclasses.replace(ctx.config, smtp_url=inbox.url,
                                     public_url="https://mend.example")
    assert signup(app, "someone-new@example.test").status_code == 202
    assert signup(app, signup_person.email).status_code == 202
    [message] = inbox.wait_for(1)
    assert message["To"] == signup_person.email
    text = message.get_payload()
    assert "already has one" in text and "https://mend.example/reset/" in text
    assert mail_queue.wait_idle(10)  # and nothing for the new address
    assert len(inbox.messages) == 1


# ---- invite codes ---------------------------------------------------------------------


def age_couple(app, couple_id: str, by: timedelta) -> None:
    with app.extensions["mend"].database.session() as db:
        row = db.get(Couple, couple_id)
        row.created_at = row.created_at - by
        db.commit()


def answers(person, code: str) -> tuple:
    """What joining with a code and looking it up tell this person."""
    joined = person.post("/couples/join", {"invite_code": code})
    looked_up = person.get(f"/invites/{code}")
    return (joined.status_code, joined.get_json()), (looked_up.status_code, looked_up.get_json())


def test_a_wrong_a_used_and_an_expired_code_answer_alike(app, signup, couple):
    cleo = signup("Cleo")
    with app.extensions["mend"].database.session() as db:
        used = db.get(Couple, couple.couple_id).invite_code
    dan = signup("Dan")
    made = dan.post("/couples").get_json()
    expired = made["invite_code"]
    age_couple(app, made["couple"]["id"], timedelta(days=couples.INVITE_DAYS, minutes=1))

    wrong = answers(cleo, "ZZZZZZZZ")
    assert wrong[0][0] == 404 and wrong[0][1]["error"]["code"] == "not_found"
    assert wrong[1] == wrong[0]
    assert answers(cleo, used) == wrong
    assert answers(cleo, expired) == wrong
    # Signed out, the invite page's look-up says the same.
    stranger = app.test_client()
    for code in (used, expired):
        response = stranger.get(f"/api/v1/invites/{code}")
        assert (response.status_code, response.get_json()) == wrong[1]
    assert cleo.get("/me").get_json()["couples"] == []


def test_an_open_code_still_names_the_inviter_until_it_expires(app, signup):
    ana, ben = signup("Ana"), signup("Ben")
    made = ana.post("/couples").get_json()
    code = made["invite_code"]
    age_couple(app, made["couple"]["id"], timedelta(days=couples.INVITE_DAYS, minutes=-1))
    looked_up = app.test_client().get(f"/api/v1/invites/{code}").get_json()
    assert looked_up["invite"] == {"status": "open", "inviter": {"display_name": "Ana"}}
    [waiting] = ana.get("/me").get_json()["couples"]
    assert waiting["status"] == "waiting" and waiting["invite_code"] == code
    assert waiting["invite_expires_at"]
    age_couple(app, made["couple"]["id"], timedelta(minutes=2))
    assert app.test_client().get(f"/api/v1/invites/{code}").status_code == 404
    assert ben.post("/couples/join", {"invite_code": code}).status_code == 404


def test_an_expired_invite_shows_as_expired_and_creating_again_renews_it(app, signup):
    ana, ben = signup("Ana"), signup("Ben")
    made = ana.post("/couples").get_json()
    age_couple(app, made["couple"]["id"], timedelta(days=couples.INVITE_DAYS + 1))
    [expired] = ana.get("/me").get_json()["couples"]
    assert expired["status"] == "expired" and expired["invite_code"] is None

    renewed = ana.post("/couples").get_json()
    assert renewed["couple"]["id"] == made["couple"]["id"]  # the same space, a new code
    assert renewed["invite_code"] and renewed["invite_code"] != made["invite_code"]
    assert ben.post("/couples/join", {"invite_code": made["invite_code"]}).status_code == 404
    joined = ben.post("/couples/join", {"invite_code": renewed["invite_code"]})
    assert joined.status_code == 200 and joined.get_json()["couple"]["status"] == "complete"


def test_a_code_works_once(signup):
    ana, ben, cleo = signup("Ana"), signup("Ben"), signup("Cleo")
    code = ana.post("/couples").get_json()["invite_code"]
    assert ben.post("/couples/join", {"invite_code": code}).status_code == 200
    again = ben.post("/couples/join", {"invite_code": code})
    assert again.status_code == 409  # Ben already knows: he is in it
    assert cleo.post("/couples/join", {"invite_code": code}).status_code == 404


@pytest.fixture
def signup_person(signup):
    return signup("Ana")


@pytest.fixture
def inbox():
    from tests.integration.test_accounts_reset import Inbox, _free_port

    pytest.importorskip("aiosmtpd", reason="aiosmtpd is in the test extra")
    from aiosmtpd.controller import Controller

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()
