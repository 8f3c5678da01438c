"""Pages: the single-page client, served with the CSRF token embedded."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
@bp.get("/join/<code>")
@bp.get("/s/<session_id>")
def app_shell(**_route):
    response = render_template("index.html")
    return response, 200, {"Cache-Control": "no-store"}


@bp.get("/healthz")
def health():
    return jsonify({"ok": True})


@bp.route("/socket.io/", methods=["GET", "POST"])
def socketio_path():
    # Never reached: the Socket.IO middleware answers first. It exists so the request
    # context Flask-SocketIO builds for each event matches a route; otherwise werkzeug
    # raises NotFound per event and the garbage it leaves dominated p99 (ARCHITECTURE.md).
    return jsonify({"ok": False}), 404
