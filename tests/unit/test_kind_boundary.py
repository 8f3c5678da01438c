"""The `boundary` step kind: private lists, one reveal, item moves by the right partner
only, agreements as couple records, advisory flags. Plain data, no server, no clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.kinds.boundary import flags_for, item_text
from server.engine.tracks import Step, Track, freeze
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"

FLAGS = [{"id": "monitoring", "phrases": ["password", "location", "check your phone"],
          "message": "Offered openness builds trust; demanded access tends to feel like "
                     "control."}]

TRACK = Track(
    id="bounds", title="Bounds", summary="For tests.", version=1,
    steps=(
        Step(id="card", kind="info", title="Agreements", body="Not walls."),
        Step(id="lists", kind="boundary", title="Needs and offers", prompt="List a few.",
             settings=freeze({"max_items": 3, "max_length": 50, "revisit_days": 14,
                              "flags": FLAGS})),
        Step(id="after", kind="info", title="After", body="Done."),
    ),
)


def state_at(step_id: str = "lists", **changes) -> engine.SessionState:
    state = engine.SessionState(
        id="s1", track=TRACK, couple_id="c1",
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
        current_index=TRACK.step_index(step_id), created_at=T0,
    )
    return replace(state, **changes)


def lst(*items):
    return {"items": [dict(zip(("need", "offer"), item, strict=False)) for item in items]}


def submit(state, user, fields, n=0, skip=False):
    action = engine.SubmitEntry(user, "lists", f"e-{user}-{n}", f"c-{user}-{n}", None, fields,
                                skip)
    return engine.handle(state, action, T0 + timedelta(seconds=n)).state


def move(state, user, name, item, n=100, body=None, **wording):
    action = engine.SubmitTurn(user, "lists", f"t{n:030d}", f"ct-{n}", name, body,
                               {"item": item, **wording})
    return engine.handle(state, action, T0 + timedelta(seconds=n))


def revealed():
    state = submit(state_at(), A, lst(("a call when you're late", "text when I'm late"),
                                      ("quiet time after work",)))
    return submit(state, B, lst((None, "share my calendar"),), n=1)


def code(fn) -> str:
    with pytest.raises(MendError) as error:
        fn()
    return error.value.code


def items_of(state, viewer=A):
    return {i["id"]: i for i in view_for(state, viewer)["steps"][1]["items"]}


# --- writing the list ------------------------------------------------------------------


def test_a_list_is_private_until_both_are_in_then_revealed_together():
    state = submit(state_at(), A, lst(("SECRET-A",)))
    dump_b = json.dumps(view_for(state, B)) + json.dumps(summary_for(state, B))
    assert "SECRET-A" not in dump_b
    assert view_for(state, B)["steps"][1]["partner_status"] == "submitted"
    assert view_for(state, A)["steps"][1]["mine"]["entry"]["fields"]["items"][0]["need"] \
        == "SECRET-A"
    assert view_for(state, A)["steps"][1]["items"] == []
    state = submit(state, B, lst(("SECRET-B",)), n=1)
    assert "lists" in state.reveals
    step_b = view_for(state, B)["steps"][1]
    assert [i["need"] for i in step_b["items"]] == ["SECRET-A", "SECRET-B"]


def test_drafts_stay_with_their_author():
    action = engine.SaveDraft(A, "lists", None, lst(("DRAFT-A",)))
    state = engine.handle(state_at(), action, T0).state
    assert "DRAFT-A" in json.dumps(view_for(state, A))
    assert "DRAFT-A" not in json.dumps(view_for(state, B))
    assert view_for(state, B)["steps"][1]["partner_status"] == "writing"


@pytest.mark.parametrize("fields, expected", [
    (lst(("a",), ("b",), ("c",), ("d",)), "invalid"),  # max_items 3 from settings
    ({"items": []}, "invalid"),
    (lst(("",)), "invalid"),
    ({"items": [{"need": "x", "other": "y"}]}, "invalid"),
    ({"items": "no"}, "invalid"),
    ({"items": [{"need": 3}]}, "invalid"),
    (lst(("x" * 51,)), "too_large"),
    (None, "invalid"),
])
def test_a_list_must_have_one_to_max_items_each_with_words(fields, expected):
    assert code(lambda: submit(state_at(), A, fields)) == expected


def test_a_leading_i_need_or_ill_is_not_kept_twice():
    state = submit(state_at(), A, lst(("I need a hug", "I'll  call"), ("i need", "I will ask")))
    items = state.entries[("lists", A)].fields["items"]
    assert [dict(i) for i in items] == [{"need": "a hug", "offer": "call"},
                                        {"need": "i need", "offer": "ask"}]


def test_text_goes_in_fields_not_body():
    action = engine.SubmitEntry(A, "lists", "e", "c", "words", lst(("x",)))
    assert code(lambda: engine.handle(state_at(), action, T0)) == "invalid"


def test_max_items_defaults_to_five():
    plain = Track(id="t", title="T", summary="S", version=1,
                  steps=(Step(id="lists", kind="boundary", title="L", prompt="P"),))
    state = replace(state_at(), track=plain, current_index=0)
    submit(state, A, lst(*[(f"n{i}",) for i in range(5)]))
    assert code(lambda: submit(state, A, lst(*[(f"n{i}",) for i in range(6)]))) == "invalid"


def test_an_optional_step_can_be_skipped_and_a_required_one_cannot():
    assert code(lambda: submit(state_at(), A, None, skip=True)) == "invalid"
    optional = replace(TRACK.steps[1], optional=True)
    track = replace(TRACK, steps=(TRACK.steps[0], optional, TRACK.steps[2]))
    state = submit(replace(state_at(), track=track), A, None, skip=True)
    state = submit(state, B, lst(("x",)), n=1)
    assert [i["author"] for i in items_of(state).values()] == [B]


# --- moving items -------------------------------------------------------------------------


def test_moves_wait_for_the_reveal():
    state = submit(state_at(), A, lst(("x",)))
    assert code(lambda: move(state, B, "agree", f"{A}-1")) == "conflict"


def test_the_proposer_cannot_agree_to_their_own_item_and_the_other_can():
    state = revealed()
    item = items_of(state)[f"{A}-1"]
    assert (item["state"], item["waiting_on"]) == ("proposed", B)
    for name in ("agree", "counter", "talk", "park"):
        assert code(lambda name=name: move(state, A, name, f"{A}-1", need="x")) \
            == "not_your_turn"
    done = move(state, B, "agree", f"{A}-1")
    item = items_of(done.state)[f"{A}-1"]
    assert (item["state"], item["waiting_on"]) == ("agreed", None)
    assert any(isinstance(e, engine.TurnRecorded) for e in done.effects)


def test_an_agreement_becomes_a_couple_record_with_a_revisit_date():
    done = move(revealed(), B, "agree", f"{A}-1", n=100)
    (saved,) = [e.record for e in done.effects if isinstance(e, engine.RecordSaved)]
    assert saved.kind == "agreement" and saved.status == "active"
    assert saved.private_to is None and saved.user_id == A
    assert saved.session_id == "s1" and saved.step_id == "lists"
    assert dict(saved.data) == {
        "text": "I need a call when you're late / I'll text when I'm late",
        "need": "a call when you're late", "offer": "text when I'm late",
        "revisit_on": (T0 + timedelta(seconds=100, days=14)).date().isoformat(),
        "revisit_days": 14,
        "proposed_by": A, "item_id": f"{A}-1",
    }
    for viewer in (A, B):
        (agreement,) = view_for(done.state, viewer)["agreements"]
        assert agreement["text"] == saved.data["text"] and agreement["status"] == "active"
    assert items_of(done.state)[f"{A}-1"]["agreement_id"] == saved.id


def test_revisit_days_default_to_thirty():
    step = replace(TRACK.steps[1], settings=None)
    state = revealed()
    state = replace(state, track=replace(TRACK, steps=(TRACK.steps[0], step, TRACK.steps[2])))
    done = move(state, B, "agree", f"{A}-1", n=0)
    (record,) = done.state.records.values()
    assert record.data["revisit_on"] == (T0 + timedelta(days=30)).date().isoformat()


def test_counters_go_back_and_forth_until_one_side_agrees():
    state = move(revealed(), B, "counter", f"{A}-1", n=1, need="a text when you're late",
                 body="calls are hard at work").state
    item = items_of(state)[f"{A}-1"]
    assert (item["state"], item["waiting_on"], item["need"]) == \
        ("countered", A, "a text when you're late")
    assert item["original"]["need"] == "a call when you're late"
    assert item["history"][-1]["note"] == "calls are hard at work"
    # after B's counter, B waits: only A answers
    assert code(lambda: move(state, B, "agree", f"{A}-1", n=2)) == "not_your_turn"
    state = move(state, A, "counter", f"{A}-1", n=3, need="a text within the hour").state
    assert items_of(state)[f"{A}-1"]["waiting_on"] == B
    assert code(lambda: move(state, A, "agree", f"{A}-1", n=4)) == "not_your_turn"
    done = move(state, B, "agree", f"{A}-1", n=5)
    assert items_of(done.state)[f"{A}-1"]["state"] == "agreed"
    (record,) = done.state.records.values()
    assert record.data["need"] == "a text within the hour" and record.data["proposed_by"] == A
    assert [h["move"] for h in items_of(done.state)[f"{A}-1"]["history"]] == \
        ["counter", "counter", "agree"]


def test_a_counter_needs_words_within_the_limit():
    state = revealed()
    assert code(lambda: move(state, B, "counter", f"{A}-1")) == "invalid"
    assert code(lambda: move(state, B, "counter", f"{A}-1", need="x" * 51)) == "too_large"


def test_talk_marks_the_item_and_leaves_the_move_with_the_same_partner():
    state = move(revealed(), B, "talk", f"{A}-2").state
    item = items_of(state)[f"{A}-2"]
    assert item["talk"] is True and item["state"] == "proposed" and item["waiting_on"] == B
    state = move(state, B, "park", f"{A}-2", n=101).state
    assert items_of(state)[f"{A}-2"]["state"] == "parked"
    assert not state.records


def test_settled_items_and_unknown_items_and_moves_are_refused():
    state = move(revealed(), B, "park", f"{A}-1").state
    assert code(lambda: move(state, B, "agree", f"{A}-1", n=101)) == "conflict"
    assert code(lambda: move(state, B, "agree", "nope", n=102)) == "not_found"
    assert code(lambda: move(state, B, "shout", f"{A}-2", n=103)) == "invalid"


def test_the_step_completes_only_when_every_item_is_agreed_or_parked():
    state = revealed()
    assert code(lambda: engine.handle(state, engine.MarkReady(A, "lists"), T0)) == "conflict"
    state = move(state, B, "agree", f"{A}-1", n=1).state
    state = move(state, B, "park", f"{A}-2", n=2).state
    assert view_for(state, A)["steps"][1]["complete"] is False
    assert code(lambda: engine.handle(state, engine.MarkReady(A, "lists"), T0)) == "conflict"
    state = move(state, A, "agree", f"{B}-1", n=3).state
    assert view_for(state, A)["steps"][1]["complete"] is True
    state = engine.handle(state, engine.MarkReady(A, "lists"), T0).state
    state = engine.handle(state, engine.MarkReady(B, "lists"), T0).state
    assert state.current_step.id == "after"


def test_not_before_the_step_and_not_during_a_break():
    early = state_at("card")
    assert code(lambda: submit(early, A, lst(("x",)))) == "conflict"
    paused = replace(revealed(), paused_until=T0 + timedelta(hours=1))
    assert code(lambda: move(paused, B, "agree", f"{A}-1", n=0)) == "paused"


def test_agreements_from_an_earlier_session_show_in_a_later_one():
    done = move(revealed(), B, "agree", f"{A}-1")
    later = engine.SessionState(
        id="s2", track=TRACK, couple_id="c1", created_at=T0 + timedelta(days=3),
        participants=done.state.participants, records=done.state.records)
    for viewer in (A, B):
        (agreement,) = view_for(later, viewer)["agreements"]
        assert agreement["session_id"] == "s1" and agreement["need"] == "a call when you're late"


# --- flags --------------------------------------------------------------------------------


def test_flags_are_advisory_whole_word_matches_from_content():
    step = TRACK.steps[1]
    assert flags_for(step, "your Password please") == [{"id": "monitoring",
                                                         "message": FLAGS[0]["message"]}]
    assert flags_for(step, "to CHECK YOUR  PHONE") != []
    assert flags_for(step, "relocation plans compassword") == []
    assert flags_for(step, None) == []
    assert flags_for(replace(step, settings=None), "password") == []


def test_flags_read_the_need_and_reach_only_the_words_author():
    action = engine.SaveDraft(A, "lists", None, lst(("your password",), ("quiet",),
                                                    (None, "give you my password")))
    state = engine.handle(state_at(), action, T0).state
    mine = view_for(state, A)["steps"][1]["mine"]
    # the offer ("I'll give you my password") is openness offered: never flagged
    assert [bool(f) for f in mine["flags"]] == [True, False, False]
    # a flag never blocks
    state = submit(state, A, lst(("your password",), ("quiet",)))
    state = submit(state, B, lst(("to know your location",),), n=1)
    flagged = {v: {i["id"]: bool(i["flags"]) for i in items_of(state, v).values()}
               for v in (A, B)}
    assert flagged[A] == {f"{A}-1": True, f"{A}-2": False, f"{B}-1": False}
    assert flagged[B] == {f"{A}-1": False, f"{A}-2": False, f"{B}-1": True}
    # a counter-proposal's words belong to the partner who suggested them
    state = move(state, B, "counter", f"{A}-2", n=101, need="to check your phone").state
    flagged = {v: {i["id"]: bool(i["flags"]) for i in items_of(state, v).values()}
               for v in (A, B)}
    assert flagged[A][f"{A}-2"] is False and flagged[B][f"{A}-2"] is True


def test_item_text_joins_the_parts():
    assert item_text("x", "y") == "I need x / I'll y"
    assert item_text("", "y") == "I'll y"


# --- the summary --------------------------------------------------------------------------


def test_summary_lists_items_with_final_state_and_this_steps_agreements():
    state = move(revealed(), B, "agree", f"{A}-1", n=1).state
    state = move(state, B, "park", f"{A}-2", n=2).state
    for viewer in (A, B):
        (part,) = [s for s in summary_for(state, viewer)["steps"] if s["id"] == "lists"]
        assert {i["id"]: i["state"] for i in part["items"]} == \
            {f"{A}-1": "agreed", f"{A}-2": "parked", f"{B}-1": "proposed"}
        assert [a["text"] for a in part["agreements"]] == [items_of(state)[f"{A}-1"]["text"]]


def test_summary_before_the_reveal_shows_only_my_own_list():
    state = submit(state_at(), A, lst(("MINE",)))
    (part,) = summary_for(state, A)["steps"]
    assert part["items"] == [] and "MINE" in json.dumps(part)
    assert summary_for(state, B)["steps"] == []


# --- properties ---------------------------------------------------------------------------

MOVE_NAMES = ["agree", "counter", "talk", "park"]
steps_ = st.lists(st.tuples(st.sampled_from(["draft", "submit", "move", "move", "move",
                                             "ready"]),
                            st.sampled_from([A, B]), st.sampled_from(MOVE_NAMES),
                            st.integers(0, 3)),
                  min_size=5, max_size=60)


@settings(max_examples=250, deadline=None)
@given(steps_)
def test_unrevealed_items_never_reach_the_partner_and_only_the_right_partner_moves(seq):
    state = state_at()
    written = {A: [], B: []}
    for n, (what, user, name, pick) in enumerate(seq):
        now = T0 + timedelta(seconds=n)
        marker = f"M{n}X{user}"
        try:
            if what == "draft":
                action = engine.SaveDraft(user, "lists", None, lst((marker,)))
                written[user].append(marker)
            elif what == "submit":
                action = engine.SubmitEntry(user, "lists", f"e{n}", f"c{n}", None,
                                            lst((marker,), (None, marker + "o")))
                written[user].append(marker)
            elif what == "ready":
                action = engine.MarkReady(user, "lists")
            else:
                items = items_of(state, user) if state.current_step else {}
                if not items:
                    continue
                item = list(items.values())[pick % len(items)]
                action = engine.SubmitTurn(user, "lists", f"t{n}", f"ct{n}", name, None,
                                           {"item": item["id"], "need": marker})
                allowed = item["state"] not in ("agreed", "parked") \
                    and item["waiting_on"] == user
                try:
                    state = engine.handle(state, action, now).state
                except MendError as error:
                    assert not allowed and error.code in ("not_your_turn", "conflict")
                    if item["state"] not in ("agreed", "parked"):
                        assert error.code == "not_your_turn"
                    continue
                assert allowed
                continue
            state = engine.handle(state, action, now).state
        except MendError:
            pass
        if state.current_step is None or state.current_step.id != "lists":
            break
        if "lists" not in state.reveals:
            for viewer, author in ((A, B), (B, A)):
                seen = json.dumps(view_for(state, viewer)) + json.dumps(
                    summary_for(state, viewer))
                for marker in written[author]:
                    assert marker not in seen


def test_a_counsellor_reads_revealed_items_only_and_cannot_move_them():
    counsellor = engine.Participant("user-c", "Cora", "counsellor")
    state = submit(replace(state_at(), participants=(*state_at().participants, counsellor)),
                   A, lst(("HIDDEN-A",)))
    assert "HIDDEN-A" not in json.dumps(view_for(state, "user-c"))
    state = submit(state, B, lst(("b",)), n=1)
    assert "HIDDEN-A" in json.dumps(view_for(state, "user-c")["steps"][1]["items"])
    assert code(lambda: move(state, "user-c", "agree", f"{A}-1")) == "forbidden"
