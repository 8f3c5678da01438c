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
    assert view["my_moves"] == []
    # The clock is the speaker's own: the listener's view carries none.
    assert view["deadline"] is None and listening("b")[0]["deadline"] is not None

    # Ben drafts privately; Ana never sees the draft.
    assert emit("b", "entry:draft", step_id="listen", body="DRAFT-SECRET")["ok"]
    assert "DRAFT-SECRET" not in json.dumps(listening("a")[2])
    assert listening("b")[1]["mine"]["draft"]["body"] == "DRAFT-SECRET"

    # Ana can't rebut or jump in while Ben holds the floor.
    assert move("a", "mirror", "but")["error"]["code"] == "not_your_turn"
    assert move("a", "rebut", "but")["error"]["code"] == "invalid"
    too_long = move("b", "share", "x" * 301)["error"]
    assert too_long["code"] == "too_large" and "300" in too_long["message"]

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
    # "Partly" is not the end: Ana chooses; here, to come back to it another time.
    view = listening("b")[0]
    assert (view["phase"], view["expect"], view["floor"]) == ("speaking", "again", ids["a"])
    assert emit("a", "step:ready", step_id="listen")["error"]["code"] == "conflict"
    assert move("a", "come_back")["ok"]
    assert (listening("b")[0]["phase"], listening("b")[0]["outcome"]) == ("done", "later")

    # Both summaries hold the spoken turns, in order.
    for who in ("a", "b"):
        summary = people[who].get(f"/sessions/{session_id}/summary").get_json()
        part = next(s for s in summary["summary"]["steps"] if s["id"] == "listen")
        assert part["outcome"] == "later"
        assert [t["kind"] for t in part["turns"]] == [
            "share", "mirror", "correct", "mirror", "confirm", "validate", "empathise", "heard",
            "share", "mirror", "confirm", "validate", "empathise", "heard"]
        assert "DRAFT-SECRET" not in json.dumps(summary)
        markdown = people[who].get(f"/sessions/{session_id}/summary?format=md") \
            .get_data(as_text=True)
        assert "**Ben** shared:" in markdown and "> I feel shut out" in markdown
        assert "**Ben** felt heard: yes" in markdown and "DRAFT-SECRET" not in markdown
        assert "You agreed to come back to this another time." in markdown
    for who in ("a", "b"):
        assert emit(who, "step:ready", step_id="listen")["ok"]
    assert listening("a")[2]["session"]["current_step_id"] == "after"
    for sock in socks.values():
        sock.disconnect()


def test_the_soft_timer_is_swept_shown_to_the_speaker_alone_and_extended(
        app, couple, listening_library):
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
        assert view["floor"] == couple.a.user["id"]
        # Time's up is the speaker's to see; the listener is shown no clock at all.
        assert view["overdue"] is (who == "a")
        assert (view["deadline"] is None) is (who == "b")
    # Nobody is cut off: the speaker may extend, or just speak.
    assert move("a", "extend", "tmr-a-0002")["ok"]
    view = next(s for s in couple.a.get(f"/sessions/{session_id}").get_json()["state"]["steps"]
                if s["id"] == "listen")["listening"]
    assert view["overdue"] is False and view["extensions"] == 1
    for sock in socks.values():
        sock.disconnect()


