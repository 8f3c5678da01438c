"""Every input gets the contract's answer (issue 8): the malformed inputs found by probing,
each answered `invalid` (or `too_large`) in the contract's shape, never a 500 or silence,
and nothing of them stored — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import MetaData, func, select

from server.services import accounts

NUL = "before\x00after"
LONE_SURROGATE = "before\ud800after"
ZERO_WIDTH_ONLY = "\u200b\u200c\u200d\u2060\ufeff\u00ad \u200b"
KNOWN_CODES = {"unauthenticated", "forbidden", "not_found", "invalid", "conflict",
               "not_your_turn", "paused", "too_large", "rate_limited"}


# --- what the database holds -------------------------------------------------------------

_REFLECTED: dict[str, list] = {}


def _tables(where):
    """`where`: a Flask app of Mend's, or an SQLAlchemy engine (a live server's database)."""
    engine = where.extensions["mend"].database.engine if hasattr(where, "extensions") else where
    if str(engine.url) not in _REFLECTED:
        meta = MetaData()
        meta.reflect(engine)
        _REFLECTED[str(engine.url)] = [t for t in meta.sorted_tables if t.name != "alembic_version"]
    return engine, _REFLECTED[str(engine.url)]


def row_counts(where) -> dict[str, int]:
    """How many rows each table holds (one query)."""
    engine, tables = _tables(where)
    counts = select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name)
                      for t in tables))
    with engine.connect() as conn:
        return dict(conn.execute(counts).one()._mapping)


def unstorable_values(where) -> list[str]:
    """Every stored value holding a NUL or a lone surrogate, raw or JSON-escaped."""
    engine, tables = _tables(where)
    found = []
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if not isinstance(value, (str, dict, list)):
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    lowered = text.lower()
                    if ("\x00" in text or "\\u0000" in lowered or "\\ud8" in lowered
                            or any(0xD800 <= ord(c) <= 0xDFFF for c in text)):
                        found.append(f"{table.name}.{column}")
    return found


def refused(ack: dict, code: str = "invalid") -> bool:
    return (isinstance(ack, dict) and ack.get("ok") is False
            and ack["error"]["code"] == code and bool(ack["error"]["message"]))


def raw_frame(sock, encoded: str) -> dict | None:
    """Send one Socket.IO packet exactly as written (`2<ack id><json>`) through the server's
    own packet decoding; the ack's payload, or None when no ack came back."""
    sock.acks = None
    try:
        sock.socketio.server._handle_eio_message(sock.eio_sid, encoded)
    except Exception:  # the frame was dropped on the floor: no ack
        return None
    return sock.acks["args"][0] if sock.acks else None


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture
def live(partners):
    """Both partners past the welcome card, on the first prompt."""
    for sock in (partners.sock_a, partners.sock_b):
        assert partners.emit(sock, "step:ready", step_id="welcome")["ok"]
    partners.step = partners.current_step(partners.sock_a)
    return partners


def http_post(person, path: str, body: str, method: str = "POST"):
    return person.client.open(f"/api/v1{path}", method=method, data=body,
                              headers={**person.csrf(), "Content-Type": "application/json"})


def anonymous(app):
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    return client, {"X-CSRFToken": token}


# --- lone surrogates and NUL -------------------------------------------------------------

@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL], ids=["lone-surrogate", "nul"])
def test_unstorable_characters_in_answers_are_invalid_and_stored_nowhere(live, bad):
    before = row_counts(live.app)
    payloads = {
        "entry:draft": {"step_id": live.step, "body": bad},
        "entry:submit": {"step_id": live.step, "client_id": "bad-char-0001", "body": bad},
        "session:pause": {"minutes": 20, "reason": bad},
    }
    for event, payload in payloads.items():
        assert refused(live.emit(live.sock_a, event, **payload)), event
    # Inside an answer's fields too, and as a key.
    assert refused(live.emit(live.sock_a, "entry:draft", step_id=live.step,
                             fields={"value": bad}))
    assert refused(live.emit(live.sock_a, "entry:draft", step_id=live.step,
                             fields={bad: "x"}))
    assert row_counts(live.app) == before
    assert unstorable_values(live.app) == []
    state = live.emit(live.sock_a, "session:join")["state"]
    step = next(s for s in state["steps"] if s["id"] == live.step)
    assert step["mine"]["draft"] is None and step["mine"]["entry"] is None
    assert state["session"]["break"] is None


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL], ids=["lone-surrogate", "nul"])
def test_unstorable_characters_over_http_are_a_400_and_create_no_account(app, bad):
    client, csrf = anonymous(app)
    before = row_counts(app)
    for body in (
        {"email": "ana@example.test", "password": "correct horse", "display_name": bad},
        {"email": f"ana{bad}@example.test", "password": "correct horse", "display_name": "Ana"},
        {"email": "ana@example.test", "password": f"correct {bad} horse",
         "display_name": "Ana"},
    ):
        # Escaped the way a browser's JSON.stringify writes them.
        response = client.post("/api/v1/auth/signup", data=json.dumps(body),
                               headers={**csrf, "Content-Type": "application/json"})
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "invalid"
    response = client.post("/api/v1/auth/login", headers={**csrf, "Content-Type":
                                                          "application/json"},
                           data=json.dumps({"email": "a@example.test", "password": bad}))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"
    assert row_counts(app) == before
    assert unstorable_values(app) == []


