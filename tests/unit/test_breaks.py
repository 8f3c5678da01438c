"""Breaks (time-outs): either partner pauses the session for both; the rules, in the engine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.breaks import PauseSession, ResumeSession
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

A, B, C = "user-a", "user-b", "user-c"
T0 = datetime(2026, 11, 27, 9, 0, 0)
STEPS = (
    Step(id="welcome", kind="info", title="Welcome", body="Hi."),
    Step(id="story", kind="prompt", title="Story", prompt="Tell it.",
         answer={"type": "text", "max_length": 500}),
    Step(id="again", kind="prompt", title="Again", prompt="Once more.",
         answer={"type": "text", "max_length": 500}),
)


def make(settings: dict | None = None, counsellor: bool = False, **kw) -> engine.SessionState:
    people = [engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner")]
    if counsellor:
        people.append(engine.Participant(C, "Cleo", "counsellor"))
    track = Track("t", "T", "t", 1, STEPS, settings or {})
    return engine.SessionState(id="s1", track=track, participants=tuple(people), created_at=T0,
                               **kw)


def at(step_id: str, **kw) -> engine.SessionState:
    state = make(**kw)
    return engine.SessionState(**{**state.__dict__,
                                  "current_index": state.track.step_index(step_id)})


def code(fn) -> str:
    with pytest.raises(MendError) as info:
        fn()
    return info.value.code


def pause(state, who=A, minutes=None, reason=None, now=T0):
    return engine.handle(state, PauseSession(who, minutes, reason), now)


def back(state, who, now=T0):
    return engine.handle(state, ResumeSession(who), now)


def test_a_break_pauses_both_for_the_tracks_default_or_20_minutes():
    t = pause(at("story"))
    assert t.state.paused_until == T0 + timedelta(minutes=20)
    assert t.state.version == 2 and t.visible
    brk = view_for(t.state, B)["session"]["break"]
    assert brk == {"by_user_id": A, "started_at": "2026-11-27T09:00:00.000Z",
                   "until": "2026-11-27T09:20:00.000Z", "minutes": 20, "back": [],
                   "countdown_over": False, "reason": None}
    assert view_for(t.state, B)["session"]["paused_until"] == "2026-11-27T09:20:00.000Z"
    t = pause(at("story", settings={"break_minutes": 30}))
    assert t.state.paused_until == T0 + timedelta(minutes=30)


def test_longer_on_request_up_to_the_tracks_maximum_and_never_shorter():
    state = at("story", settings={"break_max_minutes": 60})
    assert pause(state, minutes=60).state.paused_until == T0 + timedelta(minutes=60)
    assert code(lambda: pause(state, minutes=61)) == "invalid"
    assert code(lambda: pause(state, minutes=5)) == "invalid"
    assert code(lambda: pause(state, minutes="20")) == "invalid"
    assert code(lambda: pause(at("story"), minutes=241)) == "invalid"  # 240 by default
    assert pause(at("story"), minutes=240).state.paused_until == T0 + timedelta(hours=4)


def test_during_a_break_moves_are_paused_and_drafts_keep_saving():
    state = pause(at("story")).state
    assert code(lambda: engine.handle(
        state, engine.SubmitEntry(B, "story", "e1", "c1", "words"), T0)) == "paused"
    assert code(lambda: engine.handle(state, engine.MarkReady(B, "story"), T0)) == "paused"
    assert code(lambda: engine.handle(
        state, engine.StepAction(B, "story", "acknowledge", {"ack": "thanks"}), T0)) == "paused"
    assert code(lambda: engine.handle(
        state, engine.SubmitTurn(B, "story", "t1", "c1", "mirror", "x"), T0)) == "paused"
    assert engine.handle(state, engine.SaveDraft(B, "story", "kept"), T0).effects


def test_it_resumes_only_when_both_are_back_and_back_early_is_accepted():
    state = pause(at("story")).state
    one = back(state, B, T0 + timedelta(minutes=1))
    assert one.state.is_paused(T0 + timedelta(minutes=1))
    assert view_for(one.state, A)["session"]["break"]["back"] == [B]
    assert not back(one.state, B).visible  # twice changes nothing
    both = back(one.state, A, T0 + timedelta(minutes=2))
    assert not both.state.is_paused(T0 + timedelta(minutes=2))
    assert both.state.paused_until is None and "break" not in both.state.session_data
    assert view_for(both.state, B)["session"]["break"] is None
    assert engine.handle(both.state, engine.SubmitEntry(B, "story", "e1", "c1", "w"), T0).effects
    assert not back(both.state, A).visible  # nothing to come back from


def test_when_the_countdown_ends_a_tick_says_so_and_the_break_goes_on():
    state = pause(at("story")).state
    until = T0 + timedelta(minutes=20)
    assert engine.next_deadline(state) == until
    assert not engine.handle(state, engine.Tick(), until - timedelta(seconds=1)).visible
    due = engine.handle(state, engine.Tick(), until)
    assert due.visible and due.state.version == state.version + 1
    brk = view_for(due.state, B)["session"]["break"]
    assert brk["countdown_over"] is True and brk["until"] == "2026-11-27T09:20:00.000Z"
    assert view_for(due.state, B)["session"]["paused_until"] is None
    assert due.state.is_paused(until + timedelta(hours=3))  # still until both are back
    assert engine.next_deadline(due.state) is None
    later = until + timedelta(minutes=5)
    assert not back(back(due.state, A, later).state, B, later).state.is_paused(later)


def test_a_bare_paused_until_is_a_simple_timed_pause():
    state = at("story", paused_until=T0 + timedelta(minutes=5))
    assert state.is_paused(T0) and not state.is_paused(T0 + timedelta(minutes=5))
    assert view_for(state, A)["session"]["break"] is None


def test_one_break_at_a_time_only_in_an_active_session_only_for_participants():
    state = pause(at("story")).state
    assert code(lambda: pause(state, B)) == "conflict"
    assert code(lambda: pause(at("story"), "stranger")) == "forbidden"
    finished = engine.SessionState(**{**at("story").__dict__, "status": engine.FINISHED})
    assert code(lambda: pause(finished)) == "conflict"


def test_the_counsellor_may_pause_and_resume_for_everyone():
    state = at("story", counsellor=True)
    paused = pause(state, C).state
    assert view_for(paused, A)["session"]["break"]["by_user_id"] == C
    assert not back(paused, C).state.is_paused(T0)
    by_a = pause(state, A).state
    assert not back(by_a, C).state.is_paused(T0)  # lifts a partner's break too
    assert back(back(by_a, A).state, C).state.session_data == {}  # after one partner, too


def test_the_reason_is_the_callers_alone_and_goes_when_the_break_ends():
    reason = "I-AM-FLOODED-7731"
    state = pause(at("story"), reason=reason).state
    assert view_for(state, A)["session"]["break"]["reason"] == reason
    for viewer in (B,):
        assert reason not in json.dumps(view_for(state, viewer))
        assert reason not in json.dumps(summary_for(state, viewer))
    state = back(back(state, A).state, B).state
    assert reason not in json.dumps(state.session_data)
    assert code(lambda: pause(at("story"), reason=7)) == "invalid"
    assert code(lambda: pause(at("story"), reason="x" * 1001)) == "too_large"


def test_the_counsellor_never_sees_a_partners_reason():
    reason = "PRIVATE-REASON-42"
    state = pause(at("story", counsellor=True), reason=reason).state
    assert reason not in json.dumps(view_for(state, C))


# --- property: break reasons never reach anyone but the caller ------------------------------

MOVES = ["pause", "pause", "back", "back", "tick", "submit", "draft", "ready", "ready"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MOVES), st.sampled_from((A, B, C)), st.booleans()),
                min_size=5, max_size=50))
def test_break_reasons_never_reach_the_other_partner(sequence):
    state = at("welcome", counsellor=True)
    reasons: dict[str, list[str]] = {A: [], B: [], C: []}
    for n, (move, who, flag) in enumerate(sequence):
        now = T0 + timedelta(minutes=7 * n)
        step = state.current_step
        if step is None:
            break
        marker = f"REASON{n}X{who}"
        action = {
            "pause": PauseSession(who, None, marker if flag else None),
            "back": ResumeSession(who),
            "tick": engine.Tick(),
            "submit": engine.SubmitEntry(who, step.id, f"e{n}", f"c{n}", "words"),
            "draft": engine.SaveDraft(who, step.id, "draft"),
            "ready": engine.MarkReady(who, step.id),
        }[move]
        try:
            state = engine.handle(state, action, now).state
        except MendError:
            continue
        if move == "pause" and flag:
            reasons[who].append(marker)
        for viewer in (A, B, C):
            seen = json.dumps(view_for(state, viewer)) + json.dumps(summary_for(state, viewer))
            for author, markers in reasons.items():
                if author != viewer:
                    assert not any(m in seen for m in markers)


def test_a_plain_timed_pause_ends_on_its_own_or_by_the_counsellor():
    state = at("story", counsellor=True, paused_until=T0 + timedelta(minutes=5))
    assert not back(state, A).visible and back(state, A).state.is_paused(T0)
    lifted = back(state, C).state
    assert not lifted.is_paused(T0) and lifted.paused_until is None
