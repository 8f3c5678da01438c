"""The safety check over real sockets: the partner's pushes are byte-for-byte the same
whatever was answered (ids and timestamps normalised, versions not), up to and including
the stop; the gate stops the session for both on the check, in the same words whatever the
cause, before any joint step; with both clear the session moves on.
"""

from __future__ import annotations

import json
import re

import pytest

from server.content import TrackLibrary
from server.engine.tracks import Step, Track, freeze
from tests.unit.test_kind_safety import AFRAID, CLEAR, NOT_TODAY, QUESTIONS

NOT_SURE = {**CLEAR, "safe_at_home": "not_sure"}

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def safety_track(track_id: str) -> Track:
    return Track(track_id, "Repair, gently", "A test track with a safety check.", 1, (
        Step(id="check", kind="safety", title="Just for you", body="Only you see this.",
             settings=freeze({"questions": QUESTIONS})),
        Step(id="talk", kind="prompt", title="Talk", prompt="Say one thing.",
             answer=freeze({"type": "text", "max_length": 500})),
        Step(id="repair", kind="prompt", title="Repair", prompt="Repair.",
             answer=freeze({"type": "text", "max_length": 500}),
             settings=freeze({"requires_safety": True})),
        Step(id="end", kind="info", title="End", body="Thank you."),
    ))


@pytest.fixture
def run_with(app, couple):
    """Run one session of a fresh copy of the track with A answering `answers`; return
    everything B's socket received, normalised, and A's last view."""
    ctx = app.extensions["mend"]
    original = ctx.library
    used: list[str] = []

    def run(answers: dict, *, through_gate: bool, talk: bool = False) -> tuple[list, dict]:
        track_id = f"safety-run-{len(used)}"
        used.append(track_id)
        ctx.library = TrackLibrary({**original.tracks, track_id: safety_track(track_id)})
        started = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                              "track_id": track_id})
        assert started.status_code == 201, started.get_json()
        sid = started.get_json()["session"]["id"]
        sock_a, sock_b = couple.a.socket(app), couple.b.socket(app)

        def emit(sock, name, **payload):
            ack = sock.emit(name, {"session_id": sid, **payload}, callback=True)
            assert ack["ok"], (name, ack)
            return ack

        emit(sock_a, "session:join")
        emit(sock_b, "session:join")
        sock_b.get_received()
        # A hesitates (a draft), then answers; B answers clear; both move on.
        emit(sock_a, "entry:draft", step_id="check",
             fields={"answers": {"afraid": answers["afraid"]}})
        emit(sock_a, "entry:submit", step_id="check", client_id=f"a-check-{track_id}",
             fields={"answers": answers})
        emit(sock_b, "entry:submit", step_id="check", client_id=f"b-check-{track_id}",
             fields={"answers": CLEAR})
        emit(sock_a, "step:ready", step_id="check")
        if through_gate:  # B's continue is the move out of the check: on, or the stop
            emit(sock_b, "step:ready", step_id="check")
        if talk:  # only possible once the session has moved on
            for name, sock in (("a", sock_a), ("b", sock_b)):
                emit(sock, "entry:submit", step_id="talk",
                     client_id=f"{name}-talk-{track_id}", body=f"{name} says one thing")
            emit(sock_a, "step:ready", step_id="talk")
            emit(sock_b, "step:ready", step_id="talk")
        received = sock_b.get_received()
        last_a = emit(sock_a, "session:join")["state"]
        for sock in (sock_a, sock_b):
            sock.disconnect()
        return normalise(received, sid, track_id, couple), last_a

    yield run
    ctx.library = original


def normalise(packets: list, session_id: str, track_id: str, couple) -> list:
    """Only what must differ between two runs: the session's and track's ids, the moments,
    B's own entry ids. Versions, order, count and every other byte stay as received."""
    text = json.dumps([{"name": p["name"], "args": p["args"]} for p in packets
                       if p["name"] != "me:state"], sort_keys=True)
    text = text.replace(session_id, "SESSION").replace(track_id, "TRACK")
    text = ISO.sub("T", text)
    text = re.sub(r'"id": "[0-9a-f]{32}"', '"id": "ID"', text)  # B's own entry ids
    homes = sum(1 for p in packets if p["name"] == "me:state")
    return [homes, json.loads(text)]


