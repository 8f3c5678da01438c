"""The `checkin` kind on plain data: each part of the answer checked, private until both are
in, revealed together; `revealed_ratings` feeds the couple's chart with revealed numbers only.
Also the privacy property for check-ins and commitments."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.kinds.checkin import LINE, revealed_ratings
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"
PEOPLE = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))

CHECKIN = Step(id="checkin", kind="checkin", title="Check-in", prompt="How are you?")
NARROW = Step(id="narrow", kind="checkin", title="Two ratings", prompt="How?",
              settings={"ratings": [{"id": "trust", "label": "Trust"},
                                    {"id": "calm", "label": "Calm"}], "max": 5,
                        "support": [{"id": "ear", "label": "An ear"},
                                    {"id": "tips", "label": "Tips"}], "max_length": 30})
TRACK = Track(id="t", title="T", summary="S.", version=1, steps=(CHECKIN, NARROW))
GOOD = {"ratings": {"trust": 6, "closeness": 7, "mood": 5}, "high": "A walk.",
        "low": "Monday.", "support": "listening"}


def share(state: engine.SessionState, user: str, shared: bool = True, n: int = 0
          ) -> engine.SessionState:
    """The partner's standing choice, as services.checkins.set_line stores it."""
    at = T0 + timedelta(hours=1, minutes=n)
    record = engine.CoupleRecord(id=f"line-{user}", kind=LINE, data={},
                                 status="shared" if shared else "kept", created_at=at,
                                 updated_at=at, user_id=user, private_to=user)
    return replace(state, records={**state.records, record.id: record})


def session(step_id: str = "checkin") -> engine.SessionState:
    return engine.SessionState(id="s1", track=TRACK, participants=PEOPLE,
                               current_index=TRACK.step_index(step_id), created_at=T0)


def submit(state, user, fields, step="checkin", body=None, n=0):
    return engine.handle(state, engine.SubmitEntry(user, step, f"e-{user}-{step}",
                                                   f"c-{user}-{step}", body, fields),
                         T0 + timedelta(minutes=n))


def code(fn) -> str:
    with pytest.raises(MendError) as error:
        fn()
    return error.value.code


def test_a_full_check_in_is_stored_as_given():
    t = submit(session(), A, GOOD)
    assert dict(t.state.entries[("checkin", A)].fields) == GOOD


@pytest.mark.parametrize("fields, expected", [
    ({**GOOD, "ratings": {"trust": 6, "closeness": 7}}, "invalid"),  # a rating missing
    ({**GOOD, "ratings": {**GOOD["ratings"], "mood": 11}}, "invalid"),
    ({**GOOD, "ratings": {**GOOD["ratings"], "mood": 0}}, "invalid"),
    ({**GOOD, "ratings": {**GOOD["ratings"], "mood": "5"}}, "invalid"),
    ({**GOOD, "ratings": {**GOOD["ratings"], "mood": True}}, "invalid"),
    ({**GOOD, "ratings": {**GOOD["ratings"], "joy": 4}}, "invalid"),
    ({**GOOD, "ratings": [6, 7, 5]}, "invalid"),
    ({**GOOD, "support": None}, "invalid"),
    ({**GOOD, "support": "fixing"}, "invalid"),
    ({**GOOD, "high": 3}, "invalid"),
    ({**GOOD, "low": "x" * 501}, "too_large"),
    ({**GOOD, "mood": 3}, "invalid"),  # an unknown field
    ("not an object", "invalid"),
])
def test_each_part_of_a_check_in_is_checked(fields, expected):
    assert code(lambda: submit(session(), A, fields)) == expected


def test_a_body_is_refused_and_high_and_low_may_stay_empty():
    assert code(lambda: submit(session(), A, GOOD, body="words")) == "invalid"
    t = submit(session(), A, {**GOOD, "high": "  ", "low": None})
    assert dict(t.state.entries[("checkin", A)].fields) == {
        "ratings": GOOD["ratings"], "support": "listening"}


def test_settings_choose_the_ratings_range_and_options():
    state = session("narrow")
    fields = {"ratings": {"trust": 5, "calm": 1}, "support": "ear"}
    assert submit(state, A, fields, step="narrow").state.entries[("narrow", A)].fields == fields
    for bad in ({**fields, "ratings": {"trust": 6, "calm": 1}},
                {**fields, "ratings": {"trust": 5, "calm": 1, "mood": 3}},
                {**fields, "support": "listening"}):
        assert code(lambda bad=bad: submit(state, A, bad, step="narrow")) == "invalid"
    too_long = {**fields, "high": "x" * 31}
    assert code(lambda: submit(state, A, too_long, step="narrow")) == "too_large"
    answer = view_for(state, A)["steps"][1]["answer"]
    assert answer["type"] == "checkin" and answer["max"] == 5 and answer["min"] == 1
    assert [r["id"] for r in answer["ratings"]] == ["trust", "calm"]


