"""Three browsers (at 1280 px; the flag's walk at 390 px too): the counsellor's check-in
with each partner (issue 15).

Jo checks in with Alex and Sam: both screens show the same words, in the same wording,
and both Activities read "checked in with each of you privately". When a private check
comes back not all clear, Jo is told only to check in with each partner privately (a
banner, never who), a message to one of them is not offered, and the check-in from the
banner reaches both, also after the session stopped for today."""

from __future__ import annotations

import re

import pytest

from tests.checking import concerning_answers
from tests.conftest import unique_marker
from tests.e2e import axe, flows
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import expect
from tests.e2e.test_counsellor import (
    counsellor_in_session,
    grant,
    sign_up_asking_to_be_a_counsellor,
)

pytestmark = pytest.mark.e2e

SAID = "Jo (counsellor) checked in with each of you privately."


def messages_text(page) -> str:
    """What a partner's "Messages from your counsellor" card says, as read on screen."""
    return page.get_by_test_id("counsellor-messages").inner_text()


def expect_checked_in(page, words: str) -> None:
    """A partner's screen: the words as a message from Jo, and the Activity line."""
    message = page.get_by_test_id("counsellor-message").filter(has_text=words)
    expect(message).to_have_count(1)
    expect(message).to_have_attribute("data-checkin", "true")
    expect(message).to_contain_text("a check-in with each of you")
    activity = page.get_by_test_id("activity")
    if activity.get_attribute("open") is None:
        activity.locator("summary").click()
    expect(activity.get_by_test_id("activity-item").filter(has_text=SAID)).to_have_count(1)
    expect(activity).not_to_contain_text("sent a private message")


def test_a_check_in_reaches_both_partners_in_the_same_words(person, mend_server):
    alex, sam, jo = person("Alex"), person("Sam"), person("Jo")
    a, b, c = alex.page, sam.page, jo.page
    log = axe.AxeLog()
    counsellor_in_session(alex, sam, jo, mend_server)

    # From the normal controls, with the keyboard: open, write, send.
    opener = c.get_by_test_id("mod-checkin-open")
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.focus()
    c.keyboard.press("Enter")
    body = c.get_by_test_id("mod-checkin-body")
    expect(body).to_be_focused()
    axe.scan(c, "counsellor: check-in composer", log)
    # Nothing written: the composer says so and sends nothing.
    c.get_by_test_id("mod-checkin-send").click()
    expect(c.get_by_test_id("mod-error")).to_have_text("Write the check-in first.")
    expect(body).to_be_focused()
    marker = unique_marker("checkin")
    words = f"How is this feeling for you so far? {marker}"
    c.keyboard.type(words)
    c.keyboard.press("Control+Enter")
    expect(c.get_by_test_id("mod-checkin-status")).to_have_text(
        re.compile(r"^Sent to Alex and Sam, each privately, at "))
    expect(c.get_by_test_id("mod-checkin-open")).to_be_focused()
    note = c.get_by_test_id("mod-note").filter(has_text=marker)
    expect(note).to_have_count(1)  # one line for both copies
    expect(note).to_have_attribute("data-checkin", "true")
    expect(note).to_contain_text("Check-in with each partner, privately")

    # Both partners see it, in the same words and the same wording.
    for page in (a, b):
        expect_checked_in(page, marker)
    assert messages_text(a) == messages_text(b)
    expect(c.get_by_test_id("activity")).to_contain_text(
        "You checked in with each partner privately.")
    axe.scan(a, "partner: a check-in from the counsellor", log)

    # Each browser received its own copy only: one copy of the words each.
    assert alex.received().count(marker) == sam.received().count(marker) >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    for who in (alex, sam, jo):
        who.page.evaluate("window.scrollTo(0, 0)")
        who.page.screenshot(path=str(ARTIFACTS / f"counsellor-checkin-{who.name}.png"),
                            full_page=True)
    assert alex.errors == [] and sam.errors == [] and jo.errors == [], (
        alex.errors, sam.errors, jo.errors)
    print(log.report())


