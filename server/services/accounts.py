"""Sign-up, log-in, looking people up, setting, changing or resetting a password, ending
log-ins, and granting or revoking the counsellor role.

Nothing here tells a stranger whether an address has an account: sign-up hashes the
password and answers the same way when it is taken (EmailTaken, which the edge hides), and
log-in checks a dummy hash when the address is unknown.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from server.engine import MendError, text
from server.models import User
from server.services import hashing

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
MAX_DISPLAY_NAME = 60
ROLES = ("partner", "counsellor")
RESET_MAX_AGE = 3600  # seconds a password-reset link stays valid
_RESET_SALT = "mend-password-reset"
SMTP_TIMEOUT = 15
log = logging.getLogger("mend.accounts")
_TLS: list[ssl.SSLContext] = []


def _tls_context() -> ssl.SSLContext:
    """Made once per process, and only for a TLS mail server: loading the system's CA
    certificates takes ~50 ms of CPU, which under gevent holds every other request."""
    if not _TLS:
        _TLS.append(ssl.create_default_context())
    return _TLS[0]


def _hash(password: str) -> str:
    return hashing.hash_password(password)  # in an OS thread: never stalls the event loop


def _verify(password_hash: str, password: str) -> bool:
    return hashing.verify_password(password_hash, password)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """Checked against when an email is unknown, so a log-in takes as long either way
    (made on first use, with the same algorithm and cost as real ones)."""
    if not _DUMMY:
        _DUMMY.append(_hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    display_name: str
    role: str
    # Not part of the API: the log-in cookie carries it (see server/web/auth.py).
    login_generation: int = 0
    # Signed up asking to be a counsellor: an administrator must grant the role.
    counsellor_requested: bool = False

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name,
                "role": self.role, "counsellor_requested": self.counsellor_requested}


def _account(user: User) -> Account:
    return Account(user.id, user.email, user.display_name, user.role, user.login_generation,
                   bool(user.counsellor_requested))


def _clean_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip()) or len(email) > 254:
        raise MendError("invalid", "Enter a valid email address, like name@example.com.")
    return email.strip().lower()


def _check_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise MendError("invalid", f"Choose a password of at least {MIN_PASSWORD} characters.")
    return password


class EmailTaken(MendError):
    """Sign-up with an address that already has an account. The web edge answers it exactly
    like a successful sign-up (nothing to enumerate); the CLI and tests can still tell."""

    def __init__(self) -> None:
        super().__init__("conflict", "An account with that email already exists. Try logging in.")


def sign_up(
    db: DbSession, *, email: object, password: object, display_name: object, role: object = None
) -> Account:
    """A new account; raises EmailTaken for an address that has one, after the same work
    (the password is hashed either way, so both take as long)."""
    email = _clean_email(email)
    password = _check_password(password)
    if not isinstance(display_name, str) or text.is_blank(display_name):
        raise MendError("invalid", "Tell us the name your partner knows you by.")
    display_name = " ".join(text.trim(text.normalise(display_name, "Your name")).split())
    if len(display_name) > MAX_DISPLAY_NAME:
        raise MendError("invalid", f"Keep your name under {MAX_DISPLAY_NAME} characters.")
    role = role or "partner"
    if role not in ROLES:
        raise MendError("invalid", "The role must be 'partner' or 'counsellor'.")
    password_hash = _hash(password)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken()
    # Nobody makes themselves a counsellor: asking for it records a request, and the account
    # stays a partner without a couple until an administrator runs `mend counsellor grant`.
    user = User(email=email, display_name=display_name, role="partner",
                counsellor_requested=role == "counsellor", password_hash=password_hash)
    db.add(user)
    try:
        db.commit()
    except IntegrityError as exc:  # the same email, signed up a moment ago
        db.rollback()
        raise EmailTaken() from exc
    return _account(user)


def authenticate(db: DbSession, *, email: object, password: object) -> Account:
    failure = MendError("unauthenticated", "That email and password don't match an account.")
    if not isinstance(email, str) or not isinstance(password, str):
        raise failure
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        _verify(_dummy_hash(), password)  # as long as a wrong password for a real account
        raise failure
    if not _verify(user.password_hash, password):
        raise failure
    return _account(user)


def end_logins(db: DbSession, user_id: str) -> None:
    """Every log-in of this account ends, on every device: the generation each log-in
    cookie carries no longer matches (log-out, and password changes, do this)."""
    db.execute(update(User).where(User.id == user_id)
               .values(login_generation=User.login_generation + 1))
    db.commit()


def login_generations(db: DbSession, user_ids: set[str] | list[str]) -> dict[str, int]:
    """The current log-in generation of each of these accounts (an erased one is absent)."""
    ids = sorted(set(user_ids))
    found: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        rows = db.execute(select(User.id, User.login_generation)
                          .where(User.id.in_(ids[start:start + 500])))
        found.update({user_id: generation for user_id, generation in rows})
    return found


_U = User.__table__
# Every Socket.IO event loads its user (Flask-Login, to honour log-outs and password
# changes at once): a prebuilt Core statement, since the ORM's identity lookup was a fifth
# of a busy server's time (docs/benchmarks.md).
_LOAD_ACCOUNT = select(_U.c.id, _U.c.email, _U.c.display_name, _U.c.role,
                       _U.c.login_generation, _U.c.counsellor_requested
                       ).where(_U.c.id == bindparam("uid"))


# A socket event's unit of work carries the log-in its socket was opened with; reading the
# session's participants checks it (services.sessions.load_state), inside the event's own
# transaction, so an event from a log-in that ended elsewhere changes and reads nothing, at
# the price of no extra query (a separate user read per event was 8 % of a busy server).
EXPECTED_LOGIN = "mend.expected_login"
LOGIN_ENDED = "Your log-in has ended. Please log in again."


def expect_login(db: DbSession, user_id: str, login_generation: int) -> None:
    """This unit of work acts for `user_id` as logged in at `login_generation`."""
    db.info[EXPECTED_LOGIN] = (user_id, login_generation)


def check_login(db: DbSession, user_id: str, login_generation: int) -> None:
    """Refuse (`unauthenticated`) when this unit of work acts for `user_id` with a log-in
    made before their current generation (a log-out or password change elsewhere)."""
    expected = db.info.get(EXPECTED_LOGIN)
    if expected is not None and expected[0] == user_id and expected[1] != login_generation:
        # Only on this refusal path: one read to say "locked" rather than "ended".
        raise MendError("unauthenticated",
                        LOGIN_LOCKED if is_locked(db, user_id, expected[1]) else LOGIN_ENDED)


# ---- "Leave quickly" locks the log-in ---------------------------------------------------
#
# Locking moves the account's log-in generation on, exactly like a log-out, so every check
# that ends a log-in (HTTP, the handshake, each socket event's transaction, the guard that
# closes sockets on every worker) refuses the locked cookies with no code of its own. It
# also records which generation was locked: a cookie of that generation is answered
# "locked" (not "ended"), and the password opens it again, on that browser. A log-out, a
# password change or reset, or a second lock moves the generation on again, and the locked
# cookies are then simply ended.

LOGIN_LOCKED = "Mend is locked. Enter your password to continue."


def _is_locked(current: int, locked: int | None, cookie: int) -> bool:
    return locked is not None and locked == cookie and current == cookie + 1


def is_locked(db: DbSession, user_id: str, login_generation: int) -> bool:
    """Whether a cookie of `login_generation` belongs to a locked log-in of this account."""
    row = db.execute(select(User.login_generation, User.locked_generation)
                     .where(User.id == user_id)).one_or_none()
    return row is not None and _is_locked(row[0], row[1], login_generation)


def lock_login(db: DbSession, user_id: str, login_generation: int) -> bool:
    """Lock the account's log-ins of `login_generation` (the caller's). False when that
    generation has already ended (locked or logged out meanwhile): nothing changes."""
    done = db.execute(update(User)
                      .where(User.id == user_id, User.login_generation == login_generation)
                      .values(locked_generation=login_generation,
                              login_generation=login_generation + 1))
    db.commit()
    return done.rowcount == 1


def unlock_login(db: DbSession, user_id: str, login_generation: int,
                 password: object) -> Account:
    """The password opens a locked log-in again: the account to log in (the edge makes a
    fresh cookie at the current generation). `unauthenticated` when this cookie is not a
    locked one (ended instead); `forbidden` for a wrong password."""
    user = db.get(User, user_id)
    if user is None or not _is_locked(user.login_generation, user.locked_generation,
                                      login_generation):
        raise MendError("unauthenticated", "Please log in first.")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD \
            or not _verify(user.password_hash, password):
        raise MendError("forbidden", "That password is not right. Type it again.")
    return _account(user)


def get_account(db: DbSession, user_id: str) -> Account | None:
    row = db.connection().execute(_LOAD_ACCOUNT, {"uid": user_id}).one_or_none()
    if row is None:
        return None
    *fields, requested = row
    return Account(*fields, counsellor_requested=bool(requested))


def _user_by_email(db: DbSession, email: object) -> User:
    user = db.scalar(select(User).where(User.email == _clean_email(email)))
    if user is None:
        raise MendError("not_found", "There is no account with that email address.")
    return user


def grant_counsellor(db: DbSession, email: object) -> Account:
    """An administrator makes an account a counsellor (`mend counsellor grant EMAIL`).

    Counsellors use an account of their own: one that is a partner in a couple is refused.
    Granting an account that is already a counsellor changes nothing.
    """
    user = _user_by_email(db, email)
    if user.memberships:
        raise MendError("conflict", f"{user.email} is a partner in a couple, and counsellors "
                                    "use a separate account: ask them to sign up again with "
                                    "another email address.")
    user.role = "counsellor"
    # It stays a counsellor's account after a revoke: it never joins a couple.
    user.counsellor_requested = True
    db.commit()
    log.info("granted the counsellor role to user %s", user.id)
    return _account(user)


def revoke_counsellor(db: DbSession, email: object, *, library) -> Account:
    """An administrator takes the counsellor role away (`mend counsellor revoke EMAIL`).

    The account becomes a partner again (its counsellor request stays, so it still joins
    no couple) and leaves every session it joined as a counsellor (`library` is the
    TrackLibrary those sessions run on). Running it again is harmless: it finishes a
    revoke that was interrupted between the two steps.
    """
    from server.services import moderation  # its sessions, notes and audit trail

    user = _user_by_email(db, email)
    if user.role != "counsellor" and not user.counsellor_requested:
        raise MendError("conflict", f"{user.email} is not a counsellor.")
    user.role = "partner"
    db.commit()
    account = _account(user)
    removed = moderation.revoke_access(db, library, user.id)
    log.info("revoked the counsellor role of user %s (left %d sessions)", user.id, len(removed))
    return account


def counsellor_accounts(db: DbSession) -> tuple[list[Account], list[Account]]:
    """(granted counsellors, accounts that asked for the role and do not have it), by email."""
    users = db.scalars(
        select(User)
        .where((User.role == "counsellor") | User.counsellor_requested.is_(True))
        .order_by(User.email)
    )
    granted, waiting = [], []
    for user in users:
        (granted if user.role == "counsellor" else waiting).append(_account(user))
    return granted, waiting


def generate_password() -> str:
    """A random password someone can type: 4 groups of 5 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def _store_password(db: DbSession, user: User, password: str, *, expected_hash: str,
                    changed_meanwhile: str = "This reset link has already been used. "
                                             "Ask for a new one.") -> None:
    """Set a new password and end every existing log-in, unless the hash changed meanwhile.

    The conditional update makes a reset link single-use even when it is clicked twice
    at the same moment: only one of the two updates finds the old hash.
    """
    new_hash = _hash(password)
    done = db.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == expected_hash)
        .values(password_hash=new_hash, login_generation=User.login_generation + 1)
    )
    if done.rowcount != 1:
        db.rollback()
        raise MendError("invalid", changed_meanwhile)
    db.commit()
    db.refresh(user)


