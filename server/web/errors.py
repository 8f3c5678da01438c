"""Every HTTP error leaves in the contract's one shape: {ok: false, error: {code, message}}."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.db import UNAVAILABLE_MESSAGE, database_unavailable, unavailable_reason
from server.engine import MendError
from server.web.pages import app_shell_response

log = logging.getLogger("mend.web")

STATUS_FOR_CODE = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "invalid": 400,
    "conflict": 409,
    "not_your_turn": 409,
    "paused": 423,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}


def error_response(code: str, message: str, status: int | None = None):
    body = {"ok": False, "error": {"code": code, "message": message}}
    return jsonify(body), status or STATUS_FOR_CODE.get(code, 400)


def _wants_page() -> bool:
    """A browser asking for a page: not a file under /static/, nor the Socket.IO path."""
    return (request.method in ("GET", "HEAD")
            and not request.path.startswith(("/static/", "/socket.io/"))
            and request.accept_mimetypes.accept_html)


def install(app: Flask) -> None:
    @app.errorhandler(MendError)
    def mend_error(error: MendError):
        return error_response(error.code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        return error_response(
            "forbidden",
            "This page's security token is missing or out of date. Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if not request.path.startswith("/api/"):
            if error.code == 404 and _wants_page():
                # The client shows "page not found" with a way home; the status stays 404.
                return app_shell_response(404)
            return error
        if error.code == 413:
            return error_response("too_large", "That request is too large.", 413)
        if error.code == 404:
            return error_response("not_found", "There is nothing at this address.", 404)
        if error.code == 405:
            return error_response("invalid", f"{request.method} is not allowed here.", 405)
        return error_response("invalid", error.description or "That request was not valid.",
                              error.code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        if isinstance(error, (UnicodeError, RecursionError)):
            # Input that slipped past the declared shapes (server.web.payloads) and could
            # not be stored or read: the sender's to fix, and the transaction rolled back.
            log.warning("unreadable input on %s %s: %s", request.method, request.path,
                        type(error).__name__)
            return error_response("invalid", "Part of that request could not be read or "
                                             "stored. Check the text and try again.")
        if database_unavailable(error):
            # The database is down, unreachable or out of pooled connections: the request's
            # unit of work was rolled back. One line naming the cause, no stack trace.
            log.warning("%s %s refused: database unavailable (%s)", request.method,
                        request.path, unavailable_reason(error))
            return error_response("unavailable", UNAVAILABLE_MESSAGE, 503)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            "internal", "Something went wrong on our side and nothing was changed.", 500
        )
