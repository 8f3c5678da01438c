"""The couple's agreements after the session that made them: "Our agreements" on home.

An agreement is a couple record of kind `agreement` (server/engine/kinds/boundary.py makes
it when a boundary item is agreed). It keeps its words; what changes afterwards is its
status and its revisit date, and each change is kept in `data.changes` (who, what, when:
no free text, so nothing new to export or erase beyond the record itself).

Stored statuses: `active`, `set_aside` (paused; either partner can bring it back) and
`withdrawn` (final). `due_for_review` is not stored: an active agreement whose revisit
date has come reads as due until a partner keeps it (a new revisit date), sets it aside or
withdraws it. Either partner may make any move at any time ("Agreements can be revisited
any time"); the other is told in a sentence on their home.

Moves are idempotent by their result: withdrawing a withdrawn agreement, or setting aside
one already set aside, answers with the agreement as it is and changes nothing, so a retry
after a lost answer is harmless. A move that makes no sense from the current status
(bringing back a withdrawn agreement) is `conflict`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session as DbSession

from server.engine import MendError
from server.engine.kinds.boundary import (
    ACTIVE,
    AGREEMENT,
    DEFAULT_REVISIT_DAYS,
    SET_ASIDE,
    WITHDRAWN,
    agreement_status,
    agreements_due,
    today,
)
from server.engine.views import iso
from server.models import CoupleRecord, User
from server.models.base import utcnow
from server.services.couples import member_ids

# A partner's change is told on the other's home for this long after it was made.
NOTICE_DAYS = 14

# move -> (statuses it may start from, status it leaves, whether it sets a new revisit date)
MOVES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "set-aside": ((ACTIVE,), SET_ASIDE, False),
    "withdraw": ((ACTIVE, SET_ASIDE), WITHDRAWN, False),
    "reinstate": ((SET_ASIDE,), ACTIVE, True),
    "keep": ((ACTIVE,), ACTIVE, True),
}
# What the partner's home says about a change (past tense, after the partner's name).
DONE_WORDS = {"set-aside": "set aside", "withdraw": "withdrew", "reinstate": "brought back",
              "keep": "kept"}
REFUSED = {
    WITHDRAWN: "This agreement was withdrawn, so it can't change any more. You can make a "
               "new one in a boundaries session.",
    SET_ASIDE: "This agreement is set aside. Bring it back first, or withdraw it.",
}


def agreement_dict(record: Any, now: datetime) -> dict[str, Any]:
    data = record.data or {}
    changes = [dict(c) for c in data.get("changes", ())]
    return {
        "id": record.id,
        "text": data.get("text"),
        "need": data.get("need"),
        "offer": data.get("offer"),
        "proposed_by": data.get("proposed_by"),
        "status": agreement_status(record, now),
        "revisit_on": data.get("revisit_on"),
        "made_at": iso(record.created_at),
        "session_id": record.session_id,
        "step_id": record.step_id,
        "changed": changes[-1] if changes else None,
        "changes": changes,
    }


def _require_member(db: DbSession, user_id: str, couple_id: object) -> list[str]:
    if not isinstance(couple_id, str) or user_id not in (members := member_ids(db, couple_id)):
        raise MendError("not_found", "That couple doesn't exist.")
    return members


def _records(db: DbSession, couple_id: str) -> list[CoupleRecord]:
    return list(db.scalars(
        select(CoupleRecord).where(CoupleRecord.couple_id == couple_id,
                                   CoupleRecord.kind == AGREEMENT,
                                   CoupleRecord.private_to.is_(None))
        .order_by(CoupleRecord.created_at, CoupleRecord.id)))


def couple_agreements(db: DbSession, viewer_id: str, couple_id: object,
                      now: datetime | None = None) -> dict[str, Any]:
    """GET /couples/<id>/agreements: `{agreements: [...], notices: [...]}`.

    `notices` are sentences for the viewer about the partner's recent changes (the last
    NOTICE_DAYS days), newest first. A couple the viewer isn't a partner in is not_found.
    """
    now = now or utcnow()
    _require_member(db, viewer_id, couple_id)
    records = _records(db, couple_id)
    names = dict(db.execute(select(User.id, User.display_name)
                            .where(User.id.in_(member_ids(db, couple_id)))).all())
    notices = []
    for record in records:
        for change in (record.data or {}).get("changes", ()):
            at = _parse(change.get("at"))
            if change.get("by") == viewer_id or at is None or now - at > timedelta(
                    days=NOTICE_DAYS):
                continue
            who = names.get(change.get("by")) or "Your partner"
            notices.append({
                "agreement_id": record.id, "by": change.get("by"), "move": change.get("move"),
                "at": change.get("at"),
                "text": f"{who} {DONE_WORDS.get(change.get('move'), 'changed')} the "
                        f"agreement “{(record.data or {}).get('text')}”.",
            })
    notices.sort(key=lambda n: n["at"], reverse=True)
    result = {"agreements": [agreement_dict(r, now) for r in records], "notices": notices}
    db.rollback()  # read only
    return result


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def change_agreement(db: DbSession, user_id: str, agreement_id: object, move: str,
                     now: datetime | None = None) -> tuple[dict[str, Any], list[str], bool]:
    """Apply one move ("set-aside", "withdraw", "reinstate", "keep") for either partner.

    Returns (the agreement, the couple's partner ids, whether anything changed). Committed
    before it returns.
    """
    if move not in MOVES:
        raise MendError("not_found", "There is nothing at this address.")
    if not isinstance(agreement_id, str) or not agreement_id:
        raise MendError("not_found", "That agreement doesn't exist.")
    now = now or utcnow()
    # Take the row's lock first (SQLite's write lock; a PostgreSQL row lock), so two
    # partners pressing at once are decided one after the other.
    locked = db.execute(update(CoupleRecord).where(CoupleRecord.id == agreement_id,
                                                   CoupleRecord.kind == AGREEMENT)
                        .values(status=CoupleRecord.status))
    record = db.get(CoupleRecord, agreement_id) if locked.rowcount else None
    if record is None or record.private_to is not None:
        db.rollback()
        raise MendError("not_found", "That agreement doesn't exist.")
    try:
        members = _require_member(db, user_id, record.couple_id)
    except MendError:
        db.rollback()
        raise
    starts, ends, new_date = MOVES[move]
    if record.status == ends and not new_date:
        result = agreement_dict(record, now)  # already so: a retry, or both pressed it
        db.rollback()
        return result, members, False
    if record.status not in starts:
        db.rollback()
        raise MendError("conflict", REFUSED.get(record.status, "That can't change now."))
    data = dict(record.data or {})
    if new_date:
        days = int(data.get("revisit_days") or DEFAULT_REVISIT_DAYS)
        data["revisit_on"] = (today(now) + timedelta(days=days)).isoformat()
    data["changes"] = [*data.get("changes", ()), {"move": move, "by": user_id, "at": iso(now)}]
    record.status, record.data, record.updated_at = ends, data, now
    db.commit()
    return agreement_dict(record, now), members, True


def agreements_due_for_review(db: DbSession, couple_id: str, now: datetime | None = None
                              ) -> list[dict[str, Any]]:
    """The couple's active agreements whose revisit date has come (oldest date first): what
    the review at the start of the next session raises. Read only."""
    now = now or utcnow()
    return [agreement_dict(r, now) for r in agreements_due(_records(db, couple_id), now)]
