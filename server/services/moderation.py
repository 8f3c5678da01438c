"""The counsellor's use cases: invite, consent, join, remove, the live controls, notes,
audited reads, the dashboard, and revoking a counsellor's access everywhere.

The rules live in server.engine.moderation; this module finds the session, checks who is
asking, keeps invite codes, and commits (through sessions._act) before anything is acked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError
from server.engine import moderation as rules
from server.engine import session as engine
from server.engine.session import COUNSELLOR
from server.engine.visibility import dashboard_row, iso
from server.models import CounsellorInvite, SessionNote, SessionParticipant, User
from server.models import Session as SessionRow
from server.models.base import new_id, utcnow
from server.services.couples import new_invite_code, normalise_code
from server.services.sessions import (
    Outcome,
    _act,
    _require_client_id,
    _require_id,
    load_state,
    session_summary,
)

INVITE_LIFETIME = timedelta(hours=48)

FORBIDDEN = "Only the session's counsellor can do that."


def _user(db: DbSession, user_id: str) -> User | None:
    return db.get(User, user_id)


def _require_counsellor_account(db: DbSession, user_id: str) -> User:
    user = _user(db, user_id)
    if user is None or user.role != COUNSELLOR:
        raise MendError("forbidden", FORBIDDEN)
    return user


def _changed(transition: engine.Transition, **extra: Any) -> Outcome:
    return Outcome(transition.state, transition.visible, extra.pop("result", {}), **extra)


def _revoke_unused_invites(db: DbSession, session_id: str) -> None:
    db.execute(update(CounsellorInvite).where(
        CounsellorInvite.session_id == session_id, CounsellorInvite.used_at.is_(None),
        CounsellorInvite.revoked_at.is_(None)).values(revoked_at=utcnow()))


# --- the couple decides ----------------------------------------------------------------


def invite_counsellor(db: DbSession, library: TrackLibrary, user_id: str,
                      session_id: object) -> Outcome:
    """A partner asks for a counsellor: their consent, and a single-use code that expires.
    A new invite replaces any earlier unused one (and asks the other partner again)."""
    session_id = _require_id(session_id, "session")
    code = new_invite_code()
    expires = utcnow() + INVITE_LIFETIME

    def store_code(_transition: engine.Transition) -> None:
        _revoke_unused_invites(db, session_id)
        db.add(CounsellorInvite(code=code, session_id=session_id, created_by_id=user_id,
                                expires_at=expires))
        db.flush()

    transition = _act(db, library, session_id, rules.InviteCounsellor(user_id, expires),
                      before_commit=store_code)
    return _changed(transition, result={"invite_code": code, "expires_at": iso(expires),
                                        "link": f"/counsellor/join/{code}"})


def consent_to_counsellor(db: DbSession, library: TrackLibrary, user_id: str,
                          session_id: object) -> Outcome:
    return _changed(_act(db, library, session_id, rules.ConsentCounsellor(user_id)))


def remove_counsellor(db: DbSession, library: TrackLibrary, user_id: str,
                      session_id: object) -> Outcome:
    """Either partner: the counsellor leaves and loses access, or the invite is cancelled."""
    session_id = _require_id(session_id, "session")
    transition = _act(db, library, session_id, rules.RemoveCounsellor(user_id),
                      before_commit=lambda _t: _revoke_unused_invites(db, session_id))
    left = tuple(e.user_id for e in transition.effects if isinstance(e, engine.ParticipantLeft))
    return _changed(transition, left=left, home_changed=bool(left))


def join_as_counsellor(db: DbSession, library: TrackLibrary, user_id: str,
                       code: object) -> tuple[Outcome, dict]:
    """A granted counsellor with a valid code joins, once both partners agreed."""
    user = _user(db, user_id)
    if user is None or user.role != COUNSELLOR:
        raise MendError("forbidden", "Only an account granted the counsellor role can join "
                                     "a session this way. Ask your Mend administrator.")
    code = normalise_code(code)
    invite = db.get(CounsellorInvite, code)
    if invite is None or invite.revoked_at is not None:
        raise MendError("not_found", "That code doesn't match a counsellor invite. Ask the "
                                     "couple to check it, or to send a new one.")
    if invite.used_at is not None:
        if invite.used_by_id == user_id:
            db.rollback()
            state = load_state(db, library, invite.session_id)
            if state.participant(user_id) is not None:  # a retry: already in
                return Outcome(state, False, {}), _summary(db, library, invite.session_id)
        raise MendError("conflict", "That invite has already been used.")
    if invite.expires_at < utcnow():
        raise MendError("forbidden", "That invite has expired. Ask the couple for a new one.")
    session_id, name = invite.session_id, user.display_name
    db.rollback()  # _act's lock must open its own transaction

    def use_code(_transition: engine.Transition) -> None:
        db.execute(update(CounsellorInvite).where(CounsellorInvite.code == code)
                   .values(used_at=utcnow(), used_by_id=user_id))

    transition = _act(db, library, session_id,
                      rules.AdmitCounsellor(user_id, name),
                      member=False, before_commit=use_code)
    return _changed(transition, home_changed=True), _summary(db, library, session_id)


def _summary(db: DbSession, library: TrackLibrary, session_id: str) -> dict:
    return session_summary(db, db.get(SessionRow, session_id), library)


def revoke_access(db: DbSession, library: TrackLibrary, user_id: str) -> list[str]:
    """An administrator revoked the counsellor role: leave every session they are in
    (audited, holds lifted). Safe to call after the role already changed."""
    rows = db.execute(select(SessionParticipant.session_id, User.display_name)
                      .join(User, User.id == SessionParticipant.user_id)
                      .where(SessionParticipant.user_id == user_id,
                             SessionParticipant.role == COUNSELLOR,
                             SessionParticipant.left_at.is_(None))).all()
    db.rollback()
    removed = []
    for session_id, name in rows:
        def with_counsellor(state: engine.SessionState, name: str = name) -> engine.SessionState:
            if state.participant(user_id) is not None:
                return state
            who = engine.Participant(user_id, name, COUNSELLOR)
            return replace(state, participants=(*state.participants, who))

        _act(db, library, session_id, rules.RemoveCounsellor(user_id, revoked=True),
             member=False, adjust=with_counsellor)
        removed.append(session_id)
    return removed


# --- the counsellor's controls -------------------------------------------------------------


def _require_seated(db: DbSession, user_id: str, session_id: object) -> str:
    """The session's id, if `user_id` is its counsellor now; otherwise `forbidden`."""
    _require_counsellor_account(db, user_id)
    session_id = _require_id(session_id, "session")
    seated = db.scalar(select(SessionParticipant.user_id).where(
        SessionParticipant.session_id == session_id, SessionParticipant.user_id == user_id,
        SessionParticipant.role == COUNSELLOR, SessionParticipant.left_at.is_(None)))
    if seated is None:
        raise MendError("forbidden", FORBIDDEN)
    return session_id


