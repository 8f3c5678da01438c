"""The step-kind registry and the kinds ported to it, on plain data (no server, no clock)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.kinds import REGISTRY, StepKind, kind_of, register
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"

TRACK = Track(
    id="arc", title="Arc", summary="For tests.", version=3,
    steps=(
        Step(id="welcome", kind="info", title="Welcome", body="Hello."),
        Step(id="mood", kind="prompt", title="Mood", prompt="How close?",
             answer={"type": "scale", "min": 1, "max": 10}),
        Step(id="story", kind="prompt", title="Story", prompt="Where from?", optional=True,
             answer={"type": "text", "max_length": 200}, followup="What surprised you?"),
        Step(id="signs", kind="prompt", title="Signs", prompt="Which?",
             answer={"type": "choices", "options": ["x", "y", "none"], "multiple": True,
                     "exclusive": ["none"]}),
        Step(id="closing", kind="closing", title="Closing", prompt="One thing you take?",
             answer={"type": "closing", "reflection": {"max_length": 100},
                     "scale": {"min": 1, "max": 10}, "compare_with": "mood"}),
    ),
)


def state_at(step_id: str = "welcome", **changes) -> engine.SessionState:
    state = engine.SessionState(
        id="s1", track=TRACK,
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
        current_index=TRACK.step_index(step_id), created_at=T0,
    )
    return replace(state, **changes)


def submit(state, user, step, body=None, fields=None, skip=False, n=0):
    action = engine.SubmitEntry(user, step, f"e-{user}-{step}-{n}", f"c-{user}-{step}-{n}",
                                body, fields, skip)
    return engine.handle(state, action, T0 + timedelta(seconds=n))


def error_code(fn) -> str:
    with pytest.raises(MendError) as error:
        fn()
    return error.value.code


# --- the registry ------------------------------------------------------------------------


def test_every_shipped_kind_is_registered_once():
    assert {"info", "prompt", "closing"} <= set(REGISTRY)
    for name, kind in REGISTRY.items():
        assert isinstance(kind, StepKind) and kind.name == name


def test_a_kind_cannot_be_registered_twice_and_unknown_kinds_are_refused():
    with pytest.raises(ValueError):
        @register
        class AnotherPrompt(StepKind):
            name = "prompt"
    with pytest.raises(ValueError):
        kind_of(Step(id="x", kind="no-such-kind", title="X"))


def test_takes_answer_comes_from_the_registry():
    assert [s.takes_answer for s in TRACK.steps] == [False, True, True, True, True]


# --- skip ----------------------------------------------------------------------------------


def test_an_optional_step_can_be_skipped_and_the_reveal_says_so():
    state = submit(state_at("story"), A, "story", skip=True).state
    state = submit(state, B, "story", body="my story", n=1).state
    revealed = view_for(state, B)["steps"][2]["revealed"]["entries"]
    assert [(e["user_id"], e["skipped"], e["body"]) for e in revealed] == [
        (A, True, None), (B, False, "my story")]


def test_skip_ignores_words_sent_with_it():
    state = submit(state_at("story"), A, "story", body="SECRET", skip=True).state
    assert state.entries[("story", A)].body is None


def test_a_required_step_cannot_be_skipped():
    assert error_code(lambda: submit(state_at("mood"), A, "mood", skip=True)) == "invalid"


# --- exclusive options ---------------------------------------------------------------------


def test_an_exclusive_option_cannot_be_chosen_with_others():
    bad = {"choices": ["x", "none"]}
    assert error_code(lambda: submit(state_at("signs"), A, "signs", fields=bad)) == "invalid"
    ok = submit(state_at("signs"), A, "signs", fields={"choices": ["none"]})
    assert ok.state.entries[("signs", A)].fields == {"choices": ["none"]}
    # a draft is held to the same rule: it is what would be submitted
    draft = engine.SaveDraft(A, "signs", None, bad)
    assert error_code(lambda: engine.handle(state_at("signs"), draft, T0)) == "invalid"


# --- acknowledgements ----------------------------------------------------------------------


def revealed_story():
    state = submit(state_at("story"), A, "story", body="a", n=0).state
    return submit(state, B, "story", body="b", n=1).state


def ack(state, user, value, step="story"):
    return engine.handle(state, engine.StepAction(user, step, "acknowledge", {"ack": value}), T0)


def test_an_acknowledgement_needs_the_reveal_and_a_known_word():
    before = submit(state_at("story"), A, "story", body="a").state
    assert error_code(lambda: ack(before, B, "thanks")) == "conflict"
    assert error_code(lambda: ack(revealed_story(), B, "whatever")) == "invalid"


def test_an_acknowledgement_is_shown_to_both_and_can_change():
    state = revealed_story()
    t = ack(state, B, "thanks")
    assert t.visible and t.state.version == state.version + 1
    assert isinstance(t.effects[0], engine.StepStateSaved)
    for viewer in (A, B):
        assert [(x["user_id"], x["ack"]) for x in view_for(t.state, viewer)["steps"][2]["acks"]] \
            == [(B, "thanks")]
    same = ack(t.state, B, "thanks")
    assert not same.visible and same.state.version == t.state.version
    changed = ack(t.state, B, "hear_you")
    assert view_for(changed.state, A)["steps"][2]["acks"][0]["ack"] == "hear_you"


def test_info_steps_accept_no_kind_actions():
    assert error_code(lambda: ack(state_at("welcome"), A, "thanks", step="welcome")) == "invalid"


# --- closing --------------------------------------------------------------------------------


def test_closing_takes_a_reflection_and_a_scale_set_beside_the_earlier_one():
    state = submit(state_at("mood"), A, "mood", fields={"value": 3}).state
    state = submit(state, B, "mood", fields={"value": 8}, n=1).state
    state = replace(state, current_index=TRACK.step_index("closing"))
    assert error_code(lambda: submit(state, A, "closing", body="x")) == "invalid"  # no scale
    state = submit(state, A, "closing", body="closer", fields={"value": 6}, n=2).state
    view = view_for(state, A)["steps"][4]
    assert view["compare"] == {"step_id": "mood", "title": "Mood",
                               "entries": [{"user_id": A, "value": 3}, {"user_id": B, "value": 8}]}
    assert view["mine"]["entry"]["body"] == "closer"


def test_closing_compare_hides_a_partners_unrevealed_earlier_value():
    state = submit(state_at("mood"), A, "mood", fields={"value": 3}).state
    state = submit(state, B, "mood", fields={"value": 8}, n=1).state
    state = replace(state, reveals={}, current_index=TRACK.step_index("closing"))
    assert view_for(state, A)["steps"][4]["compare"]["entries"] == [{"user_id": A, "value": 3}]


def test_finishing_the_last_step_records_when():
    state = state_at("closing")
    for n, user in enumerate((A, B)):
        state = submit(state, user, "closing", fields={"value": 5}, n=n).state
    later = T0 + timedelta(minutes=5)
    for user in (A, B):
        state = engine.handle(state, engine.MarkReady(user, "closing"), later).state
    assert state.status == engine.FINISHED and state.finished_at == later
    assert view_for(state, A)["session"]["finished_at"] == "2026-11-27T09:05:00.000Z"


# --- time -----------------------------------------------------------------------------------


def test_a_tick_ends_a_break_when_it_is_due_and_not_before():
    until = T0 + timedelta(minutes=20)
    state = state_at("story", paused_until=until)
    assert engine.next_deadline(state) == until
    early = engine.handle(state, engine.Tick(), until - timedelta(seconds=1))
    assert not early.visible and early.state is state
    due = engine.handle(state, engine.Tick(), until)
    assert due.state.paused_until is None and due.state.version == state.version + 1
    assert isinstance(due.effects[0], engine.PauseEnded)
    assert engine.next_deadline(due.state) is None


def test_during_a_break_submits_are_refused_and_drafts_keep_saving():
    state = state_at("story", paused_until=T0 + timedelta(minutes=20))
    assert error_code(lambda: submit(state, A, "story", body="x")) == "paused"
    assert engine.handle(state, engine.SaveDraft(A, "story", "kept"), T0).effects


# --- summaries ------------------------------------------------------------------------------


def test_a_summary_holds_revealed_answers_and_the_viewers_own_only():
    state = revealed_story()
    state = engine.handle(state, engine.MarkReady(A, "story"), T0).state
    state = engine.handle(state, engine.MarkReady(B, "story"), T0).state
    state = submit(state, A, "signs", fields={"choices": ["x"]}, n=5).state
    state = engine.handle(state, engine.SaveDraft(B, "signs", None, {"choices": ["y"]}), T0).state
    for_b, for_a = summary_for(state, B), summary_for(state, A)
    assert [s["id"] for s in for_b["steps"]] == ["story"]
    assert [s["id"] for s in for_a["steps"]] == ["story", "signs"]
    assert for_a["steps"][1]["revealed"] is False
    assert [a["user_id"] for a in for_a["steps"][1]["answers"]] == [A]  # not B's draft


# --- privacy over random sequences, with the new actions ----------------------------------

ACTIONS = ["draft"] * 2 + ["submit"] * 3 + ["skip", "ack", "ready", "ready", "tick"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from((A, B)), st.booleans()),
                min_size=20, max_size=80))
def test_no_words_leak_through_views_or_summaries_whatever_is_done(sequence):
    state = state_at("welcome", paused_until=T0 + timedelta(seconds=30))
    written: dict[str, list[tuple[str, str]]] = {A: [], B: []}
    reveals: Counter[str] = Counter()
    for n, (what, user, flag) in enumerate(sequence):
        now = T0 + timedelta(seconds=n * 2)
        step = state.current_step
        if step is None:
            break
        marker = f"M{n}{user}{step.id}"
        spec = step.answer or {}
        body, fields = None, None
        if spec.get("type") in ("text", "closing"):
            body = marker if (flag or what == "submit") else ""
        if spec.get("type") == "scale" or spec.get("type") == "closing":
            fields = {"value": 4}
        if spec.get("type") == "choices":
            fields = {"choices": ["none"] if flag else ["x", "y"]}
        action = {
            "draft": engine.SaveDraft(user, step.id, body, fields),
            "submit": engine.SubmitEntry(user, step.id, f"e{n}", f"c{n}", body, fields),
            "skip": engine.SubmitEntry(user, step.id, f"e{n}", f"c{n}", body, fields, skip=True),
            "ack": engine.StepAction(user, step.id, "acknowledge",
                                     {"ack": "thanks" if flag else "hear_you"}),
            "ready": engine.MarkReady(user, step.id),
            "tick": engine.Tick(),
        }[what]
        try:
            t = engine.handle(state, action, now)
        except MendError:
            continue
        state = t.state
        reveals.update(e.step_id for e in t.effects if isinstance(e, engine.StepRevealed))
        if isinstance(action, engine.SaveDraft | engine.SubmitEntry) and body == marker:
            written[user].append((step.id, marker))
        for viewer in (A, B):
            other = B if viewer == A else A
            text = json.dumps(view_for(state, viewer)) + json.dumps(summary_for(state, viewer))
            for step_id, words in written[other]:
                entry = state.entries.get((step_id, other))
                visible = step_id in state.reveals and entry is not None and entry.body == words
                assert (words in text) == visible, f"{viewer} and {other}'s words on {step_id}"
    assert all(count == 1 for count in reveals.values())


# --- roles ------------------------------------------------------------------------------------

C = "user-c"


def with_counsellor(state):
    return replace(state, participants=state.participants
                   + (engine.Participant(C, "Cam", "counsellor"),))


def test_a_counsellor_sees_no_drafts_and_no_words_before_the_reveal():
    state = with_counsellor(state_at("story"))
    state = engine.handle(state, engine.SaveDraft(A, "story", "DRAFT-A"), T0).state
    state = submit(state, B, "story", body="ENTRY-B").state
    view = view_for(state, C)
    assert view["viewer"]["role"] == "counsellor"
    assert "DRAFT-A" not in json.dumps(view) and "ENTRY-B" not in json.dumps(view)
    assert view["steps"][2]["mine"] is None
    state = submit(state, A, "story", body="ENTRY-A", n=1).state
    revealed = view_for(state, C)["steps"][2]["revealed"]["entries"]
    assert [e["body"] for e in revealed] == ["ENTRY-A", "ENTRY-B"]


def test_a_counsellor_cannot_act_as_a_partner_and_is_not_waited_for():
    state = with_counsellor(state_at("welcome"))
    for action in (engine.MarkReady(C, "welcome"), engine.SaveDraft(C, "story", "x")):
        assert error_code(lambda a=action: engine.handle(state, a, T0)) == "forbidden"
    for user in (A, B):  # the two partners are enough to move on
        state = engine.handle(state, engine.MarkReady(user, "welcome"), T0).state
    assert state.current_step.id == "mood"
