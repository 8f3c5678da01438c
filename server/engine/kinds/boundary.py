"""`boundary`: agreements, not walls. Each partner privately lists a few "I need … / I'll …"
items; both lists are revealed together; then each item goes back and forth between the two
until it is agreed (it joins the couple's agreements, with a date to revisit it) or parked.

The rules the server enforces:

* Before the reveal an item exists only in its author's entry (AnsweredKind keeps it
  there); the other partner learns a status, never words.
* After the reveal every item belongs to one partner's move at a time (`waiting_on`): the
  other partner answers a proposed item; after a counter-proposal the partner who did not
  write the counter answers. Anyone else's move is `not_your_turn`; nobody agrees to their
  own words.
* Moves (`turn:submit` kinds): "agree", "counter" (new wording in fields need/offer),
  "talk" (mark it to talk about; the same partner still answers it afterwards), "park".
* The step may be left once every item is agreed or parked.
* Flags: an item whose NEED asks to watch over or control the other (passwords, location,
  tracking apps, permission, money, friends, curfews, instant replies, "prove") gets a
  gentle, advisory flag. Only the need is read: what a partner offers ("I'll give you my
  passcode") is openness freely given, not a demand. A flag is shown to the person who
  wrote the words it is about, never to the other partner (who would read it as a verdict
  on their partner). The rules come from content (content/rules/boundary-flags.yaml,
  carried in each step's `settings.flags`).
* Agreements live on after the session (server/services/agreements.py): their status
  (`active`, `set_aside`, `withdrawn`) and revisit date change from the couple's home;
  an active agreement whose revisit date has come is due for review (`agreement_status`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from server.engine.answers import check_length, text_limit
from server.engine.errors import MendError
from server.engine.kinds import register
from server.engine.kinds.answered import AnsweredKind
from server.engine.session import (
    CoupleRecord,
    Participant,
    RecordSaved,
    SessionState,
    StepStateSaved,
    SubmitTurn,
    Transition,
    Turn,
    TurnRecorded,
)
from server.engine.text import trim
from server.engine.tracks import Step
from server.engine.views import iso

AGREEMENT = "agreement"
# An agreement's stored statuses; DUE is read from the revisit date, never stored.
ACTIVE, SET_ASIDE, WITHDRAWN, DUE = "active", "set_aside", "withdrawn", "due_for_review"
PROPOSED, COUNTERED, AGREED, PARKED = "proposed", "countered", "agreed", "parked"
SETTLED = (AGREED, PARKED)
MOVES = ("agree", "counter", "talk", "park")

# Defaults when a step's settings don't say (content may override each).
DEFAULT_MAX_ITEMS = 5
DEFAULT_MAX_LENGTH = 300
DEFAULT_REVISIT_DAYS = 30
PARTS = ("need", "offer")
LEADS = {"need": re.compile(r"^i\s+need\s+", re.IGNORECASE),
         "offer": re.compile(r"^(i'll|i’ll|i\s+will)\s+", re.IGNORECASE)}


def setting(step: Step, key: str, default: Any) -> Any:
    return (step.settings or {}).get(key, default)


def item_text(need: str | None, offer: str | None) -> str:
    """One line for an item as both partners read it."""
    parts = []
    if need:
        parts.append(f"I need {need}")
    if offer:
        parts.append(f"I'll {offer}")
    return " / ".join(parts)


def phrase_matches(phrase: str, text: str) -> bool:
    """Whole words in order, any spacing, case and apostrophe style ignored ("answer my
    calls" matches "Answer  my calls", not "answer my callsign"). The browser does the same
    (client/js/kinds/boundary.js) and content/rules/boundary-flags.yaml's examples are
    checked with it when content loads."""
    def normal(value: str) -> str:
        return value.lower().replace("\u2019", "'").replace("\u2018", "'")
    words = normal(phrase).split()
    if not words:
        return False
    body = r"\s+".join(re.escape(w) for w in words)
    return re.search(rf"(?:^|[^a-z0-9_'])(?:{body})(?=$|[^a-z0-9_'])", normal(text)) is not None


def flags_for(step: Step, need: str | None) -> list[dict[str, str]]:
    """The content's advisory flags whose phrases occur in an item's NEED. The offer is
    never read: offering openness ("I'll give you my passcode") is the healthy form."""
    if not need:
        return []
    found = []
    for rule in setting(step, "flags", ()):
        if any(phrase_matches(phrase, need) for phrase in rule.get("phrases", ())):
            found.append({"id": rule["id"], "message": rule["message"]})
    return found


# --- agreements after the session ---------------------------------------------------------


def today(now: datetime) -> date:
    """Revisit dates are calendar days in UTC, as the agree move sets them."""
    return now.date()


def revisit_date(record: CoupleRecord) -> date | None:
    raw = (record.data or {}).get("revisit_on")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def agreement_status(record: CoupleRecord, now: datetime) -> str:
    """active | due_for_review | set_aside | withdrawn: an active agreement is due for
    review from its revisit date until a partner keeps it (a new date) or changes it."""
    if record.status != ACTIVE:
        return record.status
    revisit = revisit_date(record)
    return DUE if revisit is not None and revisit <= today(now) else ACTIVE


def agreements_due(records: Iterable[CoupleRecord], now: datetime) -> list[CoupleRecord]:
    """The shared agreements due for review, earliest revisit date first (for the review at
    the start of the next session, and the home)."""
    due = [r for r in records if r.kind == AGREEMENT and r.private_to is None
           and agreement_status(r, now) == DUE]
    return sorted(due, key=lambda r: (revisit_date(r) or today(now), r.created_at, r.id))


def part_limit(step: Step) -> int:
    """The longest "I need" / "I'll" part (and note), from content."""
    return text_limit(step.settings, DEFAULT_MAX_LENGTH)


def _clean_part(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MendError("invalid", "Each part of an item must be text.")
    # Refused whole, never shortened: the words stay in the writer's box.
    return trim(check_length(value, limit, "That part"))


def clean_item(step: Step, raw: Any, *, draft: bool) -> dict[str, str]:
    """{"need": …, "offer": …}; a submitted item needs at least one of the two."""
    if not isinstance(raw, dict) or set(raw) - set(PARTS):
        raise MendError("invalid", "Each item is an object with 'need' and/or 'offer'.")
    limit = part_limit(step)
    item = {part: _clean_part(raw.get(part), limit) for part in PARTS}
    # The page labels each box "I need …" / "I'll …": don't keep the words twice.
    for part, lead in LEADS.items():
        item[part] = lead.sub("", item[part], count=1)
    if not draft and not any(item.values()):
        raise MendError("invalid", "Write what you need or what you'll do for each item, "
                                   "or remove the empty one.")
    return item


def wording_author(item: dict[str, Any]) -> str:
    """Who wrote an item's current words: the last partner to suggest a change, else its
    author."""
    counters = [h for h in item.get("history", ()) if h.get("move") == "counter"]
    return counters[-1]["by"] if counters else item["author"]


def item_id(author: str, index: int) -> str:
    return f"{author}-{index + 1}"


@register
class Boundary(AnsweredKind):
    name = "boundary"

    # --- writing the list (private until both are in) -------------------------------------

    def validate(self, step: Step, body: Any, fields: Any, *, draft: bool
                 ) -> tuple[str | None, dict | None]:
        if body not in (None, ""):
            raise MendError("invalid", "A boundary list goes in fields.items, not in 'body'.")
        if fields is None and draft:
            return None, None
        items = fields.get("items") if isinstance(fields, dict) else None
        if not isinstance(fields, dict) or set(fields) - {"items"} or not isinstance(items, list):
            raise MendError("invalid", "Send your list as fields: {items: [{need, offer}…]}.")
        most = int(setting(step, "max_items", DEFAULT_MAX_ITEMS))
        if len(items) > most:
            raise MendError("invalid", f"Keep it to {most} items at most; the few that "
                                       "matter most.")
        cleaned = [clean_item(step, raw, draft=draft) for raw in items]
        if not draft and not cleaned:
            raise MendError("invalid", "Add at least one item before you share your list.")
        return None, {"items": cleaned}

    def action_handlers(self):
        return {}  # the moves are turns; nothing to acknowledge here

    # --- the items after the reveal ---------------------------------------------------------

    def items(self, state: SessionState, step: Step) -> list[dict[str, Any]]:
        """Every revealed item with its current state (empty before the reveal)."""
        if step.id not in state.reveals:
            return []
        saved = state.step_state(step.id).get("items", {})
        result = []
        for author in state.partner_ids:
            entry = state.entries.get((step.id, author))
            if entry is None or entry.skipped or not entry.fields:
                continue
            other = state.other_partner(author)
            for index, raw in enumerate(entry.fields.get("items", ())):
                iid = item_id(author, index)
                now = saved.get(iid, {})
                need, offer = now.get("need", raw.get("need", "")), now.get("offer",
                                                                            raw.get("offer", ""))
                result.append({
                    "id": iid,
                    "author": author,
                    "original": {"need": raw.get("need", ""), "offer": raw.get("offer", "")},
                    "need": need,
                    "offer": offer,
                    "text": item_text(need, offer),
                    "state": now.get("state", PROPOSED),
                    "talk": bool(now.get("talk", False)),
                    "waiting_on": now.get("waiting_on", other),
                    "history": [dict(h) for h in now.get("history", ())],
                    "agreement_id": now.get("agreement_id"),
                })
        return result

    def is_complete(self, state: SessionState, step: Step) -> bool:
        return step.id in state.reveals and all(
            item["state"] in SETTLED for item in self.items(state, step))

    def check_ready(self, state: SessionState, step: Step) -> None:
        super().check_ready(state, step)
        if not self.is_complete(state, step):
            raise MendError("conflict", "Every item needs an answer first: agreed, or parked "
                                        "for another time.")

    def turn(self, state: SessionState, step: Step, action: SubmitTurn, now: datetime
             ) -> Transition:
        if action.name not in MOVES:
            raise MendError("invalid", "On a boundary item you can agree, counter, talk or park.")
        if step.id not in state.reveals:
            raise MendError("conflict", "Items can be answered once both lists are shared.")
        fields = action.fields if isinstance(action.fields, dict) else {}
        target = fields.get("item")
        item = next((i for i in self.items(state, step) if i["id"] == target), None)
        if item is None:
            raise MendError("not_found", "There is no such item on this step.")
        if item["state"] in SETTLED:
            raise MendError("conflict", f"That item is already {item['state']}.")
        if item["waiting_on"] != action.user_id:
            if item["waiting_on"] is None:
                raise MendError("not_your_turn", "That item waits for your partner.")
            raise MendError("not_your_turn", "It's your partner's turn to answer that item.")
        note = _clean_part(action.body, part_limit(step)) or None

        saved = {k: dict(v) for k, v in state.step_state(step.id).get("items", {}).items()}
        now_item = saved.get(item["id"], {})
        move: dict[str, Any] = {"by": action.user_id, "move": action.name, "at": iso(now)}
        if note:
            move["note"] = note
        effects: list = []
        records = state.records
        if action.name == "counter":
            wording = clean_item(step, {p: fields.get(p) for p in PARTS if p in fields},
                                 draft=False)
            move.update(wording)
            now_item.update(wording, state=COUNTERED,
                            waiting_on=state.other_partner(action.user_id))
        elif action.name == "talk":
            now_item["talk"] = True  # still this partner's move once they have talked
        elif action.name == "park":
            now_item.update(state=PARKED, waiting_on=None)
        else:  # agree: the partner whose move it is accepts the other's current wording
            days = int(setting(step, "revisit_days", DEFAULT_REVISIT_DAYS))
            revisit = (now + timedelta(days=days)).date()
            # revisit_days: a kept or reinstated agreement's next date is as far again.
            data = {"text": item["text"], "revisit_on": revisit.isoformat(),
                    "revisit_days": days, "proposed_by": item["author"],
                    "item_id": item["id"]}
            data.update({p: item[p] for p in PARTS if item[p]})
            record = CoupleRecord(id=action.turn_id, kind=AGREEMENT, data=data,
                                  status=ACTIVE, created_at=now, updated_at=now,
                                  session_id=state.id, step_id=step.id,
                                  user_id=item["author"])
            records = {**state.records, record.id: record}
            effects.append(RecordSaved(record))
            now_item.update(state=AGREED, waiting_on=None, agreement_id=record.id)
        now_item.setdefault("state", PROPOSED)
        now_item["history"] = [*now_item.get("history", ()), move]
        saved[item["id"]] = now_item
        data = {**state.step_state(step.id), "items": saved}
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, action.name,
                    note, {"item": item["id"], **{p: now_item[p] for p in PARTS
                                                  if action.name == "counter"}}, now)
        new_state = replace(state, step_states={**state.step_states, step.id: data},
                            turns=(*state.turns, turn), records=records,
                            version=state.version + 1)
        return Transition(new_state, (TurnRecorded(turn), StepStateSaved(step.id, data),
                                      *effects))

    # --- what each viewer sees ----------------------------------------------------------------

    def _public_items(self, state: SessionState, step: Step, viewer_id: str
                      ) -> list[dict[str, Any]]:
        """The items as `viewer_id` sees them: flags only on wording the viewer wrote (the
        item's author, or whoever last suggested its current wording); the other partner
        never sees a flag on their partner's words."""
        return [{**item, "flags": flags_for(step, item["need"])
                 if wording_author(item) == viewer_id else []}
                for item in self.items(state, step)]

    def _own_flags(self, step: Step, fields: Any) -> list[list[dict[str, str]]]:
        items = (fields or {}).get("items", ()) if fields else ()
        return [flags_for(step, i.get("need")) for i in items]

    def project(self, state: SessionState, step: Step, status: str, viewer: Participant,
                view: dict[str, Any]) -> None:
        super().project(state, step, status, viewer, view)
        if status == "locked":
            return
        mine = view.get("mine")
        if mine is not None:
            source = mine["entry"] or mine["draft"] or {}
            mine["flags"] = self._own_flags(step, source.get("fields"))
        view["items"] = self._public_items(state, step, viewer.user_id)
        view["complete"] = self.is_complete(state, step)

    def summarize(self, state: SessionState, step: Step, viewer: Participant
                  ) -> dict[str, Any] | None:
        part = super().summarize(state, step, viewer)
        if part is None:
            return None
        part["items"] = self._public_items(state, step, viewer.user_id)
        part["agreements"] = [
            {"id": r.id, "text": r.data.get("text"), "revisit_on": r.data.get("revisit_on"),
             "proposed_by": r.data.get("proposed_by")}
            for r in sorted(state.records_of("agreement"), key=lambda r: r.created_at)
            if r.step_id == step.id and r.session_id == state.id
        ]
        return part
