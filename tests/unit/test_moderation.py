"""The counsellor on plain data (server.engine.moderation): how one joins with both
partners' consent, every control and who may use it, notes and messages, and the audit
trail that records who did what and when, never what anyone wrote."""

from __future__ import annotations

import json
from dataclasses import astuple, replace
from datetime import datetime, timedelta

import pytest

from server.engine import MendError
from server.engine import session as engine
from server.engine.breaks import PauseSession, ResumeSession
from server.engine.kinds.commitment import is_review
from server.engine.moderation import (
    CONTROLS,
    READ_COALESCE,
    AddNote,
    AdmitCounsellor,
    ConsentCounsellor,
    InviteCounsellor,
    Moderate,
    RecordRead,
    RemoveCounsellor,
    preview_entries,
)
from server.engine.tracks import Step, Track, freeze
from server.engine.visibility import dashboard_row, summary_for, view_for
from tests.unit.test_kind_commitment import WRITE
from tests.unit.test_kind_listening import track as listening_track
from tests.unit.test_kind_safety import AFRAID, CLEAR, A, B, C, answer, code, ready_all
from tests.unit.test_kind_safety import track as safety_track
from tests.unit.test_shipped_tracks import LIBRARY
from tests.unit.test_step_kinds import with_counsellor

X = "user-x"  # an outsider: a signed-in account that is not part of the session
T0 = datetime(2026, 11, 27, 9, 0, 0)
LATER = T0 + timedelta(days=2)


def text_step(step_id: str, title: str) -> Step:
    return Step(id=step_id, kind="prompt", title=title, prompt=f"{title}?",
                answer=freeze({"type": "text", "max_length": 500}))


CHECK = safety_track().steps[0]
LISTEN = listening_track().steps[0]
TRACK = Track("moderated", "Moderated", "For tests.", 1, (
    Step(id="welcome", kind="info", title="Welcome", body="Hello."),
    CHECK,                      # "check": the private safety check
    text_step("talk", "Talk"),
    LISTEN,                     # "listen": a speaker-listener exercise
    WRITE,                      # "promise": commitments, records on the reveal
    text_step("story", "Story"),
    Step(id="bye", kind="info", title="Bye", body="Bye."),
))
assert [s.id for s in TRACK.steps] == ["welcome", "check", "talk", "listen", "promise",
                                       "story", "bye"]


def start(counsellor: bool = True) -> engine.SessionState:
    state = engine.SessionState(
        id="s1", track=TRACK, couple_id="c1", created_at=T0,
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
    )
    return with_counsellor(state) if counsellor else state


def at(step_id: str, counsellor: bool = True) -> engine.SessionState:
    """Both partners' safety checks clear, the session on `step_id` (after the check)."""
    state = start(counsellor)
    state = answer(answer(replace(state, current_index=1), A, CLEAR).state, B, CLEAR).state
    state = ready_all(state, "check")
    return replace(state, current_index=TRACK.step_index(step_id))


def mod(state, name, step_id=None, who=C, now=T0, **data) -> engine.Transition:
    return engine.handle(state, Moderate(who, name, step_id, data), now)


def submit(state, who, step_id, body, now=T0) -> engine.Transition:
    return engine.handle(state, engine.SubmitEntry(who, step_id, f"e-{who}-{step_id}",
                                                   f"c-{who}-{step_id}", body), now)


def draft(state, who, step_id, body, now=T0) -> engine.Transition:
    return engine.handle(state, engine.SaveDraft(who, step_id, body), now)


def note(state, body, to=None, who=C, n=0, now=T0) -> engine.Transition:
    return engine.handle(state, AddNote(who, f"n{n}", f"cn{n}", body, to), now)


def reveals(transition) -> list[str]:
    return [e.step_id for e in transition.effects if isinstance(e, engine.StepRevealed)]


def actions(state) -> list[str]:
    return [e.action for e in state.audit]


def text_of(state, viewer) -> str:
    return json.dumps(view_for(state, viewer)) + json.dumps(summary_for(state, viewer))


# --- joining: both partners consent --------------------------------------------------------


def invited(by=A, expires_at=LATER) -> engine.SessionState:
    return engine.handle(start(counsellor=False), InviteCounsellor(by, expires_at), T0).state


