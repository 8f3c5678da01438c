"""The `appreciation` kind on plain data: text, skippable by default, revealed together."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from server.engine import MendError
from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"
PEOPLE = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))
THANKS = Step(id="thanks", kind="appreciation", title="Thanks", prompt="What did you value?")
REQUIRED = Step(id="must", kind="appreciation", title="Must", prompt="P",
                answer={"type": "text", "max_length": 40}, settings={"required": True})


def session(step: Step) -> engine.SessionState:
    track = Track(id="t", title="T", summary="S.", version=1, steps=(step,))
    return engine.SessionState(id="s1", track=track, participants=PEOPLE, created_at=T0)


def submit(state, user, body=None, skip=False):
    step_id = state.track.steps[0].id
    return engine.handle(state, engine.SubmitEntry(user, step_id, f"e-{user}", f"c-{user}",
                                                   body, None, skip), T0)


def code(fn) -> str:
    with pytest.raises(MendError) as error:
        fn()
    return error.value.code


def test_skippable_by_default_and_the_view_says_so():
    state = session(THANKS)
    view = view_for(state, A)["steps"][0]
    assert view["optional"] is True
    assert view["answer"] == {"type": "text", "max_length": 1000}
    t = submit(submit(state, A, skip=True).state, B, "You made tea when I was tired.")
    assert THANKS.id in t.state.reveals
    entries = view_for(t.state, A)["steps"][0]["revealed"]["entries"]
    assert [e["skipped"] for e in entries] == [True, False]


def test_required_when_the_track_says_so_with_its_own_limit():
    state = session(REQUIRED)
    assert view_for(state, A)["steps"][0]["optional"] is False
    assert code(lambda: submit(state, A, skip=True)) == "invalid"
    assert code(lambda: submit(state, A, "x" * 41)) == "too_large"
    assert code(lambda: submit(state, A, " ")) == "invalid"
    assert code(lambda: submit(state, A, None)) == "invalid"


def test_private_until_both_are_in():
    state = submit(session(THANKS), A, "MARK-thanks").state
    assert "MARK-thanks" not in json.dumps(view_for(state, B)) + json.dumps(summary_for(state, B))
    state = submit(state, B, "Yours too").state
    assert "MARK-thanks" in json.dumps(view_for(state, B))
    assert summary_for(state, B)["steps"][0]["answer"]["max_length"] == 1000