def _control(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
             action: Any) -> engine.Transition:
    """Anyone but the session's counsellor gets `forbidden`, whether or not the session
    exists: the answer tells an outsider nothing."""
    session_id = _require_seated(db, user_id, session_id)
    db.rollback()  # _act's lock must open its own transaction (SQLite upgrades badly)
    return _act(db, library, session_id, action)


def moderate(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
             name: str, step_id: Any = None, data: dict | None = None) -> Outcome:
    action = rules.Moderate(user_id, name, step_id, data or {})
    transition = _control(db, library, user_id, session_id, action)
    result: dict[str, Any] = {}
    if name == "preview":
        step = transition.state.track.step(step_id)
        result["entries"] = rules.preview_entries(transition.state, step)
    finished = any(isinstance(e, engine.StepAdvanced) and e.finished
                   for e in transition.effects)
    return _changed(transition, result=result, home_changed=finished)


def _with(name: str, *keys: str) -> Callable[..., Outcome]:
    """A socket-facing service for one control: (db, library, user, session, *keys)."""

    def service(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                *values: Any) -> Outcome:
        data = dict(zip(keys, values, strict=True))
        step_id = data.pop("step_id", None)
        return moderate(db, library, user_id, session_id, name, step_id, data)

    service.__name__ = f"moderate_{name}"
    return service


advance = _with("advance", "step_id", "to_step_id")
revisit = _with("revisit", "step_id")
hold = _with("hold", "step_id")
release = _with("release", "step_id")
preview = _with("preview", "step_id")
floor = _with("floor", "step_id", "user_id")
end = _with("end")


def add_card(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
             kind: Any = None, body: Any = None) -> Outcome:
    return moderate(db, library, user_id, session_id, "card", None,
                    {"kind": kind or "reframe", "body": body, "card_id": new_id()})