def test_unstorable_characters_in_an_address_are_not_found(live):
    for path in ("/sessions/%00", "/sessions/ab%00cd/summary", "/invites/%00"):
        response = live.a.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


# --- depth and size ----------------------------------------------------------------------

def test_json_nested_1000_deep_over_the_socket_gets_an_invalid_ack(live):
    for frame in (
        '2101["entry:draft",' + deep(1000) + "]",
        '2102["entry:draft",{"session_id":"' + live.session_id + '","fields":'
        + deep(1000) + "}]",
        "2103" + deep(100_000),
    ):
        ack = raw_frame(live.sock_a, frame)
        assert refused(ack), frame[:40]
    # The socket is still usable.
    assert live.emit(live.sock_a, "entry:draft", step_id=live.step, body="still here")["ok"]


def test_frames_that_are_not_an_event_get_an_invalid_ack(live):
    for frame in ('211{"session_id":"x"}', "212[]", "213[42,{}]", '214["entry:draft",NaN]',
                  "215[\"entry:draft\",{\"body\":1e999}]", "216not json",
                  '217["entry:draft",{"a":' + "1" * 200 + "}]"):
        assert refused(raw_frame(live.sock_a, frame)), frame


def test_a_client_cannot_fake_the_connect_or_disconnect_event(live):
    for name in ("disconnect", "connect"):
        assert refused(raw_frame(live.sock_a, f'22{len(name)}["{name}",{{}}]'))
    # Still connected and still present in the session.
    online = live.emit(live.sock_b, "session:join")["state"]["participants"]
    assert all(p["online"] for p in online if p["role"] == "partner")
    assert live.emit(live.sock_a, "entry:draft", step_id=live.step, body="here")["ok"]


def test_json_nested_100k_deep_over_http_is_a_400(live):
    before = row_counts(live.app)
    for path, method in (("/couples/join", "POST"), ("/sessions", "POST"),
                         ("/auth/logout", "POST"), (f"/sessions/{live.session_id}/counsellor",
                                                    "DELETE")):
        for levels in (1_000, 100_000):
            response = http_post(live.a, path, deep(levels), method)
            assert response.status_code == 400, (path, levels, response.status_code)
            body = response.get_json()
            assert body["ok"] is False and body["error"]["code"] == "invalid"
    assert row_counts(live.app) == before


