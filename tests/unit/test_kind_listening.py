"""The `listening` kind: every rule of the speaker-listener exercise, on plain data."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.kinds.listening import MOVES, SPOKEN, allowed, current
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"


def track(**settings_) -> Track:
    return Track(
        id="talk", title="Talk", summary="For tests.", version=1,
        steps=(
            Step(id="listen", kind="listening", title="Listen", prompt="What's on your mind?",
                 settings={"turn_minutes": 3, "max_extensions": 2, "max_loops": 3,
                           "max_chars": 200, **settings_}),
            Step(id="after", kind="info", title="After", body="Done."),
        ),
    )


def start(**settings_) -> engine.SessionState:
    return engine.SessionState(
        id="s1", track=track(**settings_),
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
        created_at=T0,
    )


class Run:
    """A session driven move by move, with a clock that advances a second per move."""

    def __init__(self, state: engine.SessionState) -> None:
        self.state = state
        self.n = 0
        self.now = T0

    def move(self, user: str, name: str, body: str | None = None, fields=None):
        self.n += 1
        self.now += timedelta(seconds=1)
        action = engine.SubmitTurn(user, "listen", f"t{self.n}", f"client-{self.n}", name,
                                   body, fields)
        transition = engine.handle(self.state, action, self.now)
        self.state = transition.state
        return transition

    def refused(self, user: str, name: str, body: str | None = "words", fields=None) -> str:
        before = self.state
        with pytest.raises(MendError) as error:
            self.move(user, name, body, fields)
        assert self.state is before
        return error.value.code

    @property
    def data(self):
        return current(self.state, self.state.track.steps[0])

    def round(self, speaker: str, listener: str, corrections: int = 0, heard="yes") -> None:
        self.move(listener, "ready")
        self.move(speaker, "share", f"I feel tired when ({speaker})")
        for i in range(corrections):
            self.move(listener, "mirror", f"What I hear is {i}")
            self.move(speaker, "correct", f"Not quite {i}")
        self.move(listener, "mirror", "What I hear is, you feel tired")
        if self.data["expect"] == "confirm":
            self.move(speaker, "confirm")
        self.move(listener, "validate", "It makes sense that you feel tired")
        self.move(listener, "empathise", "I imagine you feel alone")
        self.move(speaker, "heard", fields={"heard": heard})


def opened(first: str = A) -> Run:
    run = Run(start())
    run.move(first, "speak_first")
    return run


# --- the opening ---------------------------------------------------------------------------


def test_first_to_ask_speaks_first_and_the_listener_agrees_before_the_speaker_starts():
    run = Run(start())
    assert set(allowed(run.state, run.data, run.state.track.steps[0], A)) == {
        "speak_first", "not_yet"}
    run.move(B, "speak_first")
    assert (run.data["speaker"], run.data["listener"], run.data["floor"]) == (B, A, A)
    # The speaker can't start before the listener says now is a good time.
    assert run.refused(B, "share") == "not_your_turn"
    assert run.refused(A, "speak_first") == "conflict"
    run.move(A, "ready")
    assert run.data["phase"] == "speaking"
    assert (run.data["floor"], run.data["expect"]) == (B, "share")


def test_slot_order_picks_the_first_partner_without_asking():
    run = Run(start(first_speaker="slot"))
    assert (run.data["speaker"], run.data["floor"], run.data["expect"]) == (A, B, "ready")
    assert run.refused(A, "speak_first") == "not_your_turn"
    run.move(B, "ready")
    assert run.data["floor"] == A


def test_not_yet_is_a_recorded_choice_not_an_error_by_either_partner():
    run = opened(A)
    transition = run.move(B, "not_yet")
    run.move(A, "not_yet")
    assert [n["user_id"] for n in run.data["not_yet"]] == [B, A]
    assert any(isinstance(e, engine.TurnRecorded) for e in transition.effects)
    # Still opening: the listener may agree later.
    run.move(B, "ready")
    assert run.data["phase"] == "speaking"
    # Once the round is under way "not yet" isn't a move (the break is).
    assert run.refused(B, "not_yet") == "not_your_turn"
    assert run.refused(A, "not_yet") == "conflict"


# --- a round, and only the floor holder moves ------------------------------------------------


def test_a_full_round_in_order_with_not_your_turn_for_every_wrong_mover():
    run = opened(A)
    run.move(B, "ready")
    order = [(A, "share"), (B, "mirror"), (A, "confirm"), (B, "validate"), (B, "empathise"),
             (A, "heard")]
    for holder, name in order:
        other = B if holder == A else A
        assert run.data["floor"] == holder
        # Every move the other partner might try is refused as not their turn.
        for attempt in MOVES:
            assert run.refused(other, attempt, fields={"heard": "yes"}) == "not_your_turn"
        # The holder can't jump ahead either.
        for attempt in SPOKEN:
            if attempt not in (name, "correct" if name == "confirm" else name):
                assert run.refused(holder, attempt, fields={"heard": "yes"}) == "conflict"
        run.move(holder, name, "words" if name not in ("confirm", "heard") else None,
                 {"heard": "yes"} if name == "heard" else None)
    assert run.data["rounds"] == [{"speaker": A, "listener": B, "heard": "yes", "loops": 1}]


def test_the_listener_has_no_move_to_answer_back():
    run = opened(A)
    run.move(B, "ready")
    run.move(A, "share", "I feel unheard when plans change")
    # Listener may mirror only; no rebuttal move exists at all.
    assert run.refused(B, "rebut", "But you also...") == "invalid"
    assert run.refused(B, "reply", "But you also...") == "invalid"
    assert set(allowed(run.state, run.data, run.state.track.steps[0], B)) == {"mirror", "extend"}


def test_moves_need_words_and_stay_short():
    run = opened(A)
    run.move(B, "ready")
    assert run.refused(A, "share", "   ") == "invalid"
    assert run.refused(A, "share", None) == "invalid"
    assert run.refused(A, "share", "x" * 201) == "invalid"
    assert run.refused(A, "share", 5) == "invalid"
    run.move(A, "share", "x" * 200)
    run.move(B, "mirror", "heard")
    run.move(A, "confirm")
    run.move(B, "validate", "makes sense")
    run.move(B, "empathise", "imagine")
    assert run.refused(A, "heard", None, {"heard": "maybe"}) == "invalid"
    assert run.refused(A, "heard", None, None) == "invalid"
    run.move(A, "heard", None, {"heard": "partly"})
    assert run.data["rounds"][0]["heard"] == "partly"


def test_correcting_loops_back_to_the_mirror_up_to_the_cap():
    run = opened(A)
    run.move(B, "ready")
    run.move(A, "share", "I feel")
    for loop in (1, 2):
        run.move(B, "mirror", f"mirror {loop}")
        assert run.data["loops"] == loop
        run.move(A, "correct", f"more {loop}")
        assert (run.data["floor"], run.data["expect"]) == (B, "mirror")
    run.move(B, "mirror", "mirror 3")
    assert run.data["loops"] == 3
    # At the cap a correction is kept, and the listener moves on to validating.
    run.move(A, "correct", "still more")
    assert (run.data["floor"], run.data["expect"]) == (B, "validate")
    assert run.refused(B, "mirror") == "conflict"


def test_the_loop_cap_comes_from_settings():
    run = Run(start(max_loops=1))
    run.move(A, "speak_first")
    run.move(B, "ready")
    run.move(A, "share", "I feel")
    run.move(B, "mirror", "you feel")
    run.move(A, "correct", "not quite")
    assert run.data["expect"] == "validate"


def test_roles_swap_after_the_first_round_and_the_step_completes_after_both():
    run = opened(A)
    run.round(A, B, corrections=1)
    assert run.data["phase"] == "opening"
    assert (run.data["speaker"], run.data["listener"], run.data["floor"]) == (B, A, A)
    assert run.refused(B, "share") == "not_your_turn"
    with pytest.raises(MendError) as error:
        engine.handle(run.state, engine.MarkReady(A, "listen"), run.now)
    assert error.value.code == "conflict"
    run.round(B, A, heard="not_yet")
    assert run.data["phase"] == "done"
    assert [r["speaker"] for r in run.data["rounds"]] == [A, B]
    assert run.refused(A, "share") == "conflict"
    run.state = engine.handle(run.state, engine.MarkReady(A, "listen"), run.now).state
    run.state = engine.handle(run.state, engine.MarkReady(B, "listen"), run.now).state
    assert run.state.current_step.id == "after"


def test_an_optional_listening_step_may_be_left_early():
    state = start()
    step = replace(state.track.steps[0], optional=True)
    state = replace(state, track=replace(state.track, steps=(step, state.track.steps[1])))
    state = engine.handle(state, engine.MarkReady(A, "listen"), T0).state
    assert (("listen", A)) in state.ready


def test_a_break_refuses_moves():
    run = opened(A)
    run.state = replace(run.state, paused_until=T0 + timedelta(hours=1))
    assert run.refused(B, "ready") == "paused"


# --- the soft timer ------------------------------------------------------------------------


def test_each_move_gets_a_soft_deadline_that_a_tick_marks_without_cutting_anyone_off():
    run = opened(A)
    assert engine.next_deadline(run.state) is None  # nothing is timed while opening
    run.move(B, "ready")
    due = engine.next_deadline(run.state)
    assert due == run.now + timedelta(minutes=3)
    early = engine.handle(run.state, engine.Tick(), due - timedelta(seconds=1))
    assert not early.visible
    ticked = engine.handle(run.state, engine.Tick(), due)
    assert ticked.visible and ticked.state.version == run.state.version + 1
    assert current(ticked.state, ticked.state.track.steps[0])["overdue"] is True
    assert engine.next_deadline(ticked.state) is None  # marked once, not again
    run.state = ticked.state
    run.now = due + timedelta(minutes=5)
    run.move(A, "share", "late but fine")  # soft: the speaker still speaks
    assert run.data["overdue"] is False
    assert engine.next_deadline(run.state) == run.now + timedelta(minutes=3)


def test_the_floor_holder_may_extend_a_limited_number_of_times():
    run = opened(A)
    run.move(B, "ready")
    first = engine.next_deadline(run.state)
    assert run.refused(B, "extend", None) == "not_your_turn"
    run.move(A, "extend")
    assert engine.next_deadline(run.state) == first + timedelta(minutes=3)
    # An extension after the deadline passed counts from now, and clears "overdue".
    run.state = engine.handle(run.state, engine.Tick(), first + timedelta(minutes=3)).state
    assert run.data["overdue"]
    run.now = first + timedelta(minutes=10)
    run.move(A, "extend")
    assert run.data["overdue"] is False
    assert engine.next_deadline(run.state) == run.now + timedelta(minutes=3)
    assert run.refused(A, "extend", None) == "conflict"
    # The next move starts with a fresh allowance.
    run.move(A, "share", "ok")
    run.move(B, "extend")
    assert run.data["extensions"] == 1


def test_the_clock_does_not_run_out_during_a_break():
    run = opened(A)
    run.move(B, "ready")
    due = engine.next_deadline(run.state)
    on_break = replace(run.state, session_data={"break": {"by_user_id": B, "back": []}})
    assert engine.next_deadline(on_break) is None
    assert not engine.handle(on_break, engine.Tick(), due + timedelta(minutes=30)).visible
    # Over: the move that ran out meanwhile is marked, and the holder may extend it.
    after = replace(on_break, session_data={})
    ticked = engine.handle(after, engine.Tick(), due + timedelta(minutes=30)).state
    assert current(ticked, ticked.track.steps[0])["overdue"] is True


def test_no_extensions_when_settings_allow_none():
    run = Run(start(max_extensions=0))
    run.move(A, "speak_first")
    run.move(B, "ready")
    assert run.refused(A, "extend", None) == "conflict"


# --- visibility ----------------------------------------------------------------------------


def test_turns_are_shared_live_but_drafts_stay_with_their_author():
    run = opened(A)
    run.move(B, "ready")
    run.state = engine.handle(run.state, engine.SaveDraft(A, "listen", "DRAFT-SECRET"),
                              run.now).state
    transition = engine.handle(run.state, engine.SaveDraft(B, "listen", "B-DRAFT"), run.now)
    assert transition.visible is False  # nothing to push to anyone
    run.state = transition.state
    mine = view_for(run.state, A)["steps"][0]
    theirs = view_for(run.state, B)["steps"][0]
    assert mine["mine"]["draft"]["body"] == "DRAFT-SECRET"
    assert "DRAFT-SECRET" not in json.dumps(view_for(run.state, B))
    assert "B-DRAFT" not in json.dumps(view_for(run.state, A))
    assert "DRAFT-SECRET" not in json.dumps(summary_for(run.state, B))
    assert theirs["listening"]["my_moves"] == []
    assert mine["listening"]["my_moves"] == ["share", "extend"]
    run.move(A, "share", "I feel SHARED")
    assert "I feel SHARED" in json.dumps(view_for(run.state, B))
    # Sending the words empties the author's draft box.
    assert view_for(run.state, A)["steps"][0]["mine"]["draft"] is None


def test_both_summaries_hold_the_spoken_turns_in_order():
    run = opened(A)
    run.round(A, B)
    run.round(B, A)
    for viewer in (A, B):
        part = summary_for(run.state, viewer)["steps"][0]
        assert [t["kind"] for t in part["turns"]] == [
            "share", "mirror", "confirm", "validate", "empathise", "heard"] * 2
        assert part["turns"][0]["display_name"] == "Ana"
        assert len(part["rounds"]) == 2


def test_an_untouched_step_has_no_summary_and_a_locked_step_shows_nothing():
    state = start()
    assert summary_for(state, A)["steps"] == []
    step_view = view_for(state, A)["steps"][0]
    assert step_view["listening"]["phase"] == "opening"


# --- property: random moves by both never break the rules ------------------------------------

# "due" makes the floor holder's due move; the rest are anyone's guess, right or wrong.
NAMES = MOVES + ("draft", "tick", "rebut") + ("due",) * 24
moves = st.lists(
    st.tuples(st.sampled_from((A, B)), st.sampled_from(NAMES),
              st.sampled_from(("words", "", None)),
              st.sampled_from(("yes", "partly", "not_yet", "bad"))),
    min_size=30, max_size=120,
)


@settings(max_examples=250, deadline=None)
@given(moves, st.sampled_from(("either", "slot")))
def test_random_moves_never_let_the_non_holder_move_and_keep_the_order(sequence, first):
    state = start(first_speaker=first)
    step = state.track.steps[0]
    now = T0
    drafts = {A: [], B: []}
    accepted_spoken: list[tuple[str, str]] = []
    for n, (user, name, words, heard) in enumerate(sequence):
        now += timedelta(seconds=40)
        data = current(state, step)
        if name == "tick":
            state = engine.handle(state, engine.Tick(), now).state
            continue
        if name == "draft":
            marker = f"DRAFT{n}{user}"
            state = engine.handle(state, engine.SaveDraft(user, step.id, marker), now).state
            drafts[user].append(marker)
            continue
        due = name == "due"
        if due:  # weights the draw towards progress: whoever holds the floor, moving well
            user = data["floor"] or user
            words, heard = "words", "yes"
        mine = allowed(state, data, step, user)
        if due:
            name = (mine or ("share",))[0]
        body = {"words": f"said{n}", "": "", None: None}[words]
        action = engine.SubmitTurn(user, step.id, f"t{n}", f"c{n}", name, body,
                                   {"heard": heard})
        try:
            state = engine.handle(state, action, now).state
        except MendError as error:
            if name in mine:
                assert error.code == "invalid"  # the move was due; only its words were wrong
            elif name not in MOVES:
                assert error.code == "invalid"  # no such move (there is no rebuttal)
            elif data["phase"] == "speaking" and user != data["floor"]:
                assert error.code == "not_your_turn"
            continue
        # Accepted: it was this partner's move to make, and they held the floor (or, while
        # opening, it was a choice open to them).
        assert name in mine
        if data["phase"] == "speaking":
            assert user == data["floor"]
        if name in SPOKEN:
            accepted_spoken.append((user, name))
    finished.append(current(state, step)["phase"] == "done")
    # Turn order: the spoken moves read as the exercise's grammar, round after round.
    _check_grammar(accepted_spoken, state, step)
    # Drafts are their author's alone, in every view and summary.
    for author, other in ((A, B), (B, A)):
        seen = json.dumps(view_for(state, other)) + json.dumps(summary_for(state, other))
        for marker in drafts[author]:
            assert marker not in seen


finished: list[bool] = []


def test_the_property_reaches_the_end_often():
    # Guards the property above against testing only openings: it ran first in this module.
    assert not finished or sum(finished) >= 20


def _check_grammar(spoken, state, step) -> None:
    max_loops = step.settings["max_loops"]
    i = 0
    rounds = 0
    while i < len(spoken):
        speaker = spoken[i][0]
        listener = B if speaker == A else A
        assert spoken[i] == (speaker, "share")
        i += 1
        loops = 0
        while i < len(spoken):
            assert spoken[i] == (listener, "mirror")
            loops += 1
            i += 1
            if i == len(spoken):
                return
            assert spoken[i][0] == speaker and spoken[i][1] in ("confirm", "correct")
            i += 1
            if spoken[i - 1][1] == "confirm" or loops == max_loops:
                break
        assert loops <= max_loops
        for expected in ((listener, "validate"), (listener, "empathise"), (speaker, "heard")):
            if i == len(spoken):
                return
            assert spoken[i] == expected
            i += 1
        rounds += 1
        if rounds == 2:
            assert i == len(spoken)
            assert current(state, step)["phase"] == "done"
        else:
            # The next round is the other partner's.
            if i < len(spoken):
                assert spoken[i] == (listener, "share")
