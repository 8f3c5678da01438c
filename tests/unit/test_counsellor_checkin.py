"""The counsellor's symmetric check-in (issue 15) on plain data: the same words reach each
partner privately, at once; the Activity line names no one; and while a safety flag is up
a private message to one partner is refused, since it would point at a person."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest

from server.engine import MendError
from server.engine import session as engine
from server.engine.moderation import (
    CHECKIN_PREFIX,
    AddNote,
    CheckIn,
    checkin_client_id,
    checkin_group,
    flag_up,
)
from server.engine.tracks import Step, Track, freeze
from server.engine.visibility import summary_for, view_for

A, B, C = "user-a", "user-b", "user-c"
X = "user-x"  # a signed-in account that is not part of the session
T0 = datetime(2026, 12, 7, 21, 0, 0)
TRACK = Track("checkin", "Check-in", "For tests.", 1, (
    Step(id="welcome", kind="info", title="Welcome", body="Hello."),
    Step(id="talk", kind="prompt", title="Talk", prompt="Talk?",
         answer=freeze({"type": "text", "max_length": 500})),
    Step(id="bye", kind="info", title="Bye", body="Bye."),
))

WORDS = "How are you doing today? CHECKIN-WORDS-7f3a"


def code(fn) -> str:
    with pytest.raises(MendError) as info:
        fn()
    return info.value.code


def on(step_id: str) -> engine.SessionState:
    """A session with a counsellor, on `step_id` (no answers needed for these rules)."""
    return engine.SessionState(
        id="s1", track=TRACK, couple_id="c1", created_at=T0,
        current_index=TRACK.step_index(step_id),
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner"),
                      engine.Participant(C, "Cam", "counsellor")))


def during_the_check() -> engine.SessionState:
    """The private check under way before joint work (session_data["check"]["open"])."""
    state = on("welcome")
    return replace(state, session_data={"check": {"open": True, "flag": False}})


def flagged(state: engine.SessionState, flag: bool = True) -> engine.SessionState:
    """What the safety check leaves when someone's answers were not all clear (never who):
    `session_data["check"]["flag"]`, as server.engine.check keeps it."""
    data = dict(state.session_data)
    data["check"] = {**(data.get("check") or {}), "open": True, "flag": flag}
    return replace(state, session_data=data)


def check_in(state, body=WORDS, who=C, n=0) -> engine.Transition:
    return engine.handle(state, CheckIn(who, (f"ci{n}-1", f"ci{n}-2"), f"client-ci-{n:04d}",
                                        body), T0)


def message(state, to, body="A word for one of you.", n=0) -> engine.Transition:
    return engine.handle(state, AddNote(C, f"m{n}", f"client-m-{n:04d}", body, to), T0)


def normalised(value, viewer: str, other: str) -> str:
    """JSON text with this viewer's and the other partner's ids (and the check-in copy's
    own ids) replaced by what they are, not who."""
    text = json.dumps(value, sort_keys=True)
    for copy_id in ("ci0-1", "ci0-2"):
        text = text.replace(copy_id, "<copy>")
    for user_id in (viewer, other):
        text = text.replace(checkin_client_id("client-ci-0000", user_id), "<copy client_id>")
    return text.replace(viewer, "<me>").replace(other, "<partner>")


# --- the action -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["the check", "welcome", "talk", "bye"])
def test_a_check_in_gives_each_partner_their_own_copy_of_the_same_words(where):
    before = during_the_check() if where == "the check" else on(where)
    transition = check_in(before)
    state = transition.state
    added = [e.note for e in transition.effects if isinstance(e, engine.NoteAdded)]
    assert [(n.recipient_id, n.body, n.at) for n in added] == [(A, WORDS, T0), (B, WORDS, T0)]
    assert state.version == before.version + 1
    a_notes, b_notes = view_for(state, A)["notes"], view_for(state, B)["notes"]
    assert [(n["to_user_id"], n["body"], n["private"]) for n in a_notes] == [(A, WORDS, False)]
    assert [(n["to_user_id"], n["body"], n["private"]) for n in b_notes] == [(B, WORDS, False)]
    # Each partner's copy reads identically for both, once ids say what they are.
    assert normalised(a_notes, A, B) == normalised(b_notes, B, A)
    # Neither partner's packets hold the other's copy in any shape.
    a_copy, b_copy = a_notes[0], b_notes[0]
    assert b_copy["id"] not in json.dumps(view_for(state, A))
    assert b_copy["client_id"] not in json.dumps(view_for(state, A))
    assert a_copy["id"] not in json.dumps(view_for(state, B))
    assert a_copy["client_id"] not in json.dumps(view_for(state, B))
    # The counsellor has both, grouped by their client_id.
    mine = view_for(state, C)["notes"]
    assert [(n["to_user_id"], n["body"]) for n in mine] == [(A, WORDS), (B, WORDS)]
    group = checkin_group("client-ci-0000")
    assert all(n["client_id"].startswith(group) for n in mine)
    # Partners' summaries carry no notes; the counsellor's keeps the check-in.
    assert "notes" not in summary_for(state, A) and "notes" not in summary_for(state, B)
    assert len(summary_for(state, C)["notes"]) == 2


def test_the_activity_line_names_no_one_and_carries_no_words():
    state = check_in(during_the_check()).state
    event = state.audit[-1]
    assert (event.action, event.actor_id, event.actor_role, event.target_user_id,
            event.step_id) == ("checked_in", C, "counsellor", None, None)
    assert [e.action for e in state.audit].count("checked_in") == 1
    trail_a, trail_b = view_for(state, A)["audit"], view_for(state, B)["audit"]
    assert trail_a == trail_b == view_for(state, C)["audit"]
    assert "CHECKIN-WORDS" not in json.dumps(trail_a)
    assert A not in json.dumps(trail_a[-1]) and B not in json.dumps(trail_a[-1])


def test_a_check_in_works_after_the_session_ended_early_and_when_it_is_finished():
    for status in (engine.ENDED, engine.FINISHED):
        state = replace(on("talk"), status=status)
        after = check_in(state).state
        assert [n["body"] for n in view_for(after, A)["notes"]] == [WORDS]
        assert [n["body"] for n in view_for(after, B)["notes"]] == [WORDS]


def test_a_check_in_works_during_a_break():
    state = replace(on("talk"), paused_until=T0.replace(hour=10))
    assert check_in(state).state.notes[-1].body == WORDS


def test_only_the_counsellor_checks_in_and_with_words():
    state = on("talk")
    for who in (A, B, X):
        assert code(lambda w=who: check_in(state, who=w)) == "forbidden"
    assert code(lambda: check_in(state, body="  \u200b ")) == "invalid"
    assert code(lambda: check_in(state, body=None)) == "invalid"
    assert code(lambda: check_in(state, body="x" * 4001)) == "too_large"


def test_copy_client_ids_are_stable_short_and_say_nothing_of_which_partner():
    one, two = checkin_client_id("c" * 64, A), checkin_client_id("c" * 64, B)
    assert one != two and len(one) == len(two) <= 64
    assert one.startswith(checkin_group("c" * 64)) and two.startswith(checkin_group("c" * 64))
    assert checkin_client_id("c" * 64, A) == one
    assert checkin_group("c" * 64) != checkin_group("d" * 64)
    assert A not in one and B not in two


def test_a_note_may_not_pose_as_a_check_in():
    state = on("talk")
    posing = AddNote(C, "m1", f"{CHECKIN_PREFIX}{'0' * 32}:abc", "Only to Ana.", A)
    assert code(lambda: engine.handle(state, posing, T0)) == "invalid"


# --- while a flag is up ---------------------------------------------------------------------


def test_while_a_flag_is_up_a_message_to_one_partner_is_refused():
    state = flagged(during_the_check())
    assert flag_up(state)
    for to in (A, B):
        with pytest.raises(MendError) as info:
            message(state, to)
        assert info.value.code == "conflict"
        assert "each partner" in info.value.message
    # Nothing of the refused message is anywhere.
    assert state.notes == () and state.audit == ()
    # A note only the counsellor reads is still theirs to write.
    assert message(state, None).state.notes[-1].recipient_id is None
    # The check-in is the way to reach them.
    after = check_in(state).state
    assert [n.recipient_id for n in after.notes] == [A, B]


def test_the_flag_stays_in_force_after_the_session_ended_early():
    state = replace(flagged(during_the_check()), status=engine.ENDED)
    assert code(lambda: message(state, A)) == "conflict"
    assert len(check_in(state).state.notes) == 2


def test_without_a_flag_a_message_to_one_partner_is_sent_as_before():
    for state in (on("talk"), flagged(on("talk"), flag=False),
                  replace(on("talk"), session_data={"check": None})):
        assert not flag_up(state)
        after = message(state, A).state
        assert after.notes[-1].recipient_id == A
        assert after.audit[-1].action == "message_sent" and after.audit[-1].target_user_id == A
