"""Leave quickly's lock: POST /api/v1/auth/lock and POST /api/v1/auth/unlock.

"Leave quickly" (client/js/help.js) sends the lock as the page goes (a keepalive request),
and every tab, socket and copied cookie of that log-in stops at once: HTTP and handshakes
answer 401 `unauthenticated` with `locked: true`, socket events `unauthenticated` with the
lock's message, this worker's sockets close now and other workers' within seconds (the
guard). The page then shows only "Enter your password to continue": no name, no e-mail,
no content. The password (rate-limited like a log-in) opens it again on that browser.

Why lock rather than log out: the person keeps their place (a deep link such as a session
reloads where it was) and needs only the password, not the e-mail, which the lock screen
therefore never shows. The lock is per account: whoever picks up any device logged in to it
meets the lock screen.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from flask_login import current_user

from server.context import mend
from server.engine import MendError
from server.extensions import csrf
from server.services import accounts
from server.web.auth import locked_identity, start_login

bp = Blueprint("lock", __name__, url_prefix="/api/v1")


@bp.post("/auth/lock")
@csrf.exempt
def lock():
    """Lock the caller's log-in; answers `{ok: true}` whatever the state (already locked,
    logged out), so a page on its way out never waits on or learns anything.

    No CSRF token is required: the page may be leaving with a stale one, and the cookie is
    SameSite=Lax, so another site's request carries no log-in to lock. The worst a forged
    request could do is ask for the password again."""
    from server.realtime.handlers import disconnect_user

    if current_user.is_authenticated:
        user_id = current_user.id
        with mend().database.session() as db:
            locked = accounts.lock_login(db, user_id, current_user.login_generation)
        if locked:
            disconnect_user(user_id)  # this worker's at once; the guard closes the others'
    return jsonify({"ok": True})


@bp.post("/auth/unlock")
def unlock():
    """`{password}` opens this browser's locked log-in: a fresh cookie (and CSRF token) at
    the account's current generation. A wrong password is 403 `forbidden`; a cookie that
    holds no locked log-in is 401 `unauthenticated`; counted like log-in guesses."""
    data = request.get_json(silent=True) or {}
    identity = locked_identity(session)
    if identity is None:
        raise MendError("unauthenticated", "Please log in first.")
    with mend().database.session() as db:
        account = accounts.unlock_login(db, identity[0], identity[1], data.get("password"))
    start_login(account)
    return jsonify({"ok": True, "user": account.to_dict()})
