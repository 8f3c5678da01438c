"""Sessions: start one, load a viewer's view, the partners' actions, time, and summaries.

Every action locks the session row first (an UPDATE that changes nothing), so two actions
on one session are decided one after the other on SQLite and PostgreSQL alike: two
simultaneous submits cannot both miss, or both make, the reveal.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError, check
from server.engine import session as engine
from server.engine.kinds import kind_of
from server.engine.opening import check_ins, due_for_review, review_sources, with_review
from server.engine.tracks import Track, plain, track_from_data, track_to_data
from server.engine.visibility import (
    draft_dict,
    entry_dict,
    iso,
    summary_for,
    turn_dict,
    view_for,
)
from server.models import (
    AuditEvent,
    Couple,
    CoupleRecord,
    Draft,
    Entry,
    Reveal,
    Session,
    SessionNote,
    SessionParticipant,
    StepAdvance,
    StepReady,
    StepState,
    TrackSnapshot,
    Turn,
    User,
)
from server.models.base import new_id, utcnow
from server.prepared import Prepared
from server.services import accounts
from server.services.agreements import agreements_due_for_review
from server.services.couples import couple_dict, couples_of

MAX_CLIENT_ID = 64


@dataclass(frozen=True)
class Outcome:
    """What an action did: the session as it now stands, whether anyone's view changed,
    and the action's own result for the ack."""

    state: engine.SessionState
    changed: bool
    result: dict[str, Any]

    # Set when the session started or finished: the participants' homes change too.
    home_changed: bool = False
    # Who lost access with this change (a counsellor removed): told so, and no more pushes.
    left: tuple[str, ...] = ()
    # A private change (a check answer): only these viewers are sent their new view.
    only: tuple[str, ...] | None = None

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(p.user_id for p in self.state.participants)

    @property
    def audience(self) -> tuple[str, ...]:
        """Who is sent their view of this change."""
        if self.only is None:
            return self.participants
        return tuple(uid for uid in self.participants if uid in self.only)


def _track(library: TrackLibrary, track_id: str):
    track = library.get(track_id)
    if track is None:
        raise MendError("not_found", "That track isn't available.")
    return track


def _require_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise MendError("invalid", f"A {what} id is required.")
    return value


