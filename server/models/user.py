from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, new_id, utcnow

if TYPE_CHECKING:
    from server.models.couple import CoupleMember


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    # "counsellor" only once an administrator granted it (`mend counsellor grant EMAIL`).
    role: Mapped[str] = mapped_column(String(16), default="partner")  # partner | counsellor
    # Signed up asking to be a counsellor; waits for the grant, and joins no couple.
    counsellor_requested: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every log-in cookie; a password reset bumps it, which ends all other log-ins.
    login_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "Leave quickly" locked the log-ins of this generation (login_generation is then one
    # more): their cookies load no user until the password is typed (server/web/auth.py).
    locked_generation: Mapped[int | None] = mapped_column(Integer, nullable=True)

    memberships: Mapped[list[CoupleMember]] = relationship(back_populates="user")
