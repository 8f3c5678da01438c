"""The session state machine: participants, the current step, time, and the step kinds.

`handle(state, action, now)` is a reducer: it checks the rules, and returns the next state
plus the effects a service must persist. It never touches a database or a clock.

What is the same for every step (who may act, which step is current, moving on, pauses and
deadlines) lives here; what a step *does* (answers, reveals, acknowledgements, turns) lives
in its kind's module under `server.engine.kinds`, found through the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.answers import is_blank
from server.engine.errors import MendError
from server.engine.tracks import Step, Track

ACTIVE = "active"
FINISHED = "finished"
# Closed without reaching the end (e.g. a duplicate session merged away by a migration).
ENDED = "ended"
# Called off by a partner while under way (DELETE /api/v1/sessions/<id>; engine.cancel).
CANCELLED = "cancelled"

NOT_STARTED = "not_started"
WRITING = "writing"
SUBMITTED = "submitted"

PARTNER = "partner"
COUNSELLOR = "counsellor"
ROLES = (PARTNER, COUNSELLOR)


@dataclass(frozen=True)
class Participant:
    user_id: str
    display_name: str
    role: str  # "partner" or "counsellor"


@dataclass(frozen=True)
class Entry:
    id: str
    user_id: str
    step_id: str
    client_id: str
    body: str | None
    fields: Mapping[str, Any] | None
    submitted_at: datetime
    skipped: bool = False
    # Its author deleted their account after it was shown: the words are gone.
    removed: bool = False


@dataclass(frozen=True)
class Draft:
    user_id: str
    step_id: str
    body: str | None
    fields: Mapping[str, Any] | None
    saved_at: datetime


@dataclass(frozen=True)
class Turn:
    """One move in a structured exercise (a listening loop, a part of an apology, a reply
    to a boundary item). Kinds decide who may make which turn and who sees it."""

    id: str
    user_id: str
    step_id: str
    client_id: str
    name: str
    body: str | None
    fields: Mapping[str, Any] | None
    at: datetime
    removed: bool = False


@dataclass(frozen=True)
class CoupleRecord:
    """Something a couple keeps across sessions: an agreement, a commitment, a check on
    one. `private_to` set: only that partner may see it (None: both partners)."""

    id: str
    kind: str
    data: Mapping[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    session_id: str | None = None
    step_id: str | None = None
    user_id: str | None = None
    private_to: str | None = None


@dataclass(frozen=True)
class Note:
    """A counsellor's private note (`recipient_id` None) or private message to one partner."""

    id: str
    author_id: str
    recipient_id: str | None
    client_id: str
    body: str
    at: datetime


@dataclass(frozen=True)
class AuditEvent:
    """Who did what, when: counsellor controls, reads of answers, consent. Never text."""

    actor_id: str | None
    actor_name: str
    actor_role: str
    action: str
    at: datetime
    step_id: str | None = None
    target_user_id: str | None = None


