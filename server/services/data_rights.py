"""Data rights: everything a person has in Mend, as one JSON document, and erasing it.

Export (`export_user_data`) is built from the engine's projections wherever the privacy
rules decide something: what the partner revealed comes from `summary_for` (as the summary
shows it), messages and the audit trail from `view_for`. Only the caller's own words are
read directly (their entries, drafts and turns, all of them: nothing in them is anyone
else's). The partner's drafts, unrevealed answers, safety answers and break reasons, private
records and a counsellor's notes never pass through here.

Erasure (`erase_account`), in one transaction:

* the account keeps its id (other rows point at it) and nothing else: the e-mail address is
  freed, the name becomes "Deleted account", the password can never match, and every log-in
  ends (the log-in generation moves on);
* drafts, unrevealed entries (safety answers among them), break reasons, private records,
  and notes the person wrote or was sent are deleted;
* answers and turns the partner already read keep their row with the words replaced by a
  neutral marker (`REMOVED_TEXT`, `removed_at` set), so the partner's history shows an
  answer was given and removed; copies of those words in step data and couple records
  (boundary items, agreements, commitments, review notes) are replaced the same way;
* sessions under way with a partner who left are ended; a counsellor leaves every session;
* a couple the person was alone in is deleted; a couple with a partner stays in that
  partner's history, closed to invites.

Then the words leave the files, not only the rows (`scrub_after_erasure`). On SQLite every
connection has secure_delete on (server/db.py), so deleted and overwritten rows are zeroed
in their pages, and the write-ahead log, which still holds the pages as they were, is
checkpointed into the database and truncated to nothing. On PostgreSQL dead row versions
keep their bytes in the table files until a rewrite: `scrub_postgres` (`mend db scrub`, an
operator's step, docs/deployment.md) rewrites Mend's tables and checkpoints; what remains
in WAL segments, archives and backups is the operator's (docs/security.md, "Data rights").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError
from server.engine import session as engine
from server.engine.views import record_dict
from server.engine.visibility import (
    draft_dict,
    entry_dict,
    iso,
    notes_for,
    summary_for,
    turn_dict,
    view_for,
)
from server.models import (
    AuditEvent,
    Base,
    CounsellorInvite,
    Couple,
    CoupleMember,
    CoupleRecord,
    Draft,
    Entry,
    Reveal,
    Session,
    SessionNote,
    SessionParticipant,
    StepState,
    Turn,
    User,
)
from server.models.base import utcnow
from server.services import hashing
from server.services.couples import couple_dict, couples_of
from server.services.sessions import Outcome, load_state, session_summary

EXPORT_FORMAT = "mend-export/1"
ERASED_NAME = "Deleted account"
REMOVED_TEXT = "(Removed: the person who wrote this deleted their account.)"
# Never a werkzeug hash ("method$salt$hash"): no password can match it.
UNUSABLE_PASSWORD = "!erased"
ERASED_EMAIL_DOMAIN = "deleted.invalid"  # .invalid never resolves (RFC 2606)

# Where people's own words live inside stored JSON (entries' and turns' fields, step data,
# couple records, session data). Everything else there is ids, choices and timestamps.
FREE_TEXT_KEYS = frozenset({
    "body", "text", "note", "need", "offer", "more", "high", "low", "mirror", "reflect",
    "felt", "why", "act", "impact", "responsibility", "regret", "change", "setup",
    "break_reason", "reason",
})
# A copy of someone's words inside a longer text ("I need … / I'll …"): found by substring
# only when the words are long enough not to match the partner's own words by chance (the
# parts of an agreement are stored on their own too, and match exactly).
MIN_EMBEDDED = 12

WRONG_PASSWORD = "That password isn't right, so nothing was deleted."

log = logging.getLogger("mend.data_rights")

# The WAL checkpoint after an erasure needs a moment when no other connection is reading an
# older snapshot or writing. It never waits inside SQLite (busy_timeout 0: SQLite's own
# wait would hold a gevent worker's loop); it retries with a cooperative sleep instead,
# doubling from 10 ms: about 1.3 s in all before it gives up and says so.
CHECKPOINT_ATTEMPTS = 8
CHECKPOINT_FIRST_WAIT = 0.01


# --- export -----------------------------------------------------------------------------


def _snapshot(db: DbSession, user_id: str) -> None:
    """Read everything from one moment: PostgreSQL's repeatable read; on SQLite, the write
    lock (taken by a no-op update), which keeps other writers out until the export ends."""
    conn = db.connection()
    if conn.dialect.name == "postgresql":  # the transaction's first statement
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    else:
        conn.execute(update(User.__table__).where(User.__table__.c.id == user_id)
                     .values(login_generation=User.__table__.c.login_generation))


def _participations(db: DbSession, user_id: str) -> list[SessionParticipant]:
    return list(db.scalars(
        select(SessionParticipant).join(Session, Session.id == SessionParticipant.session_id)
        .where(SessionParticipant.user_id == user_id)
        .order_by(Session.created_at, Session.id)
    ))


def _own_words(state: engine.SessionState, user_id: str) -> dict[str, Any]:
    """The caller's own entries (every one: unrevealed, skipped, safety checks), drafts,
    turns and break reason in one session. Theirs alone: no projection needed."""
    private = (state.session_data.get("private") or {}).get(user_id) or {}
    return {
        "entries": [entry_dict(e) for (_, uid), e in sorted(state.entries.items())
                    if uid == user_id],
        "drafts": [{"step_id": d.step_id, **draft_dict(d)}
                   for (_, uid), d in sorted(state.drafts.items()) if uid == user_id],
        "turns": [turn_dict(t) for t in state.turns if t.user_id == user_id],
        "break_reason": private.get("break_reason"),
    }


def _session_export(db: DbSession, library: TrackLibrary, row: SessionParticipant,
                    user_id: str) -> dict[str, Any]:
    session = db.get(Session, row.session_id)
    part: dict[str, Any] = {
        "session": session_summary(db, session, library),
        "role": row.role,
        "joined_at": iso(row.joined_at),
        "left_at": iso(row.left_at),
    }
    try:
        state = load_state(db, library, row.session_id)
    except MendError as error:  # its track's steps are gone: say so, export the rest
        part["unavailable"] = error.message
        return part
    viewer = state.participant(user_id)
    if viewer is None:
        # A counsellor who left (or lost the role) sees nothing of the session any more;
        # the notes they wrote there are still theirs.
        viewer = engine.Participant(user_id, "", row.role)
        part["notes"] = notes_for(state, viewer) if row.role == engine.COUNSELLOR else []
        return part
    view = view_for(state, user_id)
    part.update(
        # What was revealed to them, agreed and committed: exactly what their summary shows.
        summary=summary_for(state, user_id),
        mine=_own_words(state, user_id) if viewer.role == engine.PARTNER else None,
        # A partner: the counsellor's messages to them. A counsellor: their notes.
        notes=view["notes"],
        audit=view["audit"],
    )
    return part


def _records(db: DbSession, library: TrackLibrary, couple_ids: Iterable[str],
             user_id: str) -> list[dict[str, Any]]:
    """The couple records this person may see (shared, or private to them), through the
    latest session of each couple: the same rule the session views apply."""
    out = []
    for couple_id in couple_ids:
        latest = db.scalar(select(Session.id).where(Session.couple_id == couple_id)
                           .order_by(Session.created_at.desc()).limit(1))
        if latest is None:
            continue
        state = load_state(db, library, latest)
        out += [{"couple_id": couple_id, **record_dict(r)}
                for r in sorted(state.records.values(), key=lambda r: (r.created_at, r.id))
                if r.private_to in (None, user_id)]
    return out


# What an export can't hold because Mend does not keep it (the export says so).
NOT_KEPT = [
    "Your answers to the private check at the start of a session: they are kept only "
    "while the check is open and deleted as soon as it passes or the session stops. Mend "
    "keeps only whether the check was passed.",
]


def export_user_data(db: DbSession, library: TrackLibrary, user_id: str) -> dict[str, Any]:
    """Everything Mend keeps that is this person's, as of one moment (GET /me/export)."""
    _snapshot(db, user_id)
    user = db.get(User, user_id)
    if user is None:
        raise MendError("unauthenticated", "Please log in again.")
    couples = couples_of(db, user_id)
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": iso(utcnow()),
        "account": {
            "id": user.id, "email": user.email, "display_name": user.display_name,
            "role": user.role, "counsellor_requested": bool(user.counsellor_requested),
            "created_at": iso(user.created_at),
        },
        "couples": [couple_dict(c) for c in couples],
        "sessions": [_session_export(db, library, row, user_id)
                     for row in _participations(db, user_id)],
        "records": _records(db, library, [c.id for c in couples], user_id),
        "not_kept": NOT_KEPT,
    }
    db.rollback()  # read only: release the lock
    return data


