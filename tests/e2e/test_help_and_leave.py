"""Get help and Leave quickly, in Chromium, at desktop (1280 px) and phone (390 px) sizes.

* Get help is on the sign-up screen and mid-session; it shows the country from the browser's
  language, links phone numbers as tel: and texts as sms:, keeps focus inside, closes on Esc
  and gives focus back. Asking for help sends nothing over the socket, changes nothing in the
  session, and its HTTP request carries no cookie and no referrer.
* Leave quickly (the button, or Shift three times even while typing, never while typing
  capitals) blanks the page, signals the app to close its socket, and replaces the history
  entry with the neutral page: Back does not return to the session, and the socket closes.

The neutral page is this server's /healthz (MEND_LEAVE_URL), so the test stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest

from tests.e2e import flows
from tests.e2e.conftest import Person
from tests.e2e.flows import expect
from tests.live.conftest import MendServer

pytestmark = pytest.mark.e2e

LEAVE_PATH = "/healthz?left=1"
_EVENT = re.compile(r"^42\d*(\[.*\])$", re.DOTALL)


@pytest.fixture
def mend_server(tmp_path):
    """The conftest's server, with Leave quickly pointed at a page on the same server."""
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    server = MendServer(data_dir, "gevent")
    server.env_extra = {"MEND_LEAVE_URL": f"{server.url}{LEAVE_PATH}"}
    server.start()
    yield server
    server.stop()


def event_names(chunks: list[str]) -> list[str]:
    """Socket.IO event names in raw frames / polling bodies, in order."""
    names = []
    for chunk in chunks:
        for packet in re.split(r"[\x1e\n]", chunk):
            match = _EVENT.match(packet)
            if match:
                with contextlib.suppress(ValueError):
                    names.append(json.loads(match.group(1))[0])
    return names


def received_events(person: Person) -> list[str]:
    return event_names([person.received()])


def sent_events(person: Person) -> list[str]:
    return event_names(list(person._sent))


def record_help_requests(page) -> list:
    requests = []
    page.on("request", lambda req: "/api/v1/help" in req.url and requests.append(req))
    return requests


def expect_no_cookie_or_referrer(requests) -> None:
    assert requests, "no request for the help list was seen"
    for req in requests:
        headers = req.all_headers()
        assert "cookie" not in headers, req.url
        assert "referer" not in headers, req.url
        assert "/s/" not in req.url


