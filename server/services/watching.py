"""Which sessions a counsellor's dashboard hears presence from (server.realtime.publish's
`watch:<session>` rooms): read once when their socket connects, not per broadcast."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from server.engine.session import COUNSELLOR
from server.models import SessionParticipant, User


def counsellor_session_ids(db: DbSession, user_id: str) -> list[str]:
    """The sessions a user takes part in as a counsellor: still in them (not removed) and
    still granted the role (a revoked counsellor watches nothing)."""
    return list(db.scalars(
        select(SessionParticipant.session_id)
        .join(User, User.id == SessionParticipant.user_id)
        .where(SessionParticipant.user_id == user_id, SessionParticipant.role == COUNSELLOR,
               SessionParticipant.left_at.is_(None), User.role == COUNSELLOR)
    ))