# --- erasure ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    """What an erasure changed: the sessions whose other participants now see the person
    as removed (to push), and the people whose home changed."""

    user_id: str
    outcomes: tuple[Outcome, ...]
    homes: tuple[str, ...]


def _strings(value: Any, key: str | None = None) -> Iterable[str]:
    """The free-text strings inside a stored JSON value (keys in FREE_TEXT_KEYS)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str) and key in FREE_TEXT_KEYS and value.strip():
        yield value


def _scrub(value: Any, words: frozenset[str], key: str | None = None, *,
           everything: bool = False) -> Any:
    """`value` with each free-text string that is (or, under "text", contains) one of
    `words` replaced by REMOVED_TEXT; `everything`: every free-text string."""
    if isinstance(value, dict):
        return {k: _scrub(v, words, k, everything=everything) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, words, key, everything=everything) for v in value]
    if not isinstance(value, str) or key not in FREE_TEXT_KEYS or not value.strip():
        return value
    if everything or value in words or (key == "text" and any(
            len(w) >= MIN_EMBEDDED and w in value for w in words)):
        return REMOVED_TEXT
    return value


def _scrub_record(data: dict[str, Any], words: frozenset[str]) -> dict[str, Any]:
    """A record none of whose text is the person's keeps it; if any part was, the whole
    text goes (an agreement's line is built from its parts)."""
    scrubbed = _scrub(data, words)
    if scrubbed != data:
        scrubbed = _scrub(data, words, everything=True)
    return scrubbed


