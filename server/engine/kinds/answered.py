"""What every step that takes a private answer from each partner shares.

Drafts go to their author only; an entry is shown to everyone else only once the step is
revealed, which happens exactly when every partner has submitted (or chosen to skip an
optional step). After the reveal each partner may acknowledge what they read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from server.engine.answers import validate_answer
from server.engine.errors import MendError
from server.engine.kinds import StepKind
from server.engine.session import (
    Draft,
    DraftSaved,
    Entry,
    EntryDeleted,
    EntrySubmitted,
    Participant,
    SessionState,
    StepAction,
    StepRevealed,
    StepStateSaved,
    SubmitEntry,
    Transition,
    WithdrawEntry,
)
from server.engine.tracks import Step
from server.engine.views import draft_dict, entry_dict, iso

ACKS = {"thanks": "Thank you for sharing", "hear_you": "I hear you"}


class AnsweredKind(StepKind):
    takes_answer = True

    # --- answers --------------------------------------------------------------------

    def validate(self, step: Step, body: Any, fields: Any, *, draft: bool
                 ) -> tuple[str | None, dict | None]:
        if step.answer is None:
            raise MendError("invalid", "This step doesn't take an answer.")
        return validate_answer(step.answer, body, fields, draft=draft)

    def _require_open(self, state: SessionState, step: Step, user_id: str) -> None:
        if (step.id, user_id) in state.entries:
            raise MendError("conflict", "You have already submitted your answer for this step.")

    def save_draft(self, state: SessionState, step: Step, action, now: datetime) -> Transition:
        self._require_open(state, step, action.user_id)
        body, fields = self.validate(step, action.body, action.fields, draft=True)
        before = state.partner_status(step.id, action.user_id)
        draft = Draft(action.user_id, step.id, body, fields, now)
        new_state = replace(state, drafts={**state.drafts, (step.id, action.user_id): draft})
        visible = new_state.partner_status(step.id, action.user_id) != before
        if visible:
            new_state = replace(new_state, version=state.version + 1)
        return Transition(new_state, (DraftSaved(draft),), visible=visible)

    def submit(self, state: SessionState, step: Step, action: SubmitEntry, now: datetime
               ) -> Transition:
        """A first answer, or (with a new client_id; the service answers a same-id retry)
        a replacement for one the other partner hasn't matched yet."""
        retired = (state.step_state(step.id).get("retired") or {}).get(action.user_id, ())
        if action.client_id in retired:
            # A late retry of an answer since replaced or taken back: it stays gone.
            raise MendError("conflict", "That answer was changed or taken back since; "
                                        "what you sent last is what counts.")
        replacing = state.entries.get((step.id, action.user_id))
        if replacing is not None:
            self.require_changeable(state, step, action.user_id)
        if action.skip:
            if not step.optional:
                raise MendError("invalid", "This step needs an answer; it can't be skipped.")
            body, fields = None, None
        else:
            body, fields = self.validate(step, action.body, action.fields, draft=False)
        entry = Entry(action.entry_id, action.user_id, step.id, action.client_id, body, fields,
                      now, skipped=action.skip)
        entries = {**state.entries, (step.id, action.user_id): entry}
        drafts = {k: v for k, v in state.drafts.items() if k != (step.id, action.user_id)}
        new_state = replace(state, entries=entries, drafts=drafts, version=state.version + 1)
        if replacing is not None:
            # The old words are deleted, never kept beside the new ones; its client_id is
            # remembered so that a late retry of it can't bring them back.
            new_state, retired = self._retire(new_state, step, replacing)
            return Transition(new_state, (EntryDeleted(step.id, action.user_id,
                                                       replacing.client_id),
                                          EntrySubmitted(entry), retired))
        submitted = Transition(new_state, (EntrySubmitted(entry),))
        if not self.reveal_due(new_state, step):
            return submitted
        revealed = self.reveal(new_state, step, now)
        return Transition(revealed.state, submitted.effects + revealed.effects)

    # --- changing one's mind before the partner answers --------------------------------

    def require_changeable(self, state: SessionState, step: Step, user_id: str) -> Entry:
        """The author's entry, while it may still be replaced or taken back: until the
        other partner has submitted (after that both answers stand, revealed or held)."""
        own = state.entries.get((step.id, user_id))
        if own is None:
            raise MendError("conflict", "You haven't submitted an answer to this step.")
        other = state.other_partner(user_id)
        if step.id in state.reveals or (other is not None and (step.id, other) in state.entries):
            holder = state.participant(other) if other else None
            name = holder.display_name if holder else "Your partner"
            raise MendError("conflict", f"{name} has submitted too, so both answers stay as "
                                        "they were sent. You can talk about it together.")
        return own

    def _retire(self, state: SessionState, step: Step, old: Entry
                ) -> tuple[SessionState, StepStateSaved]:
        data = dict(state.step_state(step.id))
        retired = {uid: list(ids) for uid, ids in (data.get("retired") or {}).items()}
        retired.setdefault(old.user_id, []).append(old.client_id)
        data["retired"] = retired
        new_state = replace(state, step_states={**state.step_states, step.id: data})
        return new_state, StepStateSaved(step.id, data)

    def withdraw(self, state: SessionState, step: Step, action: WithdrawEntry, now: datetime
                 ) -> Transition:
        """Take a submitted answer back: the partner sees it as not submitted again, and
        its words return to the author's draft (skipped: an empty draft)."""
        own = self.require_changeable(state, step, action.user_id)
        entries = {k: v for k, v in state.entries.items() if k != (step.id, action.user_id)}
        new_state = replace(state, entries=entries, version=state.version + 1)
        new_state, retired = self._retire(new_state, step, own)
        effects: list[Any] = [EntryDeleted(step.id, action.user_id, own.client_id), retired]
        if not own.skipped:
            draft = Draft(action.user_id, step.id, own.body,
                          dict(own.fields) if own.fields is not None else None, now)
            new_state = replace(new_state,
                                drafts={**new_state.drafts, (step.id, action.user_id): draft})
            effects.append(DraftSaved(draft))
        return Transition(new_state, tuple(effects))

    # --- the reveal -------------------------------------------------------------------

    def reveal_due(self, state: SessionState, step: Step) -> bool:
        """Every partner's answer is in, the step isn't shown yet, and no counsellor is
        holding it (the counsellor's release calls `reveal` then)."""
        return (step.id not in state.reveals and not state.reveal_held(step.id)
                and all((step.id, uid) in state.entries for uid in state.partner_ids))

    def reveal(self, state: SessionState, step: Step, now: datetime) -> Transition:
        """Show the step's answers to everyone (no version bump: the caller's change has
        one). Kinds that keep something once answers are shown extend this."""
        reveals = {**state.reveals, step.id: now}
        return Transition(replace(state, reveals=reveals), (StepRevealed(step.id, now),))

    def check_ready(self, state: SessionState, step: Step) -> None:
        if step.id not in state.reveals:
            raise MendError(
                "conflict", "Both answers need to be in and shown before you move on."
            )

    # --- acknowledging what was read ----------------------------------------------------

    def action_handlers(self):
        return {"acknowledge": self.acknowledge}

    def acknowledge(self, state: SessionState, step: Step, action: StepAction, now: datetime
                    ) -> Transition:
        ack = action.data.get("ack")
        if ack not in ACKS:
            raise MendError("invalid", "Choose 'thanks' or 'hear_you'.")
        if step.id not in state.reveals:
            raise MendError("conflict", "You can acknowledge an answer once both are shown.")
        data = dict(state.step_state(step.id))
        acks = dict(data.get("acks", {}))
        if acks.get(action.user_id, {}).get("ack") == ack:
            return Transition(state, (), visible=False)
        acks[action.user_id] = {"ack": ack, "at": iso(now)}
        data["acks"] = acks
        new_state = replace(state, step_states={**state.step_states, step.id: data},
                            version=state.version + 1)
        return Transition(new_state, (StepStateSaved(step.id, data),))

    # --- what each viewer sees ----------------------------------------------------------

    def visible_entry(self, state: SessionState, step: Step, author: str, viewer: Participant
                      ) -> Entry | None:
        """The author's entry if this viewer may read it: their own, or once revealed."""
        entry = state.entries.get((step.id, author))
        if entry is None:
            return None
        if author == viewer.user_id or step.id in state.reveals:
            return entry
        return None

    def acks_list(self, state: SessionState, step: Step) -> list[dict[str, Any]]:
        acks = state.step_state(step.id).get("acks", {})
        return [{"user_id": uid, **acks[uid]} for uid in state.partner_ids if uid in acks]

    def project(self, state: SessionState, step: Step, status: str, viewer: Participant,
                view: dict[str, Any]) -> None:
        if status == "locked":
            return
        if viewer.role == "partner":
            own = state.entries.get((step.id, viewer.user_id))
            view["mine"] = {
                "draft": None if own else draft_dict(state.drafts.get((step.id, viewer.user_id))),
                "entry": entry_dict(own) if own else None,
            }
            other = state.other_partner(viewer.user_id)
            if other is not None:
                view["partner_status"] = state.partner_status(step.id, other)
        else:
            # The counsellor learns who has submitted (never drafts, never "writing").
            view["submitted"] = [uid for uid in state.partner_ids
                                 if (step.id, uid) in state.entries]
        view["held"] = state.reveal_held(step.id) and step.id not in state.reveals
        if step.id in state.reveals:
            view["revealed"] = {
                "at": iso(state.reveals[step.id]),
                "entries": [
                    {**entry_dict(state.entries[(step.id, uid)]), "user_id": uid,
                     "display_name": state.participant(uid).display_name}
                    for uid in state.partner_ids if (step.id, uid) in state.entries
                ],
            }
            view["acks"] = self.acks_list(state, step)

    def summarize(self, state: SessionState, step: Step, viewer: Participant
                  ) -> dict[str, Any] | None:
        answers = []
        for uid in state.partner_ids:
            entry = self.visible_entry(state, step, uid, viewer)
            if entry is not None:
                answers.append({
                    "user_id": uid,
                    "display_name": state.participant(uid).display_name,
                    "body": entry.body,
                    "fields": dict(entry.fields) if entry.fields is not None else None,
                    "skipped": entry.skipped,
                    "removed": entry.removed,
                    "submitted_at": iso(entry.submitted_at),
                })
        if not answers:
            return None
        return {
            "id": step.id, "kind": step.kind, "title": step.title, "prompt": step.prompt,
            "answer": step.public_dict()["answer"],
            "revealed": step.id in state.reveals,
            "answers": answers,
            "acks": self.acks_list(state, step) if step.id in state.reveals else [],
        }
