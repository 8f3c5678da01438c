"""Configuration: one object, built from the environment, checked once at start-up."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where setup.py's build step copies content/, client/ and migrations/ inside a wheel.
BUNDLED_ROOT = Path(__file__).resolve().parent / "_bundled"
RESOURCE_DIRS = ("content", "client", "migrations")
ASYNC_MODES = ("gevent", "eventlet", "threading")


class ConfigError(Exception):
    """A configuration value is unusable; the message is one sentence for the operator."""


def resource_dir(name: str) -> Path:
    """content/, client/ or migrations/: inside the installed package, else the checkout's.

    A wheel carries them under server/_bundled/; an editable install or a plain checkout
    has none there and uses the top-level folders beside server/.
    """
    if name not in RESOURCE_DIRS:
        raise ValueError(f"unknown resource directory {name!r}")
    bundled = BUNDLED_ROOT / name
    return bundled if bundled.is_dir() else PROJECT_ROOT / name


def default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mend"


def _load_or_create_secret(data_dir: Path) -> str:
    """A random key made once per data directory, so cookies survive restarts. The file is
    the owner's alone (0600) whatever mode it had: an older Mend left it readable to all,
    and whoever reads it can forge anyone's log-in cookie and reset link."""
    path = data_dir / "secret_key"
    if path.exists():
        _owner_only(path)
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key)
    _owner_only(path)  # a short key rewritten in a file an older Mend left readable
    return key


