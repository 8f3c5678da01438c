"""The session rules, on plain data: no server, no database, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.engine import MendError
from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import view_for

T0 = datetime(2026, 11, 26, 12, 0, 0)
A, B = "user-a", "user-b"

TRACK = Track(
    id="test-track",
    title="Test track",
    summary="For tests.",
    version=1,
    steps=(
        Step(id="welcome", kind="info", title="Welcome", body="Hello."),
        Step(id="meaning", kind="prompt", title="Meaning", prompt="What does it mean?",
             answer={"type": "text", "max_length": 100}),
        Step(id="rating", kind="prompt", title="Rating", prompt="How secure?",
             answer={"type": "scale", "min": 1, "max": 10}),
        Step(id="signs", kind="prompt", title="Signs", prompt="Which?",
             answer={"type": "choices", "options": ["x", "y", "z"], "multiple": True}),
    ),
)


def new_state(index: int = 1) -> engine.SessionState:
    return engine.SessionState(
        id="s1",
        track=TRACK,
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
        current_index=index,
        created_at=T0,
    )


def submit(state, user, step="meaning", body="words", fields=None, n=0):
    action = engine.SubmitEntry(user, step, f"e-{user}-{n}", f"client-{user}-{n}", body, fields)
    return engine.handle(state, action, T0 + timedelta(seconds=n))


def test_first_submit_does_not_reveal_and_partner_sees_only_a_status():
    t = submit(new_state(), A, body="SECRET-A")
    assert not any(isinstance(e, engine.StepRevealed) for e in t.effects)
    view = view_for(t.state, B)
    assert "SECRET-A" not in repr(view)
    assert view["steps"][1]["partner_status"] == "submitted"
    assert view["steps"][1]["revealed"] is None


def test_second_submit_reveals_both_answers_once():
    t1 = submit(new_state(), A, body="from A")
    t2 = submit(t1.state, B, body="from B", n=1)
    reveals = [e for e in t2.effects if isinstance(e, engine.StepRevealed)]
    assert len(reveals) == 1
    for viewer in (A, B):
        step = view_for(t2.state, viewer)["steps"][1]
        assert step["status"] == "revealed"
        assert [e["body"] for e in step["revealed"]["entries"]] == ["from A", "from B"]


def test_submitting_again_after_the_partner_submitted_is_a_conflict():
    """Before the partner's submit a new client_id replaces the answer (issue 16; see
    test_answer_change_and_cancel.py); once both are in, the answers stand."""
    t = submit(submit(new_state(), A).state, B, n=1)
    with pytest.raises(MendError) as error:
        submit(t.state, A, n=2)
    assert error.value.code == "conflict"


def test_draft_is_shown_only_to_its_author_and_makes_the_partner_writing():
    t = engine.handle(new_state(), engine.SaveDraft(A, "meaning", "DRAFT-A"), T0)
    assert t.visible and t.state.version == 2
    assert view_for(t.state, A)["steps"][1]["mine"]["draft"]["body"] == "DRAFT-A"
    partner_view = view_for(t.state, B)
    assert "DRAFT-A" not in repr(partner_view)
    assert partner_view["steps"][1]["partner_status"] == "writing"


def test_editing_a_draft_changes_no_one_elses_view():
    t1 = engine.handle(new_state(), engine.SaveDraft(A, "meaning", "one"), T0)
    t2 = engine.handle(t1.state, engine.SaveDraft(A, "meaning", "one two"), T0)
    assert not t2.visible and t2.state.version == t1.state.version


def test_ready_is_refused_before_the_reveal():
    t = submit(new_state(), A)
    with pytest.raises(MendError) as error:
        engine.handle(t.state, engine.MarkReady(A, "meaning"), T0)
    assert error.value.code == "conflict"


def test_both_ready_moves_to_the_next_step_and_finished_steps_stay_readable():
    state = submit(submit(new_state(), A, body="a").state, B, body="b", n=1).state
    state = engine.handle(state, engine.MarkReady(A, "meaning"), T0).state
    assert state.current_index == 1
    t = engine.handle(state, engine.MarkReady(B, "meaning"), T0)
    assert t.state.current_index == 2
    assert any(isinstance(e, engine.StepAdvanced) for e in t.effects)
    done = view_for(t.state, A)["steps"][1]
    assert done["status"] == "done" and len(done["revealed"]["entries"]) == 2


def test_info_step_advances_when_both_continue():
    state = new_state(index=0)
    state = engine.handle(state, engine.MarkReady(A, "welcome"), T0).state
    state = engine.handle(state, engine.MarkReady(B, "welcome"), T0).state
    assert state.current_index == 1


def test_pressing_ready_twice_changes_nothing():
    state = engine.handle(new_state(0), engine.MarkReady(A, "welcome"), T0).state
    again = engine.handle(state, engine.MarkReady(A, "welcome"), T0)
    assert again.effects == () and again.state.version == state.version


def test_last_step_finishes_the_session():
    state = new_state(index=3)
    for n, user in enumerate((A, B)):
        state = submit(state, user, step="signs", body=None, fields={"choices": ["x"]}, n=n).state
    for user in (A, B):
        state = engine.handle(state, engine.MarkReady(user, "signs"), T0).state
    assert state.status == engine.FINISHED
    view = view_for(state, A)
    assert view["session"]["current_step_id"] is None
    assert {s["status"] for s in view["steps"]} == {"done"}


def test_actions_on_other_steps_are_refused():
    with pytest.raises(MendError) as error:
        submit(new_state(), A, step="rating", body=None, fields={"value": 3})
    assert error.value.code == "conflict"
    with pytest.raises(MendError) as error:
        submit(new_state(), A, step="nope")
    assert error.value.code == "not_found"


def test_an_outsider_cannot_act():
    with pytest.raises(MendError) as error:
        submit(new_state(), "someone-else")
    assert error.value.code == "forbidden"


def test_info_steps_take_no_answer():
    with pytest.raises(MendError) as error:
        submit(new_state(0), A, step="welcome")
    assert error.value.code == "invalid"


def test_locked_steps_show_no_personal_data():
    step = view_for(new_state(), A)["steps"][2]
    assert step["status"] == "locked" and step["mine"] is None and step["partner_status"] is None