def change_password(db: DbSession, user_id: str, *, old_password: object,
                    new_password: object) -> Account:
    """Someone logged in changes their password, proving they know the current one.

    Every log-in of the account ends (the caller's edge logs it in again at once).
    """
    new_password = _check_password(new_password)
    user = db.get(User, user_id)
    if user is None:
        raise MendError("unauthenticated", "Please log in again.")
    if not isinstance(old_password, str) or not _verify(user.password_hash, old_password):
        raise MendError("forbidden", "Your current password is not right, so nothing changed. "
                                     "Type it again, or log out and use “Forgot your "
                                     "password?”.")
    if new_password == old_password:
        raise MendError("invalid", "Choose a new password that differs from the current one.")
    _store_password(db, user, new_password, expected_hash=user.password_hash,
                    changed_meanwhile="Your password was changed somewhere else a moment ago. "
                                      "Log in again with the new one.")
    return _account(user)


def set_password(db: DbSession, *, email: object, password: object) -> Account:
    """An operator sets someone's password (`mend account reset-password`)."""
    password = _check_password(password)
    user = db.scalar(select(User).where(User.email == _clean_email(email)))
    if user is None:
        raise MendError("not_found", "There is no account with that email address.")
    _store_password(db, user, password, expected_hash=user.password_hash)
    return _account(user)


