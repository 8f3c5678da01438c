"""Each JSON endpoint's request body, declared once and checked before its view runs.

`install(app)` makes every JSON body be read with a depth cap (server.engine.shapes:
100,000 levels of nesting is a 400 `invalid`, not a RecursionError) and adds one
before-request check for `/api/` requests:

* a body, when there is one, is a JSON object (`invalid` otherwise; over 256 KB is
  `too_large`, from MAX_CONTENT_LENGTH);
* a declared endpoint's body fits its declaration in BODIES: the keys it takes and no
  others, their types and lengths; text (a display name) in NFC and blank when only
  whitespace and invisible characters are in it (server.engine.text). The view reads the
  cleaned body through `request.get_json()`;
* an endpoint without a declaration still gets a bounded object with nothing a database
  can't store (no NUL, no lone surrogate) — declare it here when it is added;
* ids in the path and query values hold nothing a database can't store either (else
  `not_found` / `invalid`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider

from server.engine import MendError, text
from server.engine.shapes import MAX_DEPTH, Id, Json, Obj, Text, Token, parse_json

EMAIL = Token(254, "Enter a valid email address, like name@example.com.")
PASSWORD = Token(1024, "Choose a password of 8 to 200 characters.")
DISPLAY_NAME = Text(200, required="Tell us the name your partner knows you by.")
INVITE_CODE = Token(200, "Enter the invite code your partner sent you.")
ID = Id()
EMPTY = Obj({})

# (method, URL rule) -> the body it takes (docs/protocol.md).
BODIES: dict[tuple[str, str], Obj] = {
    ("POST", "/api/v1/auth/signup"): Obj({"email": EMAIL, "password": PASSWORD,
                                          "display_name": DISPLAY_NAME,
                                          "role?": Token(32).or_null()}),
    ("POST", "/api/v1/auth/login"): Obj({"email": EMAIL, "password": PASSWORD}),
    ("POST", "/api/v1/auth/logout"): EMPTY,
    ("POST", "/api/v1/auth/lock"): EMPTY,
    ("POST", "/api/v1/auth/unlock"): Obj({"password": PASSWORD}),
    ("POST", "/api/v1/auth/password"): Obj({"old_password": PASSWORD,
                                            "new_password": PASSWORD}),
    ("POST", "/api/v1/auth/password-reset/request"): Obj({"email": EMAIL}),
    ("POST", "/api/v1/auth/password-reset"): Obj({
        "token": Token(2000, "This reset link is not valid. Ask for a new one."),
        "password": PASSWORD}),
    ("POST", "/api/v1/couples"): EMPTY,
    ("POST", "/api/v1/couples/join"): Obj({"invite_code": INVITE_CODE}),
    ("POST", "/api/v1/sessions"): Obj({"couple_id": ID, "track_id": ID}),
    ("POST", "/api/v1/sessions/<session_id>/counsellor-invite"): EMPTY,
    ("POST", "/api/v1/sessions/<session_id>/counsellor-consent"): EMPTY,
    ("DELETE", "/api/v1/sessions/<session_id>/counsellor"): EMPTY,
    ("POST", "/api/v1/counsellor/join"): Obj({"invite_code": INVITE_CODE}),
    # An agreement's status changes take nothing but the address (no words to keep).
    ("POST", "/api/v1/agreements/<agreement_id>/<move>"): EMPTY,
    # Data rights: erasing an account takes its password.
    ("DELETE", "/api/v1/me"): Obj({"password": PASSWORD}),
}
# Not declared yet: a bounded object of storable values, passed on as sent.
UNDECLARED = Json(max_depth=MAX_DEPTH, max_nodes=10_000, words=False)
NOT_AN_OBJECT = MendError("invalid", "Send a JSON object in the request body.")
NOTHING_HERE = MendError("not_found", "There is nothing at this address.")
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


class _CappedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with a depth cap (and no NaN/Infinity) instead of recursing."""

    def loads(self, s: str | bytes, **_kwargs: Any) -> Any:
        return parse_json(s)


def _check_address() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and (len(value) > 200 or not text.storable(value)):
            raise NOTHING_HERE
    for value in request.args.values():
        if len(value) > 2000 or not text.storable(value):
            raise MendError("invalid", "The address has a value that is not valid.")


def _check_body() -> None:
    if not request.path.startswith("/api/") or request.url_rule is None:
        return  # pages, static files, Socket.IO; unknown addresses answer 404 themselves
    _check_address()
    if request.method in BODYLESS:
        return
    data = None
    if request.get_data(cache=True):  # over MAX_CONTENT_LENGTH: 413 too_large
        data = request.get_json(silent=True)  # the same object the view gets
        if not isinstance(data, dict):
            raise NOT_AN_OBJECT
    shape = BODIES.get((request.method, request.url_rule.rule))
    if shape is None:
        if data is not None:
            UNDECLARED.clean(data, "body")
        return
    cleaned = shape.clean({} if data is None else data, "body")
    if data is not None:
        data.update(cleaned)


def install(app: Flask) -> None:
    """Check every JSON body against its endpoint's declared schema before the view."""
    provider = _CappedJSONProvider(app)
    provider.__dict__.update(app.json.__dict__)  # keep the app's settings (sort_keys…)
    app.json = provider
    app.before_request(_check_body)
