"""GET /api/v1/invites/<code> for each kind of visitor, and the friendly 404 page."""

from __future__ import annotations

import pytest

# What only the client's index.html serves (its CSRF token differs per visitor).
SHELL = b'<script type="module" src="/static/app.js"></script>'


def lookup(client, code: str):
    return client.get(f"/api/v1/invites/{code}")


def invite_of(response) -> dict:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ok"] is True
    return body["invite"]


def test_an_open_invite_shows_the_inviter_to_anyone_and_to_its_maker_as_own(app, signup):
    ana = signup("Ana")
    code = ana.post("/couples").get_json()["invite_code"]
    stranger = app.test_client()  # not logged in

    assert invite_of(lookup(stranger, code)) == {"status": "open",
                                                 "inviter": {"display_name": "Ana"}}
    assert invite_of(lookup(ana.client, code))["status"] == "own"
    ben = signup("Ben")
    assert invite_of(lookup(ben.client, code))["status"] == "open"


def test_the_code_is_normalised_the_way_join_does(app, signup):
    ana = signup("Ana")
    code = ana.post("/couples").get_json()["invite_code"]
    messy = f" {code[:4].lower()}-{code[4:].lower()} "
    assert invite_of(lookup(app.test_client(), messy))["inviter"]["display_name"] == "Ana"


def test_once_joined_it_is_member_for_both_and_not_found_for_others(app, signup):
    ana, ben, cat = signup("Ann"), signup("Bo"), signup("Cat")
    code = ana.post("/couples").get_json()["invite_code"]
    assert ben.post("/couples/join", {"invite_code": code}).status_code == 200

    assert invite_of(lookup(ana.client, code))["status"] == "own"
    assert invite_of(lookup(ben.client, code))["status"] == "member"
    # A used code answers like one that never existed (tests/integration/test_enumeration.py).
    for client in (cat.client, app.test_client()):
        response = lookup(client, code)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("code", ["ZZZZZZZZ", "---", "not-a-real-code"])
def test_an_unknown_code_is_not_found(app, code):
    response = lookup(app.test_client(), code)
    assert response.status_code == 404
    body = response.get_json()
    assert body["ok"] is False and body["error"]["code"] == "not_found"
    assert body["error"]["message"]


def test_an_unknown_page_serves_the_app_shell_with_404(app):
    for path in ("/nope", "/a/b/c", "/s/x/y/z"):
        response = app.test_client().get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert SHELL in response.data  # the client reads the path and says "not found"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_unknown_api_paths_and_static_files_keep_their_own_404(app):
    client = app.test_client()
    api = client.get("/api/v1/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.get_json() == {"ok": False, "error": {
        "code": "not_found", "message": "There is nothing at this address."}}
    missing = client.get("/static/nope.js", headers={"Accept": "*/*"})
    assert missing.status_code == 404 and SHELL not in missing.data
    posted = client.post("/nope", headers={"Accept": "text/html"})
    assert posted.status_code in (400, 404) and SHELL not in posted.data


def test_client_routes_serve_the_shell(app):
    for path in ("/", "/reset/some-token", "/join/ABCD2345", "/s/abc", "/s/abc/summary"):
        response = app.test_client().get(path)
        assert response.status_code == 200, path
        assert SHELL in response.data


def test_a_signed_out_visit_to_an_invite_link_logs_no_error(app, signup, caplog):
    """Opening someone's invite link before logging in is the normal way in: the server
    log must not call it an error (the per-account limit has no account to count by)."""
    ana = signup("Ana")
    code = ana.post("/couples").get_json()["invite_code"]
    stranger = app.test_client()  # not logged in
    with caplog.at_level("DEBUG"):
        assert stranger.get(f"/join/{code}").status_code == 200
        assert invite_of(lookup(stranger, code))["status"] == "open"
        assert stranger.get("/api/v1/me").status_code == 401
        assert lookup(stranger, "ZZZZZZZZ").status_code == 404
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= 40]
    assert errors == []