def test_an_invite_is_the_inviters_consent_and_admission_waits_for_the_other_partner():
    state = invited(by=A)
    for viewer in (A, B):
        invite = view_for(state, viewer)["counsellor"]["invite"]
        assert invite["consents"] == [A] and invite["waiting_for"] == [B]
    assert code(lambda: engine.handle(state, AdmitCounsellor(C, "Cleo"), T0)) == "forbidden"

    state = engine.handle(state, ConsentCounsellor(B), T0).state
    again = engine.handle(state, ConsentCounsellor(B), T0)
    assert again.effects == () and again.state.version == state.version
    joined = engine.handle(state, AdmitCounsellor(C, "Cleo"), T0 + timedelta(minutes=1))
    assert any(isinstance(e, engine.ParticipantJoined) for e in joined.effects)
    state = joined.state
    assert state.counsellor == engine.Participant(C, "Cleo", "counsellor")
    for viewer in (A, B):
        seen = view_for(state, viewer)["counsellor"]
        assert seen["present"]["user_id"] == C and seen["invite"] is None
        assert "never see drafts" in seen["notice"]
    assert actions(state) == ["counsellor_invited", "counsellor_consented", "counsellor_joined"]
    assert [e.actor_id for e in state.audit] == [A, B, C]


def test_only_the_two_partners_decide_who_joins():
    pending = invited()
    joined = with_counsellor(start(counsellor=False))
    for who in (C, X):
        assert code(lambda w=who: engine.handle(start(False), InviteCounsellor(w, LATER), T0)) \
            == "forbidden"
        assert code(lambda w=who: engine.handle(pending, ConsentCounsellor(w), T0)) == "forbidden"
        assert code(lambda w=who: engine.handle(joined, RemoveCounsellor(w), T0)) == "forbidden"


def test_an_expired_invite_admits_nobody():
    state = engine.handle(invited(expires_at=T0 + timedelta(hours=1)), ConsentCounsellor(B),
                          T0).state
    late = T0 + timedelta(hours=1, seconds=1)
    assert code(lambda: engine.handle(state, AdmitCounsellor(C, "Cleo"), late)) == "forbidden"
    assert engine.handle(state, AdmitCounsellor(C, "Cleo"), T0 + timedelta(minutes=59)).state \
        .counsellor is not None


def test_a_session_has_one_counsellor_at_most():
    state = engine.handle(invited(), ConsentCounsellor(B), T0).state
    state = engine.handle(state, AdmitCounsellor(C, "Cleo"), T0).state
    assert code(lambda: engine.handle(state, AdmitCounsellor("user-d", "Dee"), T0)) == "conflict"
    assert code(lambda: engine.handle(state, AdmitCounsellor(C, "Cleo"), T0)) == "conflict"
    assert code(lambda: engine.handle(state, InviteCounsellor(B, LATER), T0)) == "conflict"
    assert code(lambda: engine.handle(state, ConsentCounsellor(B), T0)) == "conflict"


def test_without_an_invite_there_is_nothing_to_agree_to_or_join():
    state = start(counsellor=False)
    assert code(lambda: engine.handle(state, ConsentCounsellor(B), T0)) == "conflict"
    assert code(lambda: engine.handle(state, AdmitCounsellor(C, "Cleo"), T0)) == "forbidden"
    assert code(lambda: engine.handle(state, RemoveCounsellor(A), T0)) == "conflict"


def test_either_partner_can_cancel_a_pending_invite():
    state = engine.handle(invited(by=A), ConsentCounsellor(B), T0).state
    cancelled = engine.handle(state, RemoveCounsellor(B), T0)
    state = cancelled.state
    assert "counsellor" not in state.session_data
    assert actions(state)[-1] == "counsellor_invite_cancelled"
    assert view_for(state, A)["counsellor"] == {"present": None, "invite": None, "notice": None}
    assert code(lambda: engine.handle(state, AdmitCounsellor(C, "Cleo"), T0)) == "forbidden"


