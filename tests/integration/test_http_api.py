"""The JSON API: accounts, couples, tracks, sessions, and its one error shape."""

from __future__ import annotations

import pytest


def error_code(response) -> str:
    body = response.get_json()
    assert body["ok"] is False and body["error"]["message"]
    return body["error"]["code"]


def test_after_signup_and_login_me_shows_the_account(signup):
    ana = signup("Ana")
    me = ana.get("/me").get_json()
    assert me["user"]["display_name"] == "Ana"
    assert me["couples"] == [] and me["sessions"] == []


def test_me_requires_a_login(app):
    response = app.test_client().get("/api/v1/me")
    assert response.status_code == 401 and error_code(response) == "unauthenticated"


def test_state_changing_requests_need_the_csrf_token(signup):
    ana = signup("Ana")
    response = ana.client.post("/api/v1/couples", json={})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert ana.get("/me").get_json()["couples"] == []


def test_signup_rejects_bad_input_and_stores_nothing(app, signup):
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    for bad in (
        {"email": "not-an-email", "password": "long enough", "display_name": "X"},
        {"email": "x@example.test", "password": "short", "display_name": "X"},
        {"email": "x@example.test", "password": "long enough", "display_name": "  "},
        {"email": "x@example.test", "password": "long enough", "display_name": "X",
         "role": "admin"},
        {"email": 5, "password": None},
    ):
        response = client.post("/api/v1/auth/signup", json=bad, headers={"X-CSRFToken": token})
        assert response.status_code == 400 and error_code(response) == "invalid"
    login = client.post("/api/v1/auth/login",
                        json={"email": "x@example.test", "password": "long enough"},
                        headers={"X-CSRFToken": token})
    assert login.status_code == 401


def test_an_email_can_sign_up_only_once(signup, app):
    ana = signup("Ana")
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    again = client.post("/api/v1/auth/signup", headers={"X-CSRFToken": token},
                        json={"email": "ANA@example.test", "password": "whatever1",
                              "display_name": "Other"})
    # The same neutral answer as a new sign-up (tests/integration/test_enumeration.py), and
    # no second account: the new password opens nothing, Ana's still works.
    assert again.status_code == 202 and "already exists" not in again.get_data(as_text=True)
    for password, status in (("whatever1", 401), (ana.password, 200)):
        login = client.post("/api/v1/auth/login", headers={"X-CSRFToken": token},
                            json={"email": ana.email, "password": password})
        assert login.status_code == status
    assert login.get_json()["user"]["id"] == ana.user["id"]


def test_login_and_logout(signup, app):
    ana = signup("Ana")
    assert ana.post("/auth/logout").status_code == 200
    assert ana.get("/me").status_code == 401
    wrong = ana.post("/auth/login", {"email": ana.email, "password": "wrong password"})
    assert wrong.status_code == 401 and error_code(wrong) == "unauthenticated"
    right = ana.post("/auth/login", {"email": ana.email.upper(), "password": ana.password})
    assert right.status_code == 200 and right.get_json()["user"]["id"] == ana.user["id"]


def test_invite_code_joins_the_partner_and_stops_showing(couple):
    for person in (couple.a, couple.b):
        [c] = person.get("/me").get_json()["couples"]
        assert c["status"] == "complete" and c["invite_code"] is None
        assert {p["display_name"] for p in c["partners"]} == {"Ana", "Ben"}


def test_invite_codes_forgive_case_spaces_and_dashes(signup):
    ana, ben = signup("Ana"), signup("Ben")
    code = ana.post("/couples").get_json()["invite_code"]
    messy = f" {code[:4].lower()}-{code[4:]} "
    assert ben.post("/couples/join", {"invite_code": messy}).status_code == 200


def test_creating_a_couple_twice_reuses_the_waiting_one(signup):
    ana = signup("Ana")
    first = ana.post("/couples").get_json()
    second = ana.post("/couples").get_json()
    assert first["couple"]["id"] == second["couple"]["id"]


