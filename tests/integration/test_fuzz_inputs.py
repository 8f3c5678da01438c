"""Malformed input, thrown at every client event and every endpoint (issue 8).

Hypothesis builds payloads from a well-formed one for each event and endpoint: a field with
the wrong type, text that is huge, deep, a NUL, a lone surrogate or only zero-width
characters, a missing field, unknown fields, extra arguments, a payload that is not an
object, an unknown event, bodies that are not JSON or nest 100,000 deep. Whatever comes
in, the answer is the contract's: `{ok: true, …}` or `{ok: false, error: {code, message}}`
with a code the contract names (never `internal`, never a 500, never no answer); a refusal
stores nothing (every table's row count is unchanged); nothing unstorable is ever stored;
and the partner's socket is served normally after every example.
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.extensions import socketio
from server.realtime.schemas import EVENTS
from tests.integration.test_input_contract import (
    KNOWN_CODES,
    LONE_SURROGATE,
    NUL,
    ZERO_WIDTH_ONLY,
    deep,
    row_counts,
    unstorable_values,
)


def fuzz(examples: int):
    """Sized so this file takes well under a minute on each database."""
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


HOSTILE_TEXT = st.one_of(
    st.sampled_from([NUL, LONE_SURROGATE, ZERO_WIDTH_ONLY, " " * 8, "\u200b" * 8, "",
                     "x" * 20_001, "y" * 300, "Cafe\u0301", "\u202eevil", "\ud800",
                     "\x00", "a" * 64, "0" * 65]),
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Cs", "Cf", "Zs", "Cc"]), max_size=8),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT,
    st.binary(max_size=8),  # sent as a Socket.IO binary attachment
)


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


VALUES = st.one_of(
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(HOSTILE_TEXT, inner, max_size=3), max_leaves=8),
    st.integers(min_value=33, max_value=300).map(nested),
)
JSON_VALUES = st.recursive(  # what an HTTP body can carry
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
              st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner,
                                                                max_size=3),
    max_leaves=8)


def variants(base: dict, values) -> st.SearchStrategy:
    """Payloads one mistake (or a few) away from `base`."""
    keys = st.sampled_from(sorted(base)) if base else st.nothing()
    return st.one_of(
        values,  # not an object at all
        st.builds(lambda k, v: {**base, k: v}, keys, values),  # one field wrong
        st.builds(lambda k: {x: y for x, y in base.items() if x != k}, keys),  # one missing
        st.builds(lambda extra: {**base, **extra},  # unknown fields
                  st.dictionaries(HOSTILE_TEXT, values, min_size=1, max_size=2)),
        st.builds(lambda k, v, k2, v2: {**base, k: v, k2: v2}, keys, values, keys, values),
    )


@pytest.fixture
def app(app):
    """The same app, with the fair-share budgets off (0): this test sends as fast as it
    can, and it is about what each input gets, not about pace."""
    ctx = app.extensions["mend"]
    ctx.config = dataclasses.replace(ctx.config, event_rate=0, user_event_rate=0,
                                     refusals_before_disconnect=0, max_sockets_per_user=0)
    return app


@pytest.fixture
def live(partners):
    for sock in (partners.sock_a, partners.sock_b):
        assert partners.emit(sock, "step:ready", step_id="welcome")["ok"]
    partners.step = partners.current_step(partners.sock_a)
    return partners


def well_formed(live) -> dict[str, dict]:
    """A payload that fits each event's declaration (what the browser sends)."""
    sid, step = live.session_id, live.step
    s = {"session_id": sid}
    return {
        "session:join": s,
        "session:leave": s,
        "entry:draft": {**s, "step_id": step, "body": "a draft", "fields": None},
        "entry:submit": {**s, "step_id": step, "client_id": "fuzz-submit-01",
                         "body": "an answer", "fields": None, "skip": False},
        "entry:withdraw": {**s, "step_id": step},
        "step:ready": {**s, "step_id": step},
        "turn:submit": {**s, "step_id": step, "client_id": "fuzz-turn-0001", "kind": "share",
                        "body": "words", "fields": None},
        "step:acknowledge": {**s, "step_id": step, "ack": "thanks"},
        "session:pause": {**s, "step_id": step, "minutes": 20, "reason": "a reason"},
        "session:resume": s,
        "presence:typing": {**s, "step_id": step, "typing": True},
        "step:advance": {**s, "step_id": step, "to_step_id": None},
        "step:revisit": {**s, "step_id": None},
        "reveal:hold": {**s, "step_id": step},
        "reveal:release": {**s, "step_id": step},
        "reveal:preview": {**s, "step_id": step},
        "floor:grant": {**s, "step_id": step, "user_id": None},
        "card:add": {**s, "kind": "reframe", "body": "a card"},
        "session:end": s,
        "note:add": {**s, "client_id": "fuzz-note-0001", "body": "a note"},
        "checkin:private": {**s, "client_id": "fuzz-checkin-01", "body": "a check-in"},
        "check:submit": {**s, "client_id": "fuzz-check-0001",
                         "fields": {"answers": {"safe_at_home": "yes"}}},
        "check:stop": {**s},
    }