def _collect_words(db: DbSession, user_id: str) -> frozenset[str]:
    """Every text this person wrote anywhere, to find the copies kept in step data and
    records (a countered boundary item, an agreement's line, a review note)."""
    words: set[str] = set()
    for body, fields in db.execute(select(Entry.body, Entry.fields)
                                   .where(Entry.user_id == user_id)):
        words.update(filter(None, [body]))
        words.update(_strings(fields))
    for body, fields in db.execute(select(Turn.body, Turn.fields).where(Turn.user_id == user_id)):
        words.update(filter(None, [body]))
        words.update(_strings(fields))
    for body, fields in db.execute(select(Draft.body, Draft.fields)
                                   .where(Draft.user_id == user_id)):
        words.update(filter(None, [body]))
        words.update(_strings(fields))
    words.update(db.scalars(select(SessionNote.body).where(SessionNote.author_id == user_id)))
    return frozenset(w for w in words if w.strip() and w != REMOVED_TEXT)


def _check_password(db: DbSession, user_id: str, password: object) -> str:
    """The stored hash, once `password` matched it (checked outside any transaction)."""
    stored = db.scalar(select(User.password_hash).where(User.id == user_id))
    db.rollback()
    if stored is None:
        raise MendError("unauthenticated", "Please log in again.")
    if not isinstance(password, str) or not password:
        raise MendError("invalid", "Enter your password to confirm.")
    if not hashing.verify_password(stored, password):
        raise MendError("forbidden", WRONG_PASSWORD)
    return stored


def _erase_in_session(db: DbSession, session: Session, row: SessionParticipant,
                      user_id: str, words: frozenset[str], now: datetime) -> None:
    sid = session.id
    revealed = set(db.scalars(select(Reveal.step_id).where(Reveal.session_id == sid)))
    # Never shown to anyone else (drafts; answers not revealed, safety checks among them):
    # gone. Shown to the partner: the row stays, the words don't.
    db.execute(delete(Draft).where(Draft.session_id == sid, Draft.user_id == user_id))
    entries = db.scalars(select(Entry).where(Entry.session_id == sid, Entry.user_id == user_id))
    for entry in list(entries):
        if entry.step_id not in revealed:
            db.delete(entry)
        else:
            if not entry.skipped:
                entry.body, entry.fields = REMOVED_TEXT, None
            entry.removed_at = now
    for turn in db.scalars(select(Turn).where(Turn.session_id == sid, Turn.user_id == user_id)):
        turn.body = REMOVED_TEXT if turn.body is not None else None
        turn.fields = _scrub(turn.fields, words, everything=True)
        turn.removed_at = now
    for state in db.scalars(select(StepState).where(StepState.session_id == sid)):
        data = dict(state.data or {})
        if isinstance(data.get("items"), dict):  # a boundary step: this person's own items go
            data["items"] = {k: v for k, v in data["items"].items()
                             if not k.startswith(f"{user_id}-")}
        data = _scrub(data, words)
        if data != state.data:
            state.data = data
    session_data = dict(session.session_data or {})
    private = {k: v for k, v in (session_data.get("private") or {}).items() if k != user_id}
    session_data["private"] = private
    if not private:
        session_data.pop("private")
    if row.role == engine.COUNSELLOR:
        if row.left_at is None:
            row.left_at = now
    elif session.status == engine.ACTIVE:
        # Nobody can answer for a partner who left: the session ends where it stands.
        session.status, session.finished_at = engine.ENDED, now
        session.paused_until = session.next_deadline_at = None
        session_data.pop("break", None)
        db.execute(update(CounsellorInvite).where(
            CounsellorInvite.session_id == sid, CounsellorInvite.used_at.is_(None),
            CounsellorInvite.revoked_at.is_(None)).values(revoked_at=now))
    session_data = _scrub(session_data, words)
    if session_data != (session.session_data or {}):
        session.session_data = session_data or None
    session.version += 1  # every remaining participant's view changed