def _hash_fingerprint(password_hash: str) -> str:
    # The token carries this instead of the hash itself: it is signed, not encrypted.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:24]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_RESET_SALT)


def password_reset_token(db: DbSession, *, email: object, secret_key: str) -> str | None:
    """A signed link token for this address, or None when no such account exists.

    It is bound to the current password hash, so it stops working once the password
    changes (used once), and it expires after RESET_MAX_AGE seconds.
    """
    try:
        email = _clean_email(email)
    except MendError:
        return None
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        return None
    return _serializer(secret_key).dumps(
        {"u": user.id, "h": _hash_fingerprint(user.password_hash)}
    )


def reset_password(db: DbSession, *, token: object, password: object, secret_key: str,
                   max_age: int = RESET_MAX_AGE) -> Account:
    """Set a new password from a reset link; ends every other log-in of the account."""
    stale = MendError("invalid", "This reset link has expired or was already used. "
                                 "Ask for a new one.")
    if not isinstance(token, str) or not token:
        raise stale
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise stale from exc
    except BadSignature as exc:
        raise MendError("invalid", "This reset link is not valid. Ask for a new one.") from exc
    password = _check_password(password)
    user = db.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or _hash_fingerprint(user.password_hash) != data.get("h"):
        raise stale
    _store_password(db, user, password, expected_hash=user.password_hash)
    return _account(user)


