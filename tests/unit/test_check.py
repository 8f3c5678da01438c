"""The private check that opens every session (server.engine.check).

What a user relies on: joint work waits for both partners' clear answers; the other
partner's view is byte-identical whatever was answered and whoever stopped the session;
answers are gone once the check resolves; a gap asks again; the counsellor's flag names
nobody.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.breaks import PauseSession
from server.engine.check import StopForToday, SubmitCheck, is_open, recheck, recheck_due
from server.engine.moderation import Moderate
from server.engine.tracks import Step, Track, freeze
from server.engine.visibility import dashboard_row, view_for

A, B, C = "user-a", "user-b", "user-c"
T0 = datetime(2026, 12, 7, 9, 0, 0)

QUESTIONS = [
    {"id": "safe_at_home", "text": "Do you feel safe at home?",
     "options": [{"id": "yes", "label": "Yes"},
                 {"id": "not_sure", "label": "I'm not sure", "clear": False, "help": True},
                 {"id": "no", "label": "No", "clear": False, "help": True}]},
    {"id": "carry_on_today", "text": "Carry on together today?",
     "options": [{"id": "yes", "label": "Yes"},
                 {"id": "not_today", "label": "Not today", "clear": False, "help": False}]},
]
CLEAR = {"safe_at_home": "yes", "carry_on_today": "yes"}
CONCERNING = {**CLEAR, "safe_at_home": "no"}
NOT_TODAY = {**CLEAR, "carry_on_today": "not_today"}
CHECK = Step(id="check", kind="safety", title="Just for you",
             settings=freeze({"questions": QUESTIONS, "stopped_title": "Stopped for today",
                              "stopped_text": "This session has stopped for today."}))
TRACK = Track("t", "Talk", "s", 1, (
    Step(id="welcome", kind="info", title="Welcome", body="Hello."),
    Step(id="talk", kind="prompt", title="Talk", prompt="Say.",
         answer=freeze({"type": "text", "max_length": 500})),
    Step(id="end", kind="info", title="End", body="Bye."),
))


def new_state(counsellor: bool = False, track: Track = TRACK) -> engine.SessionState:
    people = [engine.Participant(A, "Alex", "partner"), engine.Participant(B, "Sam", "partner")]
    if counsellor:
        people.append(engine.Participant(C, "Cara", "counsellor"))
    return engine.SessionState(id="s1", track=track, participants=tuple(people),
                               created_at=T0, check_step=CHECK)


def answer(state, user, answers, at=T0, client_id=None):
    action = SubmitCheck(user, client_id or f"client-{user}-{len(str(answers))}",
                         {"answers": answers})
    return engine.handle(state, action, at)


def passed(state=None):
    state = state or new_state()
    state = answer(state, A, CLEAR).state
    return answer(state, B, CLEAR).state


def test_joint_work_waits_for_both_checks():
    state = new_state()
    assert is_open(state)
    for action in (engine.MarkReady(A, "welcome"),
                   engine.SubmitEntry(A, "talk", "e1", "client-e1", "words"),
                   PauseSession(A)):
        with pytest.raises(MendError) as refused:
            engine.handle(state, action, T0)
        assert refused.value.code == "conflict"
    state = answer(state, A, CLEAR).state
    assert is_open(state)
    with pytest.raises(MendError):
        engine.handle(state, engine.MarkReady(A, "welcome"), T0)
    done = answer(state, B, CLEAR)
    assert done.visible and not is_open(done.state)
    engine.handle(done.state, engine.MarkReady(A, "welcome"), T0)  # allowed now


def test_answers_are_private_changes_and_deleted_when_the_check_passes():
    state = new_state()
    first = answer(state, A, CLEAR)
    assert not first.visible and first.state.version == state.version
    assert first.effects[0].private_to == (A,)
    assert view_for(first.state, A)["check"]["mine"]["answers"] == CLEAR
    assert view_for(first.state, A)["session"]["version"] == state.version + 1
    done = answer(first.state, B, CLEAR).state
    assert "safe_at_home" not in json.dumps(done.session_data)
    assert view_for(done, A)["check"] == {"open": False}


def test_a_retry_changes_nothing_and_a_second_answer_is_refused():
    state = answer(new_state(), A, CONCERNING, client_id="client-same").state
    again = answer(state, A, CONCERNING, client_id="client-same")
    assert again.state == state and not again.effects
    with pytest.raises(MendError) as refused:
        answer(state, A, CLEAR, client_id="client-other")
    assert refused.value.code == "conflict"


def test_incomplete_or_unknown_answers_are_invalid():
    for answers in ({"safe_at_home": "yes"}, {**CLEAR, "extra": "yes"},
                    {**CLEAR, "safe_at_home": "maybe"}):
        with pytest.raises(MendError) as refused:
            answer(new_state(), A, answers)
        assert refused.value.code == "invalid"


def test_a_concerning_answer_shows_support_to_its_author_only_and_the_flag_names_nobody():
    state = answer(new_state(counsellor=True), A, CONCERNING).state
    mine = view_for(state, A)["check"]["mine"]
    assert mine == {"answers": CONCERNING, "clear": False, "help": True}
    assert view_for(state, B)["check"]["mine"] is None
    flag = view_for(state, C)["check"]
    assert flag == {"open": True, "flag": True,
                    "message": "Check in with each partner privately"}
    row = json.dumps(dashboard_row(state, C))
    assert "Alex" not in json.dumps(flag) and A not in json.dumps(flag)
    assert A not in re.sub(r'"user_id": "user-a"', "", row.split('"flags"')[1].split("]")[0])


def stream_for_b(cause: str) -> list[str]:
    """Everything partner B is shown, view by view, while A causes an early stop. Every
    cause stops the session at the same moment, the clock's (B answered at T0)."""
    state = new_state(counsellor=True)
    views = [view_for(state, B)]
    state = answer(state, B, CLEAR).state
    views.append(view_for(state, B))
    stop_at = T0 + state.recheck_after
    if cause in ("concerning", "not_today_answer"):
        answers = CONCERNING if cause == "concerning" else NOT_TODAY
        state = answer(state, A, answers, T0 + timedelta(minutes=1)).state
        views.append(view_for(state, B))
        state = engine.handle(state, StopForToday(A), stop_at).state
    elif cause == "not_today":
        views.append(view_for(state, B))
        state = engine.handle(state, StopForToday(A), stop_at).state
    elif cause == "counsellor":
        views.append(view_for(state, B))
        state = engine.handle(state, Moderate(C, "end", None, {}), stop_at).state
    elif cause == "clock":
        views.append(view_for(state, B))
        state = engine.handle(state, engine.Tick(), stop_at).state
    assert state.status == engine.ENDED
    views.append(view_for(state, B))
    return [json.dumps(v, sort_keys=True) for v in views]