def _erase_records(db: DbSession, couple_ids: list[str], user_id: str,
                   words: frozenset[str]) -> None:
    db.execute(delete(CoupleRecord).where(CoupleRecord.private_to == user_id))
    if not couple_ids:
        return
    for record in db.scalars(select(CoupleRecord).where(CoupleRecord.couple_id.in_(couple_ids))):
        if record.user_id == user_id:
            data = _scrub(record.data or {}, words, everything=True)
        else:
            data = _scrub_record(record.data or {}, words)
        if data != record.data:
            record.data, record.updated_at = data, utcnow()


def _erase_couples(db: DbSession, user_id: str) -> tuple[list[str], list[str]]:
    """(couples whose records to clean, partners whose home changed)."""
    kept, partners = [], []
    mine = db.scalars(select(Couple).join(CoupleMember)
                      .where(CoupleMember.user_id == user_id)).unique().all()
    for couple in mine:
        others = [m.user_id for m in couple.members if m.user_id != user_id]
        has_sessions = db.scalar(select(Session.id).where(Session.couple_id == couple.id)
                                 .limit(1)) is not None
        if not others and not has_sessions:
            db.expunge(couple)
            db.execute(delete(CoupleMember).where(CoupleMember.couple_id == couple.id))
            db.execute(delete(CoupleRecord).where(CoupleRecord.couple_id == couple.id))
            db.execute(delete(Couple).where(Couple.id == couple.id))
            continue
        # The partner keeps their history with this couple; nobody new joins it.
        couple.invite_code = None
        kept.append(couple.id)
        partners += others
    return kept, partners


def erase_account(db: DbSession, library: TrackLibrary, user_id: str,
                  password: object) -> Erased:
    """DELETE /me: confirm the password, then erase the account and its private data in
    one transaction (see the module's docstring). Wrong password: `forbidden`, nothing
    changes."""
    checked_hash = _check_password(db, user_id, password)
    now = utcnow()
    # The first statement writes: it takes the account's row lock (SQLite's write lock) and
    # ends every log-in of the account, unless the password changed while it was checked.
    ended = db.execute(update(User).where(User.id == user_id, User.password_hash == checked_hash)
                       .values(login_generation=User.login_generation + 1))
    if ended.rowcount != 1:
        db.rollback()
        raise MendError("forbidden", WRONG_PASSWORD)
    user = db.get(User, user_id)
    rows = _participations(db, user_id)
    session_ids = sorted({r.session_id for r in rows})
    if session_ids:  # every session this touches, locked (in one order) before any read
        db.execute(update(Session).where(Session.id.in_(session_ids))
                   .values(version=Session.version))
    words = _collect_words(db, user_id)
    for row in rows:
        _erase_in_session(db, db.get(Session, row.session_id), row, user_id, words, now)
    db.execute(delete(SessionNote).where(
        (SessionNote.author_id == user_id) | (SessionNote.recipient_id == user_id)))
    db.execute(update(AuditEvent).where(AuditEvent.actor_id == user_id)
               .values(actor_name=ERASED_NAME))
    db.execute(update(CounsellorInvite).where(
        CounsellorInvite.created_by_id == user_id, CounsellorInvite.used_at.is_(None),
        CounsellorInvite.revoked_at.is_(None)).values(revoked_at=now))
    couple_ids, partners = _erase_couples(db, user_id)
    _erase_records(db, couple_ids, user_id, words)
    user.email = f"{user.id}@{ERASED_EMAIL_DOMAIN}"
    user.display_name = ERASED_NAME
    user.password_hash = UNUSABLE_PASSWORD
    user.role = engine.PARTNER
    user.counsellor_requested = True  # joins no couple, ever
    db.commit()

    outcomes = []
    for session_id in session_ids:
        state = load_state(db, library, session_id)
        audience = [p.user_id for p in state.participants if p.user_id != user_id]
        if audience:
            outcomes.append(Outcome(state, True, {}))
    db.rollback()
    scrub_after_erasure(db.get_bind())
    homes = {uid for o in outcomes for uid in o.audience if uid != user_id} | set(partners)
    return Erased(user_id, tuple(outcomes), tuple(sorted(homes)))


