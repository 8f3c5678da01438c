"""The JSON API, /api/v1. Handlers parse, check who is asking, call one service, shape."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request, session
from flask_login import current_user, login_required, logout_user
from flask_wtf.csrf import generate_csrf

from server.context import mend
from server.engine import MendError
from server.realtime.publish import publish, push_agreements, push_home
from server.services import accounts, agreements, checkins, couples, sessions
from server.services.mail_queue import mail_queue
from server.services.summaries import summary_markdown
from server.web.auth import start_login

api = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("mend.web")


def body() -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if payload is None and not request.get_data():
        return {}
    if not isinstance(payload, dict):
        raise MendError("invalid", "Send a JSON object in the request body.")
    return payload


def ok(status: int = 200, **fields: Any):
    return jsonify({"ok": True, **fields}), status


@api.get("/csrf")
def csrf_token():
    return ok(csrf_token=generate_csrf())


# Sign-up answers the same whether or not the address already has an account (nothing to
# enumerate), and logs nobody in: the client logs in next with the same e-mail and password.
SIGNED_UP = ("Thank you. If this e-mail address is new to Mend, your account is ready: log "
             "in with the password you just chose. If it already had an account, log in with "
             "that account's password, or ask for a reset link.")


@api.post("/auth/signup")
def signup():
    data = body()
    ctx = mend()
    taken = False
    try:
        with ctx.database.session() as db:
            accounts.sign_up(
                db, email=data.get("email"), password=data.get("password"),
                display_name=data.get("display_name"), role=data.get("role"),
            )
    except accounts.EmailTaken:
        taken = True
    _tell_owner_later(data.get("email"), taken)
    return ok(202, message=SIGNED_UP)


def _tell_owner_later(email: object, taken: bool) -> None:
    """E-mail the owner of a taken address about the attempt, when SMTP is configured.

    A new address queues a job too (one that does nothing), so both answers do the same
    work; the look-up, the link and the mail happen on the mail worker after the answer.
    """
    config = mend().config
    if not config.smtp_url:
        return
    link_base = config.public_url or request.host_url
    database = mend().database
    mail_queue.submit(lambda: taken and _send_taken_mail(database, email, config, link_base))


def _send_taken_mail(database, email: object, config, link_base: str) -> None:
    with database.session() as db:
        accounts.notify_taken_address(db, email=email, secret_key=config.secret_key,
                                      link_base=link_base, smtp_url=config.smtp_url,
                                      mail_from=config.mail_from)


@api.post("/auth/login")
def login():
    data = body()
    with mend().database.session() as db:
        account = accounts.authenticate(db, email=data.get("email"), password=data.get("password"))
    start_login(account)
    return ok(user=account.to_dict())


@api.post("/auth/logout")
def logout():
    """Ends this account's log-ins everywhere: every copy of the cookie stops working, and
    its sockets close (here at once, on other workers within seconds)."""
    from server.realtime.handlers import disconnect_user

    if current_user.is_authenticated:
        user_id = current_user.id
        with mend().database.session() as db:
            accounts.end_logins(db, user_id)
        logout_user()
        disconnect_user(user_id)
    session.clear()
    return ok()


@api.post("/auth/password")
@login_required
def change_password():
    """A new password (the current one required). Every other log-in ends and its sockets
    close; the caller stays logged in with a fresh cookie (and a new CSRF token)."""
    from server.realtime.handlers import disconnect_user

    data = body()
    with mend().database.session() as db:
        account = accounts.change_password(db, current_user.id,
                                           old_password=data.get("old_password"),
                                           new_password=data.get("new_password"))
    disconnect_user(account.id)  # this worker's at once; the guard closes the others'
    start_login(account)
    return ok(user=account.to_dict())


@api.get("/me")
@login_required
def me():
    ctx = mend()
    with ctx.database.session() as db:
        home = sessions.home_of(db, ctx.library, current_user.id)
    return ok(user=current_user.to_dict(), **home)


@api.post("/couples")
@login_required
def create_couple():
    body()
    with mend().database.session() as db:
        couple = couples.create_couple(db, current_user.id)
    return ok(201, couple=couple, invite_code=couple["invite_code"])


@api.post("/couples/join")
@login_required
def join_couple():
    data = body()
    with mend().database.session() as db:
        couple = couples.join_couple(db, current_user.id, data.get("invite_code"))
    # The partner who sent the invite sees the couple complete on their home at once.
    push_home(p["user_id"] for p in couple["partners"])
    return ok(couple=couple)


@api.get("/tracks")
def tracks():
    return ok(tracks=[
        {
            "id": track.id,
            "title": track.title,
            "summary": track.summary,
            "steps": [
                {"id": s.id, "kind": s.kind, "title": s.title,
                 "answer": s.public_dict()["answer"]}
                for s in track.steps
            ],
        }
        for track in mend().library
    ])


@api.post("/sessions")
@login_required
def start_session():
    data = body()
    ctx = mend()
    with ctx.database.session() as db:
        summary, created = sessions.start_or_open_session(
            db, ctx.library, current_user.id, data.get("couple_id"), data.get("track_id")
        )
        partner_ids = couples.member_ids(db, summary["couple_id"])
    if created:
        push_home(partner_ids)
    return ok(201 if created else 200, session=summary)


@api.get("/sessions/<session_id>")
@login_required
def session_view(session_id: str):
    ctx = mend()
    with ctx.database.session() as db:
        view = sessions.get_view(db, ctx.library, session_id, current_user.id,
                                 ctx.presence.online(session_id))
    _audit_counsellor_read(view["viewer"]["role"], session_id, "opened")
    return ok(state=view)


def _audit_counsellor_read(role: str, session_id: str, what: str) -> None:
    """A counsellor reading partners' answers goes into the session's audit trail."""
    if role != "counsellor":
        return
    from server.services import moderation

    ctx = mend()
    with ctx.database.session() as db:
        outcome = moderation.record_read(db, ctx.library, current_user.id, session_id, what)
    publish(outcome)


@api.delete("/sessions/<session_id>")
@login_required
def cancel_session(session_id: str):
    """A partner cancels a session under way, for everyone in it: each open screen and
    home is told at once (docs/protocol.md, "Cancelling a session"). Optional body
    `{"join_session_id"}`: called off to join the partner's session on another track."""
    ctx = mend()
    with ctx.database.session() as db:
        outcome = sessions.cancel_session(db, ctx.library, current_user.id, session_id,
                                          body().get("join_session_id"))
    publish(outcome)
    return ok(**outcome.result)