@dataclass(frozen=True)
class SessionState:
    id: str
    track: Track
    participants: tuple[Participant, ...]
    status: str = ACTIVE
    version: int = 1
    current_index: int = 0
    created_at: datetime | None = None
    finished_at: datetime | None = None
    paused_until: datetime | None = None
    entries: Mapping[tuple[str, str], Entry] = field(default_factory=dict)  # (step, user)
    drafts: Mapping[tuple[str, str], Draft] = field(default_factory=dict)  # (step, user)
    reveals: Mapping[str, datetime] = field(default_factory=dict)  # step -> revealed at
    ready: frozenset[tuple[str, str]] = frozenset()  # (step, user)
    # Each kind's own per-step data (acknowledgements, turns, timers): plain JSON.
    step_states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    turns: tuple[Turn, ...] = ()
    # Session-wide data that belongs to no step (a break under way): plain JSON. Anything
    # under "private" is keyed by user id and projected to that user only.
    session_data: Mapping[str, Any] = field(default_factory=dict)
    couple_id: str | None = None
    # The couple's records across sessions, by id (agreements, commitments…).
    records: Mapping[str, CoupleRecord] = field(default_factory=dict)
    # The counsellor's notes and private messages (visibility decides who sees which).
    notes: tuple[Note, ...] = ()
    audit: tuple[AuditEvent, ...] = ()
    # The private check that opens every session (content/check.yaml; engine.check), and
    # how long a gap asks for it again. Set by the service from content and config.
    check_step: Step | None = None
    recheck_after: timedelta = timedelta(hours=12)

    @property
    def partner_ids(self) -> tuple[str, ...]:
        return tuple(p.user_id for p in self.participants if p.role == PARTNER)

    @property
    def counsellor(self) -> Participant | None:
        return next((p for p in self.participants if p.role == COUNSELLOR), None)

    @property
    def moderation(self) -> Mapping[str, Any]:
        """The counsellor's controls in force: {held: [step_id], floor, focus_step_id…}."""
        return self.session_data.get("moderation") or {}

    def reveal_held(self, step_id: str) -> bool:
        """A counsellor is holding this step's reveal. Holds count only while a counsellor
        takes part: one who was removed or lost the role can keep no one waiting."""
        return self.counsellor is not None and step_id in self.moderation.get("held", ())

    @property
    def current_step(self) -> Step | None:
        if self.status != ACTIVE:
            return None
        return self.track.steps[self.current_index]

    def participant(self, user_id: str) -> Participant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)

    def other_partner(self, user_id: str) -> str | None:
        return next((uid for uid in self.partner_ids if uid != user_id), None)

    def step_state(self, step_id: str) -> Mapping[str, Any]:
        return self.step_states.get(step_id, {})

    def turns_on(self, step_id: str) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.step_id == step_id)

    def records_of(self, kind: str) -> tuple[CoupleRecord, ...]:
        return tuple(r for r in self.records.values() if r.kind == kind)

    def partner_status(self, step_id: str, user_id: str) -> str:
        """What the other side may know about a partner's work: a status, never words."""
        if (step_id, user_id) in self.entries:
            return SUBMITTED
        draft = self.drafts.get((step_id, user_id))
        if draft is not None and not is_blank(draft.body, draft.fields):
            return WRITING
        return NOT_STARTED

    def is_paused(self, now: datetime) -> bool:
        from server.engine.breaks import is_on_break  # the break model lives there

        return is_on_break(self, now)


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
    skip: bool = False


@dataclass(frozen=True)
class WithdrawEntry:
    """`entry:withdraw`: take a submitted answer back before the other partner submits."""

    user_id: str
    step_id: str


@dataclass(frozen=True)
class CancelSession:
    """`DELETE /api/v1/sessions/<id>`: a partner calls the session off (engine.cancel)."""

    user_id: str


@dataclass(frozen=True)
class MarkReady:
    user_id: str
    step_id: str


@dataclass(frozen=True)
class StepAction:
    """An action only some kinds understand (an acknowledgement, a listening turn…):
    `name` picks the kind's handler, `data` is its already-parsed payload."""

    user_id: str
    step_id: str
    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitTurn:
    """`turn:submit`: a structured move; `name` is the turn's kind within the step
    ("mirror", "apology-part", "reply"…), handled by the step kind's `turn`."""

    user_id: str
    step_id: str
    turn_id: str
    client_id: str
    name: str
    body: Any = None
    fields: Any = None


@dataclass(frozen=True)
class Tick:
    """Time passed: apply whatever deadline is due (a break ending, a turn timing out)."""


Action = (SaveDraft | SubmitEntry | WithdrawEntry | MarkReady | StepAction | SubmitTurn | Tick
          | CancelSession)


# --- effects: what changed, for the service to persist --------------------------------


@dataclass(frozen=True)
class DraftSaved:
    draft: Draft


@dataclass(frozen=True)
class EntrySubmitted:
    entry: Entry


@dataclass(frozen=True)
class EntryDeleted:
    """An answer that was never shown is gone: taken back or replaced by its author, or
    dropped when the session was cancelled. `client_id`: the retry key it held."""

    step_id: str
    user_id: str
    client_id: str


@dataclass(frozen=True)
class DraftDeleted:
    step_id: str
    user_id: str


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


@dataclass(frozen=True)
class StepStateSaved:
    """A kind's per-step data changed; storage keeps it as one JSON document per step."""

    step_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class PauseEnded:
    at: datetime


