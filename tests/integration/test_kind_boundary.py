"""The boundary step over real sockets and a real database: private lists, one reveal,
item moves by the right partner only, agreements kept for the couple's later sessions,
and every push equal to a fresh load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.content import TrackLibrary, load_schema, load_track_file
from tests.integration.test_session_loop import last_state

TRACK_ID = "boundary-test-track"
TRACK_YAML = """
id: boundary-test-track
title: Agreements we both choose
summary: A test track with one boundary step.
version: 1
steps:
  - id: card
    kind: info
    title: Agreements, not walls
    body: An agreement is something you both choose. It is not a rule for the other.
  - id: check
    kind: safety
    title: A private check
    settings:
      questions:
        - id: go
          text: Would you like to carry on together today?
          options:
            - {id: "yes", label: "Yes"}
            - {id: not_today, label: "Not today", clear: false}
  - id: lists
    kind: boundary
    title: What I need, what I'll offer
    prompt: List up to three things.
    settings:
      max_items: 3
      revisit_days: 21
      flags:
        - id: monitoring
          phrases: [password, location, check your phone]
          message: Openness you offer builds trust; access you demand tends to feel like control.
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""


@pytest.fixture
def boundary_library(app, tmp_path):
    """The app's library with the test track added (the track is loaded through the real
    content loader and schema, so the kind's schema file is exercised too)."""
    path = tmp_path / f"{TRACK_ID}.yaml"
    path.write_text(TRACK_YAML)
    track = load_track_file(path, load_schema(Path("content")))
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: track})
    yield ctx.library
    ctx.library = original


def start(app, couple):
    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert response.status_code == 201, response.get_json()
    session_id = response.get_json()["session"]["id"]
    socks = {"a": couple.a.socket(app), "b": couple.b.socket(app)}
    for sock in socks.values():
        assert sock.emit("session:join", {"session_id": session_id}, callback=True)["ok"]
        sock.get_received()
    return session_id, socks


def pass_safety_check(session_id, socks) -> None:
    """Both answer the private check clear and move on (boundary steps are gated on it)."""
    for who in ("a", "b"):
        assert socks[who].emit("entry:submit", {
            "session_id": session_id, "step_id": "check", "client_id": f"check-{who}-001",
            "fields": {"answers": {"go": "yes"}}}, callback=True)["ok"]
    for who in ("a", "b"):
        assert socks[who].emit("step:ready", {"session_id": session_id, "step_id": "check"},
                               callback=True)["ok"]