def snapshot_id(track: Track) -> str:
    """A content hash: the same steps give the same snapshot, whatever the version says."""
    canonical = json.dumps(track_to_data(track), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ensure_snapshot(db: DbSession, track: Track) -> str:
    key = snapshot_id(track)
    if db.get(TrackSnapshot, key) is None:
        db.add(TrackSnapshot(id=key, track_id=track.id, version=track.version,
                             body=track_to_data(track)))
        try:
            db.flush()
        except IntegrityError:  # another start stored the same snapshot first
            db.rollback()
    return key


def _active_session(db: DbSession, couple_id: str, track_id: str) -> Session | None:
    return db.scalar(select(Session).where(Session.couple_id == couple_id,
                                           Session.track_id == track_id,
                                           Session.status == engine.ACTIVE))


def start_session(db: DbSession, library: TrackLibrary, user_id: str, couple_id: object,
                  track_id: object) -> dict:
    """The session summary of the couple's session on this track, new or under way."""
    return start_or_open_session(db, library, user_id, couple_id, track_id)[0]


def start_or_open_session(db: DbSession, library: TrackLibrary, user_id: str,
                          couple_id: object, track_id: object) -> tuple[dict, bool]:
    """Start the couple's session on a track, or return the one already under way.

    Returns (session summary, created). A partial unique index allows one active session
    per couple and track, so two partners pressing Start at once land in the same one.
    """
    couple_id = _require_id(couple_id, "couple")
    track = _track(library, _require_id(track_id, "track"))
    couple = db.get(Couple, couple_id)
    if couple is None or all(m.user_id != user_id for m in couple.members):
        raise MendError("not_found", "That couple doesn't exist or isn't yours.")
    if len(couple.members) < 2:
        raise MendError("conflict", "Your partner hasn't joined yet. Send them your invite code.")
    from server.services.data_rights import ERASED_EMAIL_DOMAIN  # it imports this module

    if any(m.user.email.endswith("@" + ERASED_EMAIL_DOMAIN) for m in couple.members):
        raise MendError("conflict", "Your partner deleted their account, so this couple can't "
                                    "start new sessions. Your past sessions stay readable.")
    existing = _active_session(db, couple.id, track.id)
    if existing is not None:
        return session_summary(db, existing, library), False
    members = [(m.user_id, m.slot) for m in couple.members]
    if library.review_step is not None and _has_something_to_review(
            db, couple.id, review_sources(track), check_ins(library.review_step)):
        # The couple's next session opens by asking each how it went: a different list of
        # steps, so a different snapshot, pinned for the whole session.
        track = with_review(track, library.review_step)
    snapshot = _ensure_snapshot(db, track)
    session = Session(couple_id=couple.id, track_id=track.id, created_by_id=user_id,
                      track_snapshot_id=snapshot)
    db.add(session)
    try:
        db.flush()
        for member_id, slot in members:
            db.add(SessionParticipant(session_id=session.id, user_id=member_id,
                                      role=engine.PARTNER, slot=slot))
        db.commit()
    except IntegrityError:  # the partner's Start won the race: theirs is the one
        db.rollback()
        existing = _active_session(db, couple_id, track.id)
        if existing is None:
            raise
        return session_summary(db, existing, library), False
    return session_summary(db, session, library), True


def _has_something_to_review(db: DbSession, couple_id: str, sources: tuple[str, ...],
                             keep: dict[str, int]) -> bool:
    """Shared commitments from earlier sessions (all before this new one) that this track's
    review looks back on (the same rule as the review step's list, engine/opening.py), or,
    where the track reviews them, agreements whose revisit date has come."""
    if not sources:
        return False
    if "agreement" in sources and agreements_due_for_review(db, couple_id):
        return True
    rows = db.execute(select(CoupleRecord.status, CoupleRecord.data).where(
        CoupleRecord.couple_id == couple_id, CoupleRecord.kind == "commitment",
        CoupleRecord.private_to.is_(None))).all()
    return any(due_for_review((data or {}).get("source"), status, (data or {}).get("checks")
                              or [], sources, keep) for status, data in rows)


def _session_track(db: DbSession, library: TrackLibrary, track_id: str,
                   snapshot: str | None) -> Track:
    """The steps this session runs on: its pinned snapshot (cached; snapshots never
    change), or the library's track for sessions started before snapshots existed."""
    if snapshot is None:
        return _track(library, track_id)
    track = _SNAPSHOTS.get(snapshot)
    if track is None:
        body = db.scalar(select(TrackSnapshot.body).where(TrackSnapshot.id == snapshot))
        if body is None:
            raise MendError("not_found", "This session's track is no longer available.")
        track = track_from_data(body)
        with _SNAPSHOTS_LOCK:
            _SNAPSHOTS[snapshot] = track
    return track


_SNAPSHOTS: dict[str, Track] = {}
_SNAPSHOTS_LOCK = threading.Lock()


def session_summary(db: DbSession, session: Session, library: TrackLibrary) -> dict:
    try:
        track = _session_track(db, library, session.track_id, session.track_snapshot_id)
        title, version, steps = track.title, track.version, track.steps
    except MendError:
        title, version, steps = session.track_id, None, ()
    active = session.status == engine.ACTIVE and steps
    creator = db.get(User, session.created_by_id)
    return {
        "id": session.id,
        "couple_id": session.couple_id,
        "track": {"id": session.track_id, "title": title, "version": version},
        "status": session.status,
        "current_step_id": steps[session.current_index].id if active else None,
        "step_index": session.current_index + 1,
        "step_count": len(steps),
        "created_at": iso(session.created_at),
        "created_by": {"user_id": session.created_by_id,
                       "display_name": creator.display_name if creator else None},
        "finished_at": iso(session.finished_at),
    }


def sessions_of(db: DbSession, library: TrackLibrary, user_id: str) -> list[dict]:
    rows = db.scalars(
        select(Session)
        .join(SessionParticipant, SessionParticipant.session_id == Session.id)
        .where(SessionParticipant.user_id == user_id, SessionParticipant.left_at.is_(None))
        .order_by(Session.created_at.desc())
    )
    return [session_summary(db, s, library) for s in rows]


def home_of(db: DbSession, library: TrackLibrary, user_id: str) -> dict:
    """The `GET /me` payload less the user: couples, sessions, what's done and next."""
    my_sessions = sessions_of(db, library, user_id)
    done = sorted({s["track"]["id"] for s in my_sessions if s["status"] == engine.FINISHED})
    suggested = next((t.id for t in library if t.id not in done), None)
    return {
        "couples": [couple_dict(c) for c in couples_of(db, user_id)],
        "sessions": my_sessions,
        "tracks_done": done,
        "suggested_track_id": suggested,
    }


# The statements every action runs, built once: constructing a select() on each call cost
# more than running it (profiled: operator overloading and coercion on every autosave).
# They run on the DB-API cursor of the unit of work's connection, in its transaction
# (server.prepared: SQLAlchemy's execution path cost more than SQLite's own time).
_SID = bindparam("sid")
_S, _P, _U = Session.__table__, SessionParticipant.__table__, User.__table__
_E, _D, _R = Entry.__table__, Draft.__table__, Reveal.__table__
_READY, _STATES = StepReady.__table__, StepState.__table__
_T, _CR = Turn.__table__, CoupleRecord.__table__
_N, _A = SessionNote.__table__, AuditEvent.__table__
# The lock also reads the version the cache below is checked against (RETURNING: SQLite
# 3.35+, PostgreSQL).
_SESSION_COLUMNS = (
    _S.c.id, _S.c.couple_id, _S.c.track_id, _S.c.track_snapshot_id, _S.c.status, _S.c.version,
    _S.c.current_index, _S.c.created_at, _S.c.finished_at, _S.c.paused_until,
    _S.c.session_data,
)
_LOCK = Prepared(update(_S).where(_S.c.id == _SID).values(version=_S.c.version).returning(
    *_SESSION_COLUMNS))
_LOAD_SESSION = Prepared(select(*_SESSION_COLUMNS).where(_S.c.id == _SID))
_LOAD_MEMBERS = Prepared(
    select(_P.c.user_id, _U.c.display_name, _P.c.role, _U.c.login_generation)
    .join(_U, _U.c.id == _P.c.user_id)
    # A counsellor takes part while in the session and while the role is granted: one
    # removed by the couple, or whose role an administrator revoked, sees nothing more.
    .where(_P.c.session_id == _SID, _P.c.left_at.is_(None),
           (_P.c.role == engine.PARTNER) | (_U.c.role == engine.COUNSELLOR))
    .order_by(_P.c.slot, _P.c.joined_at)
)
_LOAD_ENTRIES = Prepared(
    select(_E.c.id, _E.c.user_id, _E.c.step_id, _E.c.client_id, _E.c.body, _E.c.fields,
           _E.c.submitted_at, _E.c.skipped, _E.c.removed_at.is_not(None))
    .where(_E.c.session_id == _SID))
_LOAD_DRAFTS = Prepared(
    select(_D.c.user_id, _D.c.step_id, _D.c.body, _D.c.fields, _D.c.saved_at)
    .where(_D.c.session_id == _SID))
_LOAD_REVEALS = Prepared(
    select(_R.c.step_id, _R.c.revealed_at).where(_R.c.session_id == _SID))
_LOAD_READY = Prepared(
    select(_READY.c.step_id, _READY.c.user_id).where(_READY.c.session_id == _SID))
_LOAD_STATES = Prepared(
    select(_STATES.c.step_id, _STATES.c.data).where(_STATES.c.session_id == _SID))
_LOAD_TURNS = Prepared(
    select(_T.c.id, _T.c.user_id, _T.c.step_id, _T.c.client_id, _T.c.name, _T.c.body,
           _T.c.fields, _T.c.at, _T.c.removed_at.is_not(None))
    .where(_T.c.session_id == _SID).order_by(_T.c.at, _T.c.id))
_LOAD_RECORDS = Prepared(
    select(_CR.c.id, _CR.c.kind, _CR.c.data, _CR.c.status, _CR.c.created_at,
           _CR.c.updated_at, _CR.c.session_id, _CR.c.step_id, _CR.c.user_id,
           _CR.c.private_to)
    .where(_CR.c.couple_id == bindparam("couple_id")))
_LOAD_NOTES = Prepared(
    select(_N.c.id, _N.c.author_id, _N.c.recipient_id, _N.c.client_id, _N.c.body, _N.c.at)
    .where(_N.c.session_id == _SID).order_by(_N.c.at, _N.c.id))
_LOAD_AUDIT = Prepared(
    select(_A.c.actor_id, _A.c.actor_name, _A.c.actor_role, _A.c.action, _A.c.at,
           _A.c.step_id, _A.c.target_user_id)
    .where(_A.c.session_id == _SID).order_by(_A.c.id))
# A submit's retry check: the entry this user already sent with this client_id, if any.
_EARLIER_ENTRY = Prepared(
    select(_E.c.id, _E.c.session_id, _E.c.step_id, _E.c.body, _E.c.fields, _E.c.skipped)
    .where(_E.c.user_id == bindparam("uid"), _E.c.client_id == bindparam("cid")))
_DRAFT_KEY = (_D.c.session_id == _SID) & (_D.c.step_id == bindparam("b_step")) & (
    _D.c.user_id == bindparam("b_user"))
_UPDATE_DRAFT = Prepared(update(_D).where(_DRAFT_KEY).values(
    body=bindparam("b_body"), fields=bindparam("b_fields"), saved_at=bindparam("b_saved_at")))
_INSERT_DRAFT = Prepared(insert(_D).values(
    session_id=_SID, step_id=bindparam("b_step"), user_id=bindparam("b_user"),
    body=bindparam("b_body"), fields=bindparam("b_fields"), saved_at=bindparam("b_saved_at")))

# What the commonest changes write (a submit, a reveal, a ready, a step moving on, the
# session row), prebuilt like the reads: the ORM's bulk UPDATE/DELETE and unit-of-work
# flush cost more than the statements (profiled: 7 % of a busy server in `_persist`).
_ADV = StepAdvance.__table__


def _insert_of(table: Any, *columns: str) -> Prepared:
    """An INSERT of exactly these columns, each bound by its own name."""
    return Prepared(insert(table).values({c: bindparam(c) for c in columns}))


_INSERT_ENTRY = _insert_of(_E, "id", "session_id", "step_id", "user_id", "client_id", "body",
                           "fields", "skipped", "submitted_at")
_DELETE_DRAFT = Prepared(delete(_D).where(_DRAFT_KEY))
# An answer replaced, taken back, or never shown when its session was cancelled.
_DELETE_ENTRY = Prepared(delete(_E).where(
    _E.c.session_id == _SID, _E.c.step_id == bindparam("b_step"),
    _E.c.user_id == bindparam("b_user"), _E.c.client_id == bindparam("b_cid")))
_INSERT_REVEAL = _insert_of(_R, "session_id", "step_id", "revealed_at")
_INSERT_READY = _insert_of(_READY, "session_id", "step_id", "user_id", "at")
_INSERT_ADVANCE = _insert_of(_ADV, "session_id", "from_step_id", "to_index", "by_user_id", "at")
_SESSION_UPDATE = update(_S).where(_S.c.id == _SID).values(
    version=bindparam("b_version"), current_index=bindparam("b_index"),
    status=bindparam("b_status"), paused_until=bindparam("b_paused"),
    next_deadline_at=bindparam("b_deadline"))
_UPDATE_SESSION = Prepared(_SESSION_UPDATE)
_UPDATE_FINISHED_SESSION = Prepared(_SESSION_UPDATE.values(finished_at=bindparam("b_finished")))


def _lock(db: DbSession, session_id: str) -> Any:
    """The first statement of the transaction: takes SQLite's write lock or PostgreSQL's
    row lock before anything is read, so the decision below sees the latest commits.
    Returns the session's row as committed (None: no such session)."""
    return _LOCK.one_or_none(db.connection(), {"sid": session_id})


# Each session's entries, reveals, readies, step states, turns, notes and audit trail as
# last read from the database (never what this worker computed), per database, checked
# against the session row's version. Those rows change only with the version: the engine
# bumps it for every visible change, `_act` for an invisible change that is not a draft,
# data_rights for an erasure. The session row itself, the participants (a counsellor's
# role is revoked on the users table), the drafts (a private edit keeps the version) and
# the couple's records (shared with the couple's other sessions) are read every time.
# Bounded; a miss costs the full load and nothing else.
_CACHE_SIZE = 4096
_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_of(db: DbSession) -> OrderedDict[str, engine.SessionState]:
    bind = db.get_bind()
    cache = _CACHES.get(bind)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.setdefault(bind, OrderedDict())
    return cache


def load_state(db: DbSession, library: TrackLibrary, session_id: object,
               session: Any = None) -> engine.SessionState:
    """Everything the engine needs to decide, read with plain row queries: this runs on
    every action (each autosave included), and ORM object loading cost several times more.
    `session`: the row `_lock` just returned; otherwise it is read here."""
    session_id = _require_id(session_id, "session")
    conn = db.connection()
    key = {"sid": session_id}
    if session is None:
        session = _LOAD_SESSION.one_or_none(conn, key)
    if session is None:
        raise MendError("not_found", "That session doesn't exist.")
    cache = _cache_of(db)
    held = cache.get(session_id)
    if held is not None and held.version == session.version:
        return _with_session_row(held, db, library, session, conn, key)
    track = _session_track(db, library, session.track_id, session.track_snapshot_id)
    members = _members(db, conn, key)
    entries = _LOAD_ENTRIES.rows(conn, key)
    drafts = _LOAD_DRAFTS.rows(conn, key)
    reveals = _LOAD_REVEALS.rows(conn, key)
    ready = _LOAD_READY.rows(conn, key)
    step_states = _LOAD_STATES.rows(conn, key)
    turns = _LOAD_TURNS.rows(conn, key)
    records = _LOAD_RECORDS.rows(conn, {"couple_id": session.couple_id})
    notes = _LOAD_NOTES.rows(conn, key)
    audit = _LOAD_AUDIT.rows(conn, key)
    state = engine.SessionState(
        id=session.id,
        track=track,
        participants=members,
        status=session.status,
        version=session.version,
        current_index=session.current_index,
        created_at=session.created_at,
        finished_at=session.finished_at,
        paused_until=session.paused_until,
        entries={(e.step_id, e.user_id): engine.Entry(*e) for e in entries},
        drafts={(d.step_id, d.user_id): engine.Draft(*d) for d in drafts},
        reveals={r.step_id: r.revealed_at for r in reveals},
        ready=frozenset((r.step_id, r.user_id) for r in ready),
        step_states={r.step_id: r.data for r in step_states},
        turns=tuple(engine.Turn(*t) for t in turns),
        session_data=session.session_data or {},
        couple_id=session.couple_id,
        records={r.id: engine.CoupleRecord(*r) for r in records},
        notes=tuple(engine.Note(*n) for n in notes),
        audit=tuple(engine.AuditEvent(*a) for a in audit),
        check_step=library.check_step,
        recheck_after=library.recheck_after,
    )
    cache[session_id] = state
    try:
        cache.move_to_end(session_id)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    except KeyError:  # another thread trimmed it meanwhile (threading mode)
        pass
    return state


def _members(db: DbSession, conn: Any, key: dict) -> tuple[engine.Participant, ...]:
    """The session's participants; refuses a socket event whose log-in ended elsewhere
    (accounts.expect_login), in the same read."""
    members = []
    for user_id, display_name, role, login_generation in _LOAD_MEMBERS.rows(conn, key):
        accounts.check_login(db, user_id, login_generation)
        members.append(engine.Participant(user_id, display_name, role))
    return tuple(members)


def _with_session_row(held: engine.SessionState, db: DbSession, library: TrackLibrary,
                      session: Any, conn: Any, key: dict) -> engine.SessionState:
    """A cached state brought up to date: the session row, participants, drafts and
    records as they are now."""
    members = _members(db, conn, key)
    drafts = _LOAD_DRAFTS.rows(conn, key)
    records = _LOAD_RECORDS.rows(conn, {"couple_id": session.couple_id})
    return replace(
        held,
        track=_session_track(db, library, session.track_id, session.track_snapshot_id),
        participants=members,
        status=session.status,
        current_index=session.current_index,
        created_at=session.created_at,
        finished_at=session.finished_at,
        paused_until=session.paused_until,
        drafts={(d.step_id, d.user_id): engine.Draft(*d) for d in drafts},
        session_data=session.session_data or {},
        couple_id=session.couple_id,
        records={r.id: engine.CoupleRecord(*r) for r in records},
        check_step=library.check_step,
        recheck_after=library.recheck_after,
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
            row = {"sid": session_id, "b_step": d.step_id, "b_user": d.user_id,
                   "b_body": d.body, "b_fields": d.fields, "b_saved_at": d.saved_at}
            if _UPDATE_DRAFT.run(db.connection(), row) == 0:
                _INSERT_DRAFT.run(db.connection(), row)
        elif isinstance(effect, engine.EntrySubmitted):
            e = effect.entry
            conn = db.connection()
            _INSERT_ENTRY.run(conn, {
                "id": e.id, "session_id": session_id, "step_id": e.step_id,
                "user_id": e.user_id, "client_id": e.client_id, "body": e.body,
                "fields": e.fields, "skipped": e.skipped, "submitted_at": e.submitted_at})
            _DELETE_DRAFT.run(conn, {"sid": session_id, "b_step": e.step_id,
                                         "b_user": e.user_id})
        elif isinstance(effect, engine.EntryDeleted):
            _DELETE_ENTRY.run(db.connection(), {"sid": session_id, "b_step": effect.step_id,
                                                "b_user": effect.user_id,
                                                "b_cid": effect.client_id})
        elif isinstance(effect, engine.DraftDeleted):
            _DELETE_DRAFT.run(db.connection(), {"sid": session_id, "b_step": effect.step_id,
                                                "b_user": effect.user_id})
        elif isinstance(effect, engine.StepRevealed):
            _INSERT_REVEAL.run(db.connection(), {
                "session_id": session_id, "step_id": effect.step_id,
                "revealed_at": effect.at})
        elif isinstance(effect, engine.PartnerReady):
            _INSERT_READY.run(db.connection(), {
                "session_id": session_id, "step_id": effect.step_id,
                "user_id": effect.user_id, "at": effect.at})
        elif isinstance(effect, engine.StepAdvanced):
            _INSERT_ADVANCE.run(db.connection(), {
                "session_id": session_id, "from_step_id": effect.from_step_id,
                "to_index": effect.to_index, "by_user_id": effect.by_user_id,
                "at": effect.at})
        elif isinstance(effect, engine.StepStateSaved):
            data = plain_json(effect.data)
            saved = db.execute(
                update(StepState)
                .where(StepState.session_id == session_id, StepState.step_id == effect.step_id)
                .values(data=data, updated_at=utcnow())
            )
            if saved.rowcount == 0:
                db.execute(insert(StepState).values(session_id=session_id,
                                                    step_id=effect.step_id, data=data,
                                                    updated_at=utcnow()))
        elif isinstance(effect, engine.TurnRecorded):
            t = effect.turn
            db.add(Turn(id=t.id, session_id=session_id, step_id=t.step_id, user_id=t.user_id,
                        client_id=t.client_id, name=t.name, body=t.body,
                        fields=plain_json(t.fields), at=t.at))
        elif isinstance(effect, engine.RecordSaved):
            _save_record(db, transition.state, effect.record)
        elif isinstance(effect, engine.SessionDataSaved):
            db.execute(update(Session).where(Session.id == session_id)
                       .values(session_data=plain_json(effect.data)))
        elif isinstance(effect, engine.NoteAdded):
            n = effect.note
            db.execute(insert(SessionNote).values(
                id=n.id, session_id=session_id, author_id=n.author_id,
                recipient_id=n.recipient_id, client_id=n.client_id, body=n.body, at=n.at))
        elif isinstance(effect, engine.Audited):
            a = effect.event
            db.execute(insert(AuditEvent).values(
                session_id=session_id, actor_id=a.actor_id, actor_name=a.actor_name[:60],
                actor_role=a.actor_role, action=a.action, step_id=a.step_id,
                target_user_id=a.target_user_id, at=a.at))
        elif isinstance(effect, engine.ParticipantJoined):
            _save_participant(db, session_id, effect.participant, effect.at)
        elif isinstance(effect, engine.ParticipantLeft):
            db.execute(update(SessionParticipant).where(
                SessionParticipant.session_id == session_id,
                SessionParticipant.user_id == effect.user_id).values(left_at=effect.at))
        elif isinstance(effect, engine.TrackChanged):
            db.execute(update(Session).where(Session.id == session_id).values(
                track_snapshot_id=_ensure_snapshot(db, effect.track)))
    if not transition.visible and _drafts_only(transition):
        return  # only private data changed (a draft, a check answer): the row stays as it is
    state = transition.state
    values: dict[str, Any] = {"sid": session_id, "b_version": state.version,
                              "b_index": state.current_index, "b_status": state.status,
                              "b_paused": state.paused_until,
                              "b_deadline": engine.next_deadline(state)}
    statement = _UPDATE_SESSION
    if state.status != engine.ACTIVE and state.finished_at is not None:
        values["b_finished"] = state.finished_at
        statement = _UPDATE_FINISHED_SESSION
    statement.run(db.connection(), values)


def _drafts_only(transition: engine.Transition) -> bool:
    """Only private data changed, stored in rows read on every load (drafts, and the
    session row's data for a check answer): no version, so nobody else's view moves."""
    return all(isinstance(e, engine.DraftSaved)
               or (isinstance(e, engine.SessionDataSaved) and e.private_to is not None)
               for e in transition.effects)


def _private_audience(transition: engine.Transition) -> tuple[str, ...] | None:
    """Who may see a private change (a check answer: its author and a counsellor)."""
    found = [e.private_to for e in transition.effects
             if isinstance(e, engine.SessionDataSaved) and e.private_to is not None]
    return tuple(dict.fromkeys(uid for group in found for uid in group)) if found else None


def _save_participant(db: DbSession, session_id: str, who: engine.Participant,
                      at: datetime) -> None:
    """Join, or join again after being removed (the row stays for the audit trail)."""
    values = {"role": who.role, "left_at": None, "joined_at": at}
    saved = db.execute(update(SessionParticipant).where(
        SessionParticipant.session_id == session_id,
        SessionParticipant.user_id == who.user_id).values(**values))
    if saved.rowcount == 0:
        db.execute(insert(SessionParticipant).values(session_id=session_id,
                                                     user_id=who.user_id, slot=9, **values))


def _save_record(db: DbSession, state: engine.SessionState, r: engine.CoupleRecord) -> None:
    values = {"kind": r.kind, "status": r.status, "data": plain_json(r.data),
              "session_id": r.session_id, "step_id": r.step_id, "user_id": r.user_id,
              "private_to": r.private_to, "updated_at": r.updated_at}
    saved = db.execute(update(CoupleRecord).where(CoupleRecord.id == r.id,
                                                   CoupleRecord.couple_id == state.couple_id)
                       .values(**values))
    if saved.rowcount == 0:
        db.execute(insert(CoupleRecord).values(id=r.id, couple_id=state.couple_id,
                                               created_at=r.created_at, **values))


def plain_json(value: Any) -> Any:
    """Frozen engine data (mapping proxies, tuples) as plain JSON for storage."""
    return plain(value)


def _act(db: DbSession, library: TrackLibrary, session_id: object, action: engine.Action,
         *, member: bool = True,
         adjust: Callable[[engine.SessionState], engine.SessionState] | None = None,
         before_commit: Callable[[engine.Transition], None] | None = None,
         ) -> engine.Transition:
    """Lock, load, apply what is due, decide, persist, commit. `member=False` for the one
    action taken from outside (a counsellor joining); `adjust` lets a caller show the
    engine a participant the load leaves out (a counsellor whose role was just revoked);
    `before_commit` writes what must commit with the change (an invite code)."""
    session_id = _require_id(session_id, "session")
    loaded = state = load_state(db, library, session_id, _lock(db, session_id))
    if adjust is not None:
        state = adjust(state)
    if member and not isinstance(action, engine.Tick):
        _require_participant(state, action.user_id)
    now = utcnow()
    rechecked = None
    if member and not isinstance(action, engine.Tick) and check.recheck_due(state, now):
        # Picked up after a gap: the private check is asked again before joint work.
        rechecked = check.recheck(state, now)
        _persist(db, rechecked)
        state = rechecked.state
    try:
        transition = _decide(db, state, action, now)
    except MendError:
        if rechecked is not None:
            db.commit()  # the check is open again, even though this action waits for it
        raise
    if rechecked is not None:
        transition = engine.Transition(transition.state,
                                       rechecked.effects + transition.effects, visible=True)
    if transition.state.version == state.version and not _drafts_only(transition):
        # An invisible change that is not a draft (a step's own data, a record, a turn…):
        # nothing is pushed, but the version moves so that no worker's cached copy of the
        # session (load_state) passes for the new one.
        transition = replace(transition, state=replace(transition.state,
                                                       version=state.version + 1))
    _persist(db, transition)
    if before_commit is not None:
        before_commit(transition)
    db.commit()
    if state is loaded and transition.state.version != loaded.version:
        _remember_commit(db, loaded, transition)
    return transition


def _decide(db: DbSession, state: engine.SessionState, action: engine.Action,
            now: datetime) -> engine.Transition:
    """The engine's decision, after applying a deadline that passed since the last sweep
    (in the same transaction: nobody acts on a session whose break has already ended)."""
    due = engine.next_deadline(state)
    if due is not None and due <= now and not isinstance(action, engine.Tick):
        ticked = engine.handle(state, engine.Tick(), now)
        _persist(db, ticked)
        transition = engine.handle(ticked.state, action, now)
        return engine.Transition(transition.state, ticked.effects + transition.effects,
                                 visible=True)
    return engine.handle(state, action, now)


# The effects whose rows `_remember_commit` can add to a cached state exactly as a fresh
# read would return them. Anything else (a tick, a turn, a note, a step's own data, a
# counsellor's control…) leaves the cache alone: the next action misses and reads it all.
_REMEMBERED = (engine.DraftSaved, engine.EntrySubmitted, engine.StepRevealed,
               engine.PartnerReady, engine.StepAdvanced)


def _remember_commit(db: DbSession, loaded: engine.SessionState,
                     transition: engine.Transition) -> None:
    """After a commit that moved the version: cache what the database now holds, built
    from what was read (`loaded`) plus the rows just written, never from the engine's own
    idea of the state. A submit, reveal or ready made every partner's next action a full
    reload (12 statements instead of 4): a fifth of the actions at human pace."""
    effects = transition.effects
    if not all(isinstance(e, _REMEMBERED) for e in effects):
        return
    entries = dict(loaded.entries)
    reveals = dict(loaded.reveals)
    ready = set(loaded.ready)
    for effect in effects:
        if isinstance(effect, engine.EntrySubmitted):
            e = effect.entry
            entries[(e.step_id, e.user_id)] = engine.Entry(
                e.id, e.user_id, e.step_id, e.client_id, e.body, plain_json(e.fields),
                e.submitted_at, e.skipped, False)
        elif isinstance(effect, engine.StepRevealed):
            reveals[effect.step_id] = effect.at
        elif isinstance(effect, engine.PartnerReady):
            ready.add((effect.step_id, effect.user_id))
    cache = _cache_of(db)
    held = cache.get(loaded.id)
    if held is not None and held.version > transition.state.version:
        return  # another action here already cached a later version
    cache[loaded.id] = replace(loaded, version=transition.state.version, entries=entries,
                               reveals=reveals, ready=frozenset(ready))


def _finished(transition: engine.Transition) -> bool:
    return any(isinstance(e, engine.StepAdvanced) and e.finished for e in transition.effects)


def save_draft(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
               step_id: object, body: Any = None, fields: Any = None) -> Outcome:
    step_id = _require_id(step_id, "step")
    transition = _act(db, library, session_id, engine.SaveDraft(user_id, step_id, body, fields))
    saved = next(e for e in transition.effects if isinstance(e, engine.DraftSaved)).draft.saved_at
    return Outcome(transition.state, transition.visible, {"saved_at": iso(saved)})


def submit_entry(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                 step_id: object, client_id: object, body: Any = None, fields: Any = None,
                 skip: object = False) -> Outcome:
    """Store a partner's answer; committed before this returns. Retrying with the same
    client_id returns the first entry and creates nothing."""
    session_id = _require_id(session_id, "session")
    step_id = _require_id(step_id, "step")
    client_id = _require_client_id(client_id)
    if skip not in (None, False, True):
        raise MendError("invalid", "'skip' must be true or false.")
    skip = bool(skip)
    _lock(db, session_id)
    retry = {"uid": user_id, "cid": client_id}
    earlier = _EARLIER_ENTRY.one_or_none(db.connection(), retry)
    if earlier is not None:
        return _replay(db, library, earlier, session_id, step_id, body, fields, skip, user_id)
    action = engine.SubmitEntry(user_id, step_id, new_id(), client_id, body, fields, skip)
    try:
        transition = _act(db, library, session_id, action)
    except IntegrityError:  # a concurrent retry with the same client_id won the race
        db.rollback()
        earlier = _EARLIER_ENTRY.one_or_none(db.connection(), retry)
        if earlier is None:
            raise
        return _replay(db, library, earlier, session_id, step_id, body, fields, skip, user_id)
    entry = next(e for e in transition.effects if isinstance(e, engine.EntrySubmitted)).entry
    return Outcome(transition.state, True, {"entry": entry_dict(entry)},
                   home_changed=_finished(transition))


def _replay(db: DbSession, library: TrackLibrary, earlier: Any, session_id: str, step_id: str,
            body: Any, fields: Any, skip: bool, user_id: str) -> Outcome:
    state = load_state(db, library, session_id)
    same = earlier.session_id == session_id and earlier.step_id == step_id
    if same:
        step = state.track.step(step_id)
        kind = kind_of(step)
        try:
            normalised = (None, None) if skip else kind.validate(step, body, fields, draft=False)
        except MendError:
            normalised = None
        same = normalised == (earlier.body, earlier.fields) and skip == earlier.skipped
    if not same:
        raise MendError("conflict", "That client_id was already used for a different answer.")
    db.rollback()  # nothing to write: release the lock
    entry = state.entries[(step_id, user_id)]
    return Outcome(state, False, {"entry": entry_dict(entry)})


def withdraw_entry(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                   step_id: object) -> Outcome:
    """`entry:withdraw`: take a submitted answer back before the partner submits. Its words
    return to the author's draft; the partner sees it as not submitted. Committed first."""
    step_id = _require_id(step_id, "step")
    transition = _act(db, library, session_id, engine.WithdrawEntry(user_id, step_id))
    draft = next((e.draft for e in transition.effects if isinstance(e, engine.DraftSaved)),
                 None)
    return Outcome(transition.state, True, {"draft": draft_dict(draft)})


def cancel_session(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                   join_session_id: object = None) -> Outcome:
    """`DELETE /api/v1/sessions/<id>`: a partner calls the session off for everyone. What
    was never shown (answers not yet revealed, drafts, check answers) is deleted in the
    same commit (engine.cancel).

    `join_session_id`: called off to join the partner's session instead (two Starts on
    different tracks at once). Both rows are locked, in one order, before either is read,
    so two partners each joining the other's at the same moment are decided one after the
    other: the second finds the session they meant to join already called off, and stays
    where they are (`conflict`), in the one session both now share."""
    session_id = _require_id(session_id, "session")
    joining = None
    if join_session_id is not None:
        join_session_id = _require_id(join_session_id, "session")
        if join_session_id == session_id:
            raise MendError("invalid", "Choose a different session to join.")
        for locked in sorted((session_id, join_session_id)):
            _lock(db, locked)
        joining = load_state(db, library, join_session_id)
        _require_participant(joining, user_id)
        if joining.status != engine.ACTIVE:
            found = joining.session_data.get("cancelled") or {}
            who = joining.participant(found.get("by_user_id") or "")
            raise MendError("conflict", (
                f"{who.display_name} has just chosen to join you here instead, so you're "
                "both in this session." if who is not None and who.user_id != user_id
                else "That session isn't under way any more."))
    transition = _act(db, library, session_id, engine.CancelSession(user_id))
    result: dict[str, Any] = {
        "session": session_summary(db, db.get(Session, transition.state.id), library)}
    if joining is not None:
        result["join"] = session_summary(db, db.get(Session, joining.id), library)
    return Outcome(transition.state, True, result, home_changed=True)


def mark_ready(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
               step_id: object) -> Outcome:
    step_id = _require_id(step_id, "step")
    transition = _act(db, library, session_id, engine.MarkReady(user_id, step_id))
    return Outcome(transition.state, transition.visible, {}, home_changed=_finished(transition))


def acknowledge(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                step_id: object, ack: object) -> Outcome:
    """A partner's "Thank you for sharing" / "I hear you" on a revealed step."""
    step_id = _require_id(step_id, "step")
    action = engine.StepAction(user_id, step_id, "acknowledge", {"ack": ack})
    transition = _act(db, library, session_id, action)
    return Outcome(transition.state, transition.visible, {})


def _require_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= MAX_CLIENT_ID:
        raise MendError("invalid", "Each submit needs a client_id of 8 to 64 characters.")
    return client_id


def submit_turn(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                step_id: object, client_id: object, name: object, body: Any = None,
                fields: Any = None) -> Outcome:
    """A structured move (`turn:submit`); committed before this returns. The same client_id
    again returns the first turn and records nothing."""
    session_id = _require_id(session_id, "session")
    step_id = _require_id(step_id, "step")
    client_id = _require_client_id(client_id)
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        raise MendError("invalid", "A turn needs a 'kind' saying which move it is.")
    _lock(db, session_id)
    earlier = db.scalar(select(Turn).where(Turn.user_id == user_id, Turn.client_id == client_id))
    if earlier is None:
        action = engine.SubmitTurn(user_id, step_id, new_id(), client_id, name, body, fields)
        try:
            transition = _act(db, library, session_id, action)
        except IntegrityError:  # a concurrent retry with the same client_id won the race
            db.rollback()
            earlier = db.scalar(
                select(Turn).where(Turn.user_id == user_id, Turn.client_id == client_id))
            if earlier is None:
                raise
        else:
            turn = next(e for e in transition.effects if isinstance(e, engine.TurnRecorded)).turn
            return Outcome(transition.state, transition.visible, {"turn": turn_dict(turn)},
                           home_changed=_finished(transition))
    if (earlier.session_id, earlier.step_id, earlier.name) != (session_id, step_id, name):
        raise MendError("conflict", "That client_id was already used for a different turn.")
    db.rollback()
    state = load_state(db, library, session_id)
    turn = next(t for t in state.turns if t.id == earlier.id)
    return Outcome(state, False, {"turn": turn_dict(turn)})


def pause_session(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                  minutes: Any = None, reason: Any = None) -> Outcome:
    """`session:pause`: a break for everyone (engine.breaks has the rules)."""
    from server.engine.breaks import PauseSession

    transition = _act(db, library, session_id, PauseSession(user_id, minutes, reason))
    return Outcome(transition.state, transition.visible, {})


def resume_session(db: DbSession, library: TrackLibrary, user_id: str, session_id: object
                   ) -> Outcome:
    """`session:resume`: "I'm back" (the counsellor: the break ends for everyone)."""
    from server.engine.breaks import ResumeSession

    transition = _act(db, library, session_id, ResumeSession(user_id))
    return Outcome(transition.state, transition.visible, {})


def summary(db: DbSession, library: TrackLibrary, session_id: object, viewer_id: str) -> dict:
    state = load_state(db, library, session_id)
    _require_participant(state, viewer_id)
    return summary_for(state, viewer_id)


def due_sessions(db: DbSession, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Sessions whose next deadline has passed (for the scheduler's sweep)."""
    now = now or utcnow()
    return list(db.scalars(
        select(Session.id).where(Session.next_deadline_at <= now,
                                 Session.status == engine.ACTIVE)
        .order_by(Session.next_deadline_at).limit(limit)
    ))


def apply_tick(db: DbSession, library: TrackLibrary, session_id: str) -> Outcome:
    """Apply whatever is due in one session. Safe to run on several workers at once: the
    row lock serialises them and the second finds nothing due (an unchanged outcome)."""
    transition = _act(db, library, session_id, engine.Tick())
    if not transition.visible:  # nothing was due after all: stop sweeping this session
        db.execute(update(Session).where(Session.id == session_id)
                   .values(next_deadline_at=engine.next_deadline(transition.state)))
        db.commit()
    # The clock can stop a session (a check left unresolved): the homes change too.
    return Outcome(transition.state, transition.visible, {}, home_changed=_finished(transition))


def submit_check(db: DbSession, library: TrackLibrary, user_id: str, session_id: object,
                 client_id: object, fields: Any = None) -> Outcome:
    """`check:submit`: a partner's answers to the private check. Committed before this
    returns; the same client_id again changes nothing. Until both are clear, only the
    author (and a counsellor's flag) sees a change."""
    client_id = _require_client_id(client_id)
    transition = _act(db, library, session_id, check.SubmitCheck(user_id, client_id, fields))
    only = None if transition.visible else _private_audience(transition)
    changed = transition.visible or only is not None
    return Outcome(transition.state, changed, {"started": not check.is_open(transition.state)},
                   only=only)


def stop_for_today(db: DbSession, library: TrackLibrary, user_id: str, session_id: object
                   ) -> Outcome:
    """`check:stop`: "Not today" or "Stop for today": the session stops at once."""
    transition = _act(db, library, session_id, check.StopForToday(user_id))
    return Outcome(transition.state, True, {}, home_changed=True)


def recheck_if_due(db: DbSession, library: TrackLibrary, user_id: str, session_id: object
                   ) -> Outcome | None:
    """On opening a session after a gap: ask the check again (None: nothing due). The
    first read is the cached load; the lock is taken only when a recheck is due."""
    state = load_state(db, library, session_id)
    _require_participant(state, user_id)
    if state.participant(user_id).role != engine.PARTNER or \
            not check.recheck_due(state, utcnow()):
        db.rollback()
        return None
    state = load_state(db, library, session_id, _lock(db, session_id))
    now = utcnow()
    if not check.recheck_due(state, now):  # another worker reopened it meanwhile
        db.rollback()
        return None
    transition = check.recheck(state, now)
    _persist(db, transition)
    db.commit()
    return Outcome(transition.state, True, {})
