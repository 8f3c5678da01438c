"""Data rights over HTTP: `GET /api/v1/me/export` and `DELETE /api/v1/me`."""

from __future__ import annotations

import logging

from flask import Blueprint, session
from flask_login import current_user, login_required, logout_user

from server.context import mend
from server.realtime.publish import publish, push_home
from server.services import data_rights
from server.web.api import body, ok

bp = Blueprint("data_rights", __name__, url_prefix="/api/v1")
log = logging.getLogger("mend.web")


@bp.get("/me/export")
@login_required
def export():
    """All of the caller's own data, as one JSON document (never the partner's private
    words: see server.services.data_rights)."""
    ctx = mend()
    with ctx.database.session() as db:
        data = data_rights.export_user_data(db, ctx.library, current_user.id)
    response, status = ok(**data)
    response.headers["Content-Disposition"] = 'attachment; filename="mend-export.json"'
    return response, status


@bp.delete("/me")
@login_required
def erase():
    """Erase the caller's account, password confirmed; their log-ins and sockets end."""
    from server.realtime.handlers import disconnect_user

    ctx = mend()
    user_id = current_user.id
    with ctx.database.session() as db:
        erased = data_rights.erase_account(db, ctx.library, user_id, body().get("password"))
    log.info("erased account %s (%d sessions updated)", user_id, len(erased.outcomes))
    logout_user()
    session.clear()
    # This worker's sockets now; other workers' on their next check of the log-in
    # generation, which the erasure moved on.
    disconnect_user(user_id)
    for outcome in erased.outcomes:
        publish(outcome)
    push_home(erased.homes)
    return ok()