@dataclass(frozen=True)
class TurnRecorded:
    turn: Turn


@dataclass(frozen=True)
class SessionDataSaved:
    data: Mapping[str, Any]
    # Set for a change only these viewers can see (a private check answer): the session's
    # version stays, and only they are sent their new view.
    private_to: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RecordSaved:
    """A couple record was created or changed (stored by id: insert or update)."""

    record: CoupleRecord


@dataclass(frozen=True)
class NoteAdded:
    note: Note


@dataclass(frozen=True)
class Audited:
    event: AuditEvent


@dataclass(frozen=True)
class ParticipantJoined:
    participant: Participant
    at: datetime


@dataclass(frozen=True)
class ParticipantLeft:
    user_id: str
    at: datetime


@dataclass(frozen=True)
class TrackChanged:
    """The session's list of steps changed (a counsellor inserted a prompt): the service
    pins the new list as the session's snapshot."""

    track: Track


Effect = (
    DraftSaved | EntrySubmitted | EntryDeleted | DraftDeleted | StepRevealed | PartnerReady
    | StepAdvanced | StepStateSaved | PauseEnded | TurnRecorded | SessionDataSaved | RecordSaved
    | NoteAdded | Audited | ParticipantJoined | ParticipantLeft | TrackChanged
)


@dataclass(frozen=True)
class Transition:
    state: SessionState
    effects: tuple[Effect, ...]
    # False when only the author's private draft text changed: nobody else's view did,
    # so the session's version stays and nothing is pushed.
    visible: bool = True


def unchanged(state: SessionState) -> Transition:
    return Transition(state, (), visible=False)


# --- rules shared by every kind ---------------------------------------------------------


def require_partner(state: SessionState, user_id: str) -> Participant:
    participant = state.participant(user_id)
    if participant is None:
        raise MendError("forbidden", "You are not part of this session.")
    if participant.role != PARTNER:
        raise MendError("forbidden", "Only the two partners can do that.")
    return participant


def require_current_step(state: SessionState, step_id: str) -> Step:
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


def advance(state: SessionState, now: datetime | None = None) -> SessionState:
    """Move to the next step, or finish the session after the last one.

    The single place a session moves forward (the counsellor's `step:advance` will call it
    too); the StepAdvanced effect records who advanced and when.
    """
    nxt = state.current_index + 1
    if nxt >= len(state.track.steps):
        return replace(state, status=FINISHED, finished_at=now)
    step = state.track.steps[nxt]
    if state.check_step is not None:
        if step.kind != "safety":
            return replace(state, current_index=nxt)
        # A track's own check: the session's check opens again with its questions.
        from server.engine.check import reopen

        return replace(reopen(state, now or datetime.min, step.id), current_index=nxt)
    # Without a session check (hand-made content): the step-level gate of kinds.safety.
    from server.engine.kinds.safety import safety_gate  # imported late: kinds build on this

    return safety_gate(state, nxt, now) or replace(state, current_index=nxt)


def data_saved(before: SessionState, after: SessionState) -> tuple[SessionDataSaved, ...]:
    """The effect that stores session data a move changed (advance() reopening the check
    at a track's own safety step), or none."""
    if after.session_data is before.session_data or after.session_data == before.session_data:
        return ()
    return (SessionDataSaved(after.session_data),)


def _mark_ready(state: SessionState, action: MarkReady, now: datetime) -> Transition:
    require_partner(state, action.user_id)
    step = require_current_step(state, action.step_id)
    require_check_passed(state)
    if state.is_paused(now):
        raise MendError("paused", "The session is on a break; move on together afterwards.")
    kind_of(step).check_ready(state, step)
    if (step.id, action.user_id) in state.ready:
        return unchanged(state)  # pressing twice changes nothing
    ready = state.ready | {(step.id, action.user_id)}
    effects: list[Effect] = [PartnerReady(step.id, action.user_id, now)]
    new_state = replace(state, ready=ready, version=state.version + 1)
    if all((step.id, uid) in ready for uid in state.partner_ids):
        before = new_state
        new_state = advance(new_state, now)
        finished = new_state.status != ACTIVE  # finished, or stopped for today (safety)
        effects.append(StepAdvanced(step.id, new_state.current_index, finished, None, now))
        effects.extend(data_saved(before, new_state))
    return Transition(new_state, tuple(effects))


