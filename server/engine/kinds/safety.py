"""`safety`: a private, individual check before any joint repair work.

Each partner answers a few questions from content (`Step.settings.questions`: do you feel
safe at home; have you felt afraid, intimidated or controlled; do you want to carry on
together today). Every option says whether it is `clear` (default true) and whether it
should bring up help resources (`help`, default: when not clear).

Nothing of an answer is ever shown to anyone but its author, in any form: the other partner
learns only "not started" or "done" (never "writing": drafts change nobody's view and no
version), the step is never revealed, it takes no acknowledgements, and its summary part
is empty for everyone. A submit has the same effects and the same version bump whatever
was answered, so the partner's pushes are identical.

The gate: every step after a safety step starts only when both partners' answers to every
safety step before it in the track are clear. Otherwise, when the session would move into
it (from the safety step or any later step), the session stops for both (status "ended")
with the same neutral wording whatever the cause — one partner's concerning answer, or
either saying "not today". Why every step and not only the repair kinds: a shared check-in,
a revealed prompt or a listening turn after a concerning answer is joint work too, and a
disclosure in a joint session can put someone at risk at home (CONTENT-BRIEF.md "Safety
first": no couples work where there is abuse). Steps before the first safety step (a
welcome card) are not gated.

GATED_KINDS (apology, boundary) and `settings.requires_safety: true` remain for the content
loader's rule: such a step must have a safety step before it (server/content:
_check_safety), so shipped repair tracks always open with the check. The engine does not
gate by them: a track with no safety step runs as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from server.engine.errors import MendError
from server.engine.kinds import StepKind, register
from server.engine.session import (
    ENDED,
    Draft,
    DraftSaved,
    Entry,
    EntrySubmitted,
    SessionState,
    SubmitEntry,
    Transition,
)
from server.engine.tracks import Step
from server.engine.views import draft_dict, entry_dict

GATED_KINDS = frozenset({"apology", "boundary"})


def questions(step: Step) -> tuple[Mapping[str, Any], ...]:
    return tuple((step.settings or {}).get("questions") or ())


def _option(step: Step, question_id: str, option_id: str) -> Mapping[str, Any] | None:
    for question in questions(step):
        if question["id"] == question_id:
            return next((o for o in question["options"] if o["id"] == option_id), None)
    return None


def is_clear(step: Step, fields: Mapping[str, Any] | None) -> bool:
    """True when every answer is a clear one (a missing answer is not clear)."""
    answers = (fields or {}).get("answers") or {}
    for question in questions(step):
        option = _option(step, question["id"], answers.get(question["id"], ""))
        if option is None or not option.get("clear", True):
            return False
    return True


def wants_help(step: Step, fields: Mapping[str, Any] | None) -> bool:
    answers = (fields or {}).get("answers") or {}
    for question in questions(step):
        option = _option(step, question["id"], answers.get(question["id"], ""))
        if option is not None and option.get("help", not option.get("clear", True)):
            return True
    return False


def is_gated_step(kind: str, settings: Mapping[str, Any] | None) -> bool:
    """The loader's rule: such a step must have a safety step before it in its track."""
    return kind in GATED_KINDS or bool((settings or {}).get("requires_safety"))


def checks_clear(state: SessionState, before_index: int) -> bool:
    """Both partners answered every safety step before this index, all clear."""
    for step in state.track.steps[:before_index]:
        if step.kind != Safety.name:
            continue
        for uid in state.partner_ids:
            entry = state.entries.get((step.id, uid))
            if entry is None or not is_clear(step, entry.fields):
                return False
    return True


def safety_gate(state: SessionState, index: int, now: datetime | None) -> SessionState | None:
    """The session stopped for today if moving into step `index` is not allowed, else None.
    Called from session.advance, the one place a session moves forward."""
    if not any(s.kind == Safety.name for s in state.track.steps[:index]):
        return None
    if checks_clear(state, index):
        return None
    # The same state whatever the cause: nothing about who or why is kept in the session.
    return replace(state, status=ENDED, finished_at=now)


