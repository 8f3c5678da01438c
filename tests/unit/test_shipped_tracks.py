"""Every shipped track can be played to its end by two partners, through the real engine
and the real step kinds, with the settings its content gives them; and the questions of the
private check that opens every session (content/check.yaml) hold every joint step back."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
import yaml

from server.config import PROJECT_ROOT
from server.content import load_library
from server.engine import session as engine
from server.engine.kinds.boundary import item_id
from server.engine.tracks import Step, Track, freeze

A, B = "user-a", "user-b"
T0 = datetime(2026, 11, 27, 9, 0, 0)
LIBRARY = load_library(PROJECT_ROOT / "content")
ids = count()


def act(state: engine.SessionState, action) -> engine.SessionState:
    return engine.handle(state, action, T0 + timedelta(seconds=next(ids))).state


def submit(state, who, step: Step, body=None, fields=None):
    n = next(ids)
    return act(state, engine.SubmitEntry(who, step.id, f"e{n}", f"c{n}", body, fields))


def turn(state, who, step: Step, name: str, body=None, fields=None):
    n = next(ids)
    return act(state, engine.SubmitTurn(who, step.id, f"t{n}", f"c{n}", name, body, fields))


def clear_answers(step: Step) -> dict:
    """For each safety question, the first option that lets the session carry on."""
    return {q["id"]: next(o["id"] for o in q["options"] if o.get("clear", True))
            for q in step.settings["questions"]}


def answer(state, who, step: Step, safety: dict | None = None):
    """One partner's part of an answered step, in the shape its kind asks for."""
    if step.kind == "safety":
        return submit(state, who, step, fields={"answers": safety or clear_answers(step)})
    if step.kind == "checkin":
        s = step.settings or {}
        ratings = {r["id"]: s.get("max", 10) for r in s.get("ratings", [{"id": "trust"},
                   {"id": "closeness"}, {"id": "mood"}])}
        support = (s.get("support") or [{"id": "listening"}])[0]["id"]
        return submit(state, who, step, fields={"ratings": ratings, "high": "A walk",
                                                "low": "", "support": support})
    if step.kind == "boundary":
        return submit(state, who, step, fields={"items": [
            {"need": "a message when plans change", "offer": "send one when mine do"}]})
    if step.kind in ("commitment", "appreciation"):
        return submit(state, who, step, body="I'll put my phone away at dinner.")
    spec = step.answer
    if spec["type"] == "text":
        return submit(state, who, step, body="Some words.")
    if spec["type"] == "scale":
        return submit(state, who, step, fields={"value": spec["min"]})
    if spec["type"] == "choices":
        return submit(state, who, step, fields={"choices": [spec["options"][0]]})
    if spec["type"] == "closing":
        return submit(state, who, step, body="", fields={"value": spec["scale"]["max"]})
    raise AssertionError(f"no answer for {step.kind}")


def listening(state, step: Step):
    from server.engine.kinds.listening import current

    data = current(state, step)
    if data["expect"] == "roles":  # a betrayal: who was hurt is agreed first (Ben here)
        state = turn(state, A, step, "propose_roles", fields={"hurt": B})
        state = turn(state, B, step, "agree_roles")
        data = current(state, step)
    if (step.settings or {}).get("mode") == "questions":
        asker, answerer = data["speaker"], data["listener"]
        state = turn(state, answerer, step, "ready")
        state = turn(state, asker, step, "ask", "What happened that night?")
        state = turn(state, answerer, step, "answer", "I'll tell you all of it.")
        return turn(state, asker, step, "enough")
    if data["speaker"] is None:
        state = turn(state, A, step, "speak_first")
    first = current(state, step)["speaker"]
    second = B if first == A else A
    for speaker, listener in ((first, second), (second, first)):
        state = turn(state, listener, step, "ready")
        state = turn(state, speaker, step, "share", "I feel unsure when plans change.")
        state = turn(state, listener, step, "mirror", "If I heard you right... Is there more?")
        state = turn(state, speaker, step, "confirm")
        state = turn(state, listener, step, "validate", "It makes sense that you...")
        state = turn(state, listener, step, "empathise", "I imagine you might feel...")
        state = turn(state, speaker, step, "heard", fields={"heard": "yes"})
    return state


def apology(state, step: Step):
    state = turn(state, A, step, "offer", fields={"role": "apologising"})
    state = turn(state, B, step, "accept")
    state = turn(state, B, step, "hurt", fields={"felt": "Alone.", "why": "It was a secret.",
                                                 "need": "Honesty."})
    state = turn(state, A, step, "mirror", "You felt alone because it was a secret.")
    state = turn(state, A, step, "apology", fields={
        "act": "I kept it from you.", "impact": "You felt alone.",
        "responsibility": "That was my choice.", "regret": "I'm sorry.",
        "change": "I'll tell you straight away."})
    state = turn(state, B, step, "reflect", "You see that it hurt.")
    return turn(state, B, step, "response", fields={"choice": "more_time"})


