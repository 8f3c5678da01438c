"""The safety check over real sockets: the partner's pushes are byte-for-byte the same
whatever was answered (ids and timestamps normalised, versions not), the gate stops the
session for both in the same words whatever the cause, and the way out is an ordinary break.
"""

from __future__ import annotations

import json
import re

import pytest

from server.content import TrackLibrary
from server.engine.tracks import Step, Track, freeze
from tests.unit.test_kind_safety import AFRAID, CLEAR, NOT_TODAY, QUESTIONS

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

    def run(answers: dict, *, through_gate: bool) -> tuple[list, dict]:
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
        emit(sock_b, "step:ready", step_id="check")
        for name, sock in (("a", sock_a), ("b", sock_b)):
            emit(sock, "entry:submit", step_id="talk", client_id=f"{name}-talk-{track_id}",
                 body=f"{name} says one thing")
        if through_gate:
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


@pytest.mark.parametrize("concerning", [AFRAID, NOT_TODAY])
def test_the_partners_pushes_are_byte_for_byte_the_same_whatever_was_answered(
        run_with, concerning):
    clear, _ = run_with(CLEAR, through_gate=False)
    other, last_a = run_with(concerning, through_gate=False)
    assert clear == other
    assert len(clear[1]) >= 5  # the partner did receive pushes all along
    check = next(s for s in last_a["steps"] if s["id"] == "check")
    assert check["mine"]["clear"] is False  # A's own view does know


def test_the_gate_stops_both_in_the_same_words_whatever_the_cause(run_with):
    afraid, last_a = run_with(AFRAID, through_gate=True)
    not_today, _ = run_with(NOT_TODAY, through_gate=True)
    assert afraid == not_today
    final = [p for p in afraid[1] if p["name"] == "session:state"][-1]["args"][0]
    assert final["session"]["status"] == "ended"
    assert last_a["session"]["status"] == "ended"
    clear, _ = run_with(CLEAR, through_gate=True)
    final = [p for p in clear[1] if p["name"] == "session:state"][-1]["args"][0]
    assert final["session"]["status"] == "active" and \
        final["session"]["current_step_id"] == "repair"


def test_answers_never_reach_the_partner_page_or_summary(run_with, couple):
    run_with(AFRAID, through_gate=True)
    for s in couple.b.get("/me").get_json()["sessions"]:
        page = json.dumps(couple.b.get(f"/sessions/{s['id']}").get_json())
        assert '"afraid": "yes"' not in page and '"answers": {"afraid"' not in page
        assert '"answers"' in page  # B's own answers are there, in B's own view only
        summary = json.dumps(couple.b.get(f"/sessions/{s['id']}/summary").get_json())
        assert '"answers": {' not in summary
    for s in couple.a.get("/me").get_json()["sessions"]:
        summary = json.dumps(couple.a.get(f"/sessions/{s['id']}/summary").get_json())
        assert '"answers": {' not in summary  # left out for the author too
    for person in (couple.a, couple.b):
        for s in person.get("/me").get_json()["sessions"]:
            exported = person.get(f"/sessions/{s['id']}/summary?format=md")
            assert exported.status_code == 200
            text = exported.get_data(as_text=True)
            assert "Just for you" not in text and "intimidated" not in text
            assert "Talk" in text  # the export itself is there, with the other steps