def _step_scoped(state: SessionState, action: Any, now: datetime) -> Transition:
    require_partner(state, action.user_id)
    step = require_current_step(state, action.step_id)
    kind = kind_of(step)
    if isinstance(action, SaveDraft):
        # Drafts keep saving during a break: nobody loses words because time stopped.
        return kind.save_draft(state, step, action, now)
    if isinstance(action, WithdrawEntry):
        # Taking one's own words back is never held up (a break, the floor, the check).
        return kind.withdraw(state, step, action, now)
    require_check_passed(state)
    if state.is_paused(now):
        raise MendError("paused", "The session is on a break. Your draft is kept.")
    floor = state.moderation.get("floor")
    if floor and floor.get("step_id") == step.id and floor.get("user_id") != action.user_id \
            and state.counsellor is not None:
        holder = state.participant(floor["user_id"])
        name = holder.display_name if holder else "your partner"
        raise MendError("not_your_turn",
                        f"Your counsellor has given the floor to {name} for now. "
                        "Your draft is kept.")
    if isinstance(action, SubmitEntry):
        return kind.submit(state, step, action, now)
    if isinstance(action, SubmitTurn):
        return kind.turn(state, step, action, now)
    return kind.act(state, step, action, now)


def require_check_passed(state: SessionState) -> None:
    from server.engine.check import require_passed

    require_passed(state)


def _tick(state: SessionState, _action: Tick, now: datetime) -> Transition:
    from server.engine import check
    from server.engine.breaks import tick as break_tick

    expiry = check.expires_at(state)
    if expiry is not None and expiry <= now:
        return check.stop_early(state, now)  # the clock: answers are for the moment
    new_state, break_effects = break_tick(state, now)
    effects: list[Effect] = list(break_effects)
    step = new_state.current_step
    if step is not None:
        due = kind_of(step).tick(new_state, step, now)
        if due is not None:
            new_state = due.state
            effects.extend(due.effects)
    if not effects:
        return unchanged(state)
    return Transition(replace(new_state, version=state.version + 1), tuple(effects))


def next_deadline(state: SessionState) -> datetime | None:
    """The earliest moment a Tick would change something, or None."""
    from server.engine.check import expires_at

    moments = [state.paused_until] if state.paused_until is not None else []
    expiry = expires_at(state)
    if expiry is not None:
        moments.append(expiry)
    step = state.current_step
    if step is not None:
        moment = kind_of(step).next_deadline(state, step)
        if moment is not None:
            moments.append(moment)
    return min(moments, default=None)


def handle(state: SessionState, action: Action, now: datetime) -> Transition:
    """Apply one action; raise MendError when a rule forbids it."""
    from server.engine.moderation import audit_reveals

    return audit_reveals(_dispatch(state, action, now), now)


def _dispatch(state: SessionState, action: Action, now: datetime) -> Transition:
    if isinstance(action, Tick):
        return _tick(state, action, now)
    if isinstance(action, MarkReady):
        return _mark_ready(state, action, now)
    if isinstance(action, SaveDraft | SubmitEntry | WithdrawEntry | StepAction | SubmitTurn):
        return _step_scoped(state, action, now)
    if isinstance(action, CancelSession):
        from server.engine.cancel import cancel

        return cancel(state, action, now)
    from server.engine import breaks, check, moderation  # pauses; the counsellor's controls

    if isinstance(action, check.SubmitCheck):
        return check.submit(state, action, now)
    if isinstance(action, check.StopForToday):
        return check.stop(state, action, now)
    if isinstance(action, breaks.PauseSession):
        require_check_passed(state)
    if isinstance(action, breaks.PauseSession | breaks.ResumeSession):
        transition = breaks.handle(state, action, now)
        return moderation.audit_counsellor(state, transition, action, now)
    if isinstance(action, moderation.ACTIONS):
        return moderation.handle(state, action, now)
    raise TypeError(f"unknown action {action!r}")


def kind_of(step: Step):
    # Imported here: the kinds build on the types above.
    from server.engine.kinds import kind_of as lookup

    return lookup(step)
