"""The session state machine for the core loop: private answers, one reveal, moving on.

`handle(state, action, now)` is a reducer: it checks the rules, and returns the next state
plus the effects a service must persist. It never touches a database or a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from server.engine.answers import is_blank, validate_answer
from server.engine.errors import MendError
from server.engine.tracks import Step, Track

ACTIVE = "active"
FINISHED = "finished"

NOT_STARTED = "not_started"
WRITING = "writing"
SUBMITTED = "submitted"


@dataclass(frozen=True)
class Participant:
    user_id: str
    display_name: str
    role: str  # "partner" (later also "counsellor")


@dataclass(frozen=True)
class Entry:
    id: str
    user_id: str
    step_id: str
    client_id: str
    body: str | None
    fields: Mapping[str, Any] | None
    submitted_at: datetime


@dataclass(frozen=True)
class Draft:
    user_id: str
    step_id: str
    body: str | None
    fields: Mapping[str, Any] | None
    saved_at: datetime


@dataclass(frozen=True)
class SessionState:
    id: str
    track: Track
    participants: tuple[Participant, ...]
    status: str = ACTIVE
    version: int = 1
    current_index: int = 0
    created_at: datetime | None = None
    paused_until: datetime | None = None
    entries: Mapping[tuple[str, str], Entry] = field(default_factory=dict)  # (step, user)
    drafts: Mapping[tuple[str, str], Draft] = field(default_factory=dict)  # (step, user)
    reveals: Mapping[str, datetime] = field(default_factory=dict)  # step -> revealed at
    ready: frozenset[tuple[str, str]] = frozenset()  # (step, user)

    @property
    def partner_ids(self) -> tuple[str, ...]:
        return tuple(p.user_id for p in self.participants if p.role == "partner")

    @property
    def current_step(self) -> Step | None:
        if self.status != ACTIVE:
            return None
        return self.track.steps[self.current_index]

    def participant(self, user_id: str) -> Participant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)

    def partner_status(self, step_id: str, user_id: str) -> str:
        """What the other side may know about a partner's work: a status, never words."""
        if (step_id, user_id) in self.entries:
            return SUBMITTED
        draft = self.drafts.get((step_id, user_id))
        if draft is not None and not is_blank(draft.body, draft.fields):
            return WRITING
        return NOT_STARTED


# --- actions -------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveDraft:
    user_id: str
    step_id: str
    body: Any = None
    fields: Any = None


@dataclass(frozen=True)
class SubmitEntry:
    user_id: str
    step_id: str
    entry_id: str
    client_id: str
    body: Any = None
    fields: Any = None


@dataclass(frozen=True)
class MarkReady:
    user_id: str
    step_id: str


Action = SaveDraft | SubmitEntry | MarkReady


# --- effects: what changed, for the service to persist --------------------------------


@dataclass(frozen=True)
class DraftSaved:
    draft: Draft


@dataclass(frozen=True)
class EntrySubmitted:
    entry: Entry


@dataclass(frozen=True)
class StepRevealed:
    step_id: str
    at: datetime


@dataclass(frozen=True)
class PartnerReady:
    step_id: str
    user_id: str
    at: datetime


@dataclass(frozen=True)
class StepAdvanced:
    from_step_id: str
    to_index: int
    finished: bool
    by_user_id: str | None  # None when both partners were ready
    at: datetime


Effect = DraftSaved | EntrySubmitted | StepRevealed | PartnerReady | StepAdvanced


@dataclass(frozen=True)
class Transition:
    state: SessionState
    effects: tuple[Effect, ...]
    # False when only the author's private draft text changed: nobody else's view did,
    # so the session's version stays and nothing is pushed.
    visible: bool = True


# --- rules -----------------------------------------------------------------------------


def _require_partner(state: SessionState, user_id: str) -> None:
    participant = state.participant(user_id)
    if participant is None:
        raise MendError("forbidden", "You are not part of this session.")
    if participant.role != "partner":
        raise MendError("forbidden", "Only the two partners can do that.")


