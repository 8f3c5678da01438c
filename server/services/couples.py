"""Couples: one partner creates the space, the other joins with an invite code.

An invite code works once (the couple is full after one join) and for INVITE_DAYS after the
couple was created. To anyone outside the couple, a mistyped, used or expired code answers
the same `not_found`: nothing tells a guesser that a code exists.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.engine import MendError
from server.models import Couple, CoupleMember, User
from server.models.base import utcnow

# No 0/O or 1/I/L: codes get read aloud and typed from a phone.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
INVITE_DAYS = 7  # an unused invite code stops working this long after it was made
NO_SUCH_INVITE = ("That invite code doesn't match an open invite: it may be mistyped, "
                  "already used or expired. Check it with your partner (it has 8 letters "
                  "and numbers), or ask them for a new one.")


def new_invite_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: object) -> str:
    if not isinstance(code, str):
        raise MendError("invalid", "Enter the invite code your partner sent you.")
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if not cleaned:
        raise MendError("invalid", "Enter the invite code your partner sent you.")
    return cleaned


def invite_expires_at(couple: Couple) -> datetime:
    return couple.created_at + timedelta(days=INVITE_DAYS)


def _invite_expired(couple: Couple, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= invite_expires_at(couple)


def couple_dict(couple: Couple) -> dict:
    """status: "complete", "waiting" (its invite code works) or "expired" (nobody joined in
    time: creating a couple again renews the code)."""
    complete = len(couple.members) == 2
    expired = not complete and _invite_expired(couple)
    open_invite = not complete and not expired
    return {
        "id": couple.id,
        "status": "complete" if complete else "expired" if expired else "waiting",
        "invite_code": couple.invite_code if open_invite else None,
        "invite_expires_at": _iso(invite_expires_at(couple)) if open_invite else None,
        "partners": [
            {"user_id": m.user_id, "display_name": m.user.display_name} for m in couple.members
        ],
        "created_at": _iso(couple.created_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def _require_partner_account(db: DbSession, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise MendError("unauthenticated", "Please log in again.")
    if user.role != "partner":
        raise MendError("forbidden", "Counsellor accounts join sessions, not couples.")
    if user.counsellor_requested:
        raise MendError("forbidden", "This account is for counselling (an administrator grants "
                                     "the counsellor role), so it cannot be in a couple. To "
                                     "take part as a partner, sign up with another email "
                                     "address.")
    return user


def member_ids(db: DbSession, couple_id: str) -> list[str]:
    return list(db.scalars(select(CoupleMember.user_id).where(CoupleMember.couple_id == couple_id)))


def couples_of(db: DbSession, user_id: str) -> list[Couple]:
    return list(
        db.scalars(
            select(Couple)
            .join(CoupleMember)
            .where(CoupleMember.user_id == user_id)
            .order_by(Couple.created_at)
        )
    )


def create_couple(db: DbSession, user_id: str) -> dict:
    """A new couple space with its creator as the first partner, and a fresh invite code.

    A couple still waiting is reused (a second click leaves no trail of half-made couples);
    if its invite expired, it gets a new code and its clock starts again.
    """
    _require_partner_account(db, user_id)
    waiting = [c for c in couples_of(db, user_id) if len(c.members) < 2]
    if waiting and not _invite_expired(waiting[0]):
        return couple_dict(waiting[0])
    for _attempt in range(5):
        if waiting:
            couple = waiting[0]
            couple.invite_code = new_invite_code()
            couple.created_at = utcnow()
        else:
            couple = Couple(invite_code=new_invite_code(), created_by_id=user_id)
            couple.members.append(CoupleMember(user_id=user_id, slot=1))
            db.add(couple)
        try:
            db.commit()
            return couple_dict(couple)
        except IntegrityError:  # an invite code collision: vanishingly rare, just retry
            db.rollback()
            waiting = [c for c in couples_of(db, user_id) if len(c.members) < 2]
    raise MendError("conflict", "We couldn't make an invite code just now. Please try again.")


def _find_invite(db: DbSession, code: object) -> tuple[Couple | None, set[str]]:
    """The couple a code belongs to and its members' ids; (None, ∅) for no such code."""
    try:
        code = normalise_code(code)
    except MendError:
        return None, set()
    rows = db.execute(
        select(Couple, CoupleMember.user_id)
        .outerjoin(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(Couple.invite_code == code)
    ).all()
    if not rows:
        return None, set()
    return rows[0][0], {user_id for _couple, user_id in rows if user_id is not None}


def join_couple(db: DbSession, user_id: str, code: object) -> dict:
    normalise_code(code)  # an empty or non-text code is `invalid`, as before
    _require_partner_account(db, user_id)
    couple, members = _find_invite(db, code)
    if couple is not None and user_id in members:
        if user_id == couple.created_by_id:
            raise MendError("conflict", "This is your own invite: send it to your partner "
                                        "to join.")
        raise MendError("conflict", "You are already in this couple.")
    # Unknown, used by others, or expired: the same answer, so a code can't be probed.
    if couple is None or len(members) >= 2 or _invite_expired(couple):
        raise MendError("not_found", NO_SUCH_INVITE)
    couple.members.append(CoupleMember(user_id=user_id, slot=2))
    try:
        db.commit()
    except IntegrityError as exc:  # someone else took the second place a moment earlier
        db.rollback()
        raise MendError("not_found", NO_SUCH_INVITE) from exc
    return couple_dict(couple)


def invite_status(db: DbSession, code: object, viewer_id: str | None) -> dict:
    """What an invite link leads to, for someone about to join (log-in optional).

    status: "own" (the viewer made it), "member" (the viewer is in that couple) or "open".
    A code that is unknown, used by others or expired is `not_found` (one answer for all
    three). Only the inviter's display name is shown: enough to recognise a partner,
    nothing about the couple's sessions.
    """
    couple, members = _find_invite(db, code)
    if couple is not None and viewer_id is not None and viewer_id in members:
        status = "own" if viewer_id == couple.created_by_id else "member"
    elif couple is None or len(members) >= 2 or _invite_expired(couple):
        raise MendError("not_found", NO_SUCH_INVITE)
    else:
        status = "open"
    inviter = db.get(User, couple.created_by_id)
    return {"status": status,
            "inviter": {"display_name": inviter.display_name if inviter else None}}