def check_answer(ack) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] in KNOWN_CODES, ack
        assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]


def test_every_event_declares_its_payload_and_is_fuzzed(app):
    registered = set(socketio.server.handlers["/"]) - {"connect", "disconnect", "*"}
    assert registered == set(EVENTS)
    assert set(well_formed(SimpleNamespace(session_id="s", step="t"))) == set(EVENTS)


@fuzz(120)
@given(data=st.data())
def test_malformed_events_get_the_contracts_answer_and_store_nothing(live, data):
    payloads = well_formed(live)
    event = data.draw(st.sampled_from(sorted(payloads) + ["entry:delete", "*", "message"]),
                      label="event")
    payload = data.draw(variants(payloads.get(event, {"session_id": live.session_id}),
                                 VALUES), label="payload")
    extra = data.draw(st.lists(VALUES, max_size=2), label="extra arguments")
    before = row_counts(live.app)

    ack = live.sock_a.emit(event, payload, *extra, callback=True)

    check_answer(ack)
    if not ack["ok"]:
        assert row_counts(live.app) == before, (event, ack)
    else:
        assert unstorable_values(live.app) == [], (event, payload)
    if extra or not isinstance(payload, dict) or event not in payloads:
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", ack
    # The partner is served as usual meanwhile.
    state = live.sock_b.emit("session:join", {"session_id": live.session_id}, callback=True)
    assert state["ok"], state
    current = state["state"]["session"]["current_step_id"]
    draft = live.sock_b.emit("entry:draft", {"session_id": live.session_id,
                                             "step_id": current, "body": "still here"},
                             callback=True)
    assert draft["ok"] or draft["error"]["code"] in ("conflict", "invalid"), draft


@fuzz(80)
@given(data=st.data())
def test_malformed_frames_get_an_invalid_ack(live, data):
    """Frames written by hand: not JSON, too deep, not an event, numbers JSON can't hold."""
    from tests.integration.test_input_contract import raw_frame

    body = data.draw(st.one_of(
        st.text(max_size=40),
        st.integers(min_value=33, max_value=3000).map(deep),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "1" * 40, "{}", "[]",
                         '"entry:draft"', "[null]", "[1,2]", '["disconnect"]',
                         '["connect",{}]']),
        st.builds(lambda event, number: f'["{event}",{{"session_id":{number}}}]',
                  st.sampled_from(sorted(EVENTS)),
                  st.sampled_from(["NaN", "1e999", "-Infinity", "9" * 31])),
    ), label="frame body")
    before = row_counts(live.app)
    ack = raw_frame(live.sock_a, "2999" + body)
    if ack is None:
        # Only frames that are not Socket.IO packets at all may go unanswered: a body that
        # makes `2999…` a longer id or a binary/namespace header.
        assert body[:1].isdigit() or body[:1] in ("-", "/"), body
    else:
        check_answer(ack)
        assert ack["ok"] is False, (body, ack)
    assert row_counts(live.app) == before
    assert live.emit(live.sock_b, "entry:draft", step_id=live.step, body="still here")["ok"]