def test_lists_reveal_moves_agreements_and_resync(app, couple, boundary_library):
    session_id, socks = start(app, couple)
    people = {"a": couple.a, "b": couple.b}
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]
    held: dict = {}

    def emit(who, event, **payload):
        ack = socks[who].emit(event, {"session_id": session_id, **payload}, callback=True)
        # Every push a partner received, applied in order, equals a fresh load.
        for name, person in people.items():
            pushed = last_state(socks[name].get_received(), session_id)
            if pushed is not None:
                held[name] = pushed
            fresh = person.get(f"/sessions/{session_id}").get_json()["state"]
            if name in held and not (event == "entry:draft" and name == who):
                assert held[name] == fresh, f"{name}'s pushed view is stale after {event}"
        return ack

    def turn(who, kind, item, cid, **fields):
        body = fields.pop("body", None)
        return emit(who, "turn:submit", step_id="lists", client_id=cid, kind=kind, body=body,
                    fields={"item": item, **fields})

    def view(who):
        state = people[who].get(f"/sessions/{session_id}").get_json()["state"]
        return next(s for s in state["steps"] if s["id"] == "lists"), state

    for who in ("a", "b"):
        assert emit(who, "step:ready", step_id="card")["ok"]
    pass_safety_check(session_id, socks)

    # A writes privately; B sees a status, never the words.
    assert emit("a", "entry:draft", step_id="lists",
                fields={"items": [{"need": "DRAFT-SECRET"}]})["ok"]
    assert "DRAFT-SECRET" not in json.dumps(view("b")[1])
    assert view("b")[0]["partner_status"] == "writing"
    a_items = [{"need": "a call if you're late", "offer": "let you know my plans"},
               {"need": "your phone password"},
               {"offer": "make Sunday breakfast"}]
    assert emit("a", "entry:submit", step_id="lists", client_id="bnd-a-0001",
                fields={"items": a_items})["ok"]
    assert "a call if you're late" not in json.dumps(view("b")[1])
    assert view("a")[0]["mine"]["flags"][1][0]["id"] == "monitoring"
    early = turn("b", "agree", f"{a_id}-1", "bnd-early-1")
    assert early["error"]["code"] == "conflict"
    too_many = emit("b", "entry:submit", step_id="lists", client_id="bnd-b-0000",
                    fields={"items": [{"need": "x"}] * 4})
    assert too_many["error"]["code"] == "invalid"
    assert emit("b", "entry:submit", step_id="lists", client_id="bnd-b-0001",
                fields={"items": [{"need": "time alone on Fridays"}]})["ok"]

    step_b, _ = view("b")
    assert step_b["status"] == "revealed"
    items = {i["id"]: i for i in step_b["items"]}
    assert items[f"{a_id}-1"]["need"] == "a call if you're late"
    # the flag on A's words is A's alone: B never sees it under A's item
    assert not any(i["flags"] for i in items.values())
    a_items = {i["id"]: i for i in view("a")[0]["items"]}
    assert a_items[f"{a_id}-2"]["flags"] and not a_items[f"{a_id}-1"]["flags"]

    # Only the partner whose turn it is moves an item.
    assert turn("a", "agree", f"{a_id}-1", "bnd-own-01")["error"]["code"] == "not_your_turn"
    ack = turn("b", "agree", f"{a_id}-1", "bnd-agree-1")
    assert ack["ok"] and ack["turn"]["kind"] == "agree"
    again = turn("b", "agree", f"{a_id}-1", "bnd-agree-1")  # a retry: same turn, no new move
    assert again["ok"] and again["turn"]["id"] == ack["turn"]["id"]

    # Counter, counter back, agree.
    assert turn("b", "counter", f"{a_id}-3", "bnd-ctr-01", offer="make breakfast twice a month",
                body="Sundays are busy")["ok"]
    assert turn("b", "agree", f"{a_id}-3", "bnd-ctr-02")["error"]["code"] == "not_your_turn"
    assert turn("a", "counter", f"{a_id}-3", "bnd-ctr-03",
                offer="make breakfast on the first Sunday")["ok"]
    assert turn("b", "agree", f"{a_id}-3", "bnd-ctr-04")["ok"]
    # Let's talk, then park; A answers B's item.
    assert turn("b", "talk", f"{a_id}-2", "bnd-talk-1")["ok"]
    assert view("a")[0]["items"][1]["talk"] is True
    assert emit("a", "step:ready", step_id="lists")["error"]["code"] == "conflict"
    assert turn("b", "park", f"{a_id}-2", "bnd-park-1")["ok"]
    assert turn("a", "agree", f"{b_id}-1", "bnd-agree-2")["ok"]

    step_a, state_a = view("a")
    assert step_a["complete"] is True
    assert {i["state"] for i in step_a["items"]} == {"agreed", "parked"}
    texts = sorted(a["text"] for a in state_a["agreements"])
    assert texts == ["I need a call if you're late / I'll let you know my plans",
                     "I need time alone on Fridays",
                     "I'll make breakfast on the first Sunday"]
    assert all(a["status"] == "active" and a["revisit_on"] for a in state_a["agreements"])

    for who in ("a", "b"):
        assert emit(who, "step:ready", step_id="lists")["ok"]
    for who in ("a", "b"):
        assert emit(who, "step:ready", step_id="after")["ok"]
    summary = couple.b.get(f"/sessions/{session_id}/summary").get_json()["summary"]
    part = next(s for s in summary["steps"] if s["id"] == "lists")
    assert len(part["agreements"]) == 3
    assert {i["state"] for i in part["items"]} == {"agreed", "parked"}
    markdown = couple.b.get(f"/sessions/{session_id}/summary?format=md").get_data(as_text=True)
    assert "- I need your phone password (parked)" in markdown
    assert "- I'll make breakfast on the first Sunday (agreed)" in markdown
    for sock in socks.values():
        sock.disconnect()

    # A later session of the same couple shows the agreements, to both partners.
    later_id, later_socks = start(app, couple)
    assert later_id != session_id
    for person in (couple.a, couple.b):
        later = person.get(f"/sessions/{later_id}").get_json()["state"]
        assert sorted(a["text"] for a in later["agreements"]) == texts
        assert {a["session_id"] for a in later["agreements"]} == {session_id}
    for sock in later_socks.values():
        sock.disconnect()


def test_another_couple_never_sees_these_agreements(app, couple, signup, boundary_library):
    session_id, socks = start(app, couple)
    for who in ("a", "b"):
        socks[who].emit("step:ready", {"session_id": session_id, "step_id": "card"},
                        callback=True)
    pass_safety_check(session_id, socks)
    for who, cid in (("a", "oc-a-0001"), ("b", "oc-b-0001")):
        assert socks[who].emit("entry:submit", {
            "session_id": session_id, "step_id": "lists", "client_id": cid,
            "fields": {"items": [{"need": f"PRIVATE-{who}"}]}}, callback=True)["ok"]
    item = f"{couple.a.user['id']}-1"
    assert socks["b"].emit("turn:submit", {
        "session_id": session_id, "step_id": "lists", "client_id": "oc-turn-01",
        "kind": "agree", "fields": {"item": item}}, callback=True)["ok"]
    c, d = signup("Cai"), signup("Dee")
    created = c.post("/couples").get_json()
    assert d.post("/couples/join", {"invite_code": created["invite_code"]}).status_code == 200
    response = c.post("/sessions", {"couple_id": created["couple"]["id"], "track_id": TRACK_ID})
    other = c.get(f"/sessions/{response.get_json()['session']['id']}").get_json()["state"]
    assert other["agreements"] == []
    assert c.get(f"/sessions/{session_id}").status_code in (403, 404)
    for sock in socks.values():
        sock.disconnect()