def test_over_long_text_is_too_large_and_bodies_that_are_not_objects_are_invalid(live):
    before = row_counts(live.app)
    ack = live.emit(live.sock_a, "entry:draft", step_id=live.step, body="x" * 20_001)
    assert refused(ack, "too_large")
    for body in ("[]", '"text"', "42", "null", "{", "\xff"):
        response = http_post(live.a, "/couples/join", body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == \
            "invalid", body
    assert row_counts(live.app) == before


# --- unknown events, extra arguments, unknown fields -------------------------------------

def test_unknown_events_extra_arguments_and_unknown_fields_get_invalid(live):
    before = row_counts(live.app)
    sock = live.sock_a
    assert refused(sock.emit("entry:delete", {"session_id": live.session_id}, callback=True))
    assert refused(sock.emit("message", "hello", callback=True))
    payload = {"session_id": live.session_id, "step_id": live.step, "body": "words"}
    assert refused(sock.emit("entry:draft", payload, "an extra argument", callback=True))
    assert refused(sock.emit("entry:draft", payload, {"x": 1}, callback=True))
    assert refused(sock.emit("entry:draft", callback=True))
    assert refused(sock.emit("entry:draft", [payload], callback=True))
    assert refused(sock.emit("entry:draft", {**payload, "bodyy": "typo"}, callback=True))
    assert row_counts(live.app) == before
    response = live.a.post("/couples/join", {"invite_code": "ABCDEFGH", "extra": True})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"


# --- text that is empty once invisible characters are trimmed ----------------------------

def test_an_answer_of_only_zero_width_characters_is_refused(live):
    before = row_counts(live.app)
    ack = live.emit(live.sock_a, "entry:submit", step_id=live.step, client_id="zw-only-0001",
                    body=ZERO_WIDTH_ONLY)
    assert refused(ack)
    assert row_counts(live.app) == before
    # As a draft it is nothing yet: the partner still sees "not started".
    assert live.emit(live.sock_a, "entry:draft", step_id=live.step, body=ZERO_WIDTH_ONLY)["ok"]
    state = live.emit(live.sock_b, "session:join")["state"]
    step = next(s for s in state["steps"] if s["id"] == live.step)
    assert step["partner_status"] == "not_started"


def test_text_is_stored_in_one_normal_form(live):
    decomposed = "Cafe\u0301 at noon"
    ack = live.emit(live.sock_a, "entry:submit", step_id=live.step, client_id="nfc-test-01",
                    body=decomposed)
    assert ack["ok"] and ack["entry"]["body"] == "Caf\u00e9 at noon"
    # The same words typed the other way are the same answer (idempotent, not a conflict).
    again = live.emit(live.sock_a, "entry:submit", step_id=live.step, client_id="nfc-test-01",
                      body="Caf\u00e9 at noon")
    assert again["ok"] and again["entry"]["id"] == ack["entry"]["id"]


def test_a_name_of_only_zero_width_characters_is_refused(app):
    client, csrf = anonymous(app)
    before = row_counts(app)
    response = client.post("/api/v1/auth/signup", headers=csrf, json={
        "email": "zw@example.test", "password": "correct horse",
        "display_name": ZERO_WIDTH_ONLY})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"
    assert row_counts(app) == before


def test_client_ids_of_spaces_or_invisible_characters_are_refused(live):
    before = row_counts(live.app)
    for client_id in (" " * 8, "\u200b" * 8, "\t" * 8, "\u00a0" * 8, "abc  def", "abcdefg\x00"):
        ack = live.emit(live.sock_a, "entry:submit", step_id=live.step, client_id=client_id,
                        body="a real answer")
        assert refused(ack), repr(client_id)
    assert row_counts(live.app) == before


def _counsellor_in(live, signup, app):
    dr = signup("Dr", role="counsellor")
    with app.extensions["mend"].database.session() as db:
        accounts.grant_counsellor(db, dr.email)
        db.commit()
    code = live.a.post(f"/sessions/{live.session_id}/counsellor-invite").get_json()[
        "invite_code"]
    assert live.b.post(f"/sessions/{live.session_id}/counsellor-consent").status_code == 200
    joined = dr.post("/counsellor/join", {"invite_code": code})
    assert joined.status_code == 200, joined.get_json()
    sock = dr.socket(app)
    assert sock.emit("session:join", {"session_id": live.session_id}, callback=True)["ok"]
    return sock


def test_a_counsellors_note_or_card_of_only_zero_width_characters_is_refused(live, signup,
                                                                              app):
    dr = _counsellor_in(live, signup, app)
    before = row_counts(app)
    for event, payload in (
        ("note:add", {"client_id": "zw-note-0001", "body": ZERO_WIDTH_ONLY}),
        ("note:add", {"client_id": "zw-note-0002", "body": NUL}),
        ("card:add", {"kind": "reframe", "body": ZERO_WIDTH_ONLY}),
        ("card:add", {"kind": "reframe", "body": LONE_SURROGATE}),
    ):
        ack = dr.emit(event, {"session_id": live.session_id, **payload}, callback=True)
        assert refused(ack), (event, ack)
    assert row_counts(app) == before
    assert unstorable_values(app) == []


# --- every error is one the contract names ------------------------------------------------

def test_every_refusal_above_uses_a_code_the_contract_names(live):
    """A spot check across kinds of input: the code is one of the contract's, never
    `internal`."""
    for args in (("entry:draft", None), ("entry:draft", 1.5), ("entry:draft", True),
                 ("step:ready", {"session_id": ["x"], "step_id": {}}),
                 ("presence:typing", {"session_id": live.session_id, "typing": "yes"}),
                 ("session:pause", {"session_id": live.session_id, "minutes": 10**40})):
        ack = live.sock_a.emit(*args, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] in KNOWN_CODES, (args, ack)
