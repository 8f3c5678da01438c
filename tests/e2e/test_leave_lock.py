"""Leave quickly leaves no way back in (issue 15), in Chromium at 390 px and 1280 px.

Alex moves around Mend (home, a session, the account page, home again) with a second tab
open, then leaves quickly (the button, later Shift three times). Then:

* Back, pressed until there is nothing left, never shows a Mend screen, nor Alex's name:
  moving between screens added no history entry, and the one entry was replaced;
* the second tab of the same log-in turns into the lock screen at once;
* opening Mend's address again shows only "Enter your password to continue" (no name, no
  e-mail); a wrong password is refused, the right one opens the same screen again;
* on every screen visited, the tab's title is "Mend" and the first Tab reaches Leave quickly.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.e2e import flows
from tests.e2e.flows import expect
from tests.e2e.test_help_and_leave import LEAVE_PATH, mend_server  # noqa: F401  (neutral page)

pytestmark = pytest.mark.e2e

MAX_BACK = 8


def expect_neutral_screen(page) -> None:
    """The tab's title says only "Mend", and the first Tab from where the screen put focus
    goes to Leave quickly."""
    expect(page).to_have_title("Mend")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("leave-quickly")).to_be_focused()


def expect_nothing_of(page, person, email: str) -> None:
    text = page.content()
    assert person.name not in text and email not in text, page.url


def expect_lock_screen(page, person, email: str) -> None:
    expect(page.get_by_test_id("lock-screen")).to_be_visible()
    expect(page.get_by_test_id("lock-screen")).to_contain_text("Enter your password to continue")
    expect(page.get_by_test_id("whoami")).to_have_count(0)
    expect_nothing_of(page, person, email)


def is_mend_screen(url: str, base_url: str) -> bool:
    parts = urlsplit(url)
    return url.startswith(base_url) and parts.path != "/healthz"


def press_back_until_the_start(page, person, email: str, *, mend_loads: int) -> list[str]:
    """Back, again and again, until there is nothing before. Each place reached shows
    nothing of Mend or of the person. Moving between Mend's screens leaves no entry, so the
    only Mend places Back can reach are the `mend_loads` page loads the person made by
    address; those show the lock screen and nothing else."""
    seen = []
    for _ in range(MAX_BACK):
        before = page.evaluate("history.length"), page.url
        page.go_back(wait_until="load")
        if page.url == before[1]:
            break  # nothing further back
        seen.append(page.url)
        if is_mend_screen(page.url, person.base_url):
            expect_lock_screen(page, person, email)
        expect_nothing_of(page, person, email)
    assert sum(is_mend_screen(url, person.base_url) for url in seen) == mend_loads, seen
    return seen


@pytest.mark.parametrize("width", [390, 1280])
def test_leave_quickly_locks_the_log_in_and_back_never_returns(person, width):
    alex, sam = person("Alex", width=width), person("Sam", width=390)
    a = alex.page
    flows.pair_up(alex, sam)
    email = a.evaluate("fetch('/api/v1/me').then(r => r.json()).then(b => b.user.email)")
    entries = a.evaluate("history.length")

    # A second tab of the same log-in, on the account page.
    second = alex.context.new_page()
    second.goto("/account")
    expect(second.get_by_test_id("account-page")).to_be_visible()
    expect_neutral_screen(second)

    # Home -> a session -> the account page -> home -> the session again.
    a.reload()
    expect(a.get_by_test_id("greeting")).to_contain_text("Alex")
    expect_neutral_screen(a)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_url = a.url
    expect(a.get_by_test_id("session-title")).to_be_visible()
    expect_neutral_screen(a)
    a.get_by_test_id("account-link").click()
    expect(a.get_by_test_id("account-page")).to_be_visible()
    expect(a.get_by_test_id("account-device-note")).to_be_visible()
    expect_neutral_screen(a)
    a.get_by_test_id("account-home").click()
    expect(a.get_by_test_id("greeting")).to_be_visible()
    expect_neutral_screen(a)
    a.goto(session_url.replace(alex.base_url, ""))  # a deep link (a page load of its own)
    expect(a.get_by_test_id("session-title")).to_be_visible()
    expect_neutral_screen(a)
    a.get_by_role("link", name=re.compile("home", re.I)).first.click()
    expect(a.get_by_test_id("greeting")).to_be_visible()
    a.get_by_test_id(f"session-link-{session_url.rsplit('/', 1)[1]}").first.click()
    expect(a.get_by_test_id("session-title")).to_be_visible()
    # Moving between screens added nothing to the tab's history (only the page loads did).
    assert a.evaluate("history.length") == entries + 1

    # Leave quickly, with the button.
    a.get_by_test_id("leave-quickly").click()
    a.wait_for_url(f"**{LEAVE_PATH}")
    # The other tab of the log-in shows only the lock, at once (its socket was closed).
    expect_lock_screen(second, alex, email)
    expect(second).to_have_title("Mend")
    # Alex loaded Mend by address twice: the first visit, then the deep link, whose entry
    # every later screen shared and Leave quickly replaced. Only the first visit is left.
    press_back_until_the_start(a, alex, email, mend_loads=1)

    # Reopening Mend's address: the lock, and nothing else.
    again = alex.context.new_page()
    again.goto(session_url)
    expect_lock_screen(again, alex, email)
    expect_neutral_screen(again)
    again.get_by_test_id("lock-password").fill("not my password")
    again.get_by_test_id("lock-submit").click()
    expect(again.get_by_test_id("lock-error")).to_be_visible()
    expect_lock_screen(again, alex, email)
    again.get_by_test_id("lock-password").fill(flows.PASSWORD)
    again.get_by_test_id("lock-submit").click()
    expect(again.get_by_test_id("session-title")).to_be_visible()  # where Alex was
    assert again.url == session_url

    # Sam was never locked.
    sam.page.reload()
    expect(sam.page.get_by_test_id("greeting")).to_contain_text("Sam")

    # Leave quickly with Shift three times, while typing in the session.
    again.get_by_test_id("leave-quickly").focus()
    for _ in range(3):
        again.keyboard.press("Shift")
    again.wait_for_url(f"**{LEAVE_PATH}")
    # This tab's own entry was replaced; the one before it (the address typed) is the
    # Mend page that was left: Back never gets past the lock to anything of Alex's.
    press_back_until_the_start(again, alex, email, mend_loads=0)
    reopened = alex.context.new_page()
    reopened.goto("/")
    expect_lock_screen(reopened, alex, email)
    expect_neutral_screen(reopened)
    assert alex.exceptions == [] and sam.exceptions == []


NOTE_PARTS = ("only you use", "cannot hide", "keyloggers", "e-mail", "private window")


def expect_device_note(page, testid: str) -> None:
    note = page.get_by_test_id(testid)
    expect(note).to_be_visible()
    for words in NOTE_PARTS:
        expect(note).to_contain_text(words)
    note.get_by_test_id(f"{testid}-help").click()
    dialog = page.get_by_test_id("help-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("help-close").click()
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_device_note_comes_before_first_use_and_stays_in_the_account(person, width):
    robin = person("Robin", width=width)
    page = robin.page
    page.goto("/")
    expect_device_note(page, "signup-device-note")  # before the account exists
    flows.sign_up(page, "Robin", flows.email_for("Robin", flows.new_suffix()))
    expect(page.get_by_test_id("greeting")).to_contain_text("Robin")
    expect_device_note(page, "home-device-note")  # first use: no couple yet
    page.get_by_test_id("account-link").click()
    expect_device_note(page, "account-device-note")
    assert robin.exceptions == []
