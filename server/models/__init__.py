"""SQLAlchemy 2 typed models, one module per aggregate."""

from server.models.base import Base
from server.models.couple import Couple, CoupleMember
from server.models.session import (
    AuditEvent,
    CounsellorInvite,
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
)
from server.models.user import User

__all__ = [
    "AuditEvent",
    "Base",
    "CounsellorInvite",
    "Couple",
    "CoupleMember",
    "CoupleRecord",
    "Draft",
    "Entry",
    "Reveal",
    "Session",
    "SessionNote",
    "SessionParticipant",
    "StepAdvance",
    "StepReady",
    "StepState",
    "TrackSnapshot",
    "Turn",
    "User",
]