# --- the words leave the files -------------------------------------------------------------


def checkpoint_sqlite(bind: Engine, attempts: int = CHECKPOINT_ATTEMPTS) -> bool:
    """Copy SQLite's write-ahead log into the database and truncate it to zero bytes
    (`PRAGMA wal_checkpoint(TRUNCATE)`). Until then the -wal file holds every page as it
    was before the erasure, for about 1,000 further writes and forever on a quiet server.

    True when the log is empty. False when, after every attempt, another connection still
    read an older snapshot or wrote: the checkpoint copied what it could, and the old
    frames stay in the -wal until a later complete checkpoint (the next erasure, `mend db
    scrub`, or SQLite's own once the log restarts and is overwritten).
    """
    wait = CHECKPOINT_FIRST_WAIT
    with bind.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # no transaction open
        busy_timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            for attempt in range(attempts):
                try:
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
                except DBAPIError:  # "database is locked": a writer holds it right now
                    busy = 1
                if not busy:
                    return True
                if attempt + 1 < attempts:
                    time.sleep(wait)  # cooperative under gevent and eventlet
                    wait *= 2
            return False
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout)}")


def scrub_after_erasure(bind: Engine) -> None:
    """After an erasure's commit: on SQLite, empty the WAL (secure_delete already zeroed
    the rows in the pages it will write back); on PostgreSQL, say that `mend db scrub` is
    due (rewriting every table on every erasure would lock the service for each one)."""
    if bind.dialect.name == "sqlite":
        if bind.url.database in (None, "", ":memory:"):
            return  # nothing on disk
        try:
            emptied = checkpoint_sqlite(bind)
        except SQLAlchemyError as error:  # the erasure is committed: answer it, say this
            log.warning("an account was erased, but SQLite's write-ahead log could not be "
                        "checkpointed (%s): run `mend db scrub`", type(error).__name__)
            return
        if not emptied:
            log.warning("an account was erased, but other connections kept SQLite's write-"
                        "ahead log busy, so its words remain in the -wal file until a "
                        "complete checkpoint: run `mend db scrub`")
    elif bind.dialect.name == "postgresql":
        log.info("an account was erased: its words remain in dead row versions of the table "
                 "files until `mend db scrub` rewrites them (docs/deployment.md)")


@dataclass(frozen=True)
class Scrubbed:
    """What `mend db scrub` did, what it could not do (with why), and what the database's
    own configuration keeps regardless (WAL recycling, archives, replication)."""

    done: tuple[str, ...]
    not_done: tuple[str, ...]
    remains: tuple[str, ...] = ()


# How long the scrub waits for a table's lock before it leaves that table for the next run:
# a rewrite queued behind a long transaction would make every request queue behind it.
SCRUB_LOCK_TIMEOUT = "5s"


def scrub_database(bind: Engine) -> Scrubbed:
    """`mend db scrub`: remove erased words from the database's files (see scrub_postgres;
    on SQLite, a complete WAL checkpoint)."""
    if bind.dialect.name == "postgresql":
        return scrub_postgres(bind)
    if checkpoint_sqlite(bind):
        return Scrubbed(("write-ahead log checkpointed and truncated",), ())
    return Scrubbed((), ("the write-ahead log stayed busy: other connections were reading "
                         "or writing; run it again when Mend is quieter",))


