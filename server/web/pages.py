"""Pages: the single-page client, served with the CSRF token embedded."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from server.context import mend

bp = Blueprint("pages", __name__)

# Everything comes from this origin: no CDN, font service or analytics can be loaded even
# by mistake, and injected markup cannot run scripts.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# Browsers that once reached Mend over HTTPS keep to HTTPS for a year.
HSTS = "max-age=31536000"


def secure_transport() -> bool:
    """Whether this request counts as HTTPS: cookies marked Secure and HSTS sent.

    MEND_SECURE_COOKIES=1/0 decides outright; unset, the request's own scheme does (which,
    with MEND_TRUSTED_PROXIES set, is what the proxy's X-Forwarded-Proto says).
    """
    setting = mend().config.secure_cookies
    return request.is_secure if setting is None else setting


@bp.after_app_request
def security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        # Every API answer is someone's data (or a token): no browser or proxy cache keeps it.
        response.headers["Cache-Control"] = "no-store"
    if secure_transport():
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


@bp.app_context_processor
def leave_url() -> dict:
    # "Leave quickly" reads it from <meta name="mend-leave-url"> (MEND_LEAVE_URL).
    return {"leave_url": mend().config.leave_url}


@bp.get("/")
@bp.get("/join/<code>")
@bp.get("/s/<session_id>")
@bp.get("/s/<session_id>/summary")
@bp.get("/reset/<token>")
@bp.get("/account")
@bp.get("/counsellor")
@bp.get("/counsellor/join/<code>")
def app_shell(**_route):
    return app_shell_response(200)


def app_shell_response(status: int):
    """index.html: the client reads the path and shows the page (or "page not found")."""
    return render_template("index.html"), status, {"Cache-Control": "no-store"}


@bp.get("/healthz")
def health():
    """200 while the database answers; 503 (and the contract's error shape) when it doesn't,
    so a load balancer stops sending people to a worker that can't save their words. A
    full disk counts too: reads still work then, so a write that failed on it is the sign
    (server.db.DISK_FULL_HOLD_SECONDS)."""
    database = mend().database
    if database.disk_full():
        return jsonify({"ok": False, "error": {
            "code": "unavailable", "message": "The database's disk is full."}}), 503
    if not database.ping():
        return jsonify({"ok": False, "error": {
            "code": "unavailable", "message": "The database can't be reached."}}), 503
    return jsonify({"ok": True})


@bp.route("/socket.io/", methods=["GET", "POST"])
def socketio_path():
    # Never reached: the Socket.IO middleware answers first. It exists so the request
    # context Flask-SocketIO builds for each event matches a route; otherwise werkzeug
    # raises NotFound per event and the garbage it leaves dominated p99 (ARCHITECTURE.md).
    return jsonify({"ok": False}), 404


# The same for a socket on a WebSocket (the commonest kind): a rule without `websocket`
# doesn't match its handshake's environ, and werkzeug raised WebsocketMismatch for every
# event instead, each exception keeping its traceback and frames in a cycle only the
# garbage collector frees (~65 objects an event; 120-ms collections at 300 events/s).
bp.add_url_rule("/socket.io/", endpoint="socketio_websocket", view_func=socketio_path,
                websocket=True)