def _require_current_step(state: SessionState, step_id: str) -> Step:
    if state.status != ACTIVE:
        raise MendError(
            "conflict", "This session has finished; its steps can be read but not changed."
        )
    step = state.track.step(step_id)
    if step is None:
        raise MendError("not_found", "That step is not part of this session's track.")
    if step.id != state.track.steps[state.current_index].id:
        if state.track.step_index(step_id) < state.current_index:
            raise MendError("conflict", "That step is already finished.")
        raise MendError("conflict", "That step hasn't started yet.")
    return step


def _require_answerable(state: SessionState, step: Step, user_id: str) -> None:
    if not step.takes_answer or step.answer is None:
        raise MendError("invalid", "This step doesn't take an answer.")
    if (step.id, user_id) in state.entries:
        raise MendError("conflict", "You have already submitted your answer for this step.")


def _save_draft(state: SessionState, action: SaveDraft, now: datetime) -> Transition:
    _require_partner(state, action.user_id)
    step = _require_current_step(state, action.step_id)
    _require_answerable(state, step, action.user_id)
    body, fields = validate_answer(step.answer, action.body, action.fields, draft=True)
    before = state.partner_status(step.id, action.user_id)
    draft = Draft(action.user_id, step.id, body, fields, now)
    drafts = {**state.drafts, (step.id, action.user_id): draft}
    new_state = replace(state, drafts=drafts)
    visible = new_state.partner_status(step.id, action.user_id) != before
    if visible:
        new_state = replace(new_state, version=state.version + 1)
    return Transition(new_state, (DraftSaved(draft),), visible=visible)


def _submit_entry(state: SessionState, action: SubmitEntry, now: datetime) -> Transition:
    _require_partner(state, action.user_id)
    step = _require_current_step(state, action.step_id)
    _require_answerable(state, step, action.user_id)
    body, fields = validate_answer(step.answer, action.body, action.fields)
    entry = Entry(action.entry_id, action.user_id, step.id, action.client_id, body, fields, now)
    entries = {**state.entries, (step.id, action.user_id): entry}
    drafts = {k: v for k, v in state.drafts.items() if k != (step.id, action.user_id)}
    effects: list[Effect] = [EntrySubmitted(entry)]
    reveals = dict(state.reveals)
    everyone_in = all((step.id, uid) in entries for uid in state.partner_ids)
    if everyone_in and step.id not in reveals:
        reveals[step.id] = now
        effects.append(StepRevealed(step.id, now))
    new_state = replace(
        state, entries=entries, drafts=drafts, reveals=reveals, version=state.version + 1
    )
    return Transition(new_state, tuple(effects))


def _mark_ready(state: SessionState, action: MarkReady, now: datetime) -> Transition:
    _require_partner(state, action.user_id)
    step = _require_current_step(state, action.step_id)
    if step.takes_answer and step.id not in state.reveals:
        raise MendError(
            "conflict", "Both answers need to be in and shown before you move on."
        )
    if (step.id, action.user_id) in state.ready:
        return Transition(state, (), visible=False)  # pressing twice changes nothing
    ready = state.ready | {(step.id, action.user_id)}
    effects: list[Effect] = [PartnerReady(step.id, action.user_id, now)]
    new_state = replace(state, ready=ready, version=state.version + 1)
    if all((step.id, uid) in ready for uid in state.partner_ids):
        new_state = advance(new_state)
        finished = new_state.status == FINISHED
        effects.append(StepAdvanced(step.id, new_state.current_index, finished, None, now))
    return Transition(new_state, tuple(effects))


def advance(state: SessionState) -> SessionState:
    """Move to the next step, or finish the session after the last one.

    The single place a session moves forward (the counsellor's `step:advance` will call it
    too); the StepAdvanced effect records who advanced and when.
    """
    nxt = state.current_index + 1
    if nxt >= len(state.track.steps):
        return replace(state, status=FINISHED)
    return replace(state, current_index=nxt)


_HANDLERS = {SaveDraft: _save_draft, SubmitEntry: _submit_entry, MarkReady: _mark_ready}


def handle(state: SessionState, action: Action, now: datetime) -> Transition:
    """Apply one partner action; raise MendError when a rule forbids it."""
    return _HANDLERS[type(action)](state, action, now)
