"""Password reset by e-mail, against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import Message

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from server.services import accounts
from server.services.mail_queue import mail_queue

pytest.importorskip("aiosmtpd", reason="aiosmtpd is in the test extra")
from aiosmtpd.controller import Controller  # noqa: E402

NEW_PASSWORD = "a brand new passphrase"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self._arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[Message]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
            return list(self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def _configure(app, **changes) -> None:
    ctx = app.extensions["mend"]
    ctx.config = dataclasses.replace(ctx.config, **changes)


def _senders_done() -> None:
    """Wait for the mail queue, so 'nothing was sent' is a finished fact."""
    assert mail_queue.wait_idle(10)


def _request_reset(app, email: str):
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    response = client.post("/api/v1/auth/password-reset/request", json={"email": email},
                           headers={"X-CSRFToken": token})
    return response


def _reset(app, token: str, password: str = NEW_PASSWORD):
    client = app.test_client()
    csrf = client.get("/api/v1/csrf").get_json()["csrf_token"]
    response = client.post("/api/v1/auth/password-reset",
                           json={"token": token, "password": password},
                           headers={"X-CSRFToken": csrf})
    return client, response


def _link(message: Message) -> str:
    text = message.get_payload(decode=True).decode()
    found = re.search(r"(\S+/reset/(\S+))", text)
    assert found, text
    return found.group(1)


def _log_in(app, email: str, password: str) -> int:
    client = app.test_client()
    csrf = client.get("/api/v1/csrf").get_json()["csrf_token"]
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       headers={"X-CSRFToken": csrf}).status_code


def test_the_mailed_link_resets_once_logs_in_and_ends_other_log_ins(app, signup, inbox):
    _configure(app, smtp_url=inbox.url, public_url="https://mend.example/",
               mail_from="Mend <help@mend.example>")
    ana = signup("Ana")
    assert ana.get("/me").status_code == 200

    response = _request_reset(app, "  ANA@example.test ")
    assert response.status_code == 200 and response.get_json() == {"ok": True}

    [message] = inbox.wait_for(1)
    assert message["To"] == "ana@example.test"
    assert message["From"] == "Mend <help@mend.example>"
    link = _link(message)
    assert link.startswith("https://mend.example/reset/")
    path = link.removeprefix("https://mend.example")
    page = app.test_client().get(path)
    assert page.status_code == 200 and b"<html" in page.data.lower()  # the client's shell
    token = path.removeprefix("/reset/")

    client, response = _reset(app, token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["email"] == "ana@example.test"
    assert client.get("/api/v1/me").status_code == 200  # logged in by the reset

    assert ana.get("/me").status_code == 401  # the earlier log-in is over
    assert _log_in(app, ana.email, ana.password) == 401
    assert _log_in(app, ana.email, NEW_PASSWORD) == 200

    _client, again = _reset(app, token, "yet another passphrase")
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid"
    assert _log_in(app, ana.email, NEW_PASSWORD) == 200


def test_the_link_uses_the_request_host_without_a_public_url(app, signup, inbox):
    _configure(app, smtp_url=inbox.url)
    signup("Ana")
    assert _request_reset(app, "ana@example.test").status_code == 200
    [message] = inbox.wait_for(1)
    assert _link(message).startswith("http://localhost/reset/")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, signup, inbox):
    _configure(app, smtp_url=inbox.url)
    signup("Ana")
    unknown = _request_reset(app, "nobody@example.test")
    malformed = _request_reset(app, "not an address")
    known = _request_reset(app, "ana@example.test")
    assert unknown.get_json() == malformed.get_json() == known.get_json() == {"ok": True}
    assert unknown.status_code == malformed.status_code == known.status_code == 200
    inbox.wait_for(1)
    _senders_done()
    assert [m["To"] for m in inbox.messages] == ["ana@example.test"]


def test_without_smtp_the_request_still_answers_ok_and_sends_nothing(app, signup, inbox):
    assert app.extensions["mend"].config.smtp_url is None
    signup("Ana")
    response = _request_reset(app, "ana@example.test")
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    _senders_done()
    assert inbox.messages == []


def test_forged_expired_and_weak_resets_are_refused(app, signup, inbox):
    _configure(app, smtp_url=inbox.url)
    ana = signup("Ana")
    _request_reset(app, ana.email)
    token = _link(inbox.wait_for(1)[0]).rsplit("/", 1)[1]

    _c, forged = _reset(app, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "invalid"

    _c, weak = _reset(app, token, "short")
    assert weak.status_code == 400 and weak.get_json()["error"]["code"] == "invalid"

    class TwoHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 3600

    secret = app.extensions["mend"].config.secret_key
    fresh = URLSafeTimedSerializer(secret, salt=accounts._RESET_SALT)
    old = URLSafeTimedSerializer(secret, salt=accounts._RESET_SALT, signer=TwoHoursAgo)
    payload = fresh.loads(token)
    _c, expired = _reset(app, old.dumps(payload))
    assert expired.status_code == 400 and expired.get_json()["error"]["code"] == "invalid"

    # None of the refusals used the link up.
    _c, response = _reset(app, token)
    assert response.status_code == 200, response.get_json()


def test_a_flood_of_requests_waits_in_one_queue_not_a_sender_each(app, signup, inbox):
    """Every request only queues a job; one worker sends, one message at a time, and
    nothing else runs for a request meanwhile (before: a thread per request, each
    looking the address up and talking to the mail server at once)."""
    from server.web import limits

    limits.set_limits(app, {"all": "off"})  # many requests from one address
    _configure(app, smtp_url=inbox.url)
    signup("Ana")
    assert mail_queue.wait_idle(10)
    gate = threading.Event()
    mail_queue.submit(gate.wait)  # the worker is busy with something else
    try:
        threads = threading.active_count()
        for n in range(20):
            email = "ana@example.test" if n % 2 else f"nobody-{n}@example.test"
            assert _request_reset(app, email).get_json() == {"ok": True}
        assert threading.active_count() == threads
        assert inbox.messages == []  # all twenty wait in the queue
    finally:
        gate.set()  # never leave the process's worker stuck for the tests after this one
    inbox.wait_for(10)
    assert mail_queue.wait_idle(10)
    assert [m["To"] for m in inbox.messages] == ["ana@example.test"] * 10
