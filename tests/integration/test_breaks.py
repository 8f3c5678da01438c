"""Breaks over real sockets and a real database: a partner pauses, both see it, moves wait,
drafts save, the reason stays with its caller, both come back, the countdown's end is swept
and pushed, and the last push equals a fresh load."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from server.models import Session
from server.models.base import utcnow
from tests.conftest import unique_marker
from tests.integration.test_session_arc import walk_to
from tests.integration.test_session_loop import last_state

STEP = "what-trust-means"


def states(sock, session_id):
    return [p["args"][0] for p in sock.get_received() if p["name"] == "session:state"
            and p["args"][0]["session"]["id"] == session_id]


def test_a_break_pauses_both_and_resumes_when_both_are_back(partners):
    live = partners
    walk_to(live, STEP)
    reason = unique_marker("why-i-need-a-break")
    live.sock_a.get_received(), live.sock_b.get_received()

    assert live.emit(live.sock_a, "session:pause", reason=reason)["ok"]
    for_b = live.sock_b.get_received()
    assert reason not in json.dumps(for_b)
    seen_b = last_state(for_b, live.session_id)["session"]
    assert seen_b["break"]["by_user_id"] == live.a.user["id"]
    assert seen_b["break"]["reason"] is None and seen_b["paused_until"] is not None
    seen_a = last_state(live.sock_a.get_received(), live.session_id)["session"]
    assert seen_a["break"]["reason"] == reason
    assert reason not in json.dumps(live.b.get(f"/sessions/{live.session_id}").get_json())
    assert reason not in json.dumps(
        live.b.get(f"/sessions/{live.session_id}/summary").get_json())

    # B's submit waits; B's words are kept as a draft.
    ack = live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-brk-0001", body="x")
    assert ack["error"]["code"] == "paused"
    assert live.emit(live.sock_b, "entry:draft", step_id=STEP, body="still here")["ok"]
    assert live.emit(live.sock_b, "step:ready", step_id=STEP)["error"]["code"] == "paused"
    assert live.emit(live.sock_b, "session:pause")["error"]["code"] == "conflict"

    # Back early is accepted; the session resumes only when both are back.
    assert live.emit(live.sock_b, "session:resume")["ok"]
    assert last_state(live.sock_a.get_received(), live.session_id)["session"]["break"][
        "back"] == [live.b.user["id"]]
    assert live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-brk-0002",
                     body="x")["error"]["code"] == "paused"
    assert live.emit(live.sock_a, "session:resume")["ok"]
    after = last_state(live.sock_b.get_received(), live.session_id)["session"]
    assert after["break"] is None and after["paused_until"] is None
    assert live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-brk-0003",
                     body="now")["ok"]
    assert reason not in json.dumps(live.a.get(f"/sessions/{live.session_id}").get_json())


def test_bad_pause_requests_are_refused(partners, signup):
    live = partners
    assert live.emit(live.sock_a, "session:pause", minutes=3)["error"]["code"] == "invalid"
    assert live.emit(live.sock_a, "session:pause", minutes=10_000)["error"]["code"] == "invalid"
    assert live.emit(live.sock_a, "session:pause", reason="x" * 5000)["error"]["code"] == \
        "too_large"
    stranger = signup("Cleo").socket(live.app)
    assert stranger.emit("session:pause", {"session_id": live.session_id},
                         callback=True)["error"]["code"] == "not_found"
    ok = live.emit(live.sock_a, "session:pause", minutes=45)
    assert ok["ok"]
    brk = live.emit(live.sock_b, "session:join")["state"]["session"]["break"]
    assert brk["minutes"] == 45


def test_the_countdowns_end_is_swept_and_pushed_and_the_break_goes_on(partners):
    from server.realtime.scheduler import sweep_once

    live = partners
    walk_to(live, STEP)
    assert live.emit(live.sock_a, "session:pause")["ok"]
    past = utcnow() - timedelta(seconds=1)
    database = live.app.extensions["mend"].database
    with database.session() as db:
        db.execute(update(Session).where(Session.id == live.session_id)
                   .values(paused_until=past, next_deadline_at=past))
        db.commit()
    live.sock_b.get_received()
    with live.app.app_context():
        assert sweep_once() == 1
    pushed = last_state(live.sock_b.get_received(), live.session_id)["session"]
    assert pushed["break"]["countdown_over"] is True and pushed["paused_until"] is None
    assert live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-cd-00001",
                     body="x")["error"]["code"] == "paused"
    for sock in (live.sock_a, live.sock_b):
        assert live.emit(sock, "session:resume")["ok"]
    assert live.emit(live.sock_b, "session:join")["state"]["session"]["break"] is None


def test_after_pause_and_resume_the_last_push_equals_a_fresh_load(partners):
    live = partners
    for moves in ([(live.sock_a, "session:pause", {"reason": "tired", "minutes": 30})],
                  [(live.sock_b, "session:resume", {})],
                  [(live.sock_a, "session:resume", {})]):
        for sock in (live.sock_a, live.sock_b):
            sock.get_received()
        for sock, name, payload in moves:
            assert live.emit(sock, name, **payload)["ok"]
        for person, sock in ((live.a, live.sock_a), (live.b, live.sock_b)):
            pushed = last_state(sock.get_received(), live.session_id)
            fresh = person.get(f"/sessions/{live.session_id}").get_json()["state"]
            assert pushed == fresh