ENDPOINTS = [
    # (method, path, well-formed body, who sends it: "anonymous" or "eve")
    ("POST", "/auth/signup", {"email": "new@example.test", "password": "correct horse",
                              "display_name": "New"}, "anonymous"),
    ("POST", "/auth/login", {"email": "nobody@example.test", "password": "wrong pass"},
     "anonymous"),
    ("POST", "/auth/logout", {}, "anonymous"),
    ("POST", "/auth/lock", {}, "anonymous"),
    ("POST", "/auth/unlock", {"password": "not eves password"}, "eve"),
    ("POST", "/auth/password-reset/request", {"email": "nobody@example.test"}, "anonymous"),
    ("POST", "/auth/password-reset", {"token": "not-a-token", "password": "correct horse"},
     "anonymous"),
    ("POST", "/auth/password", {"old_password": "not eves password",
                                "new_password": "a new password"}, "eve"),
    ("POST", "/couples", {}, "eve"),
    ("POST", "/couples/join", {"invite_code": "ABCDEFGH"}, "eve"),
    ("POST", "/sessions", {"couple_id": "0" * 32, "track_id": "understanding-our-trust"},
     "eve"),
    ("POST", "/sessions/{sid}/counsellor-invite", {}, "eve"),
    ("POST", "/sessions/{sid}/counsellor-consent", {}, "eve"),
    ("DELETE", "/sessions/{sid}/counsellor", {}, "eve"),
    ("POST", "/counsellor/join", {"invite_code": "ABCDEFGH"}, "eve"),
    ("DELETE", "/me", {"password": "not eves password"}, "eve"),
    ("POST", "/agreements/{sid}/withdraw", {}, "eve"),
]
STATUSES = {200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 415, 423, 429}


def raw_bodies(base: dict) -> st.SearchStrategy:
    return st.one_of(
        variants(base, JSON_VALUES).map(json.dumps),
        st.integers(min_value=33, max_value=100_000).map(deep),
        st.sampled_from(["", "{", "NaN", '{"a": Infinity}', '{"a": 1e999}', "\xff\xfe",
                         json.dumps(base).replace("{", "[", 1)]),
        st.binary(max_size=32),
    )


@pytest.fixture
def eve(signup):
    return signup("Eve")


@fuzz(120)
@given(data=st.data())
def test_malformed_bodies_get_the_contracts_answer_and_store_nothing(live, eve, data):
    method, path, base, who = data.draw(st.sampled_from(ENDPOINTS), label="endpoint")
    body = data.draw(raw_bodies(base), label="body")
    content_type = data.draw(st.sampled_from(["application/json", "application/json",
                                              "text/plain"]), label="content type")
    if who == "eve":
        client, headers = eve.client, eve.csrf()
    else:
        client = live.app.test_client()
        headers = {"X-CSRFToken": client.get("/api/v1/csrf").get_json()["csrf_token"]}
    before = row_counts(live.app)

    response = client.open(f"/api/v1{path.format(sid=live.session_id)}", method=method,
                           data=body, headers={**headers, "Content-Type": content_type})

    assert response.status_code in STATUSES, (response.status_code, response.data[:300])
    answer = response.get_json()
    check_answer(answer)
    if response.status_code >= 400:
        assert answer["ok"] is False
        assert row_counts(live.app) == before, (path, answer)
    assert live.b.get("/me").status_code == 200


@fuzz(25)
@given(segment=HOSTILE_TEXT, query=HOSTILE_TEXT)
def test_hostile_addresses_get_the_contracts_answer(live, segment, query):
    from urllib.parse import quote

    seg = quote(segment.encode("utf-8", "surrogatepass"), safe="")
    q = quote(query.encode("utf-8", "surrogatepass"), safe="")
    for path in (f"/sessions/{seg}", f"/sessions/{seg}/summary?format={q}",
                 f"/invites/{seg}", f"/couples/{seg}/checkins", f"/help?country={q}",
                 f"/sessions/{live.session_id}/summary?format={q}"):
        response = live.a.get(path)
        # 308: an empty segment, and werkzeug merges the double slash.
        assert response.status_code in STATUSES | {308}, (path, response.status_code)
        if response.mimetype == "application/json":
            check_answer(response.get_json())