def final_state(received: list) -> dict:
    return [p for p in received[1] if p["name"] == "session:state"][-1]["args"][0]


@pytest.mark.parametrize("concerning", [AFRAID, NOT_TODAY, NOT_SURE])
def test_the_partners_pushes_are_byte_for_byte_the_same_whatever_was_answered(
        run_with, concerning):
    # Up to the move out of the check, a concerning answer looks like a clear one...
    clear, _ = run_with(CLEAR, through_gate=False)
    other, last_a = run_with(concerning, through_gate=False)
    assert clear == other
    assert len(clear[1]) >= 3  # the partner did receive pushes all along
    check = next(s for s in last_a["steps"] if s["id"] == "check")
    assert check["mine"]["clear"] is False  # A's own view does know
    # ...and up to and including the stop, one concerning answer looks like any other:
    # same pushes, same versions, same count.
    stopped, _ = run_with(concerning, through_gate=True)
    assert stopped == run_with(AFRAID, through_gate=True)[0]
    assert len(stopped[1]) > len(other[1])
    assert final_state(stopped)["session"]["status"] == "ended"


def test_the_gate_stops_both_in_the_same_words_whatever_the_cause(run_with):
    afraid, last_a = run_with(AFRAID, through_gate=True)
    not_today, _ = run_with(NOT_TODAY, through_gate=True)
    assert afraid == not_today
    final = final_state(afraid)
    assert final["session"]["status"] == "ended"
    # Stopped on the check itself (step 1 of 4): no joint step ever started.
    assert final["session"]["step_index"] == 1 and last_a["session"]["step_index"] == 1
    # The next step is listed as never reached, with nothing on it: no ready, no answer.
    talk = next(s for s in last_a["steps"] if s["id"] == "talk")
    assert talk["status"] == "locked"
    assert talk["ready"] == [] and talk["revealed"] is None and talk["mine"] is None
    assert last_a["session"]["status"] == "ended"


def test_with_both_checks_clear_the_session_moves_on(run_with):
    clear, last_a = run_with(CLEAR, through_gate=True)
    final = final_state(clear)
    assert final["session"]["status"] == "active"
    assert final["session"]["current_step_id"] == "talk"
    assert next(s for s in final["steps"] if s["id"] == "talk")["status"] == "open"
    assert last_a["session"]["current_step_id"] == "talk"
    # And on through the joint steps after it.
    talked, last_a = run_with(CLEAR, through_gate=True, talk=True)
    final = final_state(talked)
    assert final["session"]["status"] == "active"
    assert final["session"]["current_step_id"] == "repair"
    assert last_a["session"]["current_step_id"] == "repair"


def test_answers_never_reach_the_partner_page_or_summary(run_with, couple):
    run_with(AFRAID, through_gate=True)
    run_with(CLEAR, through_gate=True, talk=True)
    for s in couple.b.get("/me").get_json()["sessions"]:
        page = json.dumps(couple.b.get(f"/sessions/{s['id']}").get_json())
        assert '"afraid": "yes"' not in page and '"answers": {"afraid"' not in page
        assert '"answers"' in page  # B's own answers are there, in B's own view only
        summary = json.dumps(couple.b.get(f"/sessions/{s['id']}/summary").get_json())
        assert '"answers": {' not in summary
    for s in couple.a.get("/me").get_json()["sessions"]:
        summary = json.dumps(couple.a.get(f"/sessions/{s['id']}/summary").get_json())
        assert '"answers": {' not in summary  # left out for the author too
    exports = []
    for person in (couple.a, couple.b):
        for s in person.get("/me").get_json()["sessions"]:
            exported = person.get(f"/sessions/{s['id']}/summary?format=md")
            assert exported.status_code == 200
            text = exported.get_data(as_text=True)
            assert "Just for you" not in text and "intimidated" not in text
            exports.append(text)
    # The exports themselves are there: the session that moved on lists its joint step.
    assert any("Talk" in text for text in exports)
