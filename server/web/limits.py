"""HTTP rate limits (Flask-Limiter): log-in, sign-up, invite codes, per account and address.

Each limit has a name, a default, the endpoints it covers and what it counts by: the client's
address (request.remote_addr, which honours MEND_TRUSTED_PROXIES), the e-mail address in the
request body (kept only as a keyed hash: no e-mail address is stored or logged), or the
logged-in user. Endpoints listed together share one count (looking up an invite and joining
with it are the same guess). Every request counts, successful or not, and is counted before
its view runs: counting only failures after the fact would let a burst of simultaneous
guesses all through before the first one failed.

A request over a limit answers 429 `rate_limited` in the contract's error shape, with
Retry-After. Counts live in memory per worker, or in Redis when MEND_REDIS_URL is set
(shared by every worker). Windows move: "10 per minute" means at most 10 in any 60 seconds.

Overrides, by name: `set_limits(app, {"login-account": "5 per 2 seconds"})`, or "off"; the
name "all" with "off" turns every limit off (benchmarks signing up hundreds of people from one
address). install() applies Config.rate_limits when the config has it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Flask, current_app, request, session
from flask_limiter import Limit as FlaskLimit
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many

from server.config import ConfigError
from server.web.errors import error_response

LOGIN = ("api.login",)
# Typing the password to open a log-in "Leave quickly" locked (a guess like a log-in's).
UNLOCK = ("lock.unlock",)
# Every endpoint that checks a password a logged-in user types (guessing through them).
PASSWORD_CHANGE = ("api.change_password", "data_rights.erase")
SIGNUP = ("api.signup",)
INVITES = ("api.join_couple", "account.invite", "counsellor_api.join")
RESET_REQUEST = ("account.request_password_reset",)
RESET = ("account.reset_password",)

TRY_LATER = "Too many attempts. Please wait {wait} and try again."


@dataclass(frozen=True)
class Rule:
    name: str
    default: str
    endpoints: tuple[str, ...]
    key: str  # "address", "email", "user" or "locked" (the locked cookie's account)


RULES = (
    Rule("login-address", "20 per minute; 200 per hour", LOGIN, "address"),
    Rule("login-account", "10 per minute; 50 per hour", LOGIN, "email"),
    Rule("unlock-address", "20 per minute; 200 per hour", UNLOCK, "address"),
    Rule("unlock-account", "10 per minute; 50 per hour", UNLOCK, "locked"),
    Rule("password-account", "10 per minute; 50 per hour", PASSWORD_CHANGE, "user"),
    Rule("signup-address", "10 per minute; 50 per hour", SIGNUP, "address"),
    Rule("invite-address", "20 per minute; 200 per hour", INVITES, "address"),
    Rule("invite-account", "10 per minute; 50 per hour", INVITES, "user"),
    Rule("reset-request-address", "5 per minute; 30 per hour", RESET_REQUEST, "address"),
    Rule("reset-request-account", "3 per 10 minutes; 10 per day", RESET_REQUEST, "email"),
    Rule("reset-address", "10 per minute; 50 per hour", RESET, "address"),
)
RULE_NAMES = frozenset(r.name for r in RULES)
LIMITED_ENDPOINTS = frozenset(e for r in RULES for e in r.endpoints)
_KEY = "mend.rate_limits"


def _email_key() -> str:
    """A keyed hash of the e-mail address in the body ("" when there is none: not counted)."""
    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email.strip():
        return ""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, email.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _user_key() -> str:
    return current_user.id if current_user.is_authenticated else ""


def _locked_key() -> str:
    """The account whose locked log-in this cookie holds ("" when none: not counted, and
    the view refuses it anyway)."""
    from server.web.auth import cookie_identity

    identity = cookie_identity(session)
    return identity[0] if identity else ""


KEYS: dict[str, Callable[[], str]] = {
    "address": get_remote_address, "email": _email_key, "user": _user_key,
    "locked": _locked_key,
}


def _check(overrides: Mapping[str, str]) -> dict[str, str]:
    """Validated overrides; a bad one is a ConfigError with one sentence."""
    checked = {}
    for name, value in overrides.items():
        value = str(value).strip()
        if name == "all":
            if value != "off":
                raise ConfigError('The rate limit "all" can only be turned "off".')
        elif name not in RULE_NAMES:
            raise ConfigError(f"There is no rate limit called {name!r} (there are "
                              f"{', '.join(sorted(RULE_NAMES))}).")
        elif value != "off":
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"The rate limit {name} must read like "
                                  f'"10 per minute; 50 per hour", or "off".') from None
        checked[name] = value
    return checked


def set_limits(app: Flask, overrides: Mapping[str, str]) -> None:
    """Replace some limits by name (a limit string, or "off"); the rest keep their default."""
    app.extensions[_KEY]["overrides"] = _check(overrides)


def _value(rule: Rule) -> Callable[[], str]:
    def value() -> str:
        """The limit in force ("" when it is off: no limit at all)."""
        overrides = current_app.extensions[_KEY]["overrides"]
        found = "off" if "all" in overrides else overrides.get(rule.name, rule.default)
        return "" if found == "off" else found

    return value


def _exempt(rule: Rule) -> Callable[[], bool]:
    endpoints = frozenset(rule.endpoints)
    key = KEYS[rule.key]

    def exempt() -> bool:
        # Nothing to count by (a signed-out visitor has no account; a body with no e-mail):
        # the rule stands aside. Left to Flask-Limiter, an empty key is logged as an ERROR
        # ("Skipping limit … Empty value") on every signed-out visit to an invite link,
        # which is normal, not an error (issue 16). The address rules still count.
        return request.endpoint not in endpoints or not key()

    return exempt


def _human(seconds: float) -> str:
    if seconds <= 90:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes <= 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def install(app: Flask) -> None:
    """Attach the limits to their endpoints."""
    config = app.extensions["mend"].config
    app.extensions[_KEY] = {"overrides": {}}
    set_limits(app, getattr(config, "rate_limits", None) or {})
    limiter = Limiter(
        get_remote_address,
        storage_uri=config.redis_url or "memory://",
        strategy="moving-window",
        # Workers of one deployment share its secret key; another deployment (or test) using
        # the same Redis counts apart.
        key_prefix="mend-" + hashlib.sha256(config.secret_key.encode()).hexdigest()[:12],
        # When Redis cannot be reached, count in this worker's memory instead of failing.
        in_memory_fallback_enabled=bool(config.redis_url),
        default_limits=[
            FlaskLimit(_value(rule), key_function=KEYS[rule.key], scope=rule.name,
                       shared=True, exempt_when=_exempt(rule))
            for rule in RULES
        ],
    )
    # Every other request skips the limiter entirely.
    limiter.request_filter(lambda: request.endpoint not in LIMITED_ENDPOINTS)
    limiter.init_app(app)
    app.extensions[_KEY]["limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def over_limit(_error: RateLimitExceeded):
        current = limiter.current_limit
        wait = max(1.0, current.reset_at - time.time()) if current else 60.0
        response, status = error_response("rate_limited", TRY_LATER.format(wait=_human(wait)))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response, status
