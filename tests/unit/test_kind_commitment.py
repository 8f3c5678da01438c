"""The `commitment` kind on plain data: writing (private, revealed together, records on the
reveal) and the next session's review (owner checks, partner acknowledges, history kept)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server.content import ContentError, load_schema, load_track_file
from server.engine import MendError
from server.engine import session as engine
from server.engine.kinds.commitment import new_commitment
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

T0 = datetime(2026, 11, 20, 9, 0, 0)
T1 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"

WRITE = Step(id="promise", kind="commitment", title="This week", prompt="One small thing?",
             settings={"days": 5})
REVIEW = Step(id="last-time", kind="commitment", title="Last time's commitments",
              prompt="How did it go?", settings={"mode": "review"})
TRACK = Track(id="t", title="T", summary="S.", version=1, steps=(
    REVIEW, WRITE, Step(id="bye", kind="info", title="Bye", body="Bye."),
))
PEOPLE = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))


def session(step_id: str, *, sid: str = "s1", created_at: datetime = T0, records=None):
    return engine.SessionState(id=sid, track=TRACK, participants=PEOPLE,
                               current_index=TRACK.step_index(step_id), created_at=created_at,
                               couple_id="c1", records=records or {})


def submit(state, user, body="I'll text when I'm late.", skip=False, at=T0):
    return engine.handle(state, engine.SubmitEntry(user, WRITE.id, f"e-{user}", f"c-{user}",
                                                   body, None, skip), at)


_turns = iter(range(10**6))


def turn(state, user, name, at=T1, body=None, **fields):
    n = next(_turns)
    return engine.handle(state, engine.SubmitTurn(user, REVIEW.id, f"t{n}", f"ct{n}", name,
                                                  body, fields), at)


def code(fn) -> str:
    with pytest.raises(MendError) as error:
        fn()
    return error.value.code


# --- writing ----------------------------------------------------------------------------


def test_a_commitment_stays_private_until_both_are_in_then_both_become_records():
    state = submit(session(WRITE.id), A, "MARK-A my commitment").state
    assert not state.records
    view_b = json.dumps(view_for(state, B))
    assert "MARK-A" not in view_b
    assert view_for(state, A)["steps"][1]["mine"]["entry"]["body"] == "MARK-A my commitment"

    t = submit(state, B, "I'll put my phone away at dinner.", at=T0 + timedelta(minutes=3))
    saved = [e.record for e in t.effects if isinstance(e, engine.RecordSaved)]
    assert {r.user_id for r in saved} == {A, B}
    assert any(isinstance(e, engine.StepRevealed) for e in t.effects)
    mine = next(r for r in saved if r.user_id == A)
    assert mine.kind == "commitment" and mine.status == "open" and mine.private_to is None
    assert dict(mine.data) == {"text": "MARK-A my commitment", "due_on": "2026-11-25",
                               "source": "commitment"}
    assert (mine.session_id, mine.step_id, mine.id) == ("s1", WRITE.id, f"e-{A}")
    for viewer in (A, B):
        shown = view_for(t.state, viewer)["commitments"]
        assert {c["text"] for c in shown} == {"MARK-A my commitment",
                                              "I'll put my phone away at dinner."}
        assert all(c["due_on"] == "2026-11-25" for c in shown)
    assert view_for(t.state, A)["steps"][1]["commitment"] == {
        "days": 5, "due_on": {A: "2026-11-25", B: "2026-11-25"}}
    assert view_for(state, A)["steps"][1]["commitment"] == {"days": 5, "due_on": {}}


def test_days_default_to_seven_and_a_skip_needs_an_optional_step():
    track = replace(TRACK, steps=(replace(WRITE, settings=None, optional=True), *TRACK.steps[2:]))
    state = engine.SessionState(id="s1", track=track, participants=PEOPLE, created_at=T0)
    state = submit(state, A, skip=True).state
    t = submit(state, B)
    [record] = [e.record for e in t.effects if isinstance(e, engine.RecordSaved)]
    assert record.user_id == B and record.data["due_on"] == "2026-11-27"
    assert code(lambda: submit(session(WRITE.id), A, skip=True)) == "invalid"


def test_a_commitment_needs_words_and_respects_its_limit():
    assert code(lambda: submit(session(WRITE.id), A, "   ")) == "invalid"
    assert code(lambda: submit(session(WRITE.id), A, "x" * 501)) == "too_large"
    assert code(lambda: submit(session(WRITE.id), A, None)) == "invalid"


def test_writing_steps_take_no_turns_and_review_steps_take_no_answers():
    assert code(lambda: engine.handle(session(WRITE.id), engine.SubmitTurn(
        A, WRITE.id, "t", "ct-00000", "check", None, {}), T0)) == "invalid"
    assert code(lambda: engine.handle(session(REVIEW.id), engine.SubmitEntry(
        A, REVIEW.id, "e", "c-000000", "words"), T0)) == "invalid"
    assert code(lambda: engine.handle(session(REVIEW.id), engine.SaveDraft(
        A, REVIEW.id, "words"), T0)) == "invalid"


# --- the review -------------------------------------------------------------------------


def earlier_records():
    a = new_commitment("r-a", owner=A, text="Text when late", now=T0, days=7,
                       source="commitment", session_id="s0", step_id="promise")
    b = new_commitment("r-b", owner=B, text="Phone away", now=T0, days=7, source="apology",
                       session_id="s0", step_id="sorry")
    return {a.id: a, b.id: b}


def review_state(**kw):
    return session(REVIEW.id, sid="s2", created_at=T1 - timedelta(minutes=1),
                   records=kw.pop("records", earlier_records()), **kw)


def items(state, viewer=A):
    return view_for(state, viewer)["steps"][0]["review"]["items"]


def test_the_review_lists_open_commitments_from_earlier_sessions_only():
    records = earlier_records()
    later = new_commitment("r-later", owner=A, text="later", now=T1, days=7,
                           source="commitment", session_id="s3", step_id="promise")
    here = new_commitment("r-here", owner=A, text="here", now=T0, days=7,
                          source="commitment", session_id="s2", step_id="promise")
    # looked back on once already, in an earlier session: an everyday commitment is done
    done = replace(records["r-a"], id="r-done", status="kept", data={
        **records["r-a"].data, "checks": [{"session_id": "s1", "status": "kept", "at": "x"}]})
    private = replace(records["r-a"], id="r-private", private_to=A)
    state = review_state(records={**records, "r-later": later, "r-here": here,
                                  "r-done": done, "r-private": private})
    assert [i["record"]["id"] for i in items(state)] == ["r-a", "r-b"]
    first = items(state)[0]
    assert first["record"]["text"] == "Text when late" and first["owner_name"] == "Ana"
    assert first["check"] is None and first["ack"] is None


def test_with_nothing_open_the_review_says_so_and_can_be_left_at_once():
    state = review_state(records={})
    assert items(state) == []
    t = engine.handle(state, engine.MarkReady(A, REVIEW.id), T1)
    t = engine.handle(t.state, engine.MarkReady(B, REVIEW.id), T1)
    assert t.state.current_step.id == WRITE.id
    assert summary_for(t.state, A)["steps"] == []


def test_the_owner_checks_the_partner_acknowledges_and_the_record_keeps_the_history():
    state = review_state()
    assert code(lambda: engine.handle(state, engine.MarkReady(A, REVIEW.id), T1)) == "conflict"
    t = turn(state, A, "check", record_id="r-a", status="partly", body="Most days.")
    effects = t.effects
    assert isinstance(effects[0], engine.TurnRecorded)
    [saved] = [e.record for e in effects if isinstance(e, engine.RecordSaved)]
    assert saved.status == "partly"
    assert saved.data["checks"] == [{"session_id": "s2", "status": "partly",
                                     "at": "2026-11-27T09:00:00.000Z"}]
    assert items(t.state, B)[0]["check"] == {"status": "partly", "note": "Most days.",
                                             "at": "2026-11-27T09:00:00.000Z"}
    assert view_for(t.state, B)["commitments"][0]["status"] == "partly"
    # still listed here although no longer open
    assert [i["record"]["id"] for i in items(t.state)] == ["r-a", "r-b"]
    # answering again before the acknowledgement replaces this session's check
    t = turn(t.state, A, "check", record_id="r-a", status="kept")
    assert t.state.records["r-a"].status == "kept"
    assert [c["status"] for c in t.state.records["r-a"].data["checks"]] == ["kept"]
    t = turn(t.state, B, "ack", record_id="r-a", ack="thanks")
    assert items(t.state)[0]["ack"]["ack"] == "thanks"
    assert code(lambda: turn(t.state, A, "check", record_id="r-a", status="not_yet")) == "conflict"
    assert code(lambda: turn(t.state, B, "ack", record_id="r-a", ack="hear_you")) == "conflict"
    # B's own commitment: once B says how it went the step may be left; A's reply to it
    # is optional (never a "Thank you for sharing" owed to a "not yet"), and still allowed
    t = turn(t.state, B, "check", record_id="r-b", status="not_yet")
    engine.handle(t.state, engine.MarkReady(A, REVIEW.id), T1)  # no acknowledgement needed
    t = turn(t.state, A, "ack", record_id="r-b", ack="hear_you")
    t = engine.handle(t.state, engine.MarkReady(A, REVIEW.id), T1)
    t = engine.handle(t.state, engine.MarkReady(B, REVIEW.id), T1)
    assert t.state.current_step.id == WRITE.id
    summary = summary_for(t.state, B)["steps"][0]
    assert summary["mode"] == "review"
    assert [i["check"]["status"] for i in summary["review"]["items"]] == ["kept", "not_yet"]


def test_a_later_review_adds_to_the_history_and_nothing_scores_it():
    records = earlier_records()
    checked = replace(records["r-a"], status="not_yet",
                      data={**records["r-a"].data, "checks": [
                          {"session_id": "s1", "status": "not_yet", "at": "x"}]})
    # a "not yet" stays not yet: it is not reopened, so it is not listed again
    state = review_state(records={"r-a": checked})
    assert items(state) == []
    reopened = replace(checked, status="open")
    t = turn(review_state(records={"r-a": reopened}), A, "check", record_id="r-a",
             status="kept")
    assert [c["session_id"] for c in t.state.records["r-a"].data["checks"]] == ["s1", "s2"]
    text = json.dumps(view_for(t.state, A))
    assert "streak" not in text and "score" not in text


def test_only_the_owner_checks_only_the_partner_acknowledges_and_moves_are_checked():
    state = review_state()
    assert code(lambda: turn(state, B, "check", record_id="r-a", status="kept")) == "forbidden"
    assert code(lambda: turn(state, B, "ack", record_id="r-a", ack="thanks")) == "conflict"
    t = turn(state, A, "check", record_id="r-a", status="kept")
    assert code(lambda: turn(t.state, A, "ack", record_id="r-a", ack="thanks")) == "forbidden"
    assert code(lambda: turn(state, A, "check", record_id="nope", status="kept")) == "not_found"
    assert code(lambda: turn(state, A, "check", record_id="r-a", status="great")) == "invalid"
    assert code(lambda: turn(state, A, "check", record_id="r-a", status="kept",
                             body="x" * 501)) == "too_large"
    assert code(lambda: turn(state, A, "shrug", record_id="r-a")) == "invalid"
    assert code(lambda: turn(t.state, B, "ack", record_id="r-a", ack="meh")) == "invalid"
    assert code(lambda: engine.handle(state, engine.SubmitTurn(
        "stranger", REVIEW.id, "t", "ct-0000", "check", None, {}), T1)) == "forbidden"
    # a counsellor reads along but neither answers nor acknowledges
    with_counsellor = replace(state, participants=(*PEOPLE, engine.Participant(
        "user-c", "Cleo", "counsellor")))
    assert len(items(with_counsellor, "user-c")) == 2
    checked = turn(with_counsellor, A, "check", record_id="r-a", status="kept").state
    assert code(lambda: turn(checked, "user-c", "ack", record_id="r-a",
                             ack="thanks")) == "forbidden"


def test_a_finished_session_shows_only_what_it_reviewed():
    state = review_state()
    t = turn(state, A, "check", record_id="r-a", status="kept")
    finished = replace(t.state, status=engine.FINISHED)
    assert [i["record"]["id"] for i in items(finished)] == ["r-a"]


# --- content ----------------------------------------------------------------------------


def _track_file(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text("id: t\ntitle: T\nsummary: S.\nversion: 1\nsteps:\n" + steps)
    return path


def test_content_accepts_both_modes_and_refuses_a_write_step_without_a_prompt(tmp_path):
    schema = load_schema(Path("content"))
    track = load_track_file(_track_file(tmp_path, (
        "  - {id: r, kind: commitment, title: Last time, settings: {mode: review}}\n"
        "  - {id: w, kind: commitment, title: This week, prompt: 'What?', settings: {days: 3}}\n"
    )), schema)
    assert [s.settings.get("mode") for s in track.steps] == ["review", None]
    with pytest.raises(ContentError):
        load_track_file(_track_file(tmp_path, (
            "  - {id: w, kind: commitment, title: This week}\n")), schema)
    with pytest.raises(ContentError):
        load_track_file(_track_file(tmp_path, (
            "  - {id: w, kind: commitment, title: W, prompt: P, settings: {days: 0}}\n")), schema)