@register
class Safety(StepKind):
    name = "safety"
    takes_answer = True

    def validate(self, step: Step, body: Any, fields: Any, *, draft: bool
                 ) -> tuple[None, dict | None]:
        if body not in (None, ""):
            raise MendError("invalid", "This check takes its answers in 'fields'.")
        if fields is None and draft:
            return None, None
        answers = fields.get("answers") if isinstance(fields, dict) else None
        if not isinstance(answers, dict) or set(fields) != {"answers"}:
            raise MendError("invalid", "Send your answers as {'answers': {question: option}}.")
        known = {q["id"] for q in questions(step)}
        if set(answers) - known:
            raise MendError("invalid", "One of the answers is for a question not asked here.")
        for qid, oid in answers.items():
            if not isinstance(oid, str) or _option(step, qid, oid) is None:
                raise MendError("invalid", "One of the answers is not an option offered.")
        if not draft and set(answers) != known:
            raise MendError("invalid", "Answer each question before you continue.")
        ordered = {q["id"]: answers[q["id"]] for q in questions(step) if q["id"] in answers}
        return None, {"answers": ordered}

    def _require_open(self, state: SessionState, step: Step, user_id: str) -> None:
        if (step.id, user_id) in state.entries:
            raise MendError("conflict", "You have already answered this check.")

    def save_draft(self, state: SessionState, step: Step, action, now: datetime) -> Transition:
        self._require_open(state, step, action.user_id)
        body, fields = self.validate(step, action.body, action.fields, draft=True)
        draft = Draft(action.user_id, step.id, body, fields, now)
        new_state = replace(state, drafts={**state.drafts, (step.id, action.user_id): draft})
        # Never visible: the partner must not even learn that someone is hesitating.
        return Transition(new_state, (DraftSaved(draft),), visible=False)

    def submit(self, state: SessionState, step: Step, action: SubmitEntry, now: datetime
               ) -> Transition:
        self._require_open(state, step, action.user_id)
        if action.skip:
            raise MendError("invalid", "This check needs an answer to each question.")
        _, fields = self.validate(step, action.body, action.fields, draft=False)
        entry = Entry(action.entry_id, action.user_id, step.id, action.client_id, None, fields,
                      now)
        entries = {**state.entries, (step.id, action.user_id): entry}
        drafts = {k: v for k, v in state.drafts.items() if k != (step.id, action.user_id)}
        new_state = replace(state, entries=entries, drafts=drafts, version=state.version + 1)
        return Transition(new_state, (EntrySubmitted(entry),))

    def check_ready(self, state: SessionState, step: Step) -> None:
        if not all((step.id, uid) in state.entries for uid in state.partner_ids):
            raise MendError("conflict", "Both of you need to finish this check first.")

    def project(self, state: SessionState, step: Step, status: str, viewer,
                view: dict[str, Any]) -> None:
        if status == "locked":
            return
        if viewer.role != "partner":
            # A counsellor never sees anyone's answers or progress on the check; the
            # session's check view carries the one flag, naming nobody (engine.check).
            return
        if state.check_step is not None:
            return  # answered at the session's check (engine.check), not on the step
        own = state.entries.get((step.id, viewer.user_id))
        draft = state.drafts.get((step.id, viewer.user_id))
        view["mine"] = {
            "draft": None if own else draft_dict(draft),
            "entry": entry_dict(own) if own else None,
            "clear": is_clear(step, own.fields) if own else None,
            "help": wants_help(step, own.fields) if own else None,
        }
        other = state.other_partner(viewer.user_id)
        if other is not None:
            view["partner_status"] = "submitted" if (step.id, other) in state.entries \
                else "not_started"

    def summarize(self, state: SessionState, step: Step, viewer) -> dict[str, Any] | None:
        # Left out for everyone, the author too: a summary is kept, printed and shown on
        # shared screens; this check was for one moment and one person.
        return None