def add_note(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
             client_id: object = None, body: Any = None, recipient_id: Any = None) -> Outcome:
    """A private note, or a private message to one partner. The same client_id again
    returns the first note and stores nothing."""
    client_id = _require_client_id(client_id)
    _require_counsellor_account(db, user_id)
    earlier = db.scalar(select(SessionNote).where(SessionNote.author_id == user_id,
                                                  SessionNote.client_id == client_id))
    if earlier is None:
        action = rules.AddNote(user_id, new_id(), client_id, body, recipient_id)
        transition = _control(db, library, user_id, session_id, action)
        note = next(e.note for e in transition.effects if isinstance(e, engine.NoteAdded))
        return _changed(transition, result={"note": _note_dict(note)})
    if earlier.session_id != session_id:
        raise MendError("conflict", "That client_id was already used for another note.")
    db.rollback()
    state = load_state(db, library, session_id)
    note = next(n for n in state.notes if n.id == earlier.id)
    return Outcome(state, False, {"note": _note_dict(note)})


def check_in(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
             client_id: object = None, body: Any = None) -> Outcome:
    """The counsellor checks in with each partner privately: one private message with the
    same words to each, at once, committed before this returns. The same client_id again
    returns the first check-in and stores nothing."""
    client_id = _require_client_id(client_id)
    session_id = _require_seated(db, user_id, session_id)
    group = rules.checkin_group(client_id)
    def copies() -> list[SessionNote]:
        return list(db.scalars(select(SessionNote).where(
            SessionNote.author_id == user_id,
            SessionNote.client_id.startswith(group, autoescape=True))).all())

    earlier = copies()
    if not earlier:
        # One id per copy: a couple has two partners (the engine sends one to each).
        action = rules.CheckIn(user_id, (new_id(), new_id()), client_id, body)
        try:
            transition = _control(db, library, user_id, session_id, action)
        except IntegrityError:  # the same check-in, sent twice at once: the other stored it
            db.rollback()
            earlier = copies()
            if not earlier:
                raise
        else:
            notes = [e.note for e in transition.effects if isinstance(e, engine.NoteAdded)]
            return _changed(transition, result=_checkin_result(client_id, notes))
    if any(n.session_id != session_id for n in earlier):
        raise MendError("conflict", "That client_id was already used for another check-in.")
    db.rollback()
    state = load_state(db, library, session_id)
    ids = {n.id for n in earlier}
    order = {user_id: i for i, user_id in enumerate(state.partner_ids)}
    copies_now = sorted((n for n in state.notes if n.id in ids),
                        key=lambda n: order.get(n.recipient_id, len(order)))
    return Outcome(state, False, _checkin_result(client_id, copies_now))


def _checkin_result(client_id: str, notes: list[engine.Note]) -> dict:
    return {"checkin": {"client_id": client_id, "body": notes[0].body, "at": iso(notes[0].at),
                        "notes": [_note_dict(n) for n in notes]}}


def _note_dict(note: engine.Note) -> dict:
    return {"id": note.id, "client_id": note.client_id, "from_user_id": note.author_id,
            "to_user_id": note.recipient_id, "private": note.recipient_id is None,
            "body": note.body, "at": iso(note.at)}


def record_read(db: DbSession, library: TrackLibrary, user_id: str, session_id: str,
                what: str) -> Outcome:
    """A counsellor read partners' answers (opened the session, fetched the summary)."""
    return _changed(_act(db, library, session_id, rules.RecordRead(user_id, what)))


# --- the dashboard --------------------------------------------------------------------------


def counsellor_sessions(db: DbSession, library: TrackLibrary, user_id: str,
                        online_of: Callable[[str], Iterable[str]]) -> list[dict]:
    """The counsellor's sessions, live ones first, newest first: one dashboard row each."""
    _require_counsellor_account(db, user_id)
    session_ids = db.scalars(
        select(SessionParticipant.session_id)
        .join(SessionRow, SessionRow.id == SessionParticipant.session_id)
        .where(SessionParticipant.user_id == user_id, SessionParticipant.role == COUNSELLOR,
               SessionParticipant.left_at.is_(None))
        .order_by((SessionRow.status == engine.ACTIVE).desc(), SessionRow.created_at.desc())
    ).all()
    rows = []
    for session_id in session_ids:
        state = load_state(db, library, session_id)
        if state.participant(user_id) is None:
            continue
        rows.append(dashboard_row(state, user_id, online_of(session_id)))
    return rows