def reset_mail(*, to: str, link: str, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    # Plain and discreet: the subject may show on a shared screen or lock screen.
    message["Subject"] = "Your password reset link"
    message.set_content(
        "Someone (hopefully you) asked to reset the password for this email address.\n\n"
        f"Choose a new password here within the next hour:\n{link}\n\n"
        "The link works once. If you didn't ask for it, ignore this email: "
        "your password stays as it is.\n"
    )
    return message


def send_mail(smtp_url: str, message: EmailMessage) -> None:
    """Send one message. smtp://host[:port] is plain (25), smtps:// is TLS from the first
    byte (465), smtp+starttls:// upgrades with STARTTLS (587); user:password@ logs in."""
    url = urlsplit(smtp_url)
    scheme = url.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
        raise ValueError("MEND_SMTP_URL must look like smtp://host:port, smtps://host or "
                         "smtp+starttls://host")
    default_port = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[scheme]
    port = url.port or default_port
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(url.hostname, port, timeout=SMTP_TIMEOUT,
                                  context=_tls_context())
    else:
        client = smtplib.SMTP(url.hostname, port, timeout=SMTP_TIMEOUT)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=_tls_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


def request_password_reset(db: DbSession, *, email: object, secret_key: str, link_base: str,
                           smtp_url: str | None, mail_from: str) -> bool:
    """Mail a reset link when the address has an account and SMTP is configured.

    Returns whether a message was sent; the caller must not tell the person either way.
    """
    if not smtp_url:
        return False
    token = password_reset_token(db, email=email, secret_key=secret_key)
    if token is None:
        return False
    account_email = _clean_email(email)
    link = f"{link_base.rstrip('/')}/reset/{token}"
    send_mail(smtp_url, reset_mail(to=account_email, link=link, mail_from=mail_from))
    log.info("sent a password-reset link")
    return True


def taken_address_mail(*, to: str, link: str, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = "About your account"  # discreet, like the reset e-mail
    message.set_content(
        "Someone (hopefully you) tried to create an account with this email address, "
        "which already has one.\n\n"
        "If it was you: log in with your password, or choose a new one here within the "
        f"next hour:\n{link}\n\n"
        "If it wasn't you, ignore this email: nothing changed, and nobody got into your "
        "account.\n"
    )
    return message


def notify_taken_address(db: DbSession, *, email: object, secret_key: str, link_base: str,
                         smtp_url: str | None, mail_from: str) -> bool:
    """After a sign-up with an address that has an account: tell its owner (with a reset
    link), when SMTP is configured. The person signing up is never told either way."""
    if not smtp_url:
        return False
    token = password_reset_token(db, email=email, secret_key=secret_key)
    if token is None:
        return False
    link = f"{link_base.rstrip('/')}/reset/{token}"
    send_mail(smtp_url, taken_address_mail(to=_clean_email(email), link=link,
                                           mail_from=mail_from))
    log.info("told an account's owner about a sign-up with their address")
    return True