def test_a_partner_removing_the_counsellor_lifts_everything_they_put_in_force():
    state = submit(mod(at("talk"), "hold", "talk").state, A, "talk", "ANA-TALK").state
    state = submit(state, B, "talk", "BEN-TALK").state
    state = mod(state, "floor", "talk", user_id=A).state
    state = mod(state, "revisit", step_id="check").state
    assert state.reveal_held("talk") and "talk" not in state.reveals

    removed = engine.handle(state, RemoveCounsellor(B), T0 + timedelta(minutes=1))
    state = removed.state
    assert state.counsellor is None and C not in [p.user_id for p in state.participants]
    assert any(isinstance(e, engine.ParticipantLeft) and e.user_id == C
               for e in removed.effects)
    assert reveals(removed) == ["talk"]  # the held answers, due, are shown now
    assert dict(state.moderation)["held"] == [] and state.moderation["floor"] is None
    assert state.moderation["focus_step_id"] is None
    assert "ANA-TALK" in text_of(state, B) and "BEN-TALK" in text_of(state, A)
    event = state.audit[-1]
    assert (event.action, event.actor_id, event.target_user_id) == ("counsellor_removed", B, C)
    assert "answers_shown" not in actions(state)[-2:]  # nobody is left to have read them
    for name in CONTROLS:
        assert code(lambda n=name: mod(state, n, "talk")) == "forbidden"
    with pytest.raises(ValueError):
        view_for(state, C)


def test_an_administrators_revocation_removes_the_counsellor_as_the_system():
    state = mod(at("talk"), "hold", "talk").state
    nobody = engine.handle(state, RemoveCounsellor(X, revoked=True), T0)
    assert nobody.effects == () and nobody.state is state
    revoked = engine.handle(state, RemoveCounsellor(C, revoked=True), T0).state
    assert revoked.counsellor is None and revoked.moderation["held"] == []
    event = revoked.audit[-1]
    assert (event.action, event.actor_id, event.actor_role, event.target_user_id) == (
        "counsellor_access_revoked", None, "system", C)


def test_a_leftover_hold_or_floor_blocks_no_one_once_the_counsellor_is_gone():
    state = mod(mod(at("talk"), "hold", "talk").state, "floor", "talk", user_id=A).state
    gone = replace(state, participants=tuple(p for p in state.participants
                                             if p.role != "counsellor"))
    assert "talk" in gone.moderation["held"] and not gone.reveal_held("talk")
    both = submit(submit(gone, B, "talk", "ben").state, A, "talk", "ana")  # B despite the floor
    assert reveals(both) == ["talk"]
    assert view_for(both.state, A)["moderation"]["held"] == []
    assert view_for(both.state, A)["moderation"]["floor"] is None


# --- every control: the counsellor's alone -------------------------------------------------


@pytest.mark.parametrize("name", CONTROLS)
@pytest.mark.parametrize("who", [A, B, X])
def test_partners_and_outsiders_are_forbidden_every_control(name, who):
    state = at("talk")
    data = {"card_id": "k1", "body": "Look again.", "user_id": A}
    assert code(lambda: mod(state, name, "talk", who=who, **data)) == "forbidden"


@pytest.mark.parametrize("who", [A, B, X])
def test_partners_and_outsiders_cannot_write_notes_or_messages(who):
    assert code(lambda: note(at("talk"), "hello", who=who)) == "forbidden"
    assert code(lambda: note(at("talk"), "hello", to=A, who=who)) == "forbidden"


def test_an_unknown_control_is_invalid():
    assert code(lambda: mod(at("talk"), "delete_everything", "talk")) == "invalid"


# --- advance ----------------------------------------------------------------------------------


def test_the_counsellor_moves_the_session_on_and_the_move_records_who():
    state = at("talk")
    assert code(lambda: mod(state, "advance", "story")) == "conflict"  # not the current step
    moved = mod(state, "advance", "talk")
    assert moved.state.current_step.id == "listen" and moved.state.version == state.version + 1
    [step] = [e for e in moved.effects if isinstance(e, engine.StepAdvanced)]
    assert (step.from_step_id, step.by_user_id, step.finished) == ("talk", C, False)
    event = moved.state.audit[-1]
    assert (event.action, event.actor_id, event.step_id) == ("step_advanced", C, "talk")
    paused = engine.handle(state, PauseSession(A), T0).state
    assert code(lambda: mod(paused, "advance", "talk")) == "paused"


def test_advance_can_jump_ahead_to_a_chosen_step_but_not_back():
    state = at("talk")
    jumped = mod(state, "advance", "talk", to_step_id="story").state
    assert jumped.current_step.id == "story" and jumped.status == engine.ACTIVE
    assert code(lambda: mod(state, "advance", "talk", to_step_id="talk")) == "invalid"
    assert code(lambda: mod(state, "advance", "talk", to_step_id="welcome")) == "invalid"
    assert code(lambda: mod(state, "advance", "talk", to_step_id="nope")) == "not_found"


