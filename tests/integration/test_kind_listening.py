"""The listening step over real sockets and a real database: a full speaker-listener
exchange with the swap, not_your_turn for the partner without the floor, retries that
record nothing twice, private drafts, both summaries, and every push equal to a fresh load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.content import TrackLibrary, load_schema, load_track_file
from tests.integration.test_session_loop import last_state

TRACK_ID = "listening-test-track"
TRACK_YAML = """
id: listening-test-track
title: Taking turns
summary: A test track with one listening step.
version: 1
steps:
  - id: listen
    kind: listening
    title: Taking turns to listen
    prompt: Speak about one moment that landed hard for you.
    settings:
      first_speaker: either
      max_chars: 300
      max_loops: 2
      turn_minutes: 3
      max_extensions: 1
      starters:
        share: ["I feel ...", "when ...", "because ...", "I need ..."]
        mirror: ["What I hear is ...", "Is there more?"]
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""


@pytest.fixture
def listening_library(app, tmp_path):
    """The app's library with the test track, loaded through the real loader and schema."""
    path = tmp_path / f"{TRACK_ID}.yaml"
    path.write_text(TRACK_YAML)
    track = load_track_file(path, load_schema(Path("content")))
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: track})
    yield ctx.library
    ctx.library = original


def test_a_full_exchange_with_a_swap_over_sockets(app, couple, listening_library):
    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert response.status_code == 201, response.get_json()
    session_id = response.get_json()["session"]["id"]
    people = {"a": couple.a, "b": couple.b}
    socks = {who: p.socket(app) for who, p in people.items()}
    for sock in socks.values():
        assert sock.emit("session:join", {"session_id": session_id}, callback=True)["ok"]
        sock.get_received()
    ids = {"a": couple.a.user["id"], "b": couple.b.user["id"]}
    held: dict = {}
    counter = iter(range(10_000))

    def emit(who, event, **payload):
        ack = socks[who].emit(event, {"session_id": session_id, **payload}, callback=True)
        # What each partner was pushed, applied in order, equals a fresh load.
        for name, person in people.items():
            pushed = last_state(socks[name].get_received(), session_id)
            if pushed is not None:
                held[name] = pushed
            fresh = person.get(f"/sessions/{session_id}").get_json()["state"]
            if event == "entry:draft" and name == who:
                # A draft is pushed to nobody (its author has the words on screen), so the
                # author's copy catches up here; the partner's must already be equal.
                held[name] = fresh
            if name in held:
                assert held[name] == fresh, f"{name}'s pushed view is stale after {event}"
        return ack

    def move(who, kind, body=None, fields=None, client_id=None):
        client_id = client_id or f"lst-{who}-{next(counter):04d}"
        return emit(who, "turn:submit", step_id="listen", client_id=client_id, kind=kind,
                    body=body, fields=fields)

    def listening(who):
        state = people[who].get(f"/sessions/{session_id}").get_json()["state"]
        step = next(s for s in state["steps"] if s["id"] == "listen")
        return step["listening"], step, state

    # Ben asks to speak first; Ana is the listener and says when she's ready.
    assert move("b", "speak_first")["ok"]
    assert move("a", "speak_first")["error"]["code"] == "conflict"
    assert move("b", "share", "too soon")["error"]["code"] == "not_your_turn"
    assert move("a", "not_yet")["ok"]
    assert listening("b")[0]["not_yet"][0]["user_id"] == ids["a"]
    assert move("a", "ready")["ok"]
    view, _, _ = listening("a")
    assert (view["floor"], view["expect"]) == (ids["b"], "share")
    assert view["deadline"] is not None and view["my_moves"] == []

    # Ben drafts privately; Ana never sees the draft.
    assert emit("b", "entry:draft", step_id="listen", body="DRAFT-SECRET")["ok"]
    assert "DRAFT-SECRET" not in json.dumps(listening("a")[2])
    assert listening("b")[1]["mine"]["draft"]["body"] == "DRAFT-SECRET"

    # Ana can't rebut or jump in while Ben holds the floor.
    assert move("a", "mirror", "but")["error"]["code"] == "not_your_turn"
    assert move("a", "rebut", "but")["error"]["code"] == "invalid"
    assert move("b", "share", "x" * 301)["error"]["code"] == "invalid"

    shared = move("b", "share", "I feel shut out when plans change because I need a say",
                  client_id="lst-share-once")
    assert shared["ok"]
    again = move("b", "share", "I feel shut out when plans change because I need a say",
                 client_id="lst-share-once")
    assert again["ok"] and again["turn"]["id"] == shared["turn"]["id"]
    assert "I feel shut out" in json.dumps(listening("a")[2])  # live for the listener
    assert listening("b")[1]["mine"]["draft"] is None  # sent: the draft box is empty

    assert move("b", "extend")["error"]["code"] == "not_your_turn"
    assert move("a", "extend")["ok"]
    assert move("a", "extend")["error"]["code"] == "conflict"  # max_extensions: 1
    assert move("a", "mirror", "You feel shut out when plans change")["ok"]
    assert move("b", "correct", "And I need to be asked first")["ok"]
    assert move("a", "mirror", "You need to be asked first")["ok"]
    assert move("b", "confirm")["ok"]
    assert move("b", "validate", "no")["error"]["code"] == "not_your_turn"
    assert move("a", "validate", "It makes sense that you felt shut out")["ok"]
    assert move("a", "empathise", "I imagine you felt alone")["ok"]
    assert emit("a", "step:ready", step_id="listen")["error"]["code"] == "conflict"
    assert move("b", "heard", fields={"heard": "yes"})["ok"]

    # Roles swap: Ana speaks once Ben says now is a good time.
    view, _, _ = listening("b")
    assert (view["speaker"], view["listener"], view["floor"]) == (ids["a"], ids["b"], ids["b"])
    assert move("a", "share", "not yet")["error"]["code"] == "not_your_turn"
    for who, kind, body, fields in (
        ("b", "ready", None, None),
        ("a", "share", "I feel rushed when we plan late", None),
        ("b", "mirror", "You feel rushed", None),
        ("a", "confirm", None, None),
        ("b", "validate", "It makes sense", None),
        ("b", "empathise", "I imagine it's tiring", None),
        ("a", "heard", None, {"heard": "partly"}),
    ):
        assert move(who, kind, body, fields)["ok"], (who, kind)
    assert listening("a")[0]["phase"] == "done"

    # Both summaries hold the spoken turns, in order.
    for who in ("a", "b"):
        summary = people[who].get(f"/sessions/{session_id}/summary").get_json()
        part = next(s for s in summary["summary"]["steps"] if s["id"] == "listen")
        assert [t["kind"] for t in part["turns"]] == [
            "share", "mirror", "correct", "mirror", "confirm", "validate", "empathise", "heard",
            "share", "mirror", "confirm", "validate", "empathise", "heard"]
        assert "DRAFT-SECRET" not in json.dumps(summary)
        markdown = people[who].get(f"/sessions/{session_id}/summary?format=md") \
            .get_data(as_text=True)
        assert "**Ben** shared:" in markdown and "> I feel shut out" in markdown
        assert "**Ben** felt heard: yes" in markdown and "DRAFT-SECRET" not in markdown
    for who in ("a", "b"):
        assert emit(who, "step:ready", step_id="listen")["ok"]
    assert listening("a")[2]["session"]["current_step_id"] == "after"
    for sock in socks.values():
        sock.disconnect()


