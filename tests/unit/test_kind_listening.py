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
    assert run.data["rounds"] == [{"speaker": A, "listener": B, "heard": "yes", "loops": 1,
                                   "tries": 0}]


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
    # Too long is refused whole, never cut, with the limit from the step's settings.
    before = len(run.state.turns)
    with pytest.raises(MendError) as error:
        run.move(A, "share", "x" * 201)
    assert error.value.code == "too_large"
    assert "201" in error.value.message and "200" in error.value.message
    assert len(run.state.turns) == before
    assert run.refused(A, "share", 5) == "invalid"
    run.move(A, "share", "x" * 200)
    run.move(B, "mirror", "heard")
    run.move(A, "confirm")
    run.move(B, "validate", "makes sense")
    run.move(B, "empathise", "imagine")
    assert run.refused(A, "heard", None, {"heard": "maybe"}) == "invalid"
    assert run.refused(A, "heard", None, None) == "invalid"
    run.move(A, "heard", None, {"heard": "yes"})
    assert run.data["rounds"][0]["heard"] == "yes"


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
    run.round(B, A)
    assert (run.data["phase"], run.data["outcome"]) == ("done", "heard")
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
        if name in SPOKEN or name == "come_back":
            accepted_spoken.append((user, name, heard))
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
    """The accepted moves read as the exercise's grammar: share, mirror, confirm or correct
    (up to the loop cap), validate, empathise, heard; "yes" swaps the roles (done after two
    rounds), "partly"/"not yet" lets the speaker share again or the listener mirror again,
    or come back to it another time (the end for today)."""
    max_loops = step.settings["max_loops"]
    if not spoken:
        return
    speaker = spoken[0][0]
    expect = {(speaker, "share")}
    loops = rounds = 0
    for user, name, heard in spoken:
        listener = B if speaker == A else A
        assert (user, name) in expect, (user, name, expect)
        if name == "share":
            expect = {(listener, "mirror")}
        elif name == "mirror":
            loops += 1
            assert loops <= max_loops
            expect = {(speaker, "confirm"), (speaker, "correct")}
        elif name == "correct" and loops < max_loops:
            expect = {(listener, "mirror")}
        elif name in ("confirm", "correct"):
            expect = {(listener, "validate")}
        elif name == "validate":
            expect = {(listener, "empathise")}
        elif name == "empathise":
            expect = {(speaker, "heard")}
        elif name == "heard" and heard == "yes":
            rounds += 1
            loops = 0
            speaker, expect = listener, ({(listener, "share")} if rounds < 2 else set())
        elif name == "heard":
            loops = 0
            expect = {(speaker, "share"), (listener, "mirror"), (speaker, "come_back")}
        elif name == "come_back":
            expect = set()
    data = current(state, step)
    assert (data["phase"] == "done") == (not expect)
    if data["phase"] == "done":
        assert data["outcome"] == ("heard" if rounds == 2 else "later")


# --- not heard (yet) is not the end of a round (issue 16) ----------------------------------


def until_heard(run: Run, speaker: str, listener: str) -> None:
    """A round up to the speaker's "Did you feel heard?"."""
    run.move(listener, "ready")
    run.move(speaker, "share", "I feel left out when plans change")
    run.move(listener, "mirror", "You feel left out")
    run.move(speaker, "confirm")
    run.move(listener, "validate", "It makes sense")
    run.move(listener, "empathise", "I imagine it's lonely")


def step_of(run: Run) -> Step:
    return run.state.track.steps[0]


@pytest.mark.parametrize("answer", ["partly", "not_yet"])
def test_partly_or_not_yet_keeps_the_round_open_and_the_speaker_chooses(answer):
    run = opened(A)
    until_heard(run, A, B)
    run.move(A, "heard", None, {"heard": answer})
    data = run.data
    # The round is not over: no swap, nothing recorded as a finished round, not done.
    assert (data["phase"], data["round"], data["rounds"], data["outcome"]) == (
        "speaking", 0, [], None)
    assert (data["expect"], data["floor"]) == ("again", A)
    assert allowed(run.state, data, step_of(run), A) == ("try_again", "reflect_again",
                                                         "come_back")
    assert allowed(run.state, data, step_of(run), B) == ()
    assert run.refused(B, "share") == "not_your_turn"
    with pytest.raises(MendError) as error:
        engine.handle(run.state, engine.MarkReady(A, "listen"), run.now)
    assert error.value.code == "conflict"