def test_drafts_may_be_partial_and_a_blank_draft_reads_as_not_started():
    state = session()
    t = engine.handle(state, engine.SaveDraft(A, "checkin", None, {"ratings": {"trust": 4}}), T0)
    assert view_for(t.state, B)["steps"][0]["partner_status"] == "writing"
    t = engine.handle(state, engine.SaveDraft(A, "checkin", None,
                                              {"ratings": {"trust": None}, "high": ""}), T0)
    assert view_for(t.state, B)["steps"][0]["partner_status"] == "not_started"
    assert code(lambda: engine.handle(state, engine.SaveDraft(
        A, "checkin", None, {"ratings": {"trust": 40}}), T0)) == "invalid"


def test_private_until_both_are_in_then_revealed_together_with_the_default_spec():
    state = submit(session(), A, {**GOOD, "high": "SECRET-HIGH"}).state
    text_b = json.dumps(view_for(state, B)) + json.dumps(summary_for(state, B))
    assert "SECRET-HIGH" not in text_b and '"trust": 6' not in text_b
    assert revealed_ratings(share(state, A), B) == []
    t = submit(state, B, {**GOOD, "ratings": {"trust": 3, "closeness": 4, "mood": 2}}, n=1)
    assert any(isinstance(e, engine.StepRevealed) for e in t.effects)
    view_b = view_for(t.state, B)["steps"][0]
    assert {e["user_id"] for e in view_b["revealed"]["entries"]} == {A, B}
    assert view_b["answer"]["ratings"][0] == {"id": "trust", "label": "Trust"}
    assert summary_for(t.state, B)["steps"][0]["answer"]["type"] == "checkin"
    rows = revealed_ratings(share(t.state, A), B)
    assert [(r["user_id"], r["ratings"]["trust"]) for r in rows] == [(A, 6), (B, 3)]
    assert rows[0]["at"] == "2026-11-27T09:01:00.000Z" and rows[0]["max"] == 10
    assert "high" not in json.dumps(rows)


def test_a_skipped_check_in_is_not_charted():
    track = Track(id="t", title="T", summary="S.", version=1,
                  steps=(Step(id="checkin", kind="checkin", title="C", prompt="P",
                              optional=True),))
    state = engine.SessionState(id="s1", track=track, participants=PEOPLE, created_at=T0)
    state = engine.handle(state, engine.SubmitEntry(A, "checkin", "e1", "c1", skip=True), T0).state
    state = submit(state, B, GOOD).state
    assert [r["user_id"] for r in revealed_ratings(share(state, A), B)] == [B]


# --- privacy property: check-ins, commitments and appreciations --------------------------

PTRACK = Track(id="p", title="P", summary="S.", version=1, steps=(
    Step(id="checkin", kind="checkin", title="C", prompt="P"),
    Step(id="promise", kind="commitment", title="W", prompt="P"),
    Step(id="thanks", kind="appreciation", title="A", prompt="P"),
))
MOVES = ["draft"] * 2 + ["submit"] * 3 + ["ready"] * 3 + ["skip"]


def answer(step: Step, marker: str, rating: int):
    if step.kind == "checkin":
        return None, {"ratings": {"trust": rating, "closeness": rating, "mood": rating},
                      "high": marker, "low": marker + "-low", "support": "advice"}
    return marker, None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(MOVES), st.sampled_from((A, B)),
                          st.integers(1, 10)), min_size=10, max_size=60))
def test_unrevealed_check_ins_and_commitments_never_reach_the_partner(sequence):
    state = engine.SessionState(id="s1", track=PTRACK, participants=PEOPLE, created_at=T0)
    written: dict[str, list[tuple[str, str]]] = {A: [], B: []}
    for n, (move, user, rating) in enumerate(sequence):
        step = state.current_step
        if step is None:
            break
        marker = f"MARK{n}x{user}"
        body, fields = answer(step, marker, rating)
        if move == "draft":
            action = engine.SaveDraft(user, step.id, body, fields)
        elif move in ("submit", "skip"):
            action = engine.SubmitEntry(user, step.id, f"e{n}", f"c{n}", body, fields,
                                        skip=move == "skip")
        else:
            action = engine.MarkReady(user, step.id)
        try:
            state = engine.handle(state, action, T0 + timedelta(seconds=n)).state
        except MendError:
            continue
        if move != "ready":
            written[user].append((step.id, marker))
        for viewer in (A, B):
            other = B if viewer == A else A
            text = json.dumps(view_for(state, viewer)) + json.dumps(summary_for(state, viewer))
            for step_id, mark in written[other]:
                entry = state.entries.get((step_id, other))
                shown = (step_id in state.reveals and entry is not None and not entry.skipped
                         and mark in json.dumps([entry.body, dict(entry.fields or {})]))
                if not shown:
                    assert mark not in text, f"{viewer} saw {other}'s {step_id} ({mark})"
            # the chart's rows never carry an unrevealed step
            assert all(r["step_id"] in state.reveals
                       for r in revealed_ratings(share(state, other), viewer))
            # a commitment record exists only for a revealed commitment step
            for record in state.records.values():
                assert record.step_id in state.reveals


