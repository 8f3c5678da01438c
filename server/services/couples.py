"""Couples: one partner creates the space, the other joins with an invite code."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.engine import MendError
from server.models import Couple, CoupleMember, User

# No 0/O or 1/I/L: codes get read aloud and typed from a phone.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: object) -> str:
    if not isinstance(code, str):
        raise MendError("invalid", "Enter the invite code your partner sent you.")
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    if not cleaned:
        raise MendError("invalid", "Enter the invite code your partner sent you.")
    return cleaned


def couple_dict(couple: Couple) -> dict:
    complete = len(couple.members) == 2
    return {
        "id": couple.id,
        "status": "complete" if complete else "waiting",
        "invite_code": None if complete else couple.invite_code,
        "partners": [
            {"user_id": m.user_id, "display_name": m.user.display_name} for m in couple.members
        ],
        "created_at": couple.created_at.isoformat(timespec="milliseconds") + "Z",
    }


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
    """A new couple space with its creator as the first partner, and a fresh invite code."""
    _require_partner_account(db, user_id)
    waiting = [c for c in couples_of(db, user_id) if len(c.members) < 2]
    if waiting:  # a second click should not leave a trail of half-made couples
        return couple_dict(waiting[0])
    for _attempt in range(5):
        couple = Couple(invite_code=new_invite_code(), created_by_id=user_id)
        couple.members.append(CoupleMember(user_id=user_id, slot=1))
        db.add(couple)
        try:
            db.commit()
            return couple_dict(couple)
        except IntegrityError:  # an invite code collision: vanishingly rare, just retry
            db.rollback()
    raise MendError("conflict", "We couldn't make an invite code just now. Please try again.")


def join_couple(db: DbSession, user_id: str, code: object) -> dict:
    code = normalise_code(code)
    _require_partner_account(db, user_id)
    couple = db.scalar(select(Couple).where(Couple.invite_code == code))
    if couple is None:
        raise MendError(
            "not_found",
            "That invite code doesn't match any couple. Check it with your partner: "
            "it has 8 letters and numbers.",
        )
    if any(m.user_id == user_id for m in couple.members):
        raise MendError("conflict", "This is your own invite: send it to your partner to join.")
    if len(couple.members) >= 2:
        raise MendError("conflict", "This couple already has two partners.")
    couple.members.append(CoupleMember(user_id=user_id, slot=2))
    try:
        db.commit()
    except IntegrityError as exc:  # someone else took the second place a moment earlier
        db.rollback()
        raise MendError("conflict", "This couple already has two partners.") from exc
    return couple_dict(couple)


def invite_status(db: DbSession, code: object, viewer_id: str | None) -> dict:
    """What an invite link leads to, for someone about to join (log-in optional).

    status: "own" (the viewer made it), "member" (the viewer is in that couple),
    "used" (both places taken by others) or "open". Only the inviter's display name is
    shown: enough to recognise a partner, nothing about the couple's sessions.
    """
    missing = MendError("not_found", "That invite code doesn't match any couple. Check it "
                                     "with your partner: it has 8 letters and numbers.")
    try:
        code = normalise_code(code)
    except MendError:
        raise missing from None
    couple = db.scalar(select(Couple).where(Couple.invite_code == code))
    if couple is None:
        raise missing
    members = {m.user_id for m in couple.members}
    if viewer_id is not None and viewer_id == couple.created_by_id:
        status = "own"
    elif viewer_id is not None and viewer_id in members:
        status = "member"
    elif len(members) >= 2:
        status = "used"
    else:
        status = "open"
    inviter = db.get(User, couple.created_by_id)
    return {"status": status,
            "inviter": {"display_name": inviter.display_name if inviter else None}}
