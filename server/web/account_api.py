"""Password reset by e-mail, and invite look-up: the account edges that need no log-in."""

from __future__ import annotations

import logging

from flask import Blueprint, request
from flask_login import current_user

from server.context import mend
from server.db import Database
from server.services import accounts, couples
from server.services.mail_queue import mail_queue
from server.web.api import body, ok
from server.web.auth import start_login

bp = Blueprint("account", __name__, url_prefix="/api/v1")
log = logging.getLogger("mend.web")


def _send_reset_link(database: Database, email: object, secret_key: str, link_base: str,
                     smtp_url: str, mail_from: str) -> None:
    with database.session() as db:
        accounts.request_password_reset(db, email=email, secret_key=secret_key,
                                        link_base=link_base, smtp_url=smtp_url,
                                        mail_from=mail_from)


@bp.post("/auth/password-reset/request")
def request_password_reset():
    email = body().get("email")
    config = mend().config
    if config.smtp_url:
        # MEND_PUBLIC_URL should be set in production: without it the link is built from
        # the request's Host header.
        link_base = config.public_url or request.host_url
        # The same job whether or not the address has an account, and all of its work
        # (the look-up, the link, the mail) on the mail worker after this answer: it takes
        # as long either way, and a slow mail server never holds it.
        database = mend().database
        mail_queue.submit(lambda: _send_reset_link(database, email, config.secret_key,
                                                   link_base, config.smtp_url,
                                                   config.mail_from))
    return ok()


@bp.post("/auth/password-reset")
def reset_password():
    from server.realtime.handlers import disconnect_user

    data = body()
    with mend().database.session() as db:
        account = accounts.reset_password(db, token=data.get("token"),
                                          password=data.get("password"),
                                          secret_key=mend().config.secret_key)
    # Every earlier log-in is over (the generation in their cookies is stale); close the
    # sockets they still hold in this process at once (other workers' guards follow).
    disconnect_user(account.id)
    start_login(account)
    return ok(user=account.to_dict())


@bp.get("/invites/<code>")
def invite(code: str):
    viewer = current_user.id if current_user.is_authenticated else None
    with mend().database.session() as db:
        found = couples.invite_status(db, code, viewer)
    return ok(invite=found)
