"""Flask-Login wiring: who the current user is, for HTTP and the Socket.IO handshake."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_login import UserMixin

from server.context import mend
from server.extensions import login_manager
from server.services import accounts
from server.web.errors import error_response


@dataclass(frozen=True)
class CurrentUser(UserMixin):
    id: str
    email: str
    display_name: str
    role: str
    login_generation: int = 0
    counsellor_requested: bool = False

    @classmethod
    def from_account(cls, account: accounts.Account) -> CurrentUser:
        return cls(account.id, account.email, account.display_name, account.role,
                   account.login_generation, account.counsellor_requested)

    def get_id(self) -> str:
        # What the log-in cookie stores: a password reset bumps the generation, and every
        # cookie made before it stops loading a user (they are logged out).
        return f"{self.id}:{self.login_generation}"

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name,
                "role": self.role, "counsellor_requested": self.counsellor_requested}


def install_login(_app: Flask) -> None:
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(cookie_id: str) -> CurrentUser | None:
        user_id, _, generation = cookie_id.partition(":")
        with mend().database.session() as db:
            account = accounts.get_account(db, user_id)
        if account is None or str(account.login_generation) != (generation or "0"):
            return None
        return CurrentUser.from_account(account)

    @login_manager.unauthorized_handler
    def unauthorized():
        return error_response("unauthenticated", "Please log in first.")
