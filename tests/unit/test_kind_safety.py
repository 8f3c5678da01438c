"""`safety`: a private check per partner, never revealed in any form, gating every step
after it: no joint work follows a concerning answer or a "not today"."""

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
from server.engine.breaks import PauseSession, ResumeSession
from server.engine.kinds.safety import is_clear
from server.engine.tracks import Step, Track, freeze
from server.engine.visibility import summary_for, view_for

A, B, C = "user-a", "user-b", "user-c"
T0 = datetime(2026, 11, 27, 9, 0, 0)

QUESTIONS = [
    {"id": "safe_at_home", "text": "Do you feel safe at home?",
     "options": [{"id": "yes", "label": "Yes"},
                 {"id": "not_sure", "label": "I'm not sure", "clear": False},
                 {"id": "no", "label": "No", "clear": False}]},
    {"id": "afraid", "text": "Have you felt afraid, intimidated or controlled?",
     "options": [{"id": "no", "label": "No"},
                 {"id": "sometimes", "label": "Sometimes", "clear": False},
                 {"id": "yes", "label": "Yes", "clear": False}]},
    {"id": "continue_today", "text": "Do you want to carry on together today?",
     "options": [{"id": "yes", "label": "Yes"},
                 {"id": "not_today", "label": "Not today", "clear": False, "help": False}]},
]
CLEAR = {"safe_at_home": "yes", "afraid": "no", "continue_today": "yes"}
AFRAID = {**CLEAR, "afraid": "yes"}
NOT_TODAY = {**CLEAR, "continue_today": "not_today"}


def track(gated_kind: str = "prompt", requires: bool = False, next_kind: str = "prompt",
          welcome: bool = False) -> Track:
    talk = Step(id="talk", kind=next_kind, title="Talk", body="Together now.") \
        if next_kind == "info" else \
        Step(id="talk", kind=next_kind, title="Talk", prompt="Say.",
             answer=freeze({"type": "text", "max_length": 500}))
    return Track("repair", "Repair", "r", 1, (
        *([Step(id="welcome", kind="info", title="Welcome", body="Hello.")] if welcome else []),
        Step(id="check", kind="safety", title="Just for you",
             settings=freeze({"questions": QUESTIONS})),
        talk,
        Step(id="repair", kind=gated_kind, title="Repair", prompt="Repair.",
             answer=freeze({"type": "text", "max_length": 500}),
             settings=freeze({"requires_safety": True}) if requires else None),
        Step(id="end", kind="info", title="End", body="Bye."),
    ))


