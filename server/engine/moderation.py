"""The counsellor: how one joins a session, what they may do there, and the audit trail.

Joining. A partner invites a counsellor (`InviteCounsellor`, which is that partner's
consent); the other partner agrees (`ConsentCounsellor`); only then may a counsellor who
holds the invite code be admitted (`AdmitCounsellor`). Either partner may remove the
counsellor, or cancel an invite, at any time (`RemoveCounsellor`). Consent is kept in
`session_data["counsellor"]`: {invited_by, invited_at, expires_at, consents, joined_at?}.

Controls (`Moderate`, counsellor only; `forbidden` for anyone else):
  advance  move on from the current step (optionally to a chosen later step: "the next
           exercise"); never past a safety check that isn't finished
  revisit  bring a finished step back on screen for discussion (or clear it)
  hold     keep a step's answers from being shown when both are in
  release  lift the hold: the answers are shown if both are in
  preview  read the two submitted answers of a held step (the counsellor only; audited)
  floor    give one partner the floor on the current step: the other's submits and turns
           get `not_your_turn` until the floor is released (drafts still save)
  card     a reframe card shown to both now, or a short prompt inserted as the next step
  end      end the session for both (both are shown help resources)
and `AddNote`: a private note, or a private message to one partner; `CheckIn`: the same
words to each partner privately, at once (the one follow-up a safety flag asks for).

A safety flag (`session_data["check"]["flag"]`, the counsellor's `state.check.flag`) says
only that someone's answers were not all clear, never who. While it is up, a private
message to one partner is refused: it would point at a person. The counsellor checks in
with each partner instead: two private messages with the same words and the same time, one
per partner, each seen only by its recipient, and one audit line with no target
("checked in with each of you privately"). The copies' client_ids are derived from the
counsellor's one (`checkin_client_id`): `checkin:<group>:<recipient tag>`, so a retry finds
them and the counsellor's screen groups them; no `note:add` may use that prefix.

What is in force lives in `session_data["moderation"]`:
    {held: [step_id], floor: {step_id, user_id} | None, focus_step_id, cards: [...], ended}

Every counsellor action, every read of partners' answers by the counsellor, and every
consent step is an `AuditEvent` (who, what, when; never text), shown to both partners.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.errors import MendError
from server.engine.session import (
    ACTIVE,
    COUNSELLOR,
    PARTNER,
    Audited,
    AuditEvent,
    Note,
    NoteAdded,
    Participant,
    ParticipantJoined,
    ParticipantLeft,
    SessionDataSaved,
    SessionState,
    StepAdvanced,
    StepRevealed,
    TrackChanged,
    Transition,
    advance,
    require_check_passed,
    unchanged,
)
from server.engine.text import is_blank as blank_text
from server.engine.text import normalise, trim
from server.engine.tracks import Step, freeze
from server.engine.views import iso

NOTE_MAX = 4000
CARD_MAX = 600
PROMPT_MAX_ANSWER = 2000
# A counsellor opening the session again within this long adds no second "opened" line.
READ_COALESCE = timedelta(minutes=10)

CONTROLS = ("advance", "revisit", "hold", "release", "preview", "floor", "card", "end")


@dataclass(frozen=True)
class InviteCounsellor:
    """A partner asks for a counsellor (and so consents). The service makes the code."""

    user_id: str
    expires_at: datetime


@dataclass(frozen=True)
class ConsentCounsellor:
    user_id: str


@dataclass(frozen=True)
class AdmitCounsellor:
    """A granted counsellor with a valid code joins (the service checked the code)."""

    user_id: str
    display_name: str


@dataclass(frozen=True)
class RemoveCounsellor:
    """A partner removes the counsellor or cancels the invite. `revoked`: an administrator
    took the counsellor role away (user_id is then the counsellor's)."""

    user_id: str
    revoked: bool = False


@dataclass(frozen=True)
class Moderate:
    user_id: str
    name: str
    step_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AddNote:
    user_id: str
    note_id: str
    client_id: str
    body: Any
    recipient_id: Any = None


@dataclass(frozen=True)
class CheckIn:
    """The counsellor checks in with each partner privately: the same words to both at
    once. `note_ids`: one new id per partner (the service makes them)."""

    user_id: str
    note_ids: tuple[str, ...]
    client_id: str
    body: Any


@dataclass(frozen=True)
class RecordRead:
    """The counsellor read partners' answers outside a push: opened the session, fetched
    the summary. Recorded in the audit trail (the service calls this)."""

    user_id: str
    what: str  # "opened" | "read_summary"


ACTIONS = (InviteCounsellor, ConsentCounsellor, AdmitCounsellor, RemoveCounsellor, Moderate,
           AddNote, CheckIn, RecordRead)

CHECKIN_PREFIX = "checkin:"
USE_CHECKIN = ("A safety check suggests checking in with each partner privately, so a "
               "message to one of them isn't sent now: it would point at a person. Use "
               "“Check in with each partner”, which sends the same words to both at once.")


# --- small helpers -------------------------------------------------------------------


def counsellor_data(state: SessionState) -> dict[str, Any] | None:
    found = state.session_data.get("counsellor")
    return dict(found) if found else None


def _moderation(state: SessionState) -> dict[str, Any]:
    return dict(state.moderation)


def _with_session_data(state: SessionState, key: str, value: Any) -> tuple[SessionState, Any]:
    data = dict(state.session_data)
    if value is None:
        data.pop(key, None)
    else:
        data[key] = value
    return replace(state, session_data=data), SessionDataSaved(data)


def _audit(state: SessionState, actor_id: str | None, action: str, now: datetime,
           step_id: str | None = None, target: str | None = None) -> tuple[SessionState, Audited]:
    who = state.participant(actor_id) if actor_id else None
    event = AuditEvent(actor_id, who.display_name if who else "Mend",
                       who.role if who else "system", action, now, step_id, target)
    return replace(state, audit=(*state.audit, event)), Audited(event)


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or blank_text(value):
        raise MendError("invalid", f"Write the {what} first.")
    value = trim(normalise(value, f"The {what}"))
    if len(value) > limit:
        raise MendError("too_large", f"Keep the {what} under {limit} characters.")
    return value


def _require_active(state: SessionState) -> None:
    if state.status != ACTIVE:
        raise MendError("conflict", "This session has finished; it can be read but not changed.")


def _require_partner(state: SessionState, user_id: str) -> None:
    who = state.participant(user_id)
    if who is None or who.role != PARTNER:
        raise MendError("forbidden", "Only the two partners decide who joins their session.")


def require_counsellor(state: SessionState, user_id: str) -> Participant:
    who = state.participant(user_id)
    if who is None or who.role != COUNSELLOR:
        raise MendError("forbidden", "Only the session's counsellor can do that.")
    return who


def _bump(state: SessionState) -> SessionState:
    return replace(state, version=state.version + 1)


# --- joining and leaving -------------------------------------------------------------------


def _invite(state: SessionState, action: InviteCounsellor, now: datetime) -> Transition:
    _require_partner(state, action.user_id)
    _require_active(state)
    if state.counsellor is not None:
        raise MendError("conflict", "A counsellor is already taking part in this session.")
    record = {"invited_by": action.user_id, "invited_at": iso(now),
              "expires_at": iso(action.expires_at), "consents": [action.user_id]}
    new_state, saved = _with_session_data(state, "counsellor", record)
    new_state, audited = _audit(new_state, action.user_id, "counsellor_invited", now)
    return Transition(_bump(new_state), (saved, audited))


def _consent(state: SessionState, action: ConsentCounsellor, now: datetime) -> Transition:
    _require_partner(state, action.user_id)
    _require_active(state)
    found = counsellor_data(state)
    if found is None or found.get("joined_at"):
        raise MendError("conflict", "There is no counsellor invite waiting for your agreement.")
    if action.user_id in found["consents"]:
        return unchanged(state)
    found["consents"] = [*found["consents"], action.user_id]
    new_state, saved = _with_session_data(state, "counsellor", found)
    new_state, audited = _audit(new_state, action.user_id, "counsellor_consented", now)
    return Transition(_bump(new_state), (saved, audited))


def both_consented(state: SessionState) -> bool:
    found = counsellor_data(state)
    return found is not None and all(uid in found["consents"] for uid in state.partner_ids)


def _admit(state: SessionState, action: AdmitCounsellor, now: datetime) -> Transition:
    _require_active(state)
    if state.participant(action.user_id) is not None:
        raise MendError("conflict", "You are already part of this session.")
    if state.counsellor is not None:
        raise MendError("conflict", "A counsellor is already taking part in this session.")
    found = counsellor_data(state)
    if found is None:
        raise MendError("forbidden", "This session has no counsellor invite.")
    if not both_consented(state):
        raise MendError("forbidden", "Both partners need to agree before a counsellor joins.")
    if found.get("expires_at") and found["expires_at"] < iso(now):
        raise MendError("forbidden", "This invite has expired; ask the couple for a new one.")
    participant = Participant(action.user_id, action.display_name, COUNSELLOR)
    new_state = replace(state, participants=(*state.participants, participant))
    found["joined_at"] = iso(now)
    new_state, saved = _with_session_data(new_state, "counsellor", found)
    new_state, audited = _audit(new_state, action.user_id, "counsellor_joined", now)
    return Transition(_bump(new_state),
                      (ParticipantJoined(participant, now), saved, audited))


def _remove(state: SessionState, action: RemoveCounsellor, now: datetime) -> Transition:
    counsellor = state.counsellor
    if action.revoked:
        if counsellor is None or counsellor.user_id != action.user_id:
            return unchanged(state)
    else:
        _require_partner(state, action.user_id)
        if counsellor is None and counsellor_data(state) is None:
            raise MendError("conflict", "There is no counsellor in this session to remove.")
    effects: list = []
    new_state = state
    if counsellor is not None:
        # The audit line is written while the counsellor is still a participant (their name).
        actor = None if action.revoked else action.user_id
        new_state, audited = _audit(new_state, actor,
                                    "counsellor_access_revoked" if action.revoked
                                    else "counsellor_removed", now, target=counsellor.user_id)
        effects.append(audited)
        new_state = replace(new_state, participants=tuple(
            p for p in new_state.participants if p.user_id != counsellor.user_id))
        effects.append(ParticipantLeft(counsellor.user_id, now))
    else:
        new_state, audited = _audit(new_state, action.user_id, "counsellor_invite_cancelled",
                                    now)
        effects.append(audited)
    new_state, saved = _with_session_data(new_state, "counsellor", None)
    effects.append(saved)
    # Nothing the counsellor put in force outlives them: held answers due are shown now.
    new_state, released = _lift_controls(new_state, now)
    effects.extend(released)
    return Transition(_bump(new_state), tuple(effects))


def _lift_controls(state: SessionState, now: datetime) -> tuple[SessionState, list]:
    moderation = _moderation(state)
    held = list(moderation.get("held", ()))
    if not held and not moderation.get("floor") and not moderation.get("focus_step_id"):
        return state, []
    moderation.update(held=[], floor=None, focus_step_id=None)
    new_state, saved = _with_session_data(state, "moderation", moderation)
    effects: list = [saved]
    for step_id in held:
        new_state, revealed = _reveal_if_due(new_state, step_id, now)
        effects.extend(revealed)
    return new_state, effects


def _reveal_if_due(state: SessionState, step_id: str, now: datetime) -> tuple[SessionState, list]:
    from server.engine.kinds import kind_of

    step = state.track.step(step_id)
    if step is None:
        return state, []
    kind = kind_of(step)
    due = getattr(kind, "reveal_due", None)
    if due is None or not due(state, step):
        return state, []
    transition = kind.reveal(state, step, now)
    return transition.state, list(transition.effects)


# --- the controls ---------------------------------------------------------------------


def _current(state: SessionState, step_id: Any) -> Step:
    _require_active(state)
    current = state.current_step
    if step_id != current.id:
        raise MendError("conflict", "The session has moved on; look at the current step.")
    return current


def _holdable(state: SessionState, step_id: Any, *, finished_ok: bool = False) -> Step:
    """A step whose answers are shown side by side. A hold is placed on the current or a
    later step; a step the counsellor moved on from while holding it can still be
    previewed and released (`finished_ok`), so held answers are never stranded."""
    from server.engine.kinds import kind_of
    from server.engine.kinds.answered import AnsweredKind
    from server.engine.opening import is_review_step

    _require_active(state)
    step = state.track.step(step_id) if isinstance(step_id, str) else None
    if step is None:
        raise MendError("not_found", "That step is not part of this session's track.")
    kind = kind_of(step)
    # A listening step of questions holds its answers for the counsellor too (listening.py).
    holds = isinstance(kind, AnsweredKind) or getattr(kind, "holds_answers", lambda s: False)(step)
    if not holds or is_review_step(step):
        raise MendError("invalid", "Only a step whose answers are shown side by side can be held.")
    if not finished_ok and state.track.step_index(step.id) < state.current_index:
        raise MendError("conflict", "That step is already finished.")
    return step


def _advance(state: SessionState, action: Moderate, now: datetime) -> Transition:
    step = _current(state, action.step_id)
    require_check_passed(state)  # no joint step before both partners' private checks
    if state.is_paused(now):
        raise MendError("paused", "The session is on a break; resume it first.")
    if step.kind == "safety" and not all((step.id, uid) in state.entries
                                         for uid in state.partner_ids):
        raise MendError("conflict", "Both partners need to finish the safety check first.")
    target_id = action.data.get("to_step_id")
    index = state.current_index
    if target_id is not None:
        target = state.track.step_index(target_id) if isinstance(target_id, str) else None
        if target is None:
            raise MendError("not_found", "That step is not part of this session's track.")
        if target <= index:
            raise MendError("invalid", "Choose a step that comes later in the session.")
        if any(s.kind == "safety" for s in state.track.steps[index + 1:target]):
            raise MendError("invalid", "A safety check can't be skipped.")
        index = target - 1
    moved = advance(replace(state, current_index=index), now)
    moderation = _moderation(moved)
    moderation.update(floor=None, focus_step_id=None)
    moved, saved = _with_session_data(moved, "moderation", moderation)
    finished = moved.status != ACTIVE
    moved, audited = _audit(moved, action.user_id, "step_advanced", now, step_id=step.id)
    effects = (StepAdvanced(step.id, moved.current_index, finished, action.user_id, now),
               saved, audited)
    return Transition(_bump(moved), effects)


def _revisit(state: SessionState, action: Moderate, now: datetime) -> Transition:
    _require_active(state)
    step_id = action.data.get("step_id", action.step_id)
    if step_id is not None:
        index = state.track.step_index(step_id) if isinstance(step_id, str) else None
        if index is None:
            raise MendError("not_found", "That step is not part of this session's track.")
        if index >= state.current_index:
            raise MendError("invalid", "Choose a finished step to talk about again.")
    moderation = _moderation(state)
    if moderation.get("focus_step_id") == step_id:
        return unchanged(state)
    moderation["focus_step_id"] = step_id
    new_state, saved = _with_session_data(state, "moderation", moderation)
    new_state, audited = _audit(new_state, action.user_id,
                                "step_revisited" if step_id else "revisit_closed", now,
                                step_id=step_id)
    return Transition(_bump(new_state), (saved, audited))


def _hold(state: SessionState, action: Moderate, now: datetime) -> Transition:
    step = _holdable(state, action.step_id)
    if step.id in state.reveals:
        raise MendError("conflict", "Those answers are already shown.")
    moderation = _moderation(state)
    held = list(moderation.get("held", ()))
    if step.id in held:
        return unchanged(state)
    moderation["held"] = [*held, step.id]
    new_state, saved = _with_session_data(state, "moderation", moderation)
    new_state, audited = _audit(new_state, action.user_id, "reveal_held", now, step_id=step.id)
    return Transition(_bump(new_state), (saved, audited))


def _release(state: SessionState, action: Moderate, now: datetime) -> Transition:
    step = _holdable(state, action.step_id, finished_ok=True)
    moderation = _moderation(state)
    held = list(moderation.get("held", ()))
    if step.id not in held:
        return unchanged(state)
    moderation["held"] = [s for s in held if s != step.id]
    new_state, saved = _with_session_data(state, "moderation", moderation)
    new_state, audited = _audit(new_state, action.user_id, "reveal_released", now,
                                step_id=step.id)
    new_state, revealed = _reveal_if_due(new_state, step.id, now)
    return Transition(_bump(new_state), (saved, audited, *revealed))


def preview_entries(state: SessionState, step: Step) -> list[dict[str, Any]]:
    """The submitted answers of a step, for the counsellor's preview (never drafts)."""
    from server.engine.views import entry_dict

    return [
        {**entry_dict(state.entries[(step.id, uid)]), "user_id": uid,
         "display_name": state.participant(uid).display_name}
        for uid in state.partner_ids if (step.id, uid) in state.entries
    ]


def _preview(state: SessionState, action: Moderate, now: datetime) -> Transition:
    step = _holdable(state, action.step_id, finished_ok=True)
    if not state.reveal_held(step.id):
        raise MendError("conflict", "Preview is for a held step; these answers are shown to "
                                    "everyone once both are in.")
    if not any((step.id, uid) in state.entries for uid in state.partner_ids):
        raise MendError("conflict", "Nobody has submitted an answer to this step yet.")
    new_state, audited = _audit(state, action.user_id, "answers_previewed", now,
                                step_id=step.id)
    return Transition(_bump(new_state), (audited,))


def _floor(state: SessionState, action: Moderate, now: datetime) -> Transition:
    step = _current(state, action.step_id)
    user_id = action.data.get("user_id")
    if user_id is not None and user_id not in state.partner_ids:
        raise MendError("invalid", "Give the floor to one of the two partners.")
    moderation = _moderation(state)
    floor = {"step_id": step.id, "user_id": user_id} if user_id else None
    if moderation.get("floor") == floor:
        return unchanged(state)
    moderation["floor"] = floor
    new_state, saved = _with_session_data(state, "moderation", moderation)
    new_state, audited = _audit(new_state, action.user_id,
                                "floor_given" if user_id else "floor_opened", now,
                                step_id=step.id, target=user_id)
    return Transition(_bump(new_state), (saved, audited))


def _card(state: SessionState, action: Moderate, now: datetime) -> Transition:
    _require_active(state)
    kind = action.data.get("kind", "reframe")
    card_id = action.data.get("card_id")
    if not isinstance(card_id, str) or not card_id:
        raise ValueError("the service gives every card an id")
    body = _text(action.data.get("body"), "card", CARD_MAX)
    if kind == "reframe":
        moderation = _moderation(state)
        card = {"id": card_id, "body": body, "at": iso(now),
                "step_id": state.current_step.id}
        moderation["cards"] = [*moderation.get("cards", ()), card]
        new_state, saved = _with_session_data(state, "moderation", moderation)
        new_state, audited = _audit(new_state, action.user_id, "card_shown", now,
                                    step_id=card["step_id"])
        return Transition(_bump(new_state), (saved, audited))
    if kind != "prompt":
        raise MendError("invalid", "A card is a 'reframe' or a 'prompt'.")
    at = state.current_index + 1
    if any(s.kind == "safety" for s in state.track.steps[at:]):
        raise MendError("conflict", "Add a prompt once the safety check is done.")
    step = Step(id=f"counsellor-{card_id[:12]}", kind="prompt",
                title="A question from your counsellor", prompt=body,
                hint="Answer on your own; you'll see both answers side by side.",
                answer=freeze({"type": "text", "max_length": PROMPT_MAX_ANSWER}))
    track = replace(state.track, steps=(*state.track.steps[:at], step, *state.track.steps[at:]))
    new_state = replace(state, track=track)
    new_state, audited = _audit(new_state, action.user_id, "prompt_added", now, step_id=step.id)
    return Transition(_bump(new_state), (TrackChanged(track), audited))


def _end(state: SessionState, action: Moderate, now: datetime) -> Transition:
    """The counsellor stops the session for today: exactly the state any early stop leaves
    (engine.check.stop_early), and no Activity line naming anyone — partners must not be
    able to tell a counsellor's stop from a partner's "Not today" or a concerning answer."""
    _require_active(state)
    require_counsellor(state, action.user_id)
    from server.engine.check import stop_early

    return stop_early(state, now)


_CONTROLS = {"advance": _advance, "revisit": _revisit, "hold": _hold, "release": _release,
             "preview": _preview, "floor": _floor, "card": _card, "end": _end}


def _note(state: SessionState, action: AddNote, now: datetime) -> Transition:
    require_counsellor(state, action.user_id)
    recipient = action.recipient_id
    if recipient is not None and recipient not in state.partner_ids:
        raise MendError("invalid", "A private message goes to one of the two partners.")
    if action.client_id.startswith(CHECKIN_PREFIX):
        raise MendError("invalid", "A client_id starting with “checkin:” is kept for "
                                   "check-ins; send a check-in with checkin:private.")
    if recipient is not None and flag_up(state):
        raise MendError("conflict", USE_CHECKIN)
    body = _text(action.body, "message" if recipient else "note", NOTE_MAX)
    note = Note(action.note_id, action.user_id, recipient, action.client_id, body, now)
    new_state = replace(state, notes=(*state.notes, note))
    new_state, audited = _audit(new_state, action.user_id,
                                "message_sent" if recipient else "note_written", now,
                                target=recipient)
    return Transition(_bump(new_state), (NoteAdded(note), audited))


def flag_up(state: SessionState) -> bool:
    """A safety check's answers were not all clear (who is never said): see the module."""
    check = state.session_data.get("check")
    return bool(isinstance(check, Mapping) and check.get("flag"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def checkin_group(client_id: str) -> str:
    """What every copy's client_id of one check-in starts with."""
    return f"{CHECKIN_PREFIX}{_digest(client_id)[:32]}:"


def checkin_client_id(client_id: str, recipient_id: str) -> str:
    """One copy's client_id (53 characters): the group, then a tag for the recipient that
    says nothing about which partner it is."""
    return checkin_group(client_id) + _digest(f"{client_id}\n{recipient_id}")[:12]


def _checkin(state: SessionState, action: CheckIn, now: datetime) -> Transition:
    require_counsellor(state, action.user_id)
    partners = state.partner_ids
    if len(action.note_ids) < len(partners):
        raise ValueError("the service gives every copy of a check-in an id")
    body = _text(action.body, "message", NOTE_MAX)
    notes = tuple(Note(note_id, action.user_id, partner_id,
                       checkin_client_id(action.client_id, partner_id), body, now)
                  for note_id, partner_id in zip(action.note_ids, partners, strict=False))
    new_state = replace(state, notes=(*state.notes, *notes))
    new_state, audited = _audit(new_state, action.user_id, "checked_in", now)
    return Transition(_bump(new_state), (*(NoteAdded(n) for n in notes), audited))


def _read(state: SessionState, action: RecordRead, now: datetime) -> Transition:
    if state.participant(action.user_id) is None or \
            state.participant(action.user_id).role != COUNSELLOR:
        return unchanged(state)  # partners' reads of their own session are not audited
    for event in reversed(state.audit):
        if event.actor_id == action.user_id and event.action == action.what \
                and now - event.at < READ_COALESCE:
            return unchanged(state)
    new_state, audited = _audit(state, action.user_id, action.what, now)
    return Transition(_bump(new_state), (audited,))


def handle(state: SessionState, action: Any, now: datetime) -> Transition:
    if isinstance(action, InviteCounsellor):
        return _invite(state, action, now)
    if isinstance(action, ConsentCounsellor):
        return _consent(state, action, now)
    if isinstance(action, AdmitCounsellor):
        return _admit(state, action, now)
    if isinstance(action, RemoveCounsellor):
        return _remove(state, action, now)
    if isinstance(action, AddNote):
        return _note(state, action, now)
    if isinstance(action, CheckIn):
        return _checkin(state, action, now)
    if isinstance(action, RecordRead):
        return _read(state, action, now)
    require_counsellor(state, action.user_id)
    control = _CONTROLS.get(action.name)
    if control is None:
        raise MendError("invalid", "That isn't a counsellor control.")
    return control(state, action, now)


def audit_counsellor(before: SessionState, transition: Transition, action: Any,
                     now: datetime) -> Transition:
    """A pause or resume by the counsellor goes into the audit trail."""
    who = before.participant(action.user_id)
    if who is None or who.role != COUNSELLOR or not transition.visible:
        return transition
    name = "session_paused" if type(action).__name__ == "PauseSession" else "session_resumed"
    new_state, audited = _audit(transition.state, action.user_id, name, now)
    return Transition(new_state, (*transition.effects, audited), transition.visible)


def audit_reveals(transition: Transition, now: datetime) -> Transition:
    """Answers shown while a counsellor takes part are answers the counsellor read."""
    counsellor = transition.state.counsellor
    if counsellor is None:
        return transition
    shown = [e.step_id for e in transition.effects if isinstance(e, StepRevealed)]
    if not shown:
        return transition
    state, effects = transition.state, list(transition.effects)
    for step_id in shown:
        state, audited = _audit(state, counsellor.user_id, "answers_shown", now,
                                step_id=step_id)
        effects.append(audited)
    return Transition(state, tuple(effects), transition.visible)
