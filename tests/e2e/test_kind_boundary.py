"""The boundary step in two real browsers: private lists (with a gentle flag while writing),
the reveal, one item agreed, one countered and agreed, one parked; the agreements list."""

from __future__ import annotations

import re

import pytest

from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks
from tests.integration.test_kind_boundary import TRACK_ID, TRACK_YAML

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None



@pytest.fixture
def boundary_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


def progress(page, n: int) -> None:
    expect(page.get_by_test_id("step-progress")).to_have_text(f"Step {n} of 4")


def item(page, text: str):
    return page.get_by_test_id("boundary-item").filter(has_text=text)


def test_two_partners_agree_counter_and_park(boundary_people):
    alex, sam = boundary_people
    a, b = alex.page, sam.page
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    open_session(sam, a.url.rsplit("/", 1)[1])
    # The session's private check first, then the welcome card.
    pass_checks(alex, sam)
    for page in (a, b):
        progress(page, 1)
        page.get_by_test_id("continue-button").click()
    # The track's own check step opens the check again, with its question; once both
    # answered clear the session moves past it.
    for page in (a, b):
        progress(page, 2)
    pass_checks(alex, sam, answers={"go": "yes"})
    for page in (a, b):
        progress(page, 3)

    # Alex writes three items, adding rows with the button and with Ctrl+Enter.
    rows = a.get_by_test_id("boundary-row")
    rows.nth(0).get_by_test_id("boundary-need").fill("a call if you're running late")
    rows.nth(0).get_by_test_id("boundary-offer").fill("tell you my plans for the week")
    a.get_by_test_id("boundary-add").click()
    expect(rows.nth(1).get_by_test_id("boundary-need")).to_be_focused()
    a.keyboard.type("to see your phone password")
    # the shared rules (content/rules/boundary-flags.yaml) replace the track's own "monitoring"
    expect(rows.nth(1).get_by_test_id("boundary-flag")).to_contain_text("watch over your partner")
    rows.nth(1).get_by_test_id("boundary-offer").press("Control+Enter")
    expect(rows).to_have_count(3)
    rows.nth(2).get_by_test_id("boundary-offer").fill("cook every Sunday")
    expect(a.get_by_test_id("boundary-count")).to_have_text("3 of 3")
    expect(a.get_by_test_id("boundary-add")).to_be_disabled()
    axe.scan(a, "boundary: writing the list, with a flag")
    # The partner sees a status, never the words.
    expect(a.get_by_test_id("boundary-save-status")).to_have_text("Draft saved")
    a.reload()  # the draft comes back from the server, all three items
    expect(rows).to_have_count(3)
    expect(rows.nth(2).get_by_test_id("boundary-offer")).to_have_value("cook every Sunday")
    expect(rows.nth(1).get_by_test_id("boundary-flag")).to_be_visible()
    expect(b.get_by_test_id("boundary-partner-status")).to_contain_text("Alex is writing")
    a.get_by_test_id("boundary-share").click()
    expect(a.get_by_test_id("boundary-own-list")).to_contain_text("cook every Sunday")
    expect(b.get_by_test_id("boundary-partner-status")).to_contain_text("Alex has shared")
    assert "running late" not in b.content() and "running late" not in sam.received()
    # Until Sam shares, Alex can take the list back into the editor to change it (issue 16,
    # item 6); Sam's screen no longer says it is shared, and sharing again says so again.
    a.get_by_test_id("boundary-take-back").click()
    expect(rows.nth(2).get_by_test_id("boundary-offer")).to_have_value("cook every Sunday")
    expect(b.get_by_test_id("boundary-partner-status")).not_to_contain_text("Alex has shared")
    a.get_by_test_id("boundary-share").click()
    expect(a.get_by_test_id("boundary-own-list")).to_contain_text("cook every Sunday")
    expect(b.get_by_test_id("boundary-partner-status")).to_contain_text("Alex has shared")

    # Over the limit (300 here): nothing is cut, one line under the box says so, and
    # Share puts the keyboard back in that box instead of sending.
    long_need = "a quiet hour after work " * 14  # 336 characters
    need_b = b.get_by_test_id("boundary-need")
    need_b.fill(long_need)
    expect(need_b).to_have_value(long_need)
    # one message on the page (the other box's line is empty and hidden), not several
    expect(b.locator('[data-testid="boundary-limit"]:visible')).to_have_count(1)
    expect(b.locator('[data-testid="boundary-limit"]:visible')).to_have_text(
        "36 characters over the limit of 300. Nothing has been cut, but it can't be saved or "
        "sent until it's shorter.")
    expect(need_b).to_have_attribute("aria-invalid", "true")
    expect(b.get_by_test_id("boundary-save-status")).to_have_text("")
    b.get_by_test_id("boundary-share").click()
    expect(need_b).to_be_focused()
    expect(a.get_by_test_id("boundary-partner-status")).not_to_contain_text("Sam has shared")
    need_b.fill("a quiet hour after work")
    b.get_by_test_id("boundary-share").click()

    # The reveal: both lists. The flag on Alex's words is Alex's alone: Sam never sees it.
    for page in (a, b):
        expect(page.get_by_test_id("boundary-item")).to_have_count(4)
    expect(item(a, "phone password").get_by_test_id("boundary-item-flag")).to_be_visible()
    expect(item(b, "phone password").get_by_test_id("boundary-item-flag")).to_have_count(0)
    expect(b.get_by_test_id("boundary-item-flag")).to_have_count(0)
    # Alex can't answer their own item; Sam can.
    expect(item(a, "running late").get_by_test_id("boundary-agree")).to_have_count(0)
    expect(item(a, "running late").get_by_test_id("boundary-waiting")).to_contain_text("Sam")

    # One agree.
    item(b, "running late").get_by_test_id("boundary-agree").click()
    for page in (a, b):
        expect(item(page, "running late")).to_have_attribute("data-state", "agreed")
    # One counter, then agreed by the other side.
    item(b, "cook every Sunday").get_by_test_id("boundary-counter").click()
    form = item(b, "cook every Sunday").get_by_test_id("boundary-counter-form")
    form.get_by_test_id("boundary-counter-offer").fill("cook on the first Sunday of the month")
    form.get_by_test_id("boundary-counter-note").fill("Sundays are often busy")
    form.get_by_test_id("boundary-counter-send").click()
    countered = item(a, "first Sunday of the month")
    expect(countered).to_have_attribute("data-state", "countered")
    expect(countered).to_contain_text("Sundays are often busy")
    axe.scan(a, "boundary: items after the reveal, a counter to answer")
    expect(item(b, "first Sunday").get_by_test_id("boundary-waiting")).to_contain_text("Alex")
    countered.get_by_test_id("boundary-agree").click()
    for page in (a, b):
        expect(item(page, "first Sunday")).to_have_attribute("data-state", "agreed")
    # Let's talk, then park.
    item(b, "phone password").get_by_test_id("boundary-talk").click()
    expect(item(a, "phone password").get_by_test_id("boundary-talk-mark")).to_be_visible()
    expect(b.get_by_test_id("boundary-open-count")).to_contain_text("2 items still open")
    item(b, "phone password").get_by_test_id("boundary-park").click()
    for page in (a, b):
        expect(item(page, "phone password")).to_have_attribute("data-state", "parked")
    item(a, "quiet hour").get_by_test_id("boundary-agree").click()

    # The agreements, for both; then both move on.
    for page in (a, b):
        agreements = page.get_by_test_id("boundary-agreement")
        expect(agreements).to_have_count(3)
        expect(page.get_by_test_id("boundary-agreements")).to_contain_text(
            "I'll cook on the first Sunday of the month")
        expect(page.get_by_test_id("boundary-agreements")).not_to_contain_text("password")
    a.get_by_test_id("ready-button").click()
    b.get_by_test_id("ready-button").click()
    for page in (a, b):
        progress(page, 4)
    # Left behind, the step folds to one line like any finished step; open, it reads back.
    done = a.get_by_test_id("step-lists").get_by_test_id("step-done")
    expect(done.get_by_test_id("boundary-item")).to_have_count(4)
    expect(done.get_by_test_id("boundary-item").first).to_be_hidden()
    done.locator("summary").click()
    expect(done.get_by_test_id("boundary-agreement")).to_have_count(3)
    expect(done.get_by_test_id("boundary-agree")).to_have_count(0)

    # The summary page: every item with where it ended up.
    b.goto(a.url.replace(a.url.split("/s/")[0], "") + "/summary")
    summary = b.get_by_test_id("summary-boundary")
    expect(summary.get_by_test_id("summary-boundary-item")).to_have_count(4)
    expect(summary).to_contain_text("phone password — parked for now")
    expect(summary).to_contain_text("3 agreements")
    axe.scan(b, "boundary: the summary page")
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)
