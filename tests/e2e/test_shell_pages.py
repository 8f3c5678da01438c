"""The app's shell around the sessions, in a real browser against a real `mend run`: the
landing page, the invite page (checked before anyone signs up), "Page not found", and the
password reset by e-mail, end to end through a real SMTP conversation on 127.0.0.1.
Each screen is also scanned with axe-core.
"""

from __future__ import annotations

import re
import socketserver
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from tests.e2e import axe, flows
from tests.e2e.conftest import Person
from tests.e2e.flows import expect
from tests.live.conftest import Browserless, MendServer, free_port

pytestmark = pytest.mark.e2e

HONEST_RESET_NOTE = (
    "If an account uses that address and this Mend can send e-mail, a link is on its way. "
    "Otherwise ask whoever runs this Mend to reset it."
)


def signups(someone: Person) -> list[str]:
    """Every sign-up request this browser makes from now on."""
    seen: list[str] = []
    someone.page.on("request", lambda req: "/auth/signup" in req.url and seen.append(req.url))
    return seen


def test_new_visitors_land_on_create_an_account(person):
    visitor = person()
    page = visitor.page
    page.goto("/")
    expect(page.get_by_test_id("tab-signup")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("signup-email")).to_be_visible()
    axe.scan(page, "landing: create an account")

    # "I already have an account" switches to log-in and puts the cursor in its first field.
    page.get_by_test_id("switch-to-login").click()
    expect(page.get_by_test_id("tab-login")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("login-email")).to_be_focused()
    expect(page.get_by_test_id("signup-email")).to_be_hidden()
    page.get_by_test_id("switch-to-signup").click()
    expect(page.get_by_test_id("signup-email")).to_be_focused()
    assert visitor.exceptions == [], visitor.exceptions


def test_the_invite_page_names_the_inviter_before_sign_up(person, mend_server):
    robin = Browserless(mend_server.url, "Robin").sign_up()
    code = robin.post("/couples").json()["invite_code"]
    link = f"{mend_server.url}/join/{code}"
    try:
        sam = person("Sam", width=390)
        page = sam.page
        made = signups(sam)
        page.goto(link)
        banner = page.get_by_test_id("invite-banner")
        expect(banner.get_by_role("heading", level=1)).to_have_text("Robin invited you to Mend")
        expect(page.get_by_test_id("tab-signup")).to_have_attribute("aria-selected", "true")
        assert made == []
        axe.scan(page, "invite page (open)")

        flows.sign_up(page, "Sam", flows.email_for("Sam", flows.new_suffix()))
        expect(page.get_by_test_id("couple-complete")).to_contain_text("Robin")
        expect(page.get_by_test_id("home-notice")).to_contain_text("You've joined")
        assert len(made) == 1

        # Sam opens the link again: it is Sam's couple now.
        page.goto(link)
        expect(page.get_by_test_id("home-notice")).to_have_text("You're already in this couple.")
        expect(page.get_by_test_id("couple-complete")).to_contain_text("Robin")

        # Someone else, signed out, opens the used link: told it matches no invite (a used
        # code answers like a wrong one), and offered no sign-up.
        late = person("Lee")
        late_signups = signups(late)
        late.page.goto(link)
        problem = late.page.get_by_test_id("invite-problem")
        expect(problem).to_have_attribute("data-reason", "not_found")
        expect(problem).to_contain_text("ask your partner for a new one")
        expect(late.page.get_by_test_id("signup-email")).to_have_count(0)
        axe.scan(late.page, "invite page (used)")
        assert late_signups == []
    finally:
        robin.close()


def test_your_own_invite_says_so(person):
    alex = person("Alex")
    page = alex.page
    page.goto("/")
    flows.sign_up(page, "Alex", flows.email_for("Alex", flows.new_suffix()))
    link = flows.create_couple(alex)
    page.goto(link)
    expect(page.get_by_test_id("home-notice")).to_have_text(
        "This is your own invite — send it to your partner.")
    expect(page.get_by_test_id("waiting-for-partner")).to_be_visible()
    assert page.url.rstrip("/") == alex.base_url


def test_a_bogus_invite_is_refused_before_any_account_is_created(person):
    visitor = person()
    page = visitor.page
    made = signups(visitor)
    response = page.goto("/join/NOPE2345")
    assert response.status == 200  # the shell; the client asks about the code
    problem = page.get_by_test_id("invite-problem")
    expect(problem).to_have_attribute("data-reason", "not_found")
    expect(problem.get_by_role("heading", level=1)).to_have_text("We couldn't find this invite")
    expect(page.get_by_test_id("signup-email")).to_have_count(0)
    expect(page.get_by_test_id("invite-banner")).to_have_count(0)
    axe.scan(page, "invite page (unknown code)")
    assert made == []
    # The way out goes to the ordinary landing page.
    page.get_by_test_id("invite-go-home").click()
    expect(page.get_by_test_id("tab-signup")).to_have_attribute("aria-selected", "true")


def test_an_unknown_address_shows_page_not_found(person):
    visitor = person()
    page = visitor.page
    response = page.goto("/no/such/page")
    assert response.status == 404
    screen = page.get_by_test_id("not-found")
    expect(screen.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page).to_have_title("Mend")  # neutral on every screen (issue 15)
    axe.scan(page, "page not found")
    page.get_by_test_id("not-found-home").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_test_id("tab-signup")).to_be_visible()
    assert visitor.exceptions == [], visitor.exceptions


