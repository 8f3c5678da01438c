"""HTTP for counsellors: the couple invites and agrees, a counsellor joins, the dashboard."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user, login_required

from server.context import mend
from server.realtime.publish import publish, push_home
from server.services import moderation
from server.web.api import body, ok

bp = Blueprint("counsellor_api", __name__, url_prefix="/api/v1")


@bp.post("/sessions/<session_id>/counsellor-invite")
@login_required
def invite(session_id: str):
    body()
    ctx = mend()
    with ctx.database.session() as db:
        outcome = moderation.invite_counsellor(db, ctx.library, current_user.id, session_id)
    publish(outcome)
    return ok(201, **outcome.result)


@bp.post("/sessions/<session_id>/counsellor-consent")
@login_required
def consent(session_id: str):
    body()
    ctx = mend()
    with ctx.database.session() as db:
        outcome = moderation.consent_to_counsellor(db, ctx.library, current_user.id,
                                                   session_id)
    publish(outcome)
    return ok()


@bp.delete("/sessions/<session_id>/counsellor")
@login_required
def remove(session_id: str):
    body()
    ctx = mend()
    with ctx.database.session() as db:
        outcome = moderation.remove_counsellor(db, ctx.library, current_user.id, session_id)
    publish(outcome)
    if outcome.left:
        push_home(outcome.left)  # the session leaves the counsellor's dashboard
    return ok()


@bp.post("/counsellor/join")
@login_required
def join():
    data = body()
    ctx = mend()
    with ctx.database.session() as db:
        outcome, summary = moderation.join_as_counsellor(db, ctx.library, current_user.id,
                                                         data.get("invite_code"))
    publish(outcome)
    return ok(session=summary)


@bp.get("/counsellor/sessions")
@login_required
def dashboard():
    ctx = mend()
    with ctx.database.session() as db:
        rows = moderation.counsellor_sessions(db, ctx.library, current_user.id,
                                              ctx.presence.online)
    response, status = ok(sessions=rows)
    response.headers["Cache-Control"] = "no-store"
    return response, status