def test_the_soft_timer_is_swept_pushed_to_both_and_extended(app, couple, listening_library):
    from datetime import timedelta

    from sqlalchemy import update

    from server.models import Session, StepState
    from server.models.base import utcnow
    from server.realtime.scheduler import sweep_once

    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    session_id = response.get_json()["session"]["id"]
    socks = {"a": couple.a.socket(app), "b": couple.b.socket(app)}
    for sock in socks.values():
        assert sock.emit("session:join", {"session_id": session_id}, callback=True)["ok"]

    def move(who, kind, cid):
        return socks[who].emit("turn:submit", {"session_id": session_id, "step_id": "listen",
                                               "client_id": cid, "kind": kind}, callback=True)

    assert move("a", "speak_first", "tmr-a-0001")["ok"]
    assert move("b", "ready", "tmr-b-0001")["ok"]
    database = app.extensions["mend"].database
    with database.session() as db:
        row = db.get(Session, session_id)
        data = db.get(StepState, (session_id, "listen")).data
        # The sweep's column holds the move's deadline.
        assert row.next_deadline_at.isoformat(timespec="milliseconds") + "Z" == data["deadline"]
        past = utcnow() - timedelta(seconds=1)
        data = {**data, "deadline": past.isoformat(timespec="milliseconds") + "Z"}
        db.execute(update(StepState).where(StepState.session_id == session_id,
                                           StepState.step_id == "listen").values(data=data))
        db.execute(update(Session).where(Session.id == session_id)
                   .values(next_deadline_at=past))
        db.commit()
    for sock in socks.values():
        sock.get_received()
    with app.app_context():
        assert sweep_once() == 1
        assert sweep_once() == 0  # marked once; a soft timer never fires again by itself
    for who, person in (("a", couple.a), ("b", couple.b)):
        pushed = last_state(socks[who].get_received(), session_id)
        fresh = person.get(f"/sessions/{session_id}").get_json()["state"]
        assert pushed == fresh
        view = next(s for s in pushed["steps"] if s["id"] == "listen")["listening"]
        assert view["overdue"] is True and view["floor"] == couple.a.user["id"]
    # Nobody is cut off: the speaker may extend, or just speak.
    assert move("a", "extend", "tmr-a-0002")["ok"]
    view = next(s for s in couple.b.get(f"/sessions/{session_id}").get_json()["state"]["steps"]
                if s["id"] == "listen")["listening"]
    assert view["overdue"] is False and view["extensions"] == 1
    for sock in socks.values():
        sock.disconnect()
