"""SQLAlchemy 2 typed models, one module per aggregate."""

from server.models.base import Base
from server.models.couple import Couple, CoupleMember
from server.models.session import (
    CoupleRecord,
    Draft,
    Entry,
    Reveal,
    Session,
    SessionParticipant,
    StepAdvance,
    StepReady,
    StepState,
    TrackSnapshot,
    Turn,
)
from server.models.user import User

__all__ = [
    "Base",
    "Couple",
    "CoupleMember",
    "CoupleRecord",
    "Draft",
    "Entry",
    "Reveal",
    "Session",
    "SessionParticipant",
    "StepAdvance",
    "StepReady",
    "StepState",
    "TrackSnapshot",
    "Turn",
    "User",
]