def test_a_wrong_invite_code_is_not_found(signup):
    ben = signup("Ben")
    response = ben.post("/couples/join", {"invite_code": "ZZZZ-ZZZZ"})
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert ben.get("/me").get_json()["couples"] == []


def test_a_third_person_cannot_join_a_full_couple(couple, signup, app):
    cleo = signup("Cleo")
    # The code still exists (Ana's couple row keeps it) but the couple is full.
    from server.models import Couple as CoupleRow

    with app.extensions["mend"].database.session() as db:
        code = db.get(CoupleRow, couple.couple_id).invite_code
    # Answered like a wrong code (nothing confirms the code exists).
    response = cleo.post("/couples/join", {"invite_code": code})
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert cleo.get("/me").get_json()["couples"] == []


def test_you_cannot_join_your_own_invite(signup):
    ana = signup("Ana")
    code = ana.post("/couples").get_json()["invite_code"]
    assert error_code(ana.post("/couples/join", {"invite_code": code})) == "conflict"


def test_counsellor_accounts_do_not_join_couples(signup):
    ana, dr = signup("Ana"), signup("Doctor", role="counsellor")
    code = ana.post("/couples").get_json()["invite_code"]
    response = dr.post("/couples/join", {"invite_code": code})
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_tracks_list_says_how_each_step_is_answered(app):
    tracks = app.test_client().get("/api/v1/tracks").get_json()["tracks"]
    trust = next(t for t in tracks if t["id"] == "understanding-our-trust")
    kinds = {s["answer"]["type"] for s in trust["steps"] if s["answer"]}
    assert {"text", "scale", "choices"} <= kinds
    assert sum(1 for s in trust["steps"] if s["kind"] == "prompt") >= 4
    assert any(s["kind"] == "info" for s in trust["steps"])


def test_a_session_needs_both_partners(signup):
    ana = signup("Ana")
    couple_id = ana.post("/couples").get_json()["couple"]["id"]
    response = ana.post("/sessions", {"couple_id": couple_id,
                                      "track_id": "understanding-our-trust"})
    assert response.status_code == 409 and error_code(response) == "conflict"


@pytest.mark.parametrize("payload,code", [
    ({"track_id": "understanding-our-trust"}, "invalid"),
    ({"couple_id": "nope", "track_id": "understanding-our-trust"}, "not_found"),
    ({"couple_id": "OURS", "track_id": "no-such-track"}, "not_found"),
])
def test_starting_a_session_with_bad_ids(couple, payload, code):
    if payload.get("couple_id") == "OURS":
        payload = {**payload, "couple_id": couple.couple_id}
    assert error_code(couple.a.post("/sessions", payload)) == code
    assert couple.a.get("/me").get_json()["sessions"] == []


def test_outsiders_cannot_see_a_session_or_start_one_for_a_couple(couple, signup):
    started = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                          "track_id": "understanding-our-trust"})
    session_id = started.get_json()["session"]["id"]
    eve = signup("Eve")
    assert error_code(eve.get(f"/sessions/{session_id}")) == "not_found"
    response = eve.post("/sessions", {"couple_id": couple.couple_id,
                                      "track_id": "understanding-our-trust"})
    assert error_code(response) == "not_found"


def test_non_json_and_oversized_bodies_get_the_error_shape(signup):
    ana = signup("Ana")
    response = ana.client.post("/api/v1/couples/join", data="not json",
                               headers={**ana.csrf(), "Content-Type": "application/json"})
    assert response.status_code == 400 and error_code(response) == "invalid"
    huge = {"invite_code": "x" * 300_000}
    response = ana.client.post("/api/v1/couples/join", json=huge, headers=ana.csrf())
    assert response.status_code == 413 and error_code(response) == "too_large"


def test_unknown_api_paths_use_the_error_shape(app):
    response = app.test_client().get("/api/v1/nothing-here")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_pages_embed_the_csrf_token(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'name="csrf-token"' in page


def test_pages_allow_only_this_origin(app):
    response = app.test_client().get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
