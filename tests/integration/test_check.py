"""The private check that opens every session, over real sockets, with the shipped content.

What the other partner can tell is only what the screen promises: the session started, or
it stopped for today. Every packet partner B receives is byte-identical (ids, names and
moments normalised; versions, order and count as received) whatever stopped the session:
A's concerning answer then "Stop for today", A's "Not today" answer then the stop, A's
"Not today" button, the counsellor ending it, or the clock.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from server.models import Session
from server.models.base import utcnow
from tests.checking import clear_answers, concerning_answers
from tests.integration.conftest import Couple
from tests.integration.test_counsellor_moderation import (
    Seat,
    grant,
    invite_and_consent,
    join_as_counsellor,
)

pytestmark = pytest.mark.real_check

TRACK = "understanding-our-trust"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def answers_with(question: str, option: str) -> dict:
    return {**clear_answers(), question: option}


@pytest.fixture
def run_cause(app, signup):
    """One fresh couple (Ana and Ben) per call, the same track and counsellor: B answers
    clear, A causes the stop. Returns B's packets, normalised."""
    dora = signup("Dora", role="counsellor")
    grant(app, dora)
    runs: list[str] = []

    def run(cause: str) -> list:
        label = f"r{len(runs) + 1}x"  # a new pair each run; names normalised below
        couple = Couple(signup(f"Ana{label}"), signup(f"Ben{label}"), "")
        created = couple.a.post("/couples").get_json()
        joined = couple.b.post("/couples/join", {"invite_code": created["invite_code"]})
        assert joined.status_code == 200, joined.get_json()
        couple.couple_id = created["couple"]["id"]
        started = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK})
        assert started.status_code == 201, started.get_json()
        sid = started.get_json()["session"]["id"]
        runs.append(sid)
        a = Seat("Ana", couple.a, app, sid).connect()
        b = Seat("Ben", couple.b, app, sid).connect()
        counsellor = Seat("Dora", dora, app, sid)
        a.ok("session:join"), b.ok("session:join")
        join_as_counsellor(counsellor, invite_and_consent(a, b))
        b.pushes()  # from here on, B's stream is compared
        b.ok("check:submit", client_id=f"b-check-{len(runs)}",
             fields={"answers": clear_answers()})
        if cause == "concerning":
            a.ok("check:submit", client_id=f"a-check-{len(runs)}",
                 fields={"answers": concerning_answers()})
            assert a.ok("session:join")["state"]["check"]["mine"]["help"] is True
            a.ok("check:stop")
        elif cause == "not_today_answer":
            a.ok("check:submit", client_id=f"a-check-{len(runs)}",
                 fields={"answers": answers_with("carry_on_today", "not_today")})
            a.ok("check:stop")
        elif cause == "not_today":
            a.ok("check:stop")
        elif cause == "counsellor":
            counsellor.ok("session:end")
        elif cause == "clock":
            past = utcnow() - timedelta(hours=13)
            database = app.extensions["mend"].database
            with database.session() as db:
                data = db.scalar(select(Session.session_data).where(Session.id == sid))
                data["check"]["first_answer_at"] = past.isoformat(timespec="milliseconds") + "Z"
                db.execute(update(Session).where(Session.id == sid)
                           .values(session_data=data, next_deadline_at=past))
                db.commit()
            from server.realtime.scheduler import sweep_once

            with app.app_context():
                assert sweep_once() == 1
        final = b.ok("session:join")["state"]
        assert final["session"]["status"] == "ended"
        packets = b.pushes()
        for seat in (a, b, counsellor):
            seat.disconnect()
        return normalise(packets, sid, couple, dora, label)

    return run


def normalise(packets: list, session_id: str, couple, counsellor, label: str) -> list:
    text = json.dumps(packets, sort_keys=True).replace(label, "")
    for person, label in ((couple.a, "A"), (couple.b, "B"), (counsellor, "C")):
        text = text.replace(person.user["id"], f"USER-{label}")
        text = text.replace(person.email, f"EMAIL-{label}")
    text = text.replace(couple.couple_id, "COUPLE")
    text = text.replace(session_id, "SESSION")
    text = ISO.sub("T", text)
    text = re.sub(r'"[0-9a-f]{32}"', '"ID"', text)
    return json.loads(text)


@pytest.mark.parametrize("cause", ["not_today_answer", "not_today", "counsellor", "clock"])
def test_the_partner_receives_the_same_bytes_whatever_stopped_the_session(run_cause, cause):
    reference = run_cause("concerning")
    assert any(p.get("name") == "session:state" or "session" in json.dumps(p)
               for p in reference), "B must have been told the session stopped"
    assert run_cause(cause) == reference


def test_joint_work_waits_for_both_and_starts_when_both_are_clear(app, couple):
    started = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK})
    sid = started.get_json()["session"]["id"]
    a = Seat("Ana", couple.a, app, sid).connect()
    b = Seat("Ben", couple.b, app, sid).connect()
    state = a.ok("session:join")["state"]
    b.ok("session:join")
    assert state["check"]["open"] is True and state["check"]["mine"] is None
    first = state["session"]["current_step_id"]
    refused = a.emit("step:ready", step_id=first)
    assert refused["error"]["code"] == "conflict"
    b.pushes()
    a.ok("check:submit", client_id="a-check-0001", fields={"answers": clear_answers()})
    assert b.pushes() == []  # nothing reaches B while A answers
    a.ok("check:submit", client_id="a-check-0001", fields={"answers": clear_answers()})
    b.ok("check:submit", client_id="b-check-0001", fields={"answers": clear_answers()})
    for seat in (a, b):
        view = seat.ok("session:join")["state"]
        assert view["check"] == {"open": False}
    a.ok("step:ready", step_id=first)
    # The answers are gone from the database once the check passed.
    database = app.extensions["mend"].database
    with database.session() as db:
        data = db.scalar(select(Session.session_data).where(Session.id == sid))
    assert "answers" not in json.dumps(data)


def test_a_session_picked_up_after_a_gap_asks_again(app, couple):
    started = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK})
    sid = started.get_json()["session"]["id"]
    a = Seat("Ana", couple.a, app, sid).connect()
    b = Seat("Ben", couple.b, app, sid).connect()
    for seat, label in ((a, "a"), (b, "b")):
        seat.ok("session:join")
        seat.ok("check:submit", client_id=f"{label}-gap-0001", fields={"answers": clear_answers()})
    assert a.ok("session:join")["state"]["check"] == {"open": False}
    # Thirteen hours pass with nothing done: every recorded moment moves back.
    database = app.extensions["mend"].database
    with database.session() as db:
        session = db.get(Session, sid)
        data = dict(session.session_data)
        check = dict(data["check"])
        long_ago = (utcnow() - timedelta(hours=13)).isoformat(timespec="milliseconds") + "Z"
        check["passed_at"] = check["opened_at"] = long_ago
        data["check"] = check
        session.session_data = data
        session.created_at = utcnow() - timedelta(hours=14)
        db.commit()
    b.pushes()
    view = a.ok("session:join")["state"]
    assert view["check"]["open"] is True and view["check"]["round"] == 2
    pushed = [p for p in b.pushes() if p["name"] == "session:state"]
    assert pushed and pushed[-1]["args"][0]["check"]["open"] is True