def start(t: Track | None = None, counsellor: bool = False) -> engine.SessionState:
    people = [engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner")]
    if counsellor:
        people.append(engine.Participant(C, "Cleo", "counsellor"))
    return engine.SessionState(id="s1", track=t or track(requires=True),
                               participants=tuple(people), created_at=T0)


def answer(state, who, answers, n=0, now=T0):
    return engine.handle(state, engine.SubmitEntry(who, "check", f"e{who}{n}", f"c{who}{n}",
                                                   None, {"answers": answers}), now)


def ready_all(state, step_id, now=T0):
    for who in (A, B):
        state = engine.handle(state, engine.MarkReady(who, step_id), now).state
    return state


def walk(a_answers, b_answers=CLEAR, t=None) -> engine.SessionState:
    """Both answer the check and press continue on it: the session moves into the step
    after the check, or stops there."""
    state = answer(answer(start(t), A, a_answers).state, B, b_answers).state
    return ready_all(state, "check")


def code(fn) -> str:
    with pytest.raises(MendError) as info:
        fn()
    return info.value.code


def test_answers_must_be_the_offered_options_for_every_question():
    state = start()
    assert code(lambda: answer(state, A, {"safe_at_home": "yes"})) == "invalid"
    assert code(lambda: answer(state, A, {**CLEAR, "afraid": "maybe"})) == "invalid"
    assert code(lambda: answer(state, A, {**CLEAR, "other": "yes"})) == "invalid"
    assert code(lambda: engine.handle(state, engine.SubmitEntry(
        A, "check", "e", "c", "text", {"answers": CLEAR}), T0)) == "invalid"
    assert code(lambda: engine.handle(state, engine.SubmitEntry(
        A, "check", "e", "c", skip=True), T0)) == "invalid"
    done = answer(state, A, CLEAR).state
    assert code(lambda: answer(done, A, CLEAR, n=1)) == "conflict"


def test_the_author_sees_their_answers_and_whether_help_is_offered():
    state = answer(start(), A, AFRAID).state
    mine = view_for(state, A)["steps"][0]["mine"]
    assert mine["entry"]["fields"] == {"answers": AFRAID}
    assert mine["clear"] is False and mine["help"] is True
    not_today = view_for(answer(start(), A, NOT_TODAY).state, A)["steps"][0]["mine"]
    assert not_today["clear"] is False and not_today["help"] is False
    ok = view_for(answer(start(), A, CLEAR).state, A)["steps"][0]["mine"]
    assert ok["clear"] is True and ok["help"] is False


def test_drafts_are_never_visible_to_the_partner_not_even_as_writing():
    state = start()
    t = engine.handle(state, engine.SaveDraft(A, "check", None, {"answers": {"afraid": "yes"}}),
                      T0)
    assert not t.visible and t.state.version == state.version
    assert view_for(t.state, B) == view_for(state, B)
    assert view_for(t.state, A)["steps"][0]["mine"]["draft"]["fields"] == {
        "answers": {"afraid": "yes"}}


def test_nothing_is_ever_revealed_and_moving_on_waits_for_both():
    state = answer(start(), A, CLEAR).state
    assert view_for(state, B)["steps"][0]["partner_status"] == "submitted"
    assert code(lambda: engine.handle(state, engine.MarkReady(A, "check"), T0)) == "conflict"
    state = answer(state, B, CLEAR).state
    step = view_for(state, A)["steps"][0]
    assert step["revealed"] is None and step["status"] == "open"
    assert code(lambda: engine.handle(
        state, engine.StepAction(A, "check", "acknowledge", {"ack": "thanks"}), T0)) == "invalid"
    moved = ready_all(state, "check")
    assert moved.status == engine.ACTIVE and moved.current_step.id == "talk"


CONCERNING = [AFRAID, NOT_TODAY, {**CLEAR, "safe_at_home": "not_sure"}]


def _partner_views(answers, last_ready: bool = True) -> list:
    state, views = start(), []
    moves = [engine.SaveDraft(A, "check", None, {"answers": {"afraid": answers["afraid"]}}),
             engine.SubmitEntry(A, "check", "e1", "c1", None, {"answers": answers}),
             engine.SubmitEntry(B, "check", "e2", "c2", None, {"answers": CLEAR}),
             engine.MarkReady(A, "check"), engine.MarkReady(B, "check")]
    for t in moves if last_ready else moves[:-1]:
        result = engine.handle(state, t, T0)
        state = result.state
        views.append((result.visible, state.version,
                      json.dumps(view_for(state, B), sort_keys=True),
                      json.dumps(summary_for(state, B), sort_keys=True)))
    return views


@pytest.mark.parametrize("a_answers", CONCERNING)
def test_partner_views_are_identical_whatever_was_answered_up_to_and_including_the_stop(
        a_answers):
    # Until the move on, a concerning answer and a clear one look the same to B...
    assert _partner_views(a_answers, last_ready=False) == _partner_views(CLEAR, last_ready=False)
    # ...and the stop itself looks the same whichever concerning answer it was.
    stopped = _partner_views(a_answers)
    assert stopped == _partner_views(AFRAID)
    assert '"status": "ended"' in stopped[-1][2]


@pytest.mark.parametrize("next_kind", ["prompt", "info", "checkin", "listening"])
def test_the_step_after_the_check_starts_only_when_both_checks_are_clear(next_kind):
    t = track(next_kind=next_kind) if next_kind in ("prompt", "info") else Track(
        "repair", "Repair", "r", 1, (track().steps[0],
                                     Step(id="talk", kind=next_kind, title="Talk",
                                          prompt="Say."),
                                     *track().steps[2:]))
    clear = walk(CLEAR, CLEAR, t)
    assert clear.status == engine.ACTIVE and clear.current_step.id == "talk"
    assert clear.finished_at is None
    for a, b in ((AFRAID, CLEAR), (CLEAR, AFRAID), (NOT_TODAY, CLEAR), (CLEAR, NOT_TODAY)):
        stopped = walk(a, b, t)
        assert stopped.status == engine.ENDED and stopped.finished_at == T0
        assert stopped.current_index == t.step_index("check")
        assert not any(step_id != "check" for step_id, _ in stopped.entries)


@pytest.mark.parametrize("gated", [("apology", False), ("boundary", False), ("prompt", True),
                                   ("prompt", False)])
def test_with_both_checks_clear_the_session_moves_on_through_every_later_step(gated):
    t = track(*gated)
    state = walk(CLEAR, CLEAR, t)
    assert state.current_step.id == "talk"
    for who in (A, B):
        state = engine.handle(state, engine.SubmitEntry(who, "talk", f"t{who}", f"t{who}c",
                                                        "words"), T0).state
    state = ready_all(state, "talk")
    assert state.status == engine.ACTIVE and state.current_step.id == "repair"


def test_a_later_step_is_held_back_too_when_the_checks_are_not_clear():
    # Defence in depth: should a session ever sit past the check with a concerning answer
    # on record (answers cannot change, so only a hand-built state can), it still stops.
    state = answer(answer(start(), A, CLEAR).state, B, CLEAR).state
    state = ready_all(state, "check")
    entries = dict(state.entries)
    entries[("check", A)] = replace(entries[("check", A)], fields={"answers": AFRAID})
    state = replace(state, entries=entries)
    for who in (A, B):
        state = engine.handle(state, engine.SubmitEntry(who, "talk", f"t{who}", f"t{who}c",
                                                        "words"), T0).state
    stopped = ready_all(state, "talk")
    assert stopped.status == engine.ENDED
    assert stopped.current_index == stopped.track.step_index("talk")


def test_steps_before_the_check_are_not_held_back():
    t = track(welcome=True)
    state = ready_all(start(t), "welcome")
    assert state.status == engine.ACTIVE and state.current_step.id == "check"


def test_the_stop_reads_the_same_to_the_partner_whatever_the_cause():
    """B's view when A reported fear equals B's view when A only said 'not today'."""
    afraid, not_today = walk(AFRAID), walk(NOT_TODAY)
    assert afraid.status == not_today.status == engine.ENDED
    assert json.dumps(view_for(afraid, B), sort_keys=True) == \
        json.dumps(view_for(not_today, B), sort_keys=True)
    assert summary_for(afraid, B) == summary_for(not_today, B)
    assert afraid.session_data == not_today.session_data == {}


def test_the_neutral_way_out_is_an_ordinary_break_without_a_reason():
    # "Let's stop here for today" calls the same break: the partner sees what any break shows.
    ordinary = engine.handle(answer(start(), A, CLEAR).state, PauseSession(A), T0).state
    after_fear = engine.handle(answer(start(), A, AFRAID).state, PauseSession(A), T0).state
    assert view_for(ordinary, B) == view_for(after_fear, B)
    back = engine.handle(after_fear, ResumeSession(B), T0).state
    assert engine.handle(back, ResumeSession(A), T0).state.session_data == {}


def test_summaries_leave_the_check_out_for_everyone_and_the_counsellor_sees_nothing():
    state = answer(answer(start(counsellor=True), A, AFRAID).state, B, CLEAR).state
    for viewer in (A, B, C):
        assert summary_for(state, viewer)["steps"] == []
    step = view_for(state, C)["steps"][0]
    assert step["mine"] is None and step["partner_status"] is None


# --- property: nothing of a safety answer reaches the partner, in any order ------------------

MOVES = ["answer", "answer", "draft", "ready", "ready", "pause", "back", "tick", "talk"]
ANSWER_SETS = [CLEAR, AFRAID, NOT_TODAY, {**CLEAR, "safe_at_home": "no"}]
PATTERN = re.compile(r"safe_at_home|afraid|continue_today|not_today|not_sure|sometimes|"
                     r"\"answers\"|\"clear\"|\"help\"")


def _partner_bytes(state, viewer) -> str:
    return json.dumps(view_for(state, viewer), sort_keys=True) + \
        json.dumps(summary_for(state, viewer), sort_keys=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MOVES), st.sampled_from((A, B)),
                          st.integers(0, len(ANSWER_SETS) - 1)), min_size=5, max_size=40),
       st.integers(0, len(ANSWER_SETS) - 1), st.integers(0, len(ANSWER_SETS) - 1))