def _owner_only(path: Path) -> None:
    """Take group and other permissions away from the secret key file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o600)
    except OSError as error:  # not ours to change (another owner): say so, carry on
        logging.getLogger("mend").warning("could not make %s private: %s", path,
                                          error.strerror)


_NUMBERS = (
    ("event_rate", "MEND_EVENT_RATE", float),
    ("event_burst", "MEND_EVENT_BURST", int),
    ("user_event_rate", "MEND_USER_EVENT_RATE", float),
    ("refusals_before_disconnect", "MEND_REFUSALS_BEFORE_DISCONNECT", int),
    ("max_sockets_per_user", "MEND_MAX_SOCKETS_PER_USER", int),
    ("presence_interval", "MEND_PRESENCE_INTERVAL", float),
    ("idle_timeout_hours", "MEND_IDLE_TIMEOUT_HOURS", float),
    ("max_login_days", "MEND_MAX_LOGIN_DAYS", float),
    ("recheck_hours", "MEND_RECHECK_HOURS", float),
    ("trusted_proxies", "MEND_TRUSTED_PROXIES", int),
    ("db_connect_timeout", "MEND_DB_CONNECT_TIMEOUT", float),
    ("db_statement_timeout", "MEND_DB_STATEMENT_TIMEOUT", float),
)
_KIND_WORDS = {int: "whole number", float: "number"}
_FLAGS = {"1": True, "true": True, "yes": True, "on": True,
          "0": False, "false": False, "no": False, "off": False}


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    async_mode: str = "gevent"
    redis_url: str | None = None
    content_dir: Path = field(default_factory=lambda: resource_dir("content"))
    client_dir: Path = field(default_factory=lambda: resource_dir("client"))
    # Socket.IO frames above this are refused by the transport; a 20,000-character
    # answer fits even when every character is escaped.
    max_frame_bytes: int = 300_000
    # Crisis and domestic-violence resources shown by "Get help"; None: the bundled default.
    help_resources_path: Path | None = None
    # Where "Leave quickly" sends the browser: somewhere that looks ordinary on a screen.
    leave_url: str = "https://www.bbc.com/weather"
    # Password-reset e-mail; without an SMTP URL only `mend account reset-password` works.
    smtp_url: str | None = None
    mail_from: str = "Mend <no-reply@localhost>"
    # The address people use to reach Mend, for links in e-mails (e.g. https://mend.example).
    public_url: str | None = None
    # PostgreSQL: seconds a connection attempt, and a statement (or a server that doesn't
    # answer), may take before the request is answered `unavailable`; 0 is no limit.
    db_connect_timeout: float = 5.0
    db_statement_timeout: float = 5.0
    # How often each worker sweeps for due deadlines (breaks, turn timers); 0 turns it off.
    tick_seconds: float = 5.0
    # A fair share (server.realtime.limits): each socket's event budget (a token bucket:
    # sustained events per second, and the burst it may spend at once), each user's across
    # all their sockets, and how many refusals in a row end that socket's connection.
    event_rate: float = 20.0
    event_burst: int = 60
    user_event_rate: float = 40.0
    refusals_before_disconnect: int = 200
    max_sockets_per_user: int = 20
    # Presence (online, typing) goes to a session at most once per this many seconds.
    presence_interval: float = 0.25
    # A log-in ends after this long without any request or event, and after this long at
    # most whatever happens (server-side: a copied cookie stops working too).
    idle_timeout_hours: float = 72.0
    max_login_days: float = 30.0
    # A session picked up after this many hours without activity asks each partner the
    # private check again before joint work resumes (server.engine.check).
    recheck_hours: float = 12.0
    # Cookies marked Secure and HSTS sent: None decides per request (HTTPS, or a trusted
    # proxy saying so); True/False force it (MEND_SECURE_COOKIES=1/0).
    secure_cookies: bool | None = None
    # How many proxies in front of Mend set X-Forwarded-For/-Proto (nginx: 1); 0 trusts none.
    trusted_proxies: int = 0
    # HTTP rate limits by name (server.web.limits.RULES) -> a limit ("5 per minute") or "off";
    # {"all": "off"} turns them all off (a benchmark signing up hundreds from one address).
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    testing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Config:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("MEND_DATA_DIR") or default_data_dir(env)).expanduser()
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"MEND_DATA_DIR {data_dir} cannot be created: {exc.strerror}."
            ) from exc
        async_mode = env.get("MEND_ASYNC_MODE", "gevent").strip().lower()
        if async_mode not in ASYNC_MODES:
            raise ConfigError(
                f"MEND_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, not {async_mode!r}."
            )
        database_url = env.get("MEND_DATABASE_URL") or f"sqlite:///{data_dir / 'mend.sqlite3'}"
        secret_key = env.get("MEND_SECRET_KEY") or _load_or_create_secret(data_dir)
        if len(secret_key) < 16:
            raise ConfigError("MEND_SECRET_KEY must be at least 16 characters long.")
        values = dict(
            data_dir=data_dir,
            database_url=database_url,
            secret_key=secret_key,
            async_mode=async_mode,
            redis_url=env.get("MEND_REDIS_URL") or None,
        )
        if env.get("MEND_TICK_SECONDS"):
            try:
                values["tick_seconds"] = float(env["MEND_TICK_SECONDS"])
            except ValueError:
                raise ConfigError("MEND_TICK_SECONDS must be a number of seconds.") from None
        for name, key, kind in _NUMBERS:
            if env.get(key):
                try:
                    number = kind(env[key])
                except ValueError:
                    raise ConfigError(f"{key} must be a {_KIND_WORDS[kind]}.") from None
                if number < 0:
                    raise ConfigError(f"{key} can't be negative.")
                values[name] = number
        if env.get("MEND_SECURE_COOKIES"):
            flag = env["MEND_SECURE_COOKIES"].strip().lower()
            if flag not in _FLAGS:
                raise ConfigError("MEND_SECURE_COOKIES must be 1 or 0 (or leave it unset: "
                                  "secure whenever the request came over HTTPS).")
            values["secure_cookies"] = _FLAGS[flag]
        if env.get("MEND_RATE_LIMITS"):
            # "all=off", or "login-account=5 per minute|signup-address=100 per hour";
            # names and values are checked when the app starts (server.web.limits).
            limits = {}
            for part in env["MEND_RATE_LIMITS"].split("|"):
                name, sep, value = part.partition("=")
                if not sep or not name.strip():
                    raise ConfigError("MEND_RATE_LIMITS must look like 'all=off' or "
                                      "'login-account=5 per minute|signup-address=off'.")
                limits[name.strip()] = value.strip()
            values["rate_limits"] = limits
        if env.get("MEND_HELP_RESOURCES"):
            values["help_resources_path"] = Path(env["MEND_HELP_RESOURCES"]).expanduser()
        for name, key in (("leave_url", "MEND_LEAVE_URL"), ("smtp_url", "MEND_SMTP_URL"),
                          ("mail_from", "MEND_MAIL_FROM"), ("public_url", "MEND_PUBLIC_URL")):
            if env.get(key):
                values[name] = env[key].strip()
        if values.get("smtp_url") and not values.get("public_url"):
            # Reset links built from a request's Host header could point anywhere.
            raise ConfigError("MEND_PUBLIC_URL must be set when MEND_SMTP_URL is, so e-mailed "
                              "links point to this Mend (e.g. https://mend.example).")
        if env.get("MEND_CONTENT_DIR"):
            values["content_dir"] = Path(env["MEND_CONTENT_DIR"])
        values.update(overrides)
        return cls(**values)