def test_the_repair_track_agrees_roles_and_hears_the_hurt_partner_first(app, couple):
    """The shipped repair track over sockets: who was hurt is agreed before anyone speaks,
    the hurt partner (Ben) speaks first with a 10-minute clock only he sees, "Not yet" leads
    to another try, one round is enough for him, and his questions are answered."""
    from tests.integration.test_opening_review import Pair

    s = Pair(app, couple, "repair-after-a-breach")
    ids = {"a": couple.a.user["id"], "b": couple.b.user["id"]}
    counter = iter(range(10_000))

    def move(who, step_id, kind, body=None, fields=None, ok=True):
        return s.act(who, "turn:submit", ok=ok, step_id=step_id, kind=kind, body=body,
                     fields=fields, client_id=f"rp-{who}-{next(counter):04d}")

    def view(who, step_id):
        return s.step(who, step_id)["listening"]

    ids_in_order = s.step_ids()
    assert ids_in_order.index("your-questions") < ids_in_order.index("the-apology") \
        < ids_in_order.index("older-echoes")
    assert ids_in_order.index("our-agreements") < ids_in_order.index("talking-it-through")
    s.both_ready("welcome")
    for who in ("a", "b"):
        s.act(who, "entry:submit", step_id="how-we-are-today", client_id=f"ci-{who}-0001",
              fields={"ratings": {"trust": 4, "closeness": 4, "mood": 4},
                      "support": "listening"})
    s.both_ready("how-we-are-today")
    s.both_ready("ground-rules")
    for who in ("a", "b"):
        s.act(who, "entry:submit", step_id="feelings-only", client_id=f"fe-{who}-0001",
              fields={"choices": ["Betrayed" if who == "b" else "Regretful"]})
    s.both_ready("feelings-only")

    # Nobody speaks before the roles are agreed; then the hurt partner goes first.
    step = "hearing-the-hurt"
    assert view("a", step)["expect"] == "roles"
    assert move("a", step, "speak_first", ok=False)["error"]["code"] == "conflict"
    move("a", step, "propose_roles", fields={"hurt": ids["b"]})
    assert move("a", step, "agree_roles", ok=False)["error"]["code"] == "conflict"
    move("b", step, "agree_roles")
    listening = view("a", step)
    assert listening["roles"] == {"hurt": ids["b"], "other": ids["a"]}
    assert (listening["speaker"], listening["floor"]) == (ids["b"], ids["a"])
    move("a", step, "ready")
    assert view("a", step)["deadline"] is None
    assert view("b", step)["turn_minutes"] == 10 and view("b", step)["deadline"] is not None
    move("b", step, "share", "I feel betrayed, because you lied to me for months.")
    move("a", step, "mirror", "You feel betrayed because I lied for months.")
    move("b", step, "confirm")
    move("a", step, "validate", "It makes sense that you feel betrayed.")
    move("a", step, "empathise", "I imagine you feel you can't trust anything I say.")
    move("b", step, "heard", fields={"heard": "not_yet"})
    assert view("b", step)["my_moves"] == ["try_again", "reflect_again", "come_back"]
    move("b", step, "reflect_again")
    move("a", step, "mirror", "You need me to know how long it went on, and that it hurts.")
    move("b", step, "confirm")
    move("a", step, "validate", "That makes sense.")
    move("a", step, "empathise", "I imagine it feels like the ground moved.")
    move("b", step, "heard", fields={"heard": "yes"})
    # Round two would make Ben listen to Ana: one round is enough for him today.
    assert "enough" in view("b", step)["my_moves"] and "enough" not in view("a", step)["my_moves"]
    move("b", step, "enough")
    assert (view("a", step)["phase"], view("a", step)["outcome"]) == ("done", "enough")
    s.both_ready(step)

    # His questions: the roles carry over; Ana answers, and (no counsellor) he reads it.
    step = "your-questions"
    assert (view("a", step)["speaker"], view("a", step)["floor"]) == (ids["b"], ids["a"])
    move("a", step, "ready")
    move("b", step, "ask", "Who else knew?")
    move("a", step, "answer", "Nobody else knew.")
    assert "Nobody else knew." in json.dumps(s.step("b", step))
    move("b", step, "enough")
    assert view("b", step)["outcome"] == "asked"
    s.both_ready(step)
    assert s.held["a"]["session"]["current_step_id"] == "the-apology"
    s.close()


def test_answers_to_the_hurt_partners_questions_wait_for_the_counsellors_release(
        app, couple, signup):
    """Real sockets, a real counsellor: the repair track's questions step holds each answer;
    the partner who asked is pushed and shown nothing of it (planted marker) until the
    counsellor releases it; its author and the counsellor read it at once."""
    from tests.conftest import unique_marker
    from tests.integration.test_counsellor_moderation import (
        Seat,
        grant,
        invite_and_consent,
        join_as_counsellor,
    )

    response = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                           "track_id": "repair-after-a-breach"})
    sid = response.get_json()["session"]["id"]
    a = Seat("Ana", couple.a, app, sid).connect()
    b = Seat("Ben", couple.b, app, sid).connect()
    a.ok("session:join"), b.ok("session:join")
    dora = signup("Dora", role="counsellor")
    grant(app, dora)
    dr = Seat("Dora", dora, app, sid)
    join_as_counsellor(dr, invite_and_consent(a, b))
    dr.ok("step:advance", step_id="welcome", to_step_id="your-questions")
    counter = iter(range(1000))

    def move(seat, kind, body=None, fields=None):
        return seat.ok("turn:submit", step_id="your-questions", kind=kind, body=body,
                       fields=fields, client_id=f"q-{seat.name}-{next(counter):04d}")

    # Nothing earlier set the roles (the counsellor chose this step): they're agreed here.
    move(a, "propose_roles", fields={"hurt": b.id})
    move(b, "agree_roles")
    move(a, "ready")
    move(b, "ask", "Did you see them again after you promised?")
    for seat in (a, b, dr):
        seat.pushes()
    marker = unique_marker("answer")
    move(a, "answer", f"Yes, once, in March. {marker}")
    # Ben: not in any push, nor a fresh load, nor his summary, until it is released.
    assert marker not in b.received()
    step = next(s for s in b.fresh()["steps"] if s["id"] == "your-questions")
    held = [t for t in step["listening"]["turns"] if t["kind"] == "answer"]
    assert held[0]["body"] is None and held[0]["fields"] == {"held": True}
    assert marker not in json.dumps(b.fresh())
    assert marker not in b.get(f"/sessions/{sid}/summary").get_data(as_text=True)
    markdown = b.get(f"/sessions/{sid}/summary?format=md").get_data(as_text=True)
    assert marker not in markdown
    assert "**Ana** answered. The answer is shared when the counsellor releases it." in markdown
    # Ana wrote it; Dora reads it before anyone else, and sees the step held.
    assert marker in json.dumps(a.fresh()) and marker in json.dumps(dr.fresh())
    assert next(s for s in dr.fresh()["steps"] if s["id"] == "your-questions")["held"] is True
    # A partner can't release it.
    assert b.emit("reveal:release", step_id="your-questions")["error"]["code"] == "forbidden"
    assert marker not in b.received()
    dr.ok("reveal:release", step_id="your-questions")
    assert marker in b.received()
    assert marker in json.dumps(b.fresh())
    for seat in (a, b, dr):
        seat.disconnect()