def boundary(state, step: Step):
    state = answer(answer(state, A, step), B, step)
    state = turn(state, B, step, "agree", fields={"item": item_id(A, 0)})
    return turn(state, A, step, "agree", fields={"item": item_id(B, 0)})


def review(state, step: Step):
    """Each owner says how their open commitment went; the partner acknowledges it."""
    for record in [r for r in state.records.values()
                   if r.kind == "commitment" and r.status == "open"]:
        other = B if record.user_id == A else A
        state = turn(state, record.user_id, step, "check",
                     fields={"record_id": record.id, "status": "partly"})
        state = turn(state, other, step, "ack", fields={"record_id": record.id, "ack": "thanks"})
    return state


def play(track_id: str, safety_a: dict | None = None, records=None,
         session_id: str = "s1", track: Track | None = None) -> engine.SessionState:
    track = track or LIBRARY.get(track_id)
    people = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))
    state = engine.SessionState(id=session_id, track=track, participants=people,
                                created_at=T0 + timedelta(seconds=next(ids)), couple_id="c1",
                                records=records or {})
    while (step := state.current_step) is not None:
        if step.kind == "commitment" and (step.settings or {}).get("mode") == "review":
            state = review(state, step)
        elif step.kind == "listening":
            state = listening(state, step)
        elif step.kind == "apology":
            state = apology(state, step)
        elif step.kind == "boundary":
            state = boundary(state, step)
        elif step.takes_answer:
            state = answer(state, A, step, safety_a)
            state = answer(state, B, step)
        for who in (A, B):
            state = act(state, engine.MarkReady(who, step.id))
            if state.current_step is None:
                break
    return state


@pytest.mark.parametrize("track_id", list(LIBRARY.tracks))
def test_two_partners_can_play_the_track_to_its_end(track_id):
    state = play(track_id)
    assert state.status == engine.FINISHED, track_id
    assert state.current_index >= len(LIBRARY.get(track_id).steps) - 1


def test_a_second_weekly_check_in_reviews_the_first_ones_commitments():
    first = play("weekly-check-in")
    made = [r for r in first.records.values() if r.kind == "commitment"]
    assert {r.user_id for r in made} == {A, B}
    second = play("weekly-check-in", records=dict(first.records), session_id="s2")
    assert second.status == engine.FINISHED
    reviewed = [second.records[r.id] for r in made]
    assert all(r.status == "partly" for r in reviewed)


# The private check that opens every session, before any joint step, is content/check.yaml
# (no track carries a safety step of its own any more). Here it is played as a safety step
# in front of each track, so its real questions go through the safety kind's gate.
CHECK = yaml.safe_load((PROJECT_ROOT / "content" / "check.yaml").read_text())
CHECK_STEP = Step(id=CHECK["id"], kind=CHECK["kind"], title=CHECK["title"],
                  hint=CHECK.get("hint"), body=CHECK.get("body"),
                  settings=freeze(CHECK["settings"]))


def with_check(track: Track) -> Track:
    return Track(track.id, track.title, track.summary, track.version,
                 (CHECK_STEP, *track.steps), track.settings)


def concerning_answers(step: Step) -> list[dict]:
    """Every single answer that isn't clear, the rest answered clearly."""
    clear = clear_answers(step)
    return [{**clear, q["id"]: o["id"]} for q in step.settings["questions"]
            for o in q["options"] if not o.get("clear", True)]


@pytest.mark.parametrize("track_id", list(LIBRARY.tracks))
def test_any_answer_to_the_check_that_is_not_clear_stops_the_session_before_joint_work(
        track_id):
    track = with_check(LIBRARY.get(track_id))
    check = track.steps[0]
    # Home, violence, threats and control, fear of the partner's reaction, self-harm,
    # "not sure", "rather not say" and "not today" are all offered.
    assert len(concerning_answers(check)) >= 8
    # Answered clearly by both, the check lets the whole track run.
    assert play(track_id, track=track).status == engine.FINISHED
    later = {s.id for s in track.steps[1:]}
    for answers in concerning_answers(check):
        state = play(track_id, safety_a=answers, track=track)
        assert state.status == engine.ENDED, answers
        # Every step after the check is joint work: the session stops on the check itself,
        # so it never even reaches the step right after it...
        assert state.current_index == 0, answers
        # ...and nothing at all happens on a later step: no entry, turn, draft or ready.
        assert not any(step_id in later for step_id, _ in state.entries), answers
        assert not any(t.step_id in later for t in state.turns), answers
        assert not any(step_id in later for step_id, _ in state.drafts), answers
        assert not any(step_id in later for step_id, _ in state.ready), answers
