from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, new_id, utcnow

if TYPE_CHECKING:
    from server.models.session import Session
    from server.models.user import User


class Couple(Base):
    __tablename__ = "couples"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Kept after the second partner joins so a third person is told the couple is full.
    invite_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[CoupleMember]] = relationship(
        back_populates="couple", order_by="CoupleMember.slot"
    )
    sessions: Mapped[list[Session]] = relationship(back_populates="couple")


class CoupleMember(Base):
    """One of a couple's two partners. `slot` 1 or 2: the unique (couple, slot) pair makes
    a third partner impossible even when two people race to join."""

    __tablename__ = "couple_members"
    __table_args__ = (UniqueConstraint("couple_id", "slot"),)

    couple_id: Mapped[str] = mapped_column(ForeignKey("couples.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    slot: Mapped[int]
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    couple: Mapped[Couple] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")