@api.get("/sessions/<session_id>/summary")
@login_required
def session_summary(session_id: str):
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "md"):
        raise MendError("invalid", "format must be 'json' or 'md'.")
    ctx = mend()
    with ctx.database.session() as db:
        summary = sessions.summary(db, ctx.library, session_id, current_user.id)
    _audit_counsellor_read(summary["viewer"]["role"], session_id, "read_summary")
    if fmt == "md":
        # Times in the reader's zone: the browser sends its IANA name (?tz=Europe/London);
        # anything this server doesn't know reads as UTC, and the document names the zone.
        return Response(summary_markdown(summary, request.args.get("tz", "UTC")),
                        mimetype="text/markdown",
                        headers={"Content-Disposition": "inline; filename=mend-summary.md",
                                 "Cache-Control": "no-store"})
    return ok(summary=summary)


@api.get("/couples/<couple_id>/checkins")
@login_required
def couple_checkins(couple_id: str):
    """Each partner's revealed check-in ratings over time (docs/protocol.md, Kind: checkin)."""
    ctx = mend()
    with ctx.database.session() as db:
        data = checkins.couple_checkins(db, ctx.library, current_user.id, couple_id)
    response, status = ok(checkins=data)
    response.headers["Cache-Control"] = "no-store"
    return response, status


@api.put("/couples/<couple_id>/checkin-line")
@login_required
def set_checkin_line(couple_id: str):
    """Share your check-in numbers with your partner, or keep them (docs/protocol.md, Kind:
    checkin). Only your own; the couple's open sessions are sent their new views, and both
    homes are told so the chart reads again."""
    ctx = mend()
    with ctx.database.session() as db:
        line, outcomes = checkins.set_line(db, ctx.library, current_user.id, couple_id,
                                           body().get("shared"))
        partners = couples.member_ids(db, couple_id)
    for outcome in outcomes:
        publish(outcome)
    push_home(partners)
    return ok(line=line)


# --- the couple's agreements (docs/protocol.md, "Our agreements") ---------------------------


@api.get("/couples/<couple_id>/agreements")
@login_required
def couple_agreements(couple_id: str):
    with mend().database.session() as db:
        data = agreements.couple_agreements(db, current_user.id, couple_id)
    response, status = ok(**data)
    response.headers["Cache-Control"] = "no-store"
    return response, status


@api.post("/agreements/<agreement_id>/<move>")
@login_required
def change_agreement(agreement_id: str, move: str):
    """set-aside | withdraw | reinstate | keep, by either partner; the other's home is told."""
    body()
    with mend().database.session() as db:
        agreement, partners, changed = agreements.change_agreement(
            db, current_user.id, agreement_id, move)
    if changed:
        push_agreements(partners, agreement["id"])
    return ok(agreement=agreement, changed=changed)