# --- password reset by e-mail ---------------------------------------------------------------


class SmtpSink(socketserver.ThreadingTCPServer):
    """The smallest SMTP server smtplib will talk to: it keeps every message it is given."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int):
        self.messages: list[bytes] = []
        super().__init__(("127.0.0.1", port), _SmtpHandler)


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        data: list[bytes] | None = None
        for raw in self.rfile:
            if data is not None:
                if raw in (b".\r\n", b".\n"):
                    self.server.messages.append(b"".join(data))
                    data = None
                    self.reply("250 OK")
                else:
                    data.append(raw[1:] if raw.startswith(b"..") else raw)
                continue
            verb = raw[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sink")
            elif verb == b"DATA":
                data = []
                self.reply("354 end with .")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 OK")


@pytest.fixture
def mail_server(tmp_path):
    """Mend with MEND_SMTP_URL pointing at a sink on 127.0.0.1; yields (server, sink)."""
    sink = SmtpSink(free_port())
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    data_dir = tmp_path / "mend-mail"
    data_dir.mkdir()
    host, port = sink.server_address
    mend_port = free_port()
    server = MendServer(data_dir, "gevent", port=mend_port, env_extra={
        "MEND_SMTP_URL": f"smtp://{host}:{port}",
        # The reset link is built from this (never from the request's Host header).
        "MEND_PUBLIC_URL": f"http://127.0.0.1:{mend_port}",
    }).start()
    yield server, sink
    server.stop()
    sink.shutdown()
    sink.server_close()


def wait_for_mail(sink: SmtpSink, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sink.messages:
            return message_from_bytes(sink.messages[-1], policy=default_policy)
        time.sleep(0.05)
    raise AssertionError("no e-mail reached the SMTP sink")


def test_forgot_password_mails_a_link_that_sets_a_new_one(browser, mail_server):
    server, sink = mail_server
    kim = Browserless(server.url, "Kim").sign_up()
    someone = Person(browser, server.url, "Kim", {"width": 390, "height": 844})
    axe.serve_axe(someone.context, server.url)
    try:
        page = someone.page
        page.goto("/")
        page.get_by_test_id("switch-to-login").click()
        page.get_by_test_id("login-email").fill(kim.email)
        page.get_by_test_id("forgot-password").click()
        expect(page.get_by_test_id("forgot-email")).to_be_focused()
        expect(page.get_by_test_id("forgot-email")).to_have_value(kim.email)
        page.get_by_test_id("forgot-submit").click()
        expect(page.get_by_test_id("forgot-result")).to_have_text(HONEST_RESET_NOTE)
        axe.scan(page, "log in: forgot your password")

        mail = wait_for_mail(sink)
        assert mail["To"] == kim.email
        match = re.search(r"https?://\S+/reset/\S+", mail.get_content())
        assert match, mail.get_content()
        link = match.group(0)
        assert link.startswith(f"{server.url}/reset/"), link

        # An unknown address gets the very same words (and no mail).
        page.get_by_test_id("forgot-email").fill("nobody-here@example.test")
        page.get_by_test_id("forgot-submit").click()
        expect(page.get_by_test_id("forgot-result")).to_have_text(HONEST_RESET_NOTE)

        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
        axe.scan(page, "reset password")
        new_password = "a brand new password"
        page.get_by_test_id("reset-password").fill(new_password)
        page.get_by_test_id("reset-confirm").fill("something else entirely")
        page.get_by_test_id("reset-submit").click()
        expect(page.get_by_test_id("reset-error")).to_contain_text("don't match")
        expect(page.get_by_test_id("reset-confirm")).to_be_focused()
        page.get_by_test_id("reset-password").fill("short")
        page.get_by_test_id("reset-submit").click()
        expect(page.get_by_test_id("reset-error")).to_contain_text("at least 8 characters")
        page.get_by_test_id("reset-password").fill(new_password)
        page.get_by_test_id("reset-confirm").fill(new_password)
        page.get_by_test_id("reset-submit").click()

        # Home, logged in, with a word about what happened.
        expect(page.get_by_test_id("greeting")).to_contain_text("Kim")
        expect(page.get_by_test_id("home-notice")).to_contain_text("new password is saved")
        assert page.url.rstrip("/") == server.url

        # The link works once.
        page.goto(link)
        page.get_by_test_id("reset-password").fill("yet another password")
        page.get_by_test_id("reset-confirm").fill("yet another password")
        page.get_by_test_id("reset-submit").click()
        expect(page.get_by_test_id("reset-error")).to_be_visible()
        expect(page.get_by_test_id("reset-submit")).to_be_enabled()

        # The new password logs in; the old one does not.
        fresh = Browserless(server.url, "Kim")
        fresh.email = kim.email
        fresh.password = new_password
        fresh.log_in()
        assert kim.post("/auth/login", {"email": kim.email,
                                        "password": kim.password}).status_code == 401
        assert someone.exceptions == [], someone.exceptions
    finally:
        someone.close()
        kim.close()