def test_trying_again_the_speaker_says_it_another_way_and_the_round_goes_on():
    run = opened(A)
    until_heard(run, A, B)
    run.move(A, "heard", None, {"heard": "partly"})
    run.move(A, "try_again")
    assert (run.data["expect"], run.data["floor"], run.data["tries"]) == ("share", A, 1)
    assert engine.next_deadline(run.state) == run.now + timedelta(minutes=3)
    run.move(A, "share", "What I most need is a text")
    run.move(B, "mirror", "You need a text")
    run.move(A, "confirm")
    run.move(B, "validate", "That makes sense")
    run.move(B, "empathise", "I imagine relief")
    run.move(A, "heard", None, {"heard": "yes"})
    assert run.data["rounds"] == [{"speaker": A, "listener": B, "heard": "yes", "loops": 1,
                                   "tries": 1}]
    assert (run.data["phase"], run.data["speaker"]) == ("opening", B)


def test_reflecting_again_the_listener_says_back_what_they_heard_once_more():
    run = opened(A)
    until_heard(run, A, B)
    run.move(A, "heard", None, {"heard": "not_yet"})
    run.move(A, "reflect_again")
    assert (run.data["expect"], run.data["floor"]) == ("mirror", B)
    run.move(B, "mirror", "What you're telling me is, it's lonely")
    assert (run.data["expect"], run.data["floor"]) == ("confirm", A)


def test_coming_back_to_it_ends_the_step_honestly_not_as_heard():
    run = opened(A)
    until_heard(run, A, B)
    run.move(A, "heard", None, {"heard": "not_yet"})
    run.move(A, "come_back")
    data = run.data
    assert (data["phase"], data["outcome"]) == ("done", "later")
    assert data["rounds"] == [{"speaker": A, "listener": B, "heard": "not_yet", "loops": 1,
                               "tries": 0}]
    for viewer in (A, B):
        listening = view_for(run.state, viewer)["steps"][0]["listening"]
        assert (listening["outcome"], listening["my_moves"]) == ("later", [])
    assert summary_for(run.state, B)["steps"][0]["outcome"] == "later"
    # "Let's come back to this" is a way on: both may move to the next step.
    run.state = engine.handle(run.state, engine.MarkReady(A, "listen"), run.now).state
    run.state = engine.handle(run.state, engine.MarkReady(B, "listen"), run.now).state
    assert run.state.current_step.id == "after"


def test_tries_are_limited_then_only_coming_back_is_left():
    run = Run(start(max_tries=1))
    run.move(A, "speak_first")
    until_heard(run, A, B)
    run.move(A, "heard", None, {"heard": "partly"})
    run.move(A, "reflect_again")
    run.move(B, "mirror", "Again: you feel left out")
    run.move(A, "confirm")
    run.move(B, "validate", "Makes sense")
    run.move(B, "empathise", "Lonely")
    run.move(A, "heard", None, {"heard": "partly"})
    assert allowed(run.state, run.data, step_of(run), A) == ("come_back",)
    assert run.refused(A, "try_again", None) == "conflict"
    run.move(A, "come_back")
    assert run.data["outcome"] == "later"


def test_only_two_yes_rounds_make_the_step_heard():
    run = opened(A)
    run.round(A, B)
    until_heard(run, B, A)
    run.move(B, "heard", None, {"heard": "partly"})
    run.move(B, "come_back")
    data = run.data
    assert data["outcome"] == "later"
    assert [r["heard"] for r in data["rounds"]] == ["yes", "partly"]


# --- a betrayal: roles agreed, the hurt partner first, "one round is enough today" --------


def hurt_track(*extra: Step, **settings_) -> Track:
    return Track(
        id="repair", title="Repair", summary="For tests.", version=1,
        steps=(
            Step(id="listen", kind="listening", title="Hearing the hurt", prompt="Speak.",
                 settings={"first_speaker": "hurt", "turn_minutes": 10, "max_chars": 200,
                           **settings_}),
            *extra,
            Step(id="after", kind="info", title="After", body="Done."),
        ),
    )


def hurt_start(*extra: Step, counsellor: bool = False, **settings_) -> Run:
    people = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))
    if counsellor:
        people += (engine.Participant(C, "Cara", "counsellor"),)
    return Run(engine.SessionState(id="s1", track=hurt_track(*extra, **settings_),
                                   participants=people, created_at=T0))


C = "user-c"


def test_roles_are_agreed_before_anyone_speaks_and_the_hurt_partner_speaks_first():
    run = hurt_start()
    assert run.data["expect"] == "roles"
    assert run.refused(A, "speak_first", None) == "conflict"
    assert run.refused(A, "propose_roles", None, {"hurt": "someone-else"}) == "invalid"
    # Ana proposes that Ben was hurt; Ana can't agree with herself.
    run.move(A, "propose_roles", fields={"hurt": B})
    assert allowed(run.state, run.data, step_of(run), A) == ("propose_roles", "not_yet")
    assert run.refused(A, "agree_roles", None) == "conflict"
    # Ben sees it differently: nobody is cast into a role they didn't agree to.
    run.move(B, "decline_roles")
    assert (run.data["proposal"], run.data["speaker"]) == (None, None)
    run.move(B, "propose_roles", fields={"hurt": B})
    run.move(A, "agree_roles")
    data = run.data
    assert data["roles"] == {"hurt": B, "other": A}
    # The hurt partner speaks first; the other says whether now is a good time to listen.
    assert (data["speaker"], data["listener"], data["floor"], data["expect"]) == (
        B, A, A, "ready")
    run.move(A, "ready")
    assert (run.data["floor"], run.data["expect"]) == (B, "share")
    assert engine.next_deadline(run.state) == run.now + timedelta(minutes=10)