def _superuser(conn) -> bool:
    return bool(conn.exec_driver_sql(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar())


def _wal_remains(conn) -> list[str]:
    """Where this server's configuration keeps WAL (and so erased words) after the scrub."""
    setting = {name: value for name, value in conn.exec_driver_sql(
        "SELECT name, setting FROM pg_settings WHERE name IN "
        "('wal_recycle', 'archive_mode', 'wal_keep_size')")}
    remains = []
    if setting.get("wal_recycle") == "on":
        remains.append("wal_recycle is on: WAL segments written before the scrub are renamed "
                       "for reuse and keep their bytes until new WAL overwrites them; set "
                       "wal_recycle = off so the checkpoint deletes them")
    if setting.get("archive_mode", "off") != "off":
        remains.append("archive_mode is on: archived WAL keeps erased words for as long as "
                       "the archive is kept")
    if setting.get("wal_keep_size", "0") != "0":
        remains.append(f"wal_keep_size is {setting['wal_keep_size']} MB: that much WAL is "
                       f"kept past the checkpoint")
    slots = conn.exec_driver_sql("SELECT count(*) FROM pg_replication_slots").scalar()
    if slots:
        remains.append(f"{slots} replication slot(s): WAL is kept until each slot's consumer "
                       f"has read it, and replicas hold their own copies (scrub them too)")
    return remains


def scrub_postgres(bind: Engine) -> Scrubbed:
    """Rewrite Mend's tables so no dead row version keeps an erased person's words.

    An UPDATE or DELETE leaves the old row version's bytes in the table's page: VACUUM marks
    the space free but does not clear it. `VACUUM (FULL, ANALYZE)` writes each table (its
    TOAST table and indexes too) into new files; the old files are truncated at commit and
    unlinked at the CHECKPOINT that follows. ANALYZE replaces the planner's statistics,
    which hold sample values of text columns, and `VACUUM FULL pg_statistic` drops the old
    ones' dead rows (superuser only). Each table is locked (ACCESS EXCLUSIVE) while it is
    rewritten: requests that touch it wait, for well under a second on a small database; a
    table whose lock isn't free within SCRUB_LOCK_TIMEOUT is left for the next run.

    `pg_switch_wal()` then CHECKPOINT make every WAL segment written before removable.
    PostgreSQL deletes them only with `wal_recycle = off`; otherwise it renames them for
    reuse with their old bytes. WAL archives, replicas and backups are the operator's
    retention. `remains` says which of these this server's settings keep.
    """
    done: list[str] = []
    not_done: list[str] = []
    tables = [t.name for t in Base.metadata.sorted_tables]
    with bind.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM can't be in one
        quote = conn.dialect.identifier_preparer.quote
        # A rewrite takes as long as the table needs (no statement timeout the pool may set),
        # but waits only briefly for a table's lock.
        conn.exec_driver_sql("SET statement_timeout = 0")
        conn.exec_driver_sql(f"SET lock_timeout = '{SCRUB_LOCK_TIMEOUT}'")
        skipped = []
        for table in tables:
            try:
                conn.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {quote(table)}")
            except DBAPIError as error:
                if getattr(error.orig, "pgcode", None) != "55P03":  # lock_not_available
                    raise
                skipped.append(table)
        done.append(f"rewrote and analysed {len(tables) - len(skipped)} tables")
        if skipped:
            not_done.append(f"{', '.join(skipped)}: busy for {SCRUB_LOCK_TIMEOUT} (a long "
                            f"transaction held a lock); run it again")
        if _superuser(conn):
            conn.exec_driver_sql("VACUUM FULL pg_catalog.pg_statistic")
            done.append("rewrote the planner's statistics (pg_statistic)")
            conn.exec_driver_sql("SELECT pg_switch_wal()")
            done.append("switched to a new WAL segment")
        else:
            not_done.append("pg_statistic was not rewritten and the WAL segment not "
                            "switched: they need a superuser")
        try:
            conn.exec_driver_sql("CHECKPOINT")
            done.append("checkpoint: the old table files and WAL segments are released")
        except DBAPIError as error:  # needs superuser or pg_checkpoint (PostgreSQL 15+)
            not_done.append("CHECKPOINT was refused (it needs a superuser or pg_checkpoint): "
                            "the old table files stay (empty) until the next automatic "
                            f"checkpoint ({error.orig.__class__.__name__})")
        remains = _wal_remains(conn)
    return Scrubbed(tuple(done), tuple(not_done), tuple(remains))