def test_advance_never_leaves_an_unfinished_safety_check_or_skips_one():
    welcome = start()
    assert code(lambda: mod(welcome, "advance", "welcome", to_step_id="talk")) == "invalid"
    on_check = mod(welcome, "advance", "welcome").state
    assert on_check.current_step.id == "check"
    half = answer(on_check, A, CLEAR).state
    assert code(lambda: mod(half, "advance", "check")) == "conflict"
    both = answer(half, B, CLEAR).state
    assert mod(both, "advance", "check").state.current_step.id == "talk"
    # From the check to a later exercise: allowed, nothing of a check lies between.
    assert mod(both, "advance", "check", to_step_id="story").state.current_step.id == "story"


def test_advancing_past_a_concerning_check_stops_the_session_like_any_move_on():
    both = answer(answer(replace(start(), current_index=1), A, AFRAID).state, B, CLEAR).state
    stopped = mod(both, "advance", "check").state
    assert stopped.status == engine.ENDED and stopped.current_index == 1
    assert "ended_by" not in view_for(stopped, B)["moderation"]  # the neutral stop


def test_advancing_from_the_last_step_finishes_the_session():
    done = mod(at("bye"), "advance", "bye").state
    assert done.status == engine.FINISHED and done.finished_at == T0


# --- revisit ----------------------------------------------------------------------------------


def test_revisit_brings_a_finished_step_back_on_screen_until_closed():
    state = at("story")
    assert code(lambda: mod(state, "revisit", step_id="story")) == "invalid"
    assert code(lambda: mod(state, "revisit", step_id="bye")) == "invalid"
    assert code(lambda: mod(state, "revisit", step_id="nope")) == "not_found"
    shown = mod(state, "revisit", step_id="talk").state
    assert view_for(shown, A)["moderation"]["focus_step_id"] == "talk"
    assert mod(shown, "revisit", step_id="talk").effects == ()
    closed = mod(shown, "revisit").state
    assert view_for(closed, B)["moderation"]["focus_step_id"] is None
    assert actions(closed)[-2:] == ["step_revisited", "revisit_closed"]
    moved = mod(shown, "advance", "story").state
    assert moved.moderation["focus_step_id"] is None


# --- hold, preview, release -------------------------------------------------------------------


def test_a_held_step_shows_nothing_when_both_are_in_and_nobody_can_move_on():
    state = mod(at("talk"), "hold", "talk").state
    assert view_for(state, A)["moderation"]["held"] == ["talk"]
    first = submit(state, A, "talk", "ANA-WORDS")
    both = submit(first.state, B, "talk", "BEN-WORDS")
    assert reveals(first) == reveals(both) == []
    state = both.state
    assert "ANA-WORDS" not in text_of(state, B) and "BEN-WORDS" not in text_of(state, A)
    assert "ANA-WORDS" not in json.dumps(view_for(state, C))
    talk = view_for(state, A)["steps"][2]
    assert talk["held"] is True and talk["revealed"] is None and talk["partner_status"] == \
        "submitted"
    assert view_for(state, C)["steps"][2]["submitted"] == [A, B]
    for who in (A, B):
        assert code(lambda w=who: engine.handle(state, engine.MarkReady(w, "talk"), T0)) \
            == "conflict"

    released = mod(state, "release", "talk", now=T0 + timedelta(minutes=2))
    assert reveals(released) == ["talk"]
    state = released.state
    assert [e["body"] for e in view_for(state, A)["steps"][2]["revealed"]["entries"]] == [
        "ANA-WORDS", "BEN-WORDS"]
    assert actions(state)[-2:] == ["reveal_released", "answers_shown"]
    again = mod(state, "release", "talk")
    assert again.effects == () and reveals(again) == []
    assert code(lambda: mod(state, "hold", "talk")) == "conflict"  # already shown
    assert ready_all(state, "talk").current_step.id == "listen"


def test_releasing_before_both_are_in_shows_nothing_until_the_second_answer():
    state = submit(mod(at("talk"), "hold", "talk").state, A, "talk", "ana").state
    released = mod(state, "release", "talk")
    assert reveals(released) == [] and not released.state.reveal_held("talk")
    assert reveals(submit(released.state, B, "talk", "ben")) == ["talk"]


def test_holding_or_releasing_twice_changes_nothing():
    state = mod(at("talk"), "hold", "talk").state
    assert mod(state, "hold", "talk").effects == ()
    assert mod(at("talk"), "release", "talk").effects == ()