def agreed(run: Run, hurt: str = B) -> Run:
    run.move(hurt, "propose_roles", fields={"hurt": hurt})
    run.move(A if hurt == B else B, "agree_roles")
    return run


def test_after_being_heard_the_hurt_partner_may_say_one_round_is_enough_today():
    run = agreed(hurt_start())
    run.round(B, A)
    # Round two: Ben (hurt) would listen to Ana. He may stop now, or at any moment of it.
    assert set(allowed(run.state, run.data, step_of(run), B)) == {"ready", "not_yet", "enough"}
    assert "enough" not in allowed(run.state, run.data, step_of(run), A)
    run.move(B, "enough")
    data = run.data
    assert (data["phase"], data["outcome"]) == ("done", "enough")
    assert [r["heard"] for r in data["rounds"]] == ["yes", None]
    run.state = engine.handle(run.state, engine.MarkReady(A, "listen"), run.now).state
    run.state = engine.handle(run.state, engine.MarkReady(B, "listen"), run.now).state
    assert run.state.current_step.id == "after"


def test_listening_to_the_partner_who_broke_trust_the_hurt_partner_never_has_to_validate():
    run = agreed(hurt_start())
    run.round(B, A)
    run.move(B, "ready")
    # Even while Ana holds the floor, Ben may stop.
    assert allowed(run.state, run.data, step_of(run), B) == ("enough",)
    run.move(A, "share", "I feel ashamed")
    run.move(B, "mirror", "You feel ashamed")
    run.move(A, "confirm")
    assert set(allowed(run.state, run.data, step_of(run), B)) == {
        "validate", "pass", "extend", "enough"}
    run.move(B, "pass")
    assert run.data["expect"] == "empathise"
    run.move(B, "pass")
    assert (run.data["expect"], run.data["floor"]) == ("heard", A)
    assert run.data["passed"] == [{"round": 1, "move": "validate"},
                                  {"round": 1, "move": "empathise"}]
    # The partner who broke trust has no such pass when it's their turn to listen.
    run2 = agreed(hurt_start())
    run2.move(A, "ready")
    run2.move(B, "share", "I feel betrayed")
    run2.move(A, "mirror", "You feel betrayed")
    run2.move(B, "confirm")
    assert allowed(run2.state, run2.data, step_of(run2), A) == ("validate", "extend")
    assert run2.refused(A, "pass", None) == "conflict"
    assert run2.refused(A, "enough", None) == "conflict"


def test_the_clock_is_shown_to_the_floor_holder_only():
    run = agreed(hurt_start())
    run.move(A, "ready")
    mine = view_for(run.state, B)["steps"][0]["listening"]
    theirs = view_for(run.state, A)["steps"][0]["listening"]
    assert mine["deadline"] == iso_z(run.now + timedelta(minutes=10))
    assert (theirs["deadline"], theirs["overdue"], theirs["extensions"]) == (None, False, 0)
    ticked = engine.handle(run.state, engine.Tick(), run.now + timedelta(minutes=10)).state
    assert view_for(ticked, B)["steps"][0]["listening"]["overdue"] is True
    assert view_for(ticked, A)["steps"][0]["listening"]["overdue"] is False
    assert "deadline" not in json.dumps(view_for(ticked, A)["steps"][0]["listening"]).replace(
        '"deadline": null', "")


def iso_z(moment: datetime) -> str:
    from server.engine.views import iso

    return iso(moment)


# --- the hurt partner's questions, held for a counsellor's release ------------------------

QUESTIONS = Step(id="questions", kind="listening", title="Your questions",
                 prompt="Ask what you need to know.",
                 settings={"mode": "questions", "max_chars": 300})


def at_questions(run: Run) -> Run:
    """Ben (hurt) heard, then 'one round is enough'; the session on the questions step."""
    run.round(B, A)
    run.move(B, "enough")
    for who in (A, B):
        run.state = engine.handle(run.state, engine.MarkReady(who, "listen"), run.now).state
    assert run.state.current_step.id == "questions"
    return run


def q(run: Run, user: str, name: str, body: str | None = None, fields=None):
    run.n += 1
    run.now += timedelta(seconds=1)
    action = engine.SubmitTurn(user, "questions", f"q{run.n}", f"qc-{run.n}", name, body, fields)
    transition = engine.handle(run.state, action, run.now)
    run.state = transition.state
    return transition


