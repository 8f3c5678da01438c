"""Sessions: start one, load a viewer's view, and the partner actions of the core loop.

Every action locks the session row first (an UPDATE that changes nothing), so two actions
on one session are decided one after the other on SQLite and PostgreSQL alike: two
simultaneous submits cannot both miss, or both make, the reveal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError
from server.engine import session as engine
from server.engine.answers import validate_answer
from server.engine.visibility import entry_dict, iso, view_for
from server.models import (
    Couple,
    CoupleMember,
    Draft,
    Entry,
    Reveal,
    Session,
    StepAdvance,
    StepReady,
    User,
)
from server.models.base import new_id, utcnow
from server.services.couples import couples_of

MAX_CLIENT_ID = 64


@dataclass(frozen=True)
class Outcome:
    """What an action did: the session as it now stands, whether anyone's view changed,
    and the action's own result for the ack."""

    state: engine.SessionState
    changed: bool
    result: dict[str, Any]

    @property
    def audience(self) -> tuple[str, ...]:
        return tuple(p.user_id for p in self.state.participants)


def _track(library: TrackLibrary, track_id: str):
    track = library.get(track_id)
    if track is None:
        raise MendError("not_found", "That track isn't available.")
    return track


def _require_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise MendError("invalid", f"A {what} id is required.")
    return value


def start_session(db: DbSession, library: TrackLibrary, user_id: str, couple_id: object,
                  track_id: object) -> dict:
    couple_id = _require_id(couple_id, "couple")
    track = _track(library, _require_id(track_id, "track"))
    couple = db.get(Couple, couple_id)
    if couple is None or all(m.user_id != user_id for m in couple.members):
        raise MendError("not_found", "That couple doesn't exist or isn't yours.")
    if len(couple.members) < 2:
        raise MendError("conflict", "Your partner hasn't joined yet. Send them your invite code.")
    session = Session(couple_id=couple.id, track_id=track.id, created_by_id=user_id)
    db.add(session)
    db.commit()
    return session_summary(session, library)


def session_summary(session: Session, library: TrackLibrary) -> dict:
    track = library.get(session.track_id)
    steps = track.steps if track else ()
    current = steps[session.current_index].id if session.status == "active" and steps else None
    return {
        "id": session.id,
        "couple_id": session.couple_id,
        "track": {"id": session.track_id, "title": track.title if track else session.track_id},
        "status": session.status,
        "current_step_id": current,
        "step_index": session.current_index + 1,
        "step_count": len(steps),
        "created_at": iso(session.created_at),
    }


def sessions_of(db: DbSession, library: TrackLibrary, user_id: str) -> list[dict]:
    couple_ids = [c.id for c in couples_of(db, user_id)]
    if not couple_ids:
        return []
    rows = db.scalars(
        select(Session).where(Session.couple_id.in_(couple_ids)).order_by(Session.created_at.desc())
    )
    return [session_summary(s, library) for s in rows]


def _lock(db: DbSession, session_id: str) -> None:
    # The first statement of the transaction: takes SQLite's write lock or PostgreSQL's
    # row lock before anything is read, so the decision below sees the latest commits.
    db.execute(update(Session).where(Session.id == session_id).values(version=Session.version))


def load_state(db: DbSession, library: TrackLibrary, session_id: object) -> engine.SessionState:
    """Everything the engine needs to decide, read with plain row queries: this runs on
    every action (each autosave included), and ORM object loading cost several times more."""
    session_id = _require_id(session_id, "session")
    session = db.execute(
        select(Session.id, Session.couple_id, Session.track_id, Session.status, Session.version,
               Session.current_index, Session.created_at, Session.paused_until)
        .where(Session.id == session_id)
    ).one_or_none()
    if session is None:
        raise MendError("not_found", "That session doesn't exist.")
    track = library.get(session.track_id)
    if track is None:
        raise MendError("not_found", "This session's track is no longer available.")
    members = db.execute(
        select(CoupleMember.user_id, User.display_name)
        .join(User, User.id == CoupleMember.user_id)
        .where(CoupleMember.couple_id == session.couple_id)
        .order_by(CoupleMember.slot)
    )
    entries = db.execute(
        select(Entry.id, Entry.user_id, Entry.step_id, Entry.client_id, Entry.body, Entry.fields,
               Entry.submitted_at).where(Entry.session_id == session_id)
    )
    drafts = db.execute(
        select(Draft.user_id, Draft.step_id, Draft.body, Draft.fields, Draft.saved_at)
        .where(Draft.session_id == session_id)
    )
    reveals = db.execute(
        select(Reveal.step_id, Reveal.revealed_at).where(Reveal.session_id == session_id)
    )
    ready = db.execute(
        select(StepReady.step_id, StepReady.user_id).where(StepReady.session_id == session_id)
    )
    return engine.SessionState(
        id=session.id,
        track=track,
        participants=tuple(engine.Participant(m.user_id, m.display_name, "partner")
                           for m in members),
        status=session.status,
        version=session.version,
        current_index=session.current_index,
        created_at=session.created_at,
        paused_until=session.paused_until,
        entries={(e.step_id, e.user_id): engine.Entry(*e) for e in entries},
        drafts={(d.step_id, d.user_id): engine.Draft(*d) for d in drafts},
        reveals={r.step_id: r.revealed_at for r in reveals},
        ready=frozenset((r.step_id, r.user_id) for r in ready),
    )


def _require_participant(state: engine.SessionState, user_id: str) -> None:
    if state.participant(user_id) is None:
        # The same answer as for a session that doesn't exist: ids are not probeable.
        raise MendError("not_found", "That session doesn't exist.")


