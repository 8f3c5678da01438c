"""The couple's check-ins over time, for the chart on their home page.

Read from the sessions themselves through the engine's rules (`revealed_ratings`): only
check-ins both partners were shown count, and only their numbers leave — never a high, a
low or a wish for listening or advice. Per person: there is no combined score and no streak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError
from server.engine.kinds.checkin import revealed_ratings
from server.models import Session
from server.services.couples import member_ids
from server.services.sessions import load_state


def couple_checkins(db: DbSession, library: TrackLibrary, viewer_id: str, couple_id: object
                    ) -> dict[str, Any]:
    """`{ratings: [{id, label}], people: [{user_id, display_name, points: [...]}]}`.

    A couple the viewer isn't a partner in reads as one that doesn't exist (404).
    """
    if not isinstance(couple_id, str) or viewer_id not in member_ids(db, couple_id):
        raise MendError("not_found", "That couple doesn't exist.")
    session_ids = db.scalars(select(Session.id).where(Session.couple_id == couple_id)
                             .order_by(Session.created_at, Session.id)).all()
    names: dict[str, str] = {}
    labels: dict[str, str] = {}
    points: dict[str, list[dict[str, Any]]] = {uid: [] for uid in member_ids(db, couple_id)}
    for session_id in session_ids:
        state = load_state(db, library, session_id)
        names.update({p.user_id: p.display_name for p in state.participants})
        for row in revealed_ratings(state):
            for rating_id, label in row.pop("labels").items():
                labels.setdefault(rating_id, label)
            points.setdefault(row["user_id"], []).append(
                {k: v for k, v in row.items() if k != "user_id"})
    db.rollback()  # read only: end the transaction load_state began
    return {
        "ratings": [{"id": k, "label": v} for k, v in labels.items()],
        "people": [
            {"user_id": uid, "display_name": names.get(uid),
             "points": sorted(rows, key=lambda r: r["at"])}
            for uid, rows in points.items()
        ],
    }