@pytest.mark.parametrize("cause", ["not_today_answer", "not_today", "counsellor", "clock"])
def test_the_partner_sees_the_same_stop_whatever_caused_it(cause):
    assert stream_for_b(cause) == stream_for_b("concerning")


def test_a_stop_keeps_no_answers_and_reads_the_same_for_both():
    state = answer(new_state(), A, CONCERNING).state
    state = engine.handle(state, StopForToday(A), T0).state
    assert state.status == engine.ENDED
    assert "safe_at_home" not in json.dumps(state.session_data)
    for viewer in (A, B):
        view = view_for(state, viewer)
        assert view["session"]["stopped"] == {"title": "Stopped for today",
                                              "text": "This session has stopped for today."}
        assert view["check"] == {"open": False}


def test_stop_for_today_needs_no_partner_and_works_before_answering():
    state = engine.handle(new_state(), StopForToday(B), T0).state
    assert state.status == engine.ENDED


def test_a_counsellor_cannot_answer_or_stop_the_check_as_a_partner():
    state = new_state(counsellor=True)
    for action in (SubmitCheck(C, "client-cccc", {"answers": CLEAR}), StopForToday(C)):
        with pytest.raises(MendError) as refused:
            engine.handle(state, action, T0)
        assert refused.value.code == "forbidden"


def test_a_gap_asks_again_and_activity_inside_the_gap_does_not():
    state = passed()
    assert not recheck_due(state, T0 + timedelta(hours=11))
    later = T0 + state.recheck_after
    assert recheck_due(state, later)
    reopened = recheck(state, later)
    assert reopened.visible and is_open(reopened.state)
    assert view_for(reopened.state, A)["check"]["round"] == 2
    with pytest.raises(MendError):
        engine.handle(reopened.state, engine.MarkReady(A, "welcome"), later)
    again = answer(answer(reopened.state, A, CLEAR, later).state, B, CLEAR, later).state
    assert not is_open(again)