@pytest.mark.parametrize("width", [390, 1280])
def test_a_flag_asks_for_a_check_in_with_each_partner_never_one(person, mend_server, width):
    """Jo joins while the couple's private check is open; Alex's answers are not all clear.
    Jo's screen says only "Check in with each partner privately"; the check-in from that
    banner reaches both; after Alex stops for today, another still reaches both."""
    alex, sam, jo = (person(name, width=width) for name in ("Alex", "Sam", "Jo"))
    a, b, c = alex.page, sam.page, jo.page
    email = flows.email_for("jo", flows.new_suffix())
    c.goto("/")
    sign_up_asking_to_be_a_counsellor(jo, email)
    grant(mend_server, email)
    flows.pair_up(alex, sam)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    flows.open_session(sam, session_id)
    for page in (a, b):
        expect(page.get_by_test_id("check")).to_be_visible()

    # While the check is open, Alex invites a counsellor and Sam agrees; Jo joins.
    a.get_by_test_id("invite-counsellor").click()
    a.get_by_test_id("create-counsellor-invite").click()
    code = a.get_by_test_id("counsellor-invite-code").inner_text().strip()
    b.get_by_test_id("agree-counsellor").click()
    expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("both agreed")
    c.goto(f"/counsellor/join/{code}")
    c.get_by_test_id("counsellor-join-submit").click()
    c.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
    expect(c.get_by_test_id("moderation-panel")).to_be_visible()
    expect(c.get_by_test_id("checkin-banner")).to_have_count(0)

    # Alex's answers are not all clear; Sam's are. Jo learns only to check in with each.
    flows.answer_check(a, concerning_answers())
    expect(a.get_by_test_id("check-support")).to_be_visible()
    flows.answer_check(b)
    banner = c.get_by_test_id("checkin-banner")
    expect(banner).to_contain_text("Check in with each partner privately")
    for name in ("Alex", "Sam"):
        expect(banner).not_to_contain_text(name)
    # A message to one of them is not offered while the flag is up.
    for name in ("Alex", "Sam"):
        option = c.get_by_test_id("mod-note-to").locator("option", has_text=name)
        expect(option).to_be_disabled()
    expect(c.get_by_test_id("mod-note-flag-hint")).to_be_visible()
    axe.scan(c, "counsellor: a flag asks for a check-in")
    ARTIFACTS.mkdir(exist_ok=True)
    c.evaluate("window.scrollTo(0, 0)")
    c.screenshot(path=str(ARTIFACTS / "counsellor-checkin-flag-Jo.png"), full_page=True)

    c.get_by_test_id("checkin-banner-open").click()
    expect(c.get_by_test_id("mod-checkin-body")).to_be_focused()
    first = unique_marker("first")
    c.keyboard.type(f"I'm checking in with each of you. {first}")
    c.get_by_test_id("mod-checkin-send").click()
    expect(c.get_by_test_id("mod-checkin-status")).to_contain_text("Sent to Alex and Sam")
    for page in (a, b):
        expect_checked_in(page, first)
    assert messages_text(a) == messages_text(b)

    # Alex stops for today; the session has ended for both, and Jo can still check in.
    a.get_by_test_id("check-stop").click()
    for page in (a, b):
        expect(page.get_by_test_id("check")).to_be_hidden()
    expect(c.get_by_test_id("mod-finished")).to_be_visible()
    c.get_by_test_id("mod-checkin-open").click()
    second = unique_marker("second")
    c.get_by_test_id("mod-checkin-body").fill(f"Thinking of you both today. {second}")
    c.get_by_test_id("mod-checkin-send").click()
    for page in (a, b):
        message = page.get_by_test_id("counsellor-message").filter(has_text=second)
        expect(message).to_have_count(1)
        activity = page.get_by_test_id("activity")
        expect(activity.get_by_test_id("activity-item").filter(has_text=SAID)).to_have_count(2)
    assert messages_text(a) == messages_text(b)
    assert alex.errors == [] and sam.errors == [] and jo.errors == [], (
        alex.errors, sam.errors, jo.errors)