def test_safety_answers_and_break_reasons_never_reach_the_other_partner(sequence, one, other):
    """Run the same moves twice with A's safety answers differing: B's views and summaries
    are byte-identical at every move until the session leaves the check, and at that move
    too when both runs' answers are alike (both clear or both not); they never carry A's
    answers or A's break reasons."""
    check = start().track.steps[0]

    def run(a_choice: int) -> list:
        state, seen = start(), []
        for n, (move, who, pick) in enumerate(sequence):
            now = T0 + timedelta(minutes=n)
            step = state.current_step
            chosen = ANSWER_SETS[a_choice if who == A else pick]
            action = {
                "answer": engine.SubmitEntry(who, step.id, f"e{n}", f"c{n}", None,
                                             {"answers": chosen}),
                "draft": engine.SaveDraft(who, step.id, None, {"answers": {"afraid": "yes"}}),
                "ready": engine.MarkReady(who, step.id),
                "pause": PauseSession(who, None, f"WHY{n}{who}"),
                "back": ResumeSession(who),
                "tick": engine.Tick(),
                "talk": engine.SubmitEntry(who, step.id, f"t{n}", f"tc{n}", "words"),
            }[move]
            try:
                result = engine.handle(state, action, now)
            except MendError as error:
                seen.append(("refused", error.code))
                continue
            state = result.state
            view = view_for(state, B)
            summary = summary_for(state, B)
            for_b = json.dumps(view, sort_keys=True) + json.dumps(summary, sort_keys=True)
            assert not re.search(r"WHY\d+user-a", for_b)
            view["steps"][0]["mine"] = None  # B's own answers may show B's own choices
            for part in view["steps"]:
                part.pop("settings")  # the questions themselves are public content
            assert not PATTERN.search(json.dumps(view)), "a safety answer reached B"
            if state.status != engine.ACTIVE or state.current_index >= 1:
                # Left the check: moved on (both clear) or stopped for today.
                seen.append(("left the check", result.visible, state.version, for_b))
                break
            seen.append((result.visible, state.version, for_b))
        return seen

    first, second = run(one), run(other)
    if is_clear(check, {"answers": ANSWER_SETS[one]}) != \
            is_clear(check, {"answers": ANSWER_SETS[other]}):
        # By design one run moves on and the other stops: compare up to that move.
        first = [s if s[0] != "left the check" else s[0] for s in first]
        second = [s if s[0] != "left the check" else s[0] for s in second]
    assert first == second