def test_the_clock_stops_only_a_check_someone_answered():
    state = new_state()
    assert engine.next_deadline(state) is None  # a session waiting for its first answer
    state = answer(state, A, CLEAR).state
    assert engine.next_deadline(state) == T0 + state.recheck_after
    assert engine.handle(state, engine.Tick(), T0 + timedelta(hours=1)).state.status == \
        engine.ACTIVE


def test_a_track_step_of_kind_safety_asks_the_check_again_and_is_passed_by_it():
    track = Track("t", "Talk", "s", 1, (
        Step(id="welcome", kind="info", title="Welcome", body="Hello."),
        Step(id="again", kind="safety", title="Again",
             settings=freeze({"questions": QUESTIONS[:1]})),
        Step(id="end", kind="info", title="End", body="Bye."),
    ))
    state = passed(new_state(track=track))
    state = engine.handle(state, engine.MarkReady(A, "welcome"), T0).state
    moved = engine.handle(state, engine.MarkReady(B, "welcome"), T0)
    state = moved.state
    assert is_open(state) and state.current_step.id == "again"
    # The reopened check is stored with the move (a service persists only effects).
    saved = [e for e in moved.effects if isinstance(e, engine.SessionDataSaved)]
    assert saved and saved[-1].data["check"]["open"] is True
    assert view_for(state, A)["check"]["step"]["id"] == "again"
    state = answer(state, A, {"safe_at_home": "yes"}).state
    state = answer(state, B, {"safe_at_home": "yes"}).state
    assert not is_open(state) and state.current_step.id == "end"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([A]), st.sampled_from(["clear", "concerning",
                                                                 "not_today"])),
                max_size=1),
       st.booleans())
def test_whatever_a_answers_b_is_shown_nothing_until_the_check_resolves(moves, b_first):
    state = new_state(counsellor=True)
    if b_first:
        state = answer(state, B, CLEAR).state
    before = json.dumps(view_for(state, B), sort_keys=True)
    for user, what in moves:
        answers = {"clear": CLEAR, "concerning": CONCERNING, "not_today": NOT_TODAY}[what]
        transition = answer(state, user, answers)
        if not transition.visible:
            assert json.dumps(view_for(transition.state, B), sort_keys=True) == before
        state = transition.state


def test_without_a_check_step_nothing_is_gated():
    state = replace(new_state(), check_step=None)
    engine.handle(state, engine.MarkReady(A, "welcome"), T0)
    assert view_for(state, A)["check"] is None


def test_a_session_stopped_at_the_check_lists_no_step_as_done():
    state = engine.handle(new_state(), StopForToday(A), T0).state
    assert [s["status"] for s in view_for(state, B)["steps"]] == ["locked"] * 3
    # A counsellor's stop mid-session keeps what was done as done, the rest not reached.
    state = passed(new_state(counsellor=True))
    state = engine.handle(state, engine.MarkReady(A, "welcome"), T0).state
    state = engine.handle(state, engine.MarkReady(B, "welcome"), T0).state
    state = engine.handle(state, Moderate(C, "end", None, {}), T0).state
    assert [s["status"] for s in view_for(state, B)["steps"]] == ["done", "locked", "locked"]


def test_a_track_that_opens_with_its_own_check_step_moves_past_it_when_the_check_passes():
    track = Track("t", "Talk", "s", 1, (
        Step(id="own", kind="safety", title="Own", settings=freeze({"questions": QUESTIONS})),
        Step(id="end", kind="info", title="End", body="Bye."),
    ))
    state = passed(new_state(track=track))
    assert not is_open(state) and state.current_step.id == "end"


def test_a_plain_not_today_raises_no_flag_and_a_concern_does():
    state = answer(new_state(counsellor=True), A, NOT_TODAY).state
    assert view_for(state, C)["check"]["flag"] is False
    state = answer(state, B, CONCERNING).state
    assert view_for(state, C)["check"]["flag"] is True
