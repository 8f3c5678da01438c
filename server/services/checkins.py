"""The couple's check-ins over time, for the chart on their home page.

Read from the sessions themselves through the engine's rules (`revealed_ratings`): only
check-ins both partners were shown count, and only their numbers leave — never a high, a
low or a wish for listening or advice. Per person: there is no combined score and no streak.
The other partner's numbers appear only while they share them (`set_line`; kept by default).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.content import TrackLibrary
from server.engine import MendError
from server.engine.kinds.checkin import KEPT, LINE, SHARED, revealed_ratings
from server.engine.session import ACTIVE
from server.models import CoupleRecord, Session
from server.models.base import utcnow
from server.services.couples import member_ids
from server.services.sessions import Outcome, load_state


def couple_checkins(db: DbSession, library: TrackLibrary, viewer_id: str, couple_id: object
                    ) -> dict[str, Any]:
    """`{ratings: [{id, label}], line: {shared}, people: [{user_id, display_name,
    numbers_kept, points: [...]}]}`.

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
        for row in revealed_ratings(state, viewer_id):
            for rating_id, label in row.pop("labels").items():
                labels.setdefault(rating_id, label)
            points.setdefault(row["user_id"], []).append(
                {k: v for k, v in row.items() if k != "user_id"})
    shared = {uid: _shared(db, couple_id, uid) for uid in points}
    db.rollback()  # read only: end the transaction load_state began
    return {
        "ratings": [{"id": k, "label": v} for k, v in labels.items()],
        # The viewer's own choice, to show and change beside their chart.
        "line": {"shared": shared.get(viewer_id, False)},
        "people": [
            {"user_id": uid, "display_name": names.get(uid),
             # The other partner keeps their numbers: none are sent, and the page says so.
             "numbers_kept": uid != viewer_id and not shared[uid],
             "points": sorted(rows, key=lambda r: r["at"])}
            for uid, rows in points.items()
        ],
    }


def _line_id(couple_id: str, user_id: str) -> str:
    # One record per partner and couple: a fixed id makes two saves at once one row.
    return hashlib.sha256(f"{LINE}:{couple_id}:{user_id}".encode()).hexdigest()[:32]


def _shared(db: DbSession, couple_id: str, user_id: str) -> bool:
    status = db.scalar(select(CoupleRecord.status)
                       .where(CoupleRecord.id == _line_id(couple_id, user_id)))
    return status == SHARED


def set_line(db: DbSession, library: TrackLibrary, user_id: str, couple_id: object,
             shared: object) -> tuple[dict[str, Any], list[Outcome]]:
    """A partner shares their check-in numbers with the other, or keeps them (issue 16).

    Committed before this returns. Only the owner can change it; it applies to every
    check-in of the couple, past and future. The couple's sessions under way change in the
    same transaction (their version goes up, so an open screen takes the new view); the
    outcomes are theirs to publish.
    """
    if not isinstance(couple_id, str) or user_id not in member_ids(db, couple_id):
        raise MendError("not_found", "That couple doesn't exist.")
    if not isinstance(shared, bool):
        raise MendError("invalid", "'shared' must be true or false.")
    active = db.scalars(select(Session.id).where(Session.couple_id == couple_id,
                                                 Session.status == ACTIVE)
                        .order_by(Session.id)).all()
    # First, as any session action does: the version bump takes each session's lock, so a
    # concurrent action sees this change or comes before it, never half of it.
    for session_id in active:
        db.execute(update(Session).where(Session.id == session_id)
                   .values(version=Session.version + 1))
    record_id, now = _line_id(couple_id, user_id), utcnow()
    values = {"status": SHARED if shared else KEPT, "updated_at": now}
    for _ in range(2):
        if db.execute(update(CoupleRecord).where(CoupleRecord.id == record_id)
                      .values(**values)).rowcount:
            break
        try:
            with db.begin_nested():
                db.execute(insert(CoupleRecord).values(
                    id=record_id, couple_id=couple_id, kind=LINE, data={}, user_id=user_id,
                    private_to=user_id, created_at=now, **values))
            break
        except IntegrityError:  # the same partner's other tab saved it first: update it
            continue
    db.commit()
    outcomes = [Outcome(load_state(db, library, session_id), True, {})
                for session_id in active]
    db.rollback()  # read only: end the transaction load_state began
    return {"shared": shared}, outcomes