def open_help(page):
    button = page.get_by_test_id("get-help")
    expect(button).to_be_in_viewport()
    button.click()
    dialog = page.get_by_test_id("help-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("help-resource").first).to_be_visible()
    return dialog


def expect_fits(page, dialog, width: int) -> None:
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def focus_is_in_dialog(page) -> bool:
    return page.evaluate("document.getElementById('help-dialog').contains(document.activeElement)")


@pytest.mark.parametrize(("width", "locale", "country", "first_number"), [
    (1280, "en-US", "US", "tel:988"),
    (390, "en-GB", "GB", "tel:116123"),
])
def test_get_help_on_the_sign_up_screen(browser, mend_server, width, locale, country,
                                        first_number):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale=locale,
                                  base_url=mend_server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests = record_help_requests(page)
    try:
        page.goto("/")
        page.get_by_test_id("tab-signup").click()
        expect(page.get_by_test_id("signup-email")).to_be_visible()

        dialog = open_help(page)
        assert focus_is_in_dialog(page)
        # The country comes from the browser's language; its numbers are links.
        expect(dialog.get_by_test_id("help-country")).to_have_value(country)
        expect(dialog.locator(f'a[href="{first_number}"]')).to_have_count(1)
        for link in dialog.locator('a[href^="http"]').all():
            assert link.get_attribute("rel") == "noopener noreferrer"
            assert link.get_attribute("target") == "_blank"
        if country == "US":
            expect(dialog.locator('a[href="sms:88788?body=START"]')).to_have_text(
                "Text START to 88788")
        if country == "GB":
            expect(dialog).to_contain_text("Samaritans")
        expect(dialog.get_by_test_id("help-leave-note")).to_contain_text("What it cannot hide")
        expect_fits(page, dialog, width)

        # The rest of the page is inert: Tab never leaves the dialog for the page behind.
        for _ in range(25):
            page.keyboard.press("Tab")
            assert page.evaluate(
                "(() => { const el = document.activeElement;"
                " return !el || el === document.body"
                " || document.getElementById('help-dialog').contains(el); })()"
            )

        # Another country: its list, fetched without cookies.
        dialog.get_by_test_id("help-country").select_option("AU")
        expect(dialog.locator('a[href="tel:131114"]')).to_have_text("Call 13 11 14")
        expect(dialog.locator('a[href="tel:1800737732"]')).to_be_visible()

        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(page.get_by_test_id("get-help")).to_be_focused()
        expect_no_cookie_or_referrer(requests)
        assert errors == []
    finally:
        context.close()


def test_help_mid_session_is_private_and_leaving_quickly_leaves_no_way_back(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    a.set_viewport_size({"width": 1280, "height": 900})
    sam_sockets = []
    b.on("websocket", lambda ws: sam_sockets.append(ws))
    help_requests = record_help_requests(a)
    dialogs = []
    for page in (a, b):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))

    session_id = flows.couple_in_session(alex, sam)
    session_url = f"{alex.base_url}/s/{session_id}"
    # Each viewer's version counts the changes they can see (a check answer is their own):
    # Sam's view must not move while Alex has help open.
    version = flows.session_state(sam, session_id)["session"]["version"]
    sent_before, received_before = len(sent_events(alex)), len(received_events(sam))

    # Alex opens Get help mid-session, changes country, closes it.
    dialog = open_help(a)
    dialog.get_by_test_id("help-country").select_option("GB")
    expect(dialog.locator('a[href="tel:116123"]')).to_be_visible()
    expect_fits(a, dialog, 1280)
    dialog.get_by_test_id("help-close").click()
    expect(dialog).to_be_hidden()
    expect(a.get_by_test_id("get-help")).to_be_focused()
    expect_no_cookie_or_referrer(help_requests)
    assert flows.session_state(sam, session_id)["session"]["version"] == version

    # A barrier: Alex starts writing, and Sam sees it. Socket traffic is ordered, so anything
    # opening help had sent would come before these.
    flows.step(a, flows.TEXT_STEP).get_by_test_id("answer-text").type("Thinking")
    expect(flows.step(b, flows.TEXT_STEP).get_by_test_id("partner-status")).to_contain_text(
        "Alex is writing")
    alex_sent = sent_events(alex)[sent_before:]
    sam_received = received_events(sam)[received_before:]
    assert alex_sent and alex_sent[0] == "presence:typing", alex_sent
    assert sam_received and sam_received[0] == "presence", sam_received

    # Sam, on a phone, can reach Get help mid-session too.
    expect_fits(b, open_help(b), 390)
    b.keyboard.press("Escape")
    expect(b.get_by_test_id("get-help")).to_be_focused()

    # Sam is writing (unsaved work, which normally asks "Leave site?").
    box = flows.step(b, flows.TEXT_STEP).get_by_test_id("answer-text")
    box.click()
    b.keyboard.type("I feel")
    # Capitals (Shift held with a letter) never count, nor do Shifts broken by another key.
    for _ in range(3):
        b.keyboard.press("Shift+A")
    for key in ("Shift", "Shift", "x", "Shift"):
        b.keyboard.press(key)
    expect(box).to_have_value("I feelAAAx")
    assert b.evaluate("document.body.className") != "left-quickly"
    assert b.url == session_url

    # What the page does on the way out, written where the neutral page (same origin in this
    # test) can read it back: the app's leave signal, on an already blank page.
    b.evaluate("""() => {
        const real = window.__mendSocket;
        window.__mendSocket = { disconnect() {
            sessionStorage.setItem('socket-disconnected', 'yes'); real?.disconnect(); } };
        window.addEventListener('mend:leave', () => sessionStorage.setItem('leave-event',
            JSON.stringify({children: document.body.childElementCount, title: document.title})));
    }""")
    history_before = b.evaluate("history.length")
    b.keyboard.type("!")  # still typing when it's needed
    for _ in range(3):
        b.keyboard.press("Shift")
    b.wait_for_url(f"**{LEAVE_PATH}")

    assert dialogs == []  # no "Leave site?" on the way out
    assert b.evaluate("history.length") == history_before  # replaced, not pushed
    assert json.loads(b.evaluate("sessionStorage.getItem('leave-event')")) == {
        "children": 0, "title": ""}
    assert b.evaluate("sessionStorage.getItem('socket-disconnected')") == "yes"
    # The socket is closed: the server tells Alex that Sam has gone. (Playwright reports no
    # "close" for a WebSocket a navigation tore down, so the server's view is the witness.)
    assert sam_sockets
    expect(a.get_by_test_id("participant").filter(has_text="Sam")).not_to_have_class(
        re.compile(r"\bonline\b"))
    b.go_back()
    assert b.url != session_url and "/s/" not in b.url

    # Alex, at 1280 px, uses the button.
    history_before = a.evaluate("history.length")
    a.get_by_test_id("leave-quickly").click()
    a.wait_for_url(f"**{LEAVE_PATH}")
    assert a.evaluate("history.length") == history_before
    assert dialogs == []
    assert alex.exceptions == [] and sam.exceptions == []
