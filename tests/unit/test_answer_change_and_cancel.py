"""Changing one's mind (issue 16, item 6), on plain data: an answer can be replaced or taken
back until the other partner submits; a partner can cancel a session under way, and what
was never shown is deleted, never revealed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.engine import MendError
from server.engine import session as engine
from server.engine.visibility import summary_for, view_for
from tests.conftest import unique_marker
from tests.unit.test_engine import T0, A, B, new_state, submit

C = "user-c"


def step_of(state, viewer, step_id="meaning") -> dict:
    return next(s for s in view_for(state, viewer)["steps"] if s["id"] == step_id)


def withdraw(state, user, step="meaning"):
    return engine.handle(state, engine.WithdrawEntry(user, step), T0 + timedelta(seconds=30))


# --- replacing an answer --------------------------------------------------------------------


def test_a_new_submit_replaces_the_answer_and_the_partner_never_sees_the_old_words():
    old, new = unique_marker("old"), unique_marker("new")
    t1 = submit(new_state(), A, body=old)
    t2 = submit(t1.state, A, body=new, n=1)
    assert [type(e) for e in t2.effects] == [engine.EntryDeleted, engine.EntrySubmitted,
                                             engine.StepStateSaved]
    assert t2.state.version == t1.state.version + 1
    assert step_of(t2.state, A)["mine"]["entry"]["body"] == new
    assert step_of(t2.state, B)["partner_status"] == "submitted"
    assert old not in repr(t2.state.entries)  # the old words are gone, not kept aside
    t3 = submit(t2.state, B, body="from B", n=2)
    revealed = step_of(t3.state, B)["revealed"]["entries"]
    assert [e["body"] for e in revealed] == [new, "from B"]
    assert old not in repr(view_for(t3.state, B)) + repr(summary_for(t3.state, B))


def test_the_replaced_client_id_is_remembered_so_a_late_retry_cant_bring_it_back():
    t = submit(submit(new_state(), A, body="first").state, A, body="second", n=1)
    assert t.state.step_state("meaning")["retired"] == {A: ["client-user-a-0"]}


def test_after_the_partner_submitted_a_replacement_is_a_conflict_and_nothing_changes():
    state = submit(submit(new_state(), A, body="a").state, B, body="b", n=1).state
    with pytest.raises(MendError) as error:
        submit(state, A, body="changed", n=2)
    assert error.value.code == "conflict" and "Ben has submitted too" in error.value.message


def test_a_counsellor_holding_the_reveal_does_not_reopen_the_answers():
    state = new_state()
    state = engine.SessionState(**{**state.__dict__, "participants": state.participants + (
        engine.Participant(C, "Cara", "counsellor"),), "session_data": {
            "moderation": {"held": ["meaning"]}}})
    state = submit(submit(state, A, body="a").state, B, body="b", n=1).state
    assert "meaning" not in state.reveals  # held, both in
    for action in (engine.WithdrawEntry(A, "meaning"),
                   engine.SubmitEntry(A, "meaning", "e-x", "client-x-0001", "changed")):
        with pytest.raises(MendError) as error:
            engine.handle(state, action, T0)
        assert error.value.code == "conflict"


def test_a_replacement_is_validated_like_a_first_answer():
    t = submit(new_state(), A, body="fine")
    with pytest.raises(MendError) as error:
        submit(t.state, A, body="x" * 101, n=1)
    assert error.value.code == "too_large"
    assert step_of(t.state, A)["mine"]["entry"]["body"] == "fine"


# --- taking an answer back ------------------------------------------------------------------


def test_withdrawing_returns_the_words_to_the_draft_and_the_partner_to_not_submitted():
    secret = unique_marker("taken-back")
    t1 = submit(new_state(), A, body=secret)
    t2 = withdraw(t1.state, A)
    assert t2.visible and t2.state.version == t1.state.version + 1
    assert ("meaning", A) not in t2.state.entries
    mine = step_of(t2.state, A)["mine"]
    assert mine["entry"] is None and mine["draft"]["body"] == secret
    partner = step_of(t2.state, B)
    assert partner["partner_status"] != "submitted"
    assert secret not in repr(view_for(t2.state, B)) + repr(summary_for(t2.state, B))
    # The partner's submit now reveals nothing: one answer is missing.
    t3 = submit(t2.state, B, body="b", n=2)
    assert "meaning" not in t3.state.reveals
    assert not any(isinstance(e, engine.StepRevealed) for e in t3.effects)


def test_a_withdrawn_skip_leaves_no_draft_and_shows_not_started():
    from dataclasses import replace

    from tests.unit.test_engine import TRACK

    steps = tuple(replace(s, optional=True) if s.id == "meaning" else s for s in TRACK.steps)
    state = replace(new_state(), track=replace(TRACK, steps=steps))
    t1 = engine.handle(state, engine.SubmitEntry(A, "meaning", "e1", "client-skip-01",
                                                 skip=True), T0)
    assert step_of(t1.state, B)["partner_status"] == "submitted"
    t2 = withdraw(t1.state, A)
    assert not t2.state.drafts and not any(isinstance(e, engine.DraftSaved) for e in t2.effects)
    assert step_of(t2.state, B)["partner_status"] == "not_started"


def test_withdrawing_after_the_partner_submitted_or_with_nothing_sent_is_a_conflict():
    with pytest.raises(MendError) as error:
        withdraw(new_state(), A)
    assert error.value.code == "conflict"
    state = submit(submit(new_state(), A).state, B, n=1).state
    with pytest.raises(MendError) as error:
        withdraw(state, A)
    assert error.value.code == "conflict"


def test_withdrawing_works_during_a_break_and_only_partners_may():
    t = submit(new_state(), A, body="a")
    paused = engine.SessionState(**{**t.state.__dict__,
                                    "paused_until": T0 + timedelta(hours=1)})
    assert ("meaning", A) not in withdraw(paused, A).state.entries
    with pytest.raises(MendError) as error:
        withdraw(t.state, "stranger")
    assert error.value.code == "forbidden"


def test_an_info_step_has_nothing_to_take_back():
    with pytest.raises(MendError) as error:
        engine.handle(new_state(index=0), engine.WithdrawEntry(A, "welcome"), T0)
    assert error.value.code == "invalid"


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_deletes_what_was_never_shown_and_keeps_what_was():
    shown_a, shown_b, unshown, draft = (unique_marker(n) for n in ("shown-a", "shown-b",
                                                                     "unshown", "draft"))
    state = new_state()
    state = submit(submit(state, A, body=shown_a).state, B, body=shown_b, n=1).state
    for user in (A, B):
        state = engine.handle(state, engine.MarkReady(user, "meaning"), T0).state
    state = submit(state, A, step="rating", body=None, fields={"value": 3}, n=2).state
    state = engine.handle(state, engine.SaveDraft(B, "rating", None, {"value": 9}), T0).state
    state = engine.SessionState(**{**state.__dict__, "session_data": {
        "private": {A: {"check": {"answers": unshown}}, B: {"break_reason": draft}}}})
    t = engine.handle(state, engine.CancelSession(B), T0 + timedelta(minutes=5))
    assert t.state.status == engine.CANCELLED
    assert t.state.finished_at == T0 + timedelta(minutes=5)
    assert ("rating", A) not in t.state.entries and not t.state.drafts
    assert ("meaning", A) in t.state.entries and ("meaning", B) in t.state.entries
    deleted = [e for e in t.effects if isinstance(e, engine.EntryDeleted)]
    assert [(e.step_id, e.user_id) for e in deleted] == [("rating", A)]
    assert any(isinstance(e, engine.DraftDeleted) for e in t.effects)
    for viewer in (A, B):
        seen = repr(view_for(t.state, viewer)) + repr(summary_for(t.state, viewer))
        assert shown_a in seen and shown_b in seen
        assert unshown not in seen and draft not in seen
    assert unshown not in repr(t.state.session_data) and draft not in repr(t.state.session_data)
    header_a = view_for(t.state, A)["session"]
    header_b = view_for(t.state, B)["session"]
    assert header_a["status"] == header_b["status"] == "cancelled"
    assert header_b["cancelled"]["text"].startswith("You cancelled this session.")
    assert header_a["cancelled"]["text"].startswith("Ben cancelled this session.")
    assert header_a["current_step_id"] is None
    rating = step_of(t.state, A, "rating")
    assert rating["status"] == "locked" and rating["revealed"] is None  # "not reached"


def test_a_cancelled_session_takes_nothing_more_and_cannot_be_cancelled_twice():
    state = engine.handle(new_state(), engine.CancelSession(A), T0).state
    for action in (engine.CancelSession(B), engine.SubmitEntry(B, "meaning", "e", "client-b-9",
                                                               "late"),
                   engine.SaveDraft(B, "meaning", "late"), engine.MarkReady(B, "meaning")):
        with pytest.raises(MendError) as error:
            engine.handle(state, action, T0)
        assert error.value.code == "conflict"


def test_only_a_partner_can_cancel():
    state = new_state()
    state = engine.SessionState(**{**state.__dict__, "participants": state.participants + (
        engine.Participant(C, "Cara", "counsellor"),)})
    with pytest.raises(MendError) as error:
        engine.handle(state, engine.CancelSession(C), T0)
    assert error.value.code == "forbidden"
    cancelled = engine.handle(state, engine.CancelSession(A), T0).state
    # The counsellor in the session reads it too.
    header = view_for(cancelled, C)["session"]
    assert header["status"] == "cancelled"
    assert header["cancelled"]["text"].startswith("Ana cancelled this session.")
    assert "both partners" in header["cancelled"]["text"]


def test_a_finished_session_cannot_be_cancelled():
    state = engine.SessionState(**{**new_state().__dict__, "status": engine.FINISHED})
    with pytest.raises(MendError) as error:
        engine.handle(state, engine.CancelSession(A), T0)
    assert error.value.code == "conflict" and "finished" in error.value.message
