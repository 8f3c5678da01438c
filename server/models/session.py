"""The Session aggregate: a couple working through one track, and everything written in it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, new_id, utcnow

if TYPE_CHECKING:
    from server.models.couple import Couple


class TrackSnapshot(Base):
    """The exact steps a session was started on, so editing a track's YAML never moves a
    session under way onto a different list of steps. Keyed by a hash of the content."""

    __tablename__ = "track_snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    track_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        # At most one session under way per couple and track: two partners pressing Start
        # at once get the same session.
        Index("uq_sessions_active_track", "couple_id", "track_id", unique=True,
              sqlite_where=text("status = 'active'"),
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    couple_id: Mapped[str] = mapped_column(ForeignKey("couples.id"), index=True)
    track_id: Mapped[str] = mapped_column(String(64))
    # None only for sessions started before snapshots existed: they follow the library.
    track_snapshot_id: Mapped[str | None] = mapped_column(ForeignKey("track_snapshots.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|finished|ended
    # Grows by one with every change any participant can see; clients detect gaps with it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    current_index: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None]
    # The earliest moment a Tick would change something (a break ending, a turn timing
    # out); the scheduler sweeps sessions whose deadline has passed.
    next_deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    # Session-wide data that belongs to no step (a break under way), as JSON.
    session_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    couple: Mapped[Couple] = relationship(back_populates="sessions")
    drafts: Mapped[list[Draft]] = relationship(back_populates="session")
    entries: Mapped[list[Entry]] = relationship(back_populates="session")
    reveals: Mapped[list[Reveal]] = relationship(back_populates="session")
    ready_marks: Mapped[list[StepReady]] = relationship(back_populates="session")
    advances: Mapped[list[StepAdvance]] = relationship(back_populates="session")
    participants: Mapped[list[SessionParticipant]] = relationship(back_populates="session")


class SessionParticipant(Base):
    """Who takes part in a session and in which role. A counsellor removed by the couple
    keeps the row (`left_at` set) for the audit trail, and loses all access."""

    __tablename__ = "session_participants"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # partner | counsellor
    slot: Mapped[int] = mapped_column(Integer, default=0)  # display order
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]

    session: Mapped[Session] = relationship(back_populates="participants")


class CounsellorInvite(Base):
    """A single-use, expiring code a partner creates to bring a counsellor into a session.
    Consent (both partners) lives in the session's data; the code only finds the session."""

    __tablename__ = "counsellor_invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # Cancelled by a partner (or replaced by a newer invite) before anyone used it.
    revoked_at: Mapped[datetime | None]


class SessionNote(Base):
    """A counsellor's private note (no recipient) or private message to one partner.
    Notes reach no partner, summary or export; a message reaches its recipient only."""

    __tablename__ = "session_notes"
    __table_args__ = (UniqueConstraint("author_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what and when in a session (counsellor controls, reads of answers, consent):
    never any text. Both partners see the trail."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(60))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    step_id: Mapped[str | None] = mapped_column(String(64))
    target_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StepState(Base):
    """A step kind's own data for one step of one session (acknowledgements, turns,
    timers), as one JSON document: a new kind rarely needs a migration."""

    __tablename__ = "step_states"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """A partner's private autosave; only its author ever receives it."""

    __tablename__ = "drafts"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    body: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[Session] = relationship(back_populates="drafts")


class Entry(Base):
    """A submitted answer. One per partner per step; `client_id` makes a retry idempotent."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("session_id", "step_id", "user_id"),
        UniqueConstraint("user_id", "client_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The partner chose not to share on an optional step: the reveal says so.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its author deleted their account: the words are gone (a neutral marker stands in).
    removed_at: Mapped[datetime | None]

    session: Mapped[Session] = relationship(back_populates="entries")


class Reveal(Base):
    """The moment a step's answers became visible to both. The primary key makes a second
    reveal of the same step impossible, whatever the engine decided."""

    __tablename__ = "reveals"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revealed_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[Session] = relationship(back_populates="reveals")


class StepReady(Base):
    __tablename__ = "step_ready"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[Session] = relationship(back_populates="ready_marks")


class StepAdvance(Base):
    """Who moved the session on from a step, and when (None: both partners were ready)."""

    __tablename__ = "step_advances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    from_step_id: Mapped[str] = mapped_column(String(64))
    to_index: Mapped[int] = mapped_column(Integer)
    by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[Session] = relationship(back_populates="advances")


class Turn(Base):
    """One move in a structured exercise; `client_id` makes a retry idempotent."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its author deleted their account: the words are gone (a neutral marker stands in).
    removed_at: Mapped[datetime | None]


class CoupleRecord(Base):
    """What a couple keeps across sessions (agreements, commitments and their checks)."""

    __tablename__ = "couple_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    couple_id: Mapped[str] = mapped_column(ForeignKey("couples.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"))
    step_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    private_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
