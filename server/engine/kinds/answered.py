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
    EntrySubmitted,
    Participant,
    SessionState,
    StepAction,
    StepRevealed,
    StepStateSaved,
    SubmitEntry,
    Transition,
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
        self._require_open(state, step, action.user_id)
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
        submitted = Transition(new_state, (EntrySubmitted(entry),))
        if not self.reveal_due(new_state, step):
            return submitted
        revealed = self.reveal(new_state, step, now)
        return Transition(revealed.state, submitted.effects + revealed.effects)

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