# --- content: the loader's checks --------------------------------------------------------


def _track_file(tmp_path, steps: list, *, session_check: bool = True) -> str:
    """Load the shipped content with one track made of `steps` (and without content/
    check.yaml, the private check that opens every session, when `session_check` is off);
    the loader's complaint, or "" when it takes it."""
    import shutil

    import yaml

    from server.config import PROJECT_ROOT
    from server.content import ContentError, load_library

    content = tmp_path / "content"
    shutil.rmtree(content, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "content", content)
    for old in (content / "tracks").glob("*.yaml"):
        old.unlink()
    (content / "track-order.txt").unlink(missing_ok=True)
    if not session_check:
        (content / "check.yaml").unlink()
    (content / "tracks" / "t.yaml").write_text(yaml.safe_dump(
        {"id": "t", "title": "T", "summary": "A test.", "version": 1, "steps": steps}))
    try:
        load_library(content)
    except ContentError as error:
        return str(error)
    return ""


SAFETY_STEP = {"id": "check", "kind": "safety", "title": "Just for you",
               "settings": {"questions": QUESTIONS}}
GATED = {"id": "sorry", "kind": "apology", "title": "An apology", "prompt": "About last week."}


def test_the_loader_takes_a_safety_step_and_a_gated_step_after_it(tmp_path):
    assert _track_file(tmp_path, [SAFETY_STEP, GATED]) == ""


def test_the_loader_refuses_repeated_ids_and_a_gated_step_with_no_check_before_it(tmp_path):
    twice = {**SAFETY_STEP, "settings": {"questions": [QUESTIONS[0], QUESTIONS[0]]}}
    assert "two questions with the same id" in _track_file(tmp_path, [twice])
    repeated = dict(QUESTIONS[0], options=[QUESTIONS[0]["options"][0]] * 2)
    same = {**SAFETY_STEP, "settings": {"questions": [repeated]}}
    assert "repeats an option id" in _track_file(tmp_path, [same])
    nothing = {**SAFETY_STEP, "settings": {}}
    assert "questions" in _track_file(tmp_path, [nothing])
    # Without the private check that opens every session, a gated step needs a safety step
    # of its own before it; with it (the shipped content), that check comes first anyway.
    assert "no safety step before it" in _track_file(tmp_path, [GATED, SAFETY_STEP],
                                                     session_check=False)
    assert "no safety step before it" in _track_file(tmp_path, [GATED], session_check=False)
    assert _track_file(tmp_path, [GATED, SAFETY_STEP]) == ""
    assert _track_file(tmp_path, [GATED]) == ""