def get_view(db: DbSession, library: TrackLibrary, session_id: object, viewer_id: str,
             online: frozenset[str] = frozenset()) -> dict:
    state = load_state(db, library, session_id)
    _require_participant(state, viewer_id)
    return view_for(state, viewer_id, online)


def open_session(db: DbSession, library: TrackLibrary, session_id: object,
                 viewer_id: str) -> engine.SessionState:
    """Access check for joining a session's room; returns the state to project."""
    state = load_state(db, library, session_id)
    _require_participant(state, viewer_id)
    return state


def _persist(db: DbSession, transition: engine.Transition) -> None:
    session_id = transition.state.id
    for effect in transition.effects:
        if isinstance(effect, engine.DraftSaved):
            d = effect.draft
            saved = db.execute(
                update(Draft)
                .where(Draft.session_id == session_id, Draft.step_id == d.step_id,
                       Draft.user_id == d.user_id)
                .values(body=d.body, fields=d.fields, saved_at=d.saved_at)
            )
            if saved.rowcount == 0:
                db.execute(insert(Draft).values(session_id=session_id, step_id=d.step_id,
                                                user_id=d.user_id, body=d.body, fields=d.fields,
                                                saved_at=d.saved_at))
        elif isinstance(effect, engine.EntrySubmitted):
            e = effect.entry
            db.add(Entry(id=e.id, session_id=session_id, step_id=e.step_id, user_id=e.user_id,
                         client_id=e.client_id, body=e.body, fields=e.fields,
                         submitted_at=e.submitted_at))
            db.execute(delete(Draft).where(Draft.session_id == session_id,
                                           Draft.step_id == e.step_id, Draft.user_id == e.user_id))
        elif isinstance(effect, engine.StepRevealed):
            db.add(Reveal(session_id=session_id, step_id=effect.step_id, revealed_at=effect.at))
        elif isinstance(effect, engine.PartnerReady):
            db.add(StepReady(session_id=session_id, step_id=effect.step_id,
                             user_id=effect.user_id, at=effect.at))
        elif isinstance(effect, engine.StepAdvanced):
            db.add(StepAdvance(session_id=session_id, from_step_id=effect.from_step_id,
                               to_index=effect.to_index, by_user_id=effect.by_user_id,
                               at=effect.at))
    state = transition.state
    values: dict[str, Any] = {"version": state.version, "current_index": state.current_index,
                              "status": state.status}
    if state.status == engine.FINISHED:
        values["finished_at"] = utcnow()
    db.execute(update(Session).where(Session.id == session_id).values(**values))


def _act(db: DbSession, library: TrackLibrary, session_id: object, action: engine.Action
         ) -> engine.Transition:
    session_id = _require_id(session_id, "session")
    _lock(db, session_id)
    state = load_state(db, library, session_id)
    _require_participant(state, action.user_id)
    transition = engine.handle(state, action, utcnow())
    _persist(db, transition)
    db.commit()
    return transition


def save_draft(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
               step_id: object, body: Any = None, fields: Any = None) -> Outcome:
    step_id = _require_id(step_id, "step")
    transition = _act(db, library, session_id, engine.SaveDraft(user_id, step_id, body, fields))
    saved = transition.effects[0].draft.saved_at
    return Outcome(transition.state, transition.visible, {"saved_at": iso(saved)})


def submit_entry(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                 step_id: object, client_id: object, body: Any = None, fields: Any = None
                 ) -> Outcome:
    """Store a partner's answer; committed before this returns. Retrying with the same
    client_id returns the first entry and creates nothing."""
    session_id = _require_id(session_id, "session")
    step_id = _require_id(step_id, "step")
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= MAX_CLIENT_ID:
        raise MendError("invalid", "Each submit needs a client_id of 8 to 64 characters.")
    _lock(db, session_id)
    earlier = db.scalar(select(Entry).where(Entry.user_id == user_id, Entry.client_id == client_id))
    if earlier is not None:
        return _replay(db, library, earlier, session_id, step_id, body, fields, user_id)
    action = engine.SubmitEntry(user_id, step_id, new_id(), client_id, body, fields)
    try:
        transition = _act(db, library, session_id, action)
    except IntegrityError:  # a concurrent retry with the same client_id won the race
        db.rollback()
        earlier = db.scalar(
            select(Entry).where(Entry.user_id == user_id, Entry.client_id == client_id)
        )
        if earlier is None:
            raise
        return _replay(db, library, earlier, session_id, step_id, body, fields, user_id)
    entry = transition.effects[0].entry
    return Outcome(transition.state, True, {"entry": entry_dict(entry)})


def _replay(db: DbSession, library: TrackLibrary, earlier: Entry, session_id: str, step_id: str,
            body: Any, fields: Any, user_id: str) -> Outcome:
    same = earlier.session_id == session_id and earlier.step_id == step_id
    if same:
        step = _track(library, earlier.session.track_id).step(step_id)
        try:
            normalised = validate_answer(step.answer, body, fields)
        except MendError:
            normalised = None
        same = normalised == (earlier.body, earlier.fields)
    if not same:
        raise MendError("conflict", "That client_id was already used for a different answer.")
    db.rollback()  # nothing to write: release the lock
    state = load_state(db, library, session_id)
    entry = state.entries[(step_id, user_id)]
    return Outcome(state, False, {"entry": entry_dict(entry)})


def mark_ready(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
               step_id: object) -> Outcome:
    step_id = _require_id(step_id, "step")
    transition = _act(db, library, session_id, engine.MarkReady(user_id, step_id))
    return Outcome(transition.state, transition.visible, {})