def test_a_hold_never_strands_the_answers_when_the_counsellor_moves_on():
    """Both answers in, held, and the counsellor presses advance: either advance is refused
    until the hold is lifted, or the answers are shown (on leaving, or by a later release).
    They must not stay hidden from the couple for as long as the counsellor takes part."""
    state = mod(at("talk"), "hold", "talk").state
    state = submit(submit(state, A, "talk", "ANA-HELD").state, B, "talk", "BEN-HELD").state
    try:
        moved = mod(state, "advance", "talk").state
    except MendError as error:
        assert error.code == "conflict"
        return
    if "talk" not in moved.reveals:
        moved = mod(moved, "release", "talk").state
    assert "talk" in moved.reveals
    assert "BEN-HELD" in text_of(moved, A) and "ANA-HELD" in text_of(moved, B)


def test_only_steps_whose_answers_are_shown_side_by_side_can_be_held():
    state = at("talk")
    for step_id in ("check", "listen", "bye"):
        assert code(lambda s=step_id: mod(state, "hold", s)) == "invalid"
    assert code(lambda: mod(state, "hold", "nope")) == "not_found"
    assert code(lambda: mod(at("story"), "hold", "talk")) == "conflict"  # finished
    ahead = mod(state, "hold", "story").state  # a step still to come may be held
    assert ahead.reveal_held("story")


SIDE_BY_SIDE = [(t.id, s.id) for t in LIBRARY for s in t.steps
                if s.kind in ("prompt", "closing", "checkin", "boundary", "appreciation")
                or (s.kind == "commitment" and not is_review(s))]


