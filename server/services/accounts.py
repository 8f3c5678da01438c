"""Sign-up, log-in and looking people up."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from werkzeug.security import check_password_hash, generate_password_hash

from server.engine import MendError
from server.models import User

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_DISPLAY_NAME = 60
ROLES = ("partner", "counsellor")
# Checked against when an email is unknown, so a log-in takes as long either way.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    display_name: str
    role: str

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name,
                "role": self.role}


def _account(user: User) -> Account:
    return Account(user.id, user.email, user.display_name, user.role)


def _clean_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip()) or len(email) > 254:
        raise MendError("invalid", "Enter a valid email address, like name@example.com.")
    return email.strip().lower()


def sign_up(
    db: DbSession, *, email: object, password: object, display_name: object, role: object = None
) -> Account:
    email = _clean_email(email)
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise MendError("invalid", f"Choose a password of at least {MIN_PASSWORD} characters.")
    if not isinstance(display_name, str) or not display_name.strip():
        raise MendError("invalid", "Tell us the name your partner knows you by.")
    display_name = " ".join(display_name.split())
    if len(display_name) > MAX_DISPLAY_NAME:
        raise MendError("invalid", f"Keep your name under {MAX_DISPLAY_NAME} characters.")
    role = role or "partner"
    if role not in ROLES:
        raise MendError("invalid", "The role must be 'partner' or 'counsellor'.")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise MendError("conflict", "An account with that email already exists. Try logging in.")
    user = User(email=email, display_name=display_name, role=role,
                password_hash=generate_password_hash(password))
    db.add(user)
    try:
        db.commit()
    except IntegrityError as exc:  # the same email, signed up a moment ago
        db.rollback()
        raise MendError(
            "conflict", "An account with that email already exists. Try logging in."
        ) from exc
    return _account(user)


def authenticate(db: DbSession, *, email: object, password: object) -> Account:
    failure = MendError("unauthenticated", "That email and password don't match an account.")
    if not isinstance(email, str) or not isinstance(password, str):
        raise failure
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise failure
    if not check_password_hash(user.password_hash, password):
        raise failure
    return _account(user)


def get_account(db: DbSession, user_id: str) -> Account | None:
    user = db.get(User, user_id)
    return _account(user) if user else None