def q_view(run: Run, who: str) -> dict:
    return next(s for s in view_for(run.state, who)["steps"] if s["id"] == "questions")


def test_questions_use_the_agreed_roles_and_end_when_the_hurt_partner_says_so():
    run = at_questions(agreed(hurt_start(QUESTIONS)))
    listening = q_view(run, A)["listening"]
    # The roles carried over: Ana (who broke trust) says when she's ready to answer.
    assert (listening["roles"], listening["speaker"], listening["floor"]) == (
        {"hurt": B, "other": A}, B, A)
    q(run, A, "ready")
    assert q_view(run, B)["listening"]["my_moves"] == ["ask", "extend", "enough"]
    q(run, B, "ask", "Who else knew?")
    q(run, A, "answer", "Nobody else knew. I'm sorry I kept it from you.")
    q(run, B, "ask", "When did it end?")
    with pytest.raises(MendError) as error:
        engine.handle(run.state, engine.MarkReady(B, "questions"), run.now)
    assert error.value.code == "conflict"
    q(run, B, "enough")
    listening = q_view(run, A)["listening"]
    assert (listening["phase"], listening["outcome"]) == ("done", "asked")
    assert "Nobody else knew" in json.dumps(q_view(run, B))


def test_with_a_counsellor_answers_wait_for_the_counsellors_release():
    from server.engine.moderation import Moderate

    run = at_questions(agreed(hurt_start(QUESTIONS, counsellor=True)))
    q(run, A, "ready")
    q(run, B, "ask", "Did you see them again?")
    assert not run.state.reveal_held("questions")
    q(run, A, "answer", "HELD-ANSWER-ONE")
    assert run.state.reveal_held("questions")
    # The asker sees that an answer is there, never its words, in the view or the summary.
    for packet in (q_view(run, B), summary_for(run.state, B)):
        assert "HELD-ANSWER-ONE" not in json.dumps(packet)
    held = [t for t in q_view(run, B)["listening"]["turns"] if t["kind"] == "answer"]
    assert held[0]["body"] is None and held[0]["fields"] == {"held": True}
    # Its author and the counsellor read it; the counsellor's controls see a held step.
    assert "HELD-ANSWER-ONE" in json.dumps(q_view(run, A))
    assert "HELD-ANSWER-ONE" in json.dumps(q_view(run, C))
    assert q_view(run, C)["held"] is True
    run.state = engine.handle(run.state, Moderate(C, "release", "questions", {}), run.now).state
    assert "HELD-ANSWER-ONE" in json.dumps(q_view(run, B))
    # The next answer waits for its own release; what was released stays released.
    q(run, B, "ask", "Why?")
    q(run, A, "answer", "HELD-ANSWER-TWO")
    seen = json.dumps(q_view(run, B))
    assert "HELD-ANSWER-ONE" in seen and "HELD-ANSWER-TWO" not in seen
    # A partner may not release: only the counsellor holds and releases.
    with pytest.raises(MendError):
        engine.handle(run.state, Moderate(B, "release", "questions", {}), run.now)


def test_without_a_counsellor_answers_are_shown_at_once():
    run = at_questions(agreed(hurt_start(QUESTIONS)))
    q(run, A, "ready")
    q(run, B, "ask", "Is it over?")
    q(run, A, "answer", "OPEN-ANSWER")
    assert "OPEN-ANSWER" in json.dumps(q_view(run, B))


HURT_NAMES = MOVES + ("due",) * 20


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from((A, B)), st.sampled_from(HURT_NAMES),
                          st.sampled_from(("yes", "partly", "not_yet"))),
                min_size=20, max_size=90))
def test_after_a_betrayal_the_hurt_partner_always_speaks_first_and_may_always_stop(sequence):
    """Whatever the two press: nobody speaks before the roles are agreed, the first words of
    the step are the hurt partner's, and in the second round the hurt partner can stop."""
    run = hurt_start()
    step = step_of(run)
    for n, (user, name, heard) in enumerate(sequence):
        data = run.data
        if name == "due":
            user = data["floor"] or user
            mine = allowed(run.state, data, step, user)
            name = mine[0] if mine else "ready"
        fields = {"heard": heard, "hurt": B if n % 3 else A}
        try:
            run.move(user, name, f"words {n}", fields)
        except MendError:
            continue
        data = run.data
        spoken = [t for t in run.state.turns if t.name in SPOKEN]
        if spoken:
            assert data["roles"] is not None
            assert spoken[0].user_id == data["roles"]["hurt"]
            assert spoken[0].name == "share"
        if data["phase"] != "done" and data["round"] == 1:
            assert "enough" in allowed(run.state, data, step, data["roles"]["hurt"])
            assert "enough" not in allowed(run.state, data, step, data["roles"]["other"])