@pytest.mark.parametrize(("track_id", "step_id"), SIDE_BY_SIDE)
def test_every_shipped_step_whose_answers_are_shown_side_by_side_can_be_held(track_id,
                                                                             step_id):
    state = with_counsellor(engine.SessionState(
        id="s1", track=LIBRARY.get(track_id), created_at=T0,
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner"))))
    assert mod(state, "hold", step_id).state.reveal_held(step_id)


def test_a_held_commitment_still_becomes_the_couples_records_when_released():
    state = mod(at("promise"), "hold", "promise").state
    state = submit(submit(state, A, "promise", "I'll call at noon.").state,
                   B, "promise", "I'll cook on Friday.").state
    assert state.records == {} and view_for(state, A)["commitments"] == []
    released = mod(state, "release", "promise")
    saved = [e.record for e in released.effects if isinstance(e, engine.RecordSaved)]
    assert {(r.user_id, r.data["text"]) for r in saved} == {
        (A, "I'll call at noon."), (B, "I'll cook on Friday.")}
    assert {c["text"] for c in view_for(released.state, B)["commitments"]} == {
        "I'll call at noon.", "I'll cook on Friday."}


def test_preview_reads_a_held_steps_submitted_answers_for_the_counsellor_alone():
    state = at("talk")
    assert code(lambda: mod(state, "preview", "talk")) == "conflict"  # not held
    held = mod(state, "hold", "talk").state
    assert code(lambda: mod(held, "preview", "talk")) == "conflict"  # nothing in yet
    held = submit(held, A, "talk", "ANA-SUBMITTED").state
    held = draft(held, B, "talk", "BEN-DRAFT").state
    before = {who: view_for(held, who) for who in (A, B)}
    previewed = mod(held, "preview", "talk", now=T0 + timedelta(minutes=3))
    assert reveals(previewed) == []
    state = previewed.state
    event = state.audit[-1]
    assert (event.action, event.actor_id, event.step_id) == ("answers_previewed", C, "talk")
    entries = preview_entries(state, state.track.step("talk"))
    assert [(e["user_id"], e["body"]) for e in entries] == [(A, "ANA-SUBMITTED")]
    assert "BEN-DRAFT" not in json.dumps(entries)
    for who in (A, B):  # the partners learn that a preview happened, nothing more
        after = view_for(state, who)
        assert after["audit"][-1]["action"] == "answers_previewed"
        assert after["steps"] == before[who]["steps"]
    assert "ANA-SUBMITTED" not in text_of(state, B)


# --- the floor --------------------------------------------------------------------------------


def test_the_floor_locks_the_other_partners_answer_but_not_their_draft():
    state = mod(at("talk"), "floor", "talk", user_id=A).state
    assert view_for(state, B)["moderation"]["floor"] == {"step_id": "talk", "user_id": A}
    assert code(lambda: submit(state, B, "talk", "ben")) == "not_your_turn"
    kept = draft(state, B, "talk", "ben, later").state
    assert view_for(kept, B)["steps"][2]["mine"]["draft"]["body"] == "ben, later"
    state = submit(kept, A, "talk", "ana").state  # the holder answers
    opened = mod(state, "floor", "talk")
    assert actions(opened.state)[-2:] == ["floor_given", "floor_opened"]
    assert opened.state.audit[-2].target_user_id == A
    assert reveals(submit(opened.state, B, "talk", "ben")) == ["talk"]


def test_the_floor_locks_the_other_partners_turns_in_a_listening_exercise():
    state = mod(at("listen"), "floor", "listen", user_id=B).state

    def turn(who):
        return engine.handle(state, engine.SubmitTurn(who, "listen", f"t{who}", f"ct{who}",
                                                      "speak_first"), T0)

    assert code(lambda: turn(A)) == "not_your_turn"
    assert turn(B).state.step_state("listen")["speaker"] == B
    assert not draft(state, A, "listen", "what I'll say").visible  # drafts still save


def test_the_floor_goes_to_a_partner_on_the_current_step_only():
    state = at("talk")
    for who in (C, X):
        assert code(lambda w=who: mod(state, "floor", "talk", user_id=w)) == "invalid"
    assert code(lambda: mod(state, "floor", "story", user_id=A)) == "conflict"
    given = mod(state, "floor", "talk", user_id=A).state
    assert mod(given, "floor", "talk", user_id=A).effects == ()
    moved = mod(given, "advance", "talk").state
    assert moved.moderation["floor"] is None


# --- cards ------------------------------------------------------------------------------------


def test_a_reframe_card_is_shown_to_both_on_the_current_step_only():
    shown = mod(at("talk"), "card", card_id="k1", body="  What need sits under this?  ").state
    for viewer in (A, B, C):
        [card] = view_for(shown, viewer)["moderation"]["cards"]
        assert (card["body"], card["step_id"]) == ("What need sits under this?", "talk")
    moved = mod(shown, "advance", "talk").state
    assert view_for(moved, A)["moderation"]["cards"] == []
    assert code(lambda: mod(at("talk"), "card", card_id="k2", body="  ")) == "invalid"
    assert code(lambda: mod(at("talk"), "card", card_id="k2", body="x" * 601)) == "too_large"
    assert code(lambda: mod(at("talk"), "card", card_id="k2", kind="poem", body="x")) == \
        "invalid"


def test_a_prompt_card_becomes_the_next_step_and_is_answered_like_any_prompt():
    added = mod(at("talk"), "card", card_id="k3xyz", kind="prompt", body="What did you miss?")
    assert any(isinstance(e, engine.TrackChanged) for e in added.effects)
    state = added.state
    ids = [s["id"] for s in view_for(state, A)["steps"]]
    assert ids[2:4] == ["talk", "counsellor-k3xyz"] and len(ids) == len(TRACK.steps) + 1
    assert state.track.step("counsellor-k3xyz").prompt == "What did you miss?"
    assert actions(state)[-1] == "prompt_added"
    state = mod(state, "advance", "talk").state
    assert state.current_step.id == "counsellor-k3xyz"
    state = submit(state, A, "counsellor-k3xyz", "ana").state
    assert reveals(submit(state, B, "counsellor-k3xyz", "ben")) == ["counsellor-k3xyz"]


def test_a_prompt_card_waits_until_no_safety_check_lies_ahead():
    assert code(lambda: mod(start(), "card", card_id="k4", kind="prompt", body="Why?")) == \
        "conflict"
    # A reframe card is only words on screen: fine before the check.
    assert mod(start(), "card", card_id="k5", body="Breathe.").state.moderation["cards"]


# --- end --------------------------------------------------------------------------------------


def test_the_counsellor_ends_the_session_for_both():
    ended = mod(at("talk"), "end", now=T0 + timedelta(minutes=30))
    state = ended.state
    assert state.status == engine.ENDED and state.finished_at == T0 + timedelta(minutes=30)
    assert any(isinstance(e, engine.StepAdvanced) and e.finished for e in ended.effects)
    # Credited to nobody: a partner must not tell a counsellor's stop from a partner's
    # "Not today" or a concerning answer (engine.check.stop_early): no Activity line either.
    before = at("talk")
    for viewer in (A, B):
        view = view_for(state, viewer)
        assert view["session"]["status"] == "ended"
        assert "ended_by" not in view["moderation"]
        assert view["audit"] == view_for(before, viewer)["audit"]
    assert "session_ended" not in actions(state)
    assert code(lambda: submit(state, A, "talk", "too late")) == "conflict"
    for name in ("advance", "hold", "end"):
        assert code(lambda n=name: mod(state, n, "talk")) == "conflict"


# --- notes and messages -----------------------------------------------------------------------


def test_a_note_is_the_counsellors_alone_and_a_message_reaches_one_partner():
    state = note(at("talk"), "NOTE-ABOUT-BOTH", n=1).state
    state = note(state, "MESSAGE-FOR-ANA", to=A, n=2).state
    assert [(n["body"], n["private"]) for n in view_for(state, C)["notes"]] == [
        ("NOTE-ABOUT-BOTH", True), ("MESSAGE-FOR-ANA", False)]
    assert [n["body"] for n in summary_for(state, C)["notes"]] == [
        "NOTE-ABOUT-BOTH", "MESSAGE-FOR-ANA"]
    assert [(n["body"], n["from_user_id"]) for n in view_for(state, A)["notes"]] == [
        ("MESSAGE-FOR-ANA", C)]
    assert view_for(state, B)["notes"] == []
    assert "NOTE-ABOUT-BOTH" not in text_of(state, A)
    for marker in ("NOTE-ABOUT-BOTH", "MESSAGE-FOR-ANA"):
        assert marker not in text_of(state, B)
        assert marker not in json.dumps(summary_for(state, A))
    assert actions(state)[-2:] == ["note_written", "message_sent"]
    assert state.audit[-1].target_user_id == A


def test_a_message_goes_to_one_of_the_two_partners_and_needs_words():
    state = at("talk")
    for to in (C, X):
        assert code(lambda t=to: note(state, "hello", to=t)) == "invalid"
    assert code(lambda: note(state, "   ")) == "invalid"
    assert code(lambda: note(state, None, to=A)) == "invalid"
    assert code(lambda: note(state, "x" * 4001)) == "too_large"


# --- reads and the audit trail ----------------------------------------------------------------


def test_the_counsellor_opening_the_session_is_recorded_once_per_ten_minutes():
    state = at("talk")
    first = engine.handle(state, RecordRead(C, "opened"), T0)
    assert actions(first.state)[-1] == "opened"
    soon = engine.handle(first.state, RecordRead(C, "opened"), T0 + READ_COALESCE / 2)
    assert soon.effects == () and soon.state is first.state
    summary = engine.handle(first.state, RecordRead(C, "read_summary"), T0 + timedelta(minutes=1))
    assert actions(summary.state)[-1] == "read_summary"
    later = engine.handle(summary.state, RecordRead(C, "opened"), T0 + READ_COALESCE)
    assert actions(later.state).count("opened") == 2
    for who in (A, X):  # partners' reads of their own session are not audited; outsiders none
        assert engine.handle(state, RecordRead(who, "opened"), T0).effects == ()


def test_a_counsellors_pause_and_resume_are_audited_and_a_partners_are_not():
    state = at("talk")
    paused = engine.handle(state, PauseSession(C), T0).state
    assert actions(paused)[-1] == "session_paused" and paused.audit[-1].actor_id == C
    resumed = engine.handle(paused, ResumeSession(C), T0 + timedelta(minutes=5)).state
    assert actions(resumed)[-1] == "session_resumed" and not resumed.is_paused(T0)
    by_partner = engine.handle(state, PauseSession(A, None, "PRIVATE-REASON"), T0).state
    assert by_partner.audit == state.audit
    assert engine.handle(by_partner, ResumeSession(A), T0).state.audit == state.audit
    nothing = engine.handle(state, ResumeSession(C), T0)  # nothing to resume: no line
    assert nothing.state.audit == state.audit


def test_answers_shown_is_recorded_when_a_reveal_happens_with_a_counsellor_present():
    with_c = submit(submit(at("talk"), A, "talk", "a").state, B, "talk", "b").state
    event = with_c.audit[-1]
    assert (event.action, event.actor_id, event.step_id) == ("answers_shown", C, "talk")
    without = submit(submit(at("talk", counsellor=False), A, "talk", "a").state,
                     B, "talk", "b").state
    assert without.audit == ()


MARKERS = ("CARD-MARK", "PROMPT-MARK", "NOTE-MARK", "MSG-MARK", "ANSWER-MARK", "DRAFT-MARK",
           "REASON-MARK")


def test_every_counsellor_action_is_in_the_audit_trail_and_none_carries_text():
    clock = iter(T0 + timedelta(seconds=n) for n in range(1000))
    state = engine.handle(at("talk", counsellor=False), InviteCounsellor(A, LATER),
                          next(clock)).state
    state = engine.handle(state, ConsentCounsellor(B), next(clock)).state
    state = engine.handle(state, AdmitCounsellor(C, "Cleo"), next(clock)).state
    steps = [
        lambda s: engine.handle(s, RecordRead(C, "opened"), next(clock)),
        lambda s: mod(s, "hold", "talk", now=next(clock)),
        lambda s: draft(s, B, "talk", "DRAFT-MARK", next(clock)),
        lambda s: submit(s, A, "talk", "ANSWER-MARK a", next(clock)),
        lambda s: mod(s, "preview", "talk", now=next(clock)),
        lambda s: submit(s, B, "talk", "ANSWER-MARK b", next(clock)),
        lambda s: mod(s, "release", "talk", now=next(clock)),
        lambda s: mod(s, "revisit", step_id="check", now=next(clock)),
        lambda s: mod(s, "revisit", now=next(clock)),
        lambda s: mod(s, "card", card_id="k1", body="CARD-MARK", now=next(clock)),
        lambda s: mod(s, "card", card_id="k2", kind="prompt", body="PROMPT-MARK",
                      now=next(clock)),
        lambda s: note(s, "NOTE-MARK", n=1, now=next(clock)),
        lambda s: note(s, "MSG-MARK", to=B, n=2, now=next(clock)),
        lambda s: engine.handle(s, PauseSession(C, None, "REASON-MARK"), next(clock)),
        lambda s: engine.handle(s, ResumeSession(C), next(clock)),
        lambda s: mod(s, "advance", "talk", now=next(clock)),
        lambda s: mod(s, "floor", "counsellor-k2", user_id=A, now=next(clock)),
        lambda s: mod(s, "floor", "counsellor-k2", now=next(clock)),
        lambda s: engine.handle(s, RecordRead(C, "read_summary"), next(clock)),
        lambda s: mod(s, "end", now=next(clock)),
    ]
    for step in steps:
        state = step(state).state
    assert actions(state) == [
        "counsellor_invited", "counsellor_consented", "counsellor_joined",
        "opened", "reveal_held", "answers_previewed", "reveal_released", "answers_shown",
        "step_revisited", "revisit_closed", "card_shown", "prompt_added", "note_written",
        "message_sent", "session_paused", "session_resumed", "step_advanced", "floor_given",
        "floor_opened", "read_summary",
    ]  # ending the session is credited to nobody (engine.check.stop_early)
    assert all(e.at is not None for e in state.audit)
    assert len({e.at for e in state.audit}) == len(state.audit) - 1  # answers_shown: same moment
    trail = repr([astuple(e) for e in state.audit])
    for marker in MARKERS:
        assert marker not in trail
    # Both partners see the same trail (who, what, when), without any of the text.
    assert view_for(state, A)["audit"] == view_for(state, B)["audit"] == \
        view_for(state, C)["audit"]
    assert not any(m in json.dumps(view_for(state, A)["audit"]) for m in MARKERS)


# --- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_row_says_who_submitted_and_flags_only_check_in_privately():
    from server.engine.check import SubmitCheck
    from tests.unit.test_check import CHECK, CONCERNING
    from tests.unit.test_check import CLEAR as CHECK_CLEAR

    state = replace(start(), check_step=CHECK)
    state = engine.handle(state, SubmitCheck(A, "client-aaaa", {"answers": CONCERNING}),
                          T0).state
    state = engine.handle(state, SubmitCheck(B, "client-bbbb", {"answers": CHECK_CLEAR}),
                          T0).state
    row = dashboard_row(state, C, online=[A])
    # Never who: the flag asks the counsellor to check in with each partner.
    assert row["flags"] == [{"message": "Check in with each partner privately"}]
    assert [(p["user_id"], p["online"]) for p in row["partners"]] == [(A, True), (B, False)]
    assert "Ana" not in json.dumps(row["flags"]) and "answers" not in json.dumps(row)
    assert all("flags" not in s for s in view_for(state, B)["steps"])
    state = at("talk")
    state = mod(submit(state, A, "talk", "words").state, "hold", "talk").state
    assert dashboard_row(state, C)["step"] == {"id": "talk", "title": "Talk", "kind": "prompt",
                                               "submitted": [A], "held": True}
