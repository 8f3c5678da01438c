"""`commitment`: one small, concrete, checkable trust-building action each, for the coming
days — and, in `settings.mode: "review"`, the next session's look back at how it went.

Writing: like a prompt (private, revealed together). On the reveal each answer becomes a
couple record of kind "commitment" (docs/protocol.md, "Kind: commitment"), shared by both.

Review: lists the couple's commitments from earlier sessions that are due for a look back
(and those checked here): never checked, or checked in fewer reviews than their source asks
for (an apology's "what will change" stays for several; content/review-step.yaml
`settings.check_ins`), and only from the sources this track reviews (the track's
`settings.review_sources`). The owner says how it went (kept / partly / not yet) with a
`check` turn, which updates the record and adds to its history; the partner may reply with
an `ack` turn (optional: nobody is made to thank anyone for a "not yet"), and "Let's talk
about this" makes it a topic of a later listening step in this session. Either partner may
`skip` the review for today: it ends for both and the session moves on. The history is a
list of checks: nothing here counts, scores or keeps a streak.

Agreements (boundary steps' records) whose revisit date had come when the session began are
listed too (`review.agreements`), in tracks whose `review_sources` include "agreement":
either partner may keep one (a new revisit date), set it aside, withdraw it — the same
moves as on home (server/services/agreements.py) — or ask to talk about it. Answering
them is optional: one left as it is stays due, on home and in the next review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.answers import MAX_TEXT_LENGTH
from server.engine.errors import MendError
from server.engine.kinds import register
from server.engine.kinds.answered import ACKS
from server.engine.kinds.appreciation import TextAnswered, settings_of
from server.engine.kinds.boundary import (
    ACTIVE as AGREEMENT_ACTIVE,
)
from server.engine.kinds.boundary import (
    AGREEMENT,
    DEFAULT_REVISIT_DAYS,
    SET_ASIDE,
    WITHDRAWN,
    agreement_status,
    agreements_due,
    today,
)
from server.engine.opening import check_ins, due_for_review, review_sources
from server.engine.session import (
    ACTIVE,
    CoupleRecord,
    RecordSaved,
    SessionState,
    StepAdvanced,
    StepStateSaved,
    SubmitTurn,
    Transition,
    Turn,
    TurnRecorded,
    advance,
    data_saved,
)
from server.engine.text import is_blank as blank_text
from server.engine.text import trim
from server.engine.tracks import Step, plain
from server.engine.views import iso, record_dict

KIND = "commitment"
OPEN = "open"
CHECK_STATUSES = ("kept", "partly", "not_yet")
DEFAULT_DAYS = 7
NOTE_MAX_LENGTH = 500
# The partner's reply to a check, all optional: the two acknowledgements, or a wish to talk.
TALK = "talk"
REVIEW_ACKS = (*ACKS, TALK)
# What either partner may do with a due agreement here: home's moves (the status each
# leaves, and whether it sets a new revisit date), or ask to talk about it.
AGREEMENT_MOVES = {"keep": (AGREEMENT_ACTIVE, True), "set-aside": (SET_ASIDE, False),
                   "withdraw": (WITHDRAWN, False), TALK: (None, False)}


def is_review(step: Step) -> bool:
    return settings_of(step).get("mode") == "review"


def due_on(now: datetime, days: int) -> str:
    return (now + timedelta(days=days)).date().isoformat()


def new_commitment(record_id: str, *, owner: str, text: str, now: datetime, days: int,
                   source: str, session_id: str | None, step_id: str | None) -> CoupleRecord:
    """A commitment record in the shape every kind shares (an apology's too)."""
    return CoupleRecord(
        id=record_id, kind=KIND, status=OPEN,
        data={"text": text, "due_on": due_on(now, days), "source": source},
        created_at=now, updated_at=now, session_id=session_id, step_id=step_id,
        user_id=owner,
    )


@register
class Commitment(TextAnswered):
    name = "commitment"
    default_max_length = 500

    # --- writing ------------------------------------------------------------------------

    def days(self, step: Step) -> int:
        return int(settings_of(step).get("days", DEFAULT_DAYS))

    def save_draft(self, state, step, action, now):
        if is_review(step):
            raise MendError("invalid", "This step doesn't take an answer; use check turns.")
        return super().save_draft(state, step, action, now)

    def submit(self, state, step, action, now):
        if is_review(step):
            raise MendError("invalid", "This step doesn't take an answer; use check turns.")
        return super().submit(state, step, action, now)

    def reveal(self, state, step, now):
        transition = super().reveal(state, step, now)
        # Revealed: both commitments become the couple's, at the same moment.
        new_state = transition.state
        records = dict(new_state.records)
        effects = list(transition.effects)
        for uid in new_state.partner_ids:
            entry = new_state.entries.get((step.id, uid))
            if entry is None or entry.skipped:
                continue
            record = new_commitment(entry.id, owner=uid, text=entry.body or "", now=now,
                                    days=self.days(step), source="commitment",
                                    session_id=new_state.id, step_id=step.id)
            records[record.id] = record
            effects.append(RecordSaved(record))
        return Transition(replace(new_state, records=records), tuple(effects))

    # --- the review ----------------------------------------------------------------------

    def review_records(self, state: SessionState, step: Step) -> list[CoupleRecord]:
        """What this review looks back on: commitments from before this session that are
        due for a look back (from a source this track reviews, checked in fewer reviews
        than their source asks for), and those already checked here (they stay listed once
        answered)."""
        data = state.step_state(step.id)
        items = data.get("items", {})
        sources, keep = review_sources(state.track), check_ins(step)
        chosen = []
        for record in state.records_of(KIND):
            if record.user_id not in state.partner_ids or record.private_to is not None:
                continue
            if record.session_id == state.id:
                continue
            due = (state.status == ACTIVE and not data.get("skipped")
                   and (state.created_at is None or record.created_at < state.created_at)
                   and due_for_review(record.data.get("source"), record.status,
                                      plain(record.data.get("checks", [])), sources, keep,
                                      state.id))
            if record.id in items or due:
                chosen.append(record)
        # Oldest first; the two made at one reveal in the partners' order (not by random id).
        order = {uid: i for i, uid in enumerate(state.partner_ids)}
        return sorted(chosen, key=lambda r: (r.created_at, order.get(r.user_id, 9), r.id))

    def turn(self, state, step, action: SubmitTurn, now):
        if not is_review(step):
            raise MendError("invalid", "This step doesn't take turns.")
        if action.name == "skip":
            return self._skip(state, step, action, now)
        if action.name == "agreement":
            return self._agreement(state, step, action, now)
        fields = action.fields if isinstance(action.fields, Mapping) else {}
        record_id = fields.get("record_id")
        record = next((r for r in self.review_records(state, step) if r.id == record_id), None)
        if record is None:
            raise MendError("not_found", "That commitment isn't part of this review.")
        items = dict(state.step_state(step.id).get("items", {}))
        item = dict(items.get(record.id, {}))
        if action.name == "check":
            new_record, item = self._check(state, record, item, action, fields, now)
        elif action.name == "ack":
            new_record, item = None, self._ack(record, item, action, fields, now)
        else:
            raise MendError("invalid", "On this step you can 'check', 'ack', 'agreement' or "
                                       "'skip'.")
        items[record.id] = item
        data = {**state.step_state(step.id), "items": items}
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, action.name,
                    action.body if action.name == "check" else None,
                    {k: fields[k] for k in ("record_id", "status", "ack") if k in fields}, now)
        effects: list = [TurnRecorded(turn), StepStateSaved(step.id, data)]
        new_state = replace(state, step_states={**state.step_states, step.id: data},
                            turns=(*state.turns, turn), version=state.version + 1)
        if new_record is not None:
            new_state = replace(new_state, records={**state.records, record.id: new_record})
            effects.append(RecordSaved(new_record))
        return Transition(new_state, tuple(effects))

    def _skip(self, state: SessionState, step: Step, action: SubmitTurn, now: datetime
              ) -> Transition:
        """Either partner sets the review aside for today, for both: nobody can be made to
        look back. What was already said stays; what wasn't comes back next time (a skip is
        not a check, so it counts towards no commitment's check-ins)."""
        data = {**state.step_state(step.id), "skipped": {"at": iso(now)}}
        # Who skipped is kept with the turn, not shown: the view says only that it was.
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, "skip", None,
                    None, now)
        before = replace(state, step_states={**state.step_states, step.id: data},
                         turns=(*state.turns, turn), version=state.version + 1)
        after = advance(before, now)
        effects = [TurnRecorded(turn), StepStateSaved(step.id, data),
                   StepAdvanced(step.id, after.current_index, after.status != ACTIVE,
                                action.user_id, now), *data_saved(before, after)]
        return Transition(after, tuple(effects))

    # --- agreements due for their revisit ------------------------------------------------

    def review_agreements(self, state: SessionState, step: Step) -> list[CoupleRecord]:
        """Agreements due for review when this session began (their revisit date had come),
        and those answered here (they stay listed once answered)."""
        answered = state.step_state(step.id).get("agreements", {})
        if "agreement" not in review_sources(state.track) and not answered:
            return []
        records = [r for r in state.records_of(AGREEMENT) if r.private_to is None]
        began = state.created_at
        due = set()
        if state.status == ACTIVE and began is not None \
                and not state.step_state(step.id).get("skipped"):
            due = {r.id for r in agreements_due(records, began) if r.created_at < began}
        chosen = [r for r in records if r.id in due or r.id in answered]
        return sorted(chosen, key=lambda r: (r.data.get("revisit_on") or "", r.created_at,
                                             r.id))

    def _agreement(self, state: SessionState, step: Step, action: SubmitTurn, now: datetime
                   ) -> Transition:
        fields = action.fields if isinstance(action.fields, Mapping) else {}
        record_id, move = fields.get("agreement_id"), fields.get("move")
        record = next((r for r in self.review_agreements(state, step) if r.id == record_id),
                      None)
        if record is None:
            raise MendError("not_found", "That agreement isn't part of this review.")
        if move not in AGREEMENT_MOVES:
            raise MendError("invalid", "Choose 'keep', 'set-aside', 'withdraw' or 'talk'.")
        answered = dict(state.step_state(step.id).get("agreements", {}))
        if record.id in answered:
            raise MendError("conflict", "This agreement has already been answered here.")
        answered[record.id] = {"move": move, "by": action.user_id, "at": iso(now)}
        data = {**state.step_state(step.id), "agreements": answered}
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, "agreement",
                    None, {"agreement_id": record.id, "move": move}, now)
        effects: list = [TurnRecorded(turn), StepStateSaved(step.id, data)]
        new_state = replace(state, step_states={**state.step_states, step.id: data},
                            turns=(*state.turns, turn), version=state.version + 1)
        status, new_date = AGREEMENT_MOVES[move]
        if status is not None:
            # The same change home makes (services/agreements.py change_agreement).
            rdata = dict(plain(record.data))
            if new_date:
                days = int(rdata.get("revisit_days") or DEFAULT_REVISIT_DAYS)
                rdata["revisit_on"] = (today(now) + timedelta(days=days)).isoformat()
            rdata["changes"] = [*rdata.get("changes", ()),
                                {"move": move, "by": action.user_id, "at": iso(now)}]
            changed = replace(record, status=status, data=rdata, updated_at=now)
            new_state = replace(new_state, records={**new_state.records, record.id: changed})
            effects.append(RecordSaved(changed))
        return Transition(new_state, tuple(effects))

    def agreement_items(self, state: SessionState, step: Step) -> list[dict[str, Any]]:
        answered = state.step_state(step.id).get("agreements", {})
        now = state.created_at or datetime.min
        out = []
        for record in self.review_agreements(state, step):
            data = plain(record.data)
            out.append({
                "agreement": {"id": record.id, "text": data.get("text"),
                              "revisit_on": data.get("revisit_on"),
                              "status": agreement_status(record, now)},
                "answer": plain(answered[record.id]) if record.id in answered else None,
            })
        return out

    def _check(self, state, record: CoupleRecord, item: dict, action, fields, now):
        if action.user_id != record.user_id:
            raise MendError("forbidden", "Only the person who made a commitment says how it went.")
        if item.get("ack"):
            raise MendError("conflict", "Your partner has already acknowledged this answer.")
        status = fields.get("status")
        if status not in CHECK_STATUSES:
            raise MendError("invalid", "Say 'kept', 'partly' or 'not_yet'.")
        note = action.body
        if note is not None and not isinstance(note, str):
            raise MendError("invalid", "A note must be text.")
        if note is not None and len(note) > min(NOTE_MAX_LENGTH, MAX_TEXT_LENGTH):
            raise MendError("too_large", f"Keep the note under {NOTE_MAX_LENGTH} characters.")
        note = None if blank_text(note) else trim(note)
        # Answering again within this session replaces this session's check: the history
        # keeps one check per review.
        checks = [c for c in plain(record.data.get("checks", [])) if c["session_id"] != state.id]
        checks.append({"session_id": state.id, "status": status, "at": iso(now)})
        new_record = replace(record, status=status, updated_at=now,
                             data={**plain(record.data), "checks": checks})
        return new_record, {**item, "check": {"status": status, "note": note, "at": iso(now)}}

    def _ack(self, record: CoupleRecord, item: dict, action, fields, now) -> dict:
        if action.user_id == record.user_id:
            raise MendError("forbidden", "Your partner acknowledges your answer, not you.")
        if not item.get("check"):
            raise MendError("conflict", "Your partner hasn't said how it went yet.")
        if item.get("ack"):
            raise MendError("conflict", "You have already acknowledged this one.")
        ack = fields.get("ack")
        if ack not in REVIEW_ACKS:
            raise MendError("invalid", "Choose 'thanks', 'hear_you' or 'talk'.")
        return {**item, "ack": {"ack": ack, "at": iso(now)}}

    def talk_topics(self, state: SessionState, step: Step) -> list[dict[str, Any]]:
        """The commitments a partner answered "Let's talk about this" to, as topics for a
        later listening step (server/engine/kinds/listening.py `topics`)."""
        return [{"item_id": item["record"]["id"], "text": item["record"]["text"],
                 "author_user_id": item["record"]["user_id"], "review_step_id": step.id}
                for item in self.review_items(state, step)
                if item["ack"] and item["ack"]["ack"] == TALK] + [
            {"item_id": item["agreement"]["id"], "text": item["agreement"]["text"],
             "author_user_id": None, "review_step_id": step.id}
            for item in self.agreement_items(state, step)
            if item["answer"] and item["answer"]["move"] == TALK]

    def review_items(self, state: SessionState, step: Step) -> list[dict[str, Any]]:
        items = state.step_state(step.id).get("items", {})
        out = []
        for record in self.review_records(state, step):
            item = items.get(record.id, {})
            owner = state.participant(record.user_id)
            out.append({
                "record": record_dict(record),
                "owner_name": owner.display_name if owner else None,
                "check": plain(item["check"]) if item.get("check") else None,
                "ack": plain(item["ack"]) if item.get("ack") else None,
            })
        return out

    # --- moving on and what each viewer sees ---------------------------------------------

    def check_ready(self, state, step) -> None:
        if not is_review(step):
            return super().check_ready(state, step)
        # Each owner says how theirs went (or either of you skips the review); the
        # partner's reply is optional.
        for item in self.review_items(state, step):
            if item["check"] is None:
                raise MendError("conflict", "Each of you says how your commitment went "
                                "before you move on, or skip the review for today.")
        return None

    def project(self, state, step, status, viewer, view) -> None:
        if not is_review(step):
            super().project(state, step, status, viewer, view)
            # Each partner's due date once their commitment became the couple's (the
            # records exist only after the reveal, so nothing shows early).
            due = {r.user_id: r.data.get("due_on") for r in state.records_of(KIND)
                   if r.session_id == state.id and r.step_id == step.id}
            view["commitment"] = {"days": self.days(step), "due_on": due}
            return
        view["answer"] = None
        if status != "locked":
            view["review"] = {"items": self.review_items(state, step),
                              "agreements": self.agreement_items(state, step),
                              "skipped": bool(state.step_state(step.id).get("skipped")),
                              "talk_step": talk_step(state, step)}

    def summarize(self, state, step, viewer):
        if not is_review(step):
            return super().summarize(state, step, viewer)
        items = self.review_items(state, step)
        agreements = self.agreement_items(state, step)
        if not items and not agreements:
            return None
        return {"id": step.id, "kind": step.kind, "title": step.title, "prompt": step.prompt,
                "answer": None, "mode": "review", "revealed": True, "answers": [], "acks": [],
                "review": {"items": items, "agreements": agreements,
                           "skipped": bool(state.step_state(step.id).get("skipped"))}}


def talk_step(state: SessionState, step: Step) -> dict[str, str] | None:
    """The listening step later in this session where "Let's talk about this" goes, or None
    (then the reply is still shown to both, as a wish to talk)."""
    index = state.track.step_index(step.id) or 0
    later = next((s for s in state.track.steps[index + 1:] if s.kind == "listening"), None)
    return None if later is None else {"id": later.id, "title": later.title}