# --- each partner's line: their numbers kept from the other unless they share them --------

COUNSELLOR = engine.Participant("user-c", "Cleo", "counsellor")


def both_in(state=None, a=GOOD, b=None):
    state = submit(state or session(), A, a).state
    return submit(state, B, b or {**GOOD, "ratings": {"trust": 3, "closeness": 4, "mood": 2}},
                  n=1).state


def entry_of(view_or_part, user):
    step = view_or_part["steps"][0]
    # A view's step lists them under revealed.entries; a summary's under answers.
    found = step["answers"] if "answers" in step else step["revealed"]["entries"]
    return next(e for e in found if e["user_id"] == user)


def test_numbers_are_kept_from_the_partner_by_default_and_the_rest_is_shown():
    state = both_in()
    for received in (view_for(state, B), summary_for(state, B)):
        theirs = entry_of(received, A)
        assert "ratings" not in theirs["fields"] and theirs["numbers_kept"] is True
        assert theirs["fields"]["high"] == "A walk." and theirs["fields"]["support"] == "listening"
        assert entry_of(received, B)["fields"]["ratings"]["trust"] == 3  # one's own, always
    assert [r["user_id"] for r in revealed_ratings(state, B)] == [B]
    assert [r["user_id"] for r in revealed_ratings(state, A)] == [A]
    assert view_for(state, A)["steps"][0]["line"]["shared"] is False


def test_the_owner_shares_and_takes_it_back_and_only_their_own_line_changes():
    state = share(both_in(), A)
    assert entry_of(view_for(state, B), A)["fields"]["ratings"] == GOOD["ratings"]
    assert [r["user_id"] for r in revealed_ratings(state, B)] == [A, B]
    assert "ratings" not in entry_of(view_for(state, A), B)["fields"]  # B still keeps hers
    assert view_for(state, A)["steps"][0]["line"]["shared"] is True
    state = share(state, A, shared=False, n=5)  # a later choice wins
    assert "ratings" not in entry_of(summary_for(state, B), A)["fields"]
    assert [r["user_id"] for r in revealed_ratings(state, B)] == [B]


def test_a_counsellor_both_invited_reads_the_numbers_like_any_answer():
    state = replace(both_in(), participants=PEOPLE + (COUNSELLOR,))
    for user in (A, B):
        assert entry_of(view_for(state, COUNSELLOR.user_id), user)["fields"]["ratings"]
        assert "numbers_kept" not in entry_of(summary_for(state, COUNSELLOR.user_id), user)
    assert "line" not in view_for(state, COUNSELLOR.user_id)["steps"][0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("submit", "share", "keep")), st.sampled_from((A, B))),
                min_size=1, max_size=12))
def test_a_kept_line_never_reaches_the_partner(moves):
    """Planted numbers (a 1–999 scale, so each check-in's values are unique markers): the
    partner's views, summaries and chart rows carry them only while the owner shares."""
    wide = Step(id="wide", kind="checkin", title="W", prompt="P",
                settings={"ratings": [{"id": "trust", "label": "Trust"}], "max": 999})
    track = Track(id="w", title="W", summary="S.", version=1, steps=(wide,))
    state = engine.SessionState(id="s1", track=track, participants=PEOPLE, created_at=T0)
    marks = {A: 701, B: 302}
    for n, (move, user) in enumerate(moves):
        if move == "submit":
            with contextlib.suppress(MendError):  # a second submit: refused, nothing changes
                state = engine.handle(state, engine.SubmitEntry(
                    user, "wide", f"e{n}", f"c{n}", None,
                    {"ratings": {"trust": marks[user]}, "support": "neither"}), T0).state
        else:
            state = share(state, user, move == "share", n)
        for viewer, owner in ((A, B), (B, A)):
            received = json.dumps(view_for(state, viewer)) + json.dumps(
                summary_for(state, viewer)) + json.dumps(revealed_ratings(state, viewer))
            mark = f'"trust": {marks[owner]}'
            may = "wide" in state.reveals and view_for(state, owner)["steps"][0]["line"]["shared"]
            if not may:
                assert mark not in received, f"{viewer} received {owner}'s kept numbers"
            else:
                assert mark in received
