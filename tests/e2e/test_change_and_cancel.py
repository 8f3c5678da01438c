"""Changing one's mind, in two browsers (Alex at 1200 px, Sam at 390 px; issue 16, item 6):
"Edit my answer" and "Take it back" until the partner submits, seen on the partner's open
screen; cancelling a session with a confirmation, told in a sentence on the other's open
screen; Start asks first and preselects the suggested track; two Starts on different
tracks at once are each told of the other and can join one. Axe on each new screen."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe, flows
from tests.e2e.flows import expect
from tests.e2e.test_counsellor import counsellor  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

STEP = flows.TEXT_STEP
OTHER_TRACK = "small-steps-of-appreciation"


@pytest.fixture
def partners(partners):
    """The shared pair (Alex at 1200 px, Sam at 390 px), able to load axe-core."""
    for person in partners:
        axe.serve_axe(person.context, person.base_url)
    return partners


def assert_no_sideways_scroll(page) -> None:
    width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] == width[1], f"the page scrolls sideways: {width}"


def test_edit_and_take_back_an_answer_until_the_partner_submits(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    flows.couple_in_session(alex, sam)
    step_a, step_b = flows.step(a, STEP), flows.step(b, STEP)
    first, edited, taken = (unique_marker(n) for n in ("first", "edited", "taken"))

    flows.write_draft(a, STEP, f"Trust is {first}.")
    flows.submit(a, STEP)
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")
    expect(step_a.get_by_test_id("edit-answer")).to_be_visible()
    expect(step_a.get_by_test_id("withdraw-answer")).to_have_text("Take it back")
    axe.scan(a, "answer sent, can still change it", include=f'[data-testid="step-{STEP}"]')

    # Edit: the editor opens on the sent words (keyboard: Enter on the button); the answer
    # stands until saved, so Sam still reads "submitted".
    step_a.get_by_test_id("edit-answer").focus()
    a.keyboard.press("Enter")
    box = step_a.get_by_test_id("answer-text")
    expect(box).to_have_value(f"Trust is {first}.")
    expect(box).to_be_focused()
    expect(step_a.get_by_test_id("submit-answer")).to_have_text("Save my changes")
    axe.scan(a, "editing a sent answer", include=f'[data-testid="step-{STEP}"]')
    box.fill(f"Trust is {edited}.")
    step_a.get_by_test_id("submit-answer").click()
    expect(step_a.get_by_test_id("my-answer")).to_contain_text(edited)
    expect(step_a.get_by_test_id("submit-status")).to_have_text("Submitted")
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")

    # Take it back: the words come back into Alex's box; Sam's screen no longer says
    # submitted.
    step_a.get_by_test_id("withdraw-answer").click()
    expect(step_a.get_by_test_id("answer-text")).to_have_value(f"Trust is {edited}.")
    expect(step_a.get_by_test_id("submit-answer")).to_have_text("Submit my answer")
    expect(step_b.get_by_test_id("partner-status")).not_to_contain_text("submitted")
    axe.scan(b, "partner took their answer back", include=f'[data-testid="step-{STEP}"]')

    step_a.get_by_test_id("answer-text").fill(f"Trust is {taken}.")
    step_a.get_by_test_id("submit-answer").click()
    expect(step_a.get_by_test_id("submit-status")).to_have_text("Submitted")
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")

    # Sam submits: the reveal shows Alex's last answer only; the edit buttons are gone.
    assert_no_sideways_scroll(b)
    step_b.get_by_test_id("answer-text").fill("Sam's words")
    step_b.get_by_test_id("submit-answer").click()
    flows.expect_reveal(a, STEP, taken, "Sam's words", "Sam")
    flows.expect_reveal(b, STEP, "Sam's words", taken, "Alex")
    expect(step_a.get_by_test_id("edit-answer")).to_have_count(0)
    for marker in (first, edited):
        assert marker not in sam.received(), "a replaced or withdrawn answer reached Sam"
        assert marker not in b.content()
    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_sam_cancels_and_alexs_open_screen_says_so(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    flows.pair_up(alex, sam)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    flows.open_session(sam, session_id)
    # While the private check is open, its anonymous "Not today" is the way out: no named
    # cancel is offered beside it.
    expect(b.get_by_test_id("check")).to_be_visible()
    expect(b.get_by_test_id("cancel-session")).to_have_count(0)
    flows.pass_checks(alex, sam)
    flows.pass_info_card(alex, sam)
    unshown = unique_marker("unshown")
    flows.write_draft(a, STEP, f"Not shown: {unshown}")
    flows.submit(a, STEP)

    # Sam (390 px) asks to cancel; a confirmation says what happens; "Keep going" keeps it.
    b.get_by_test_id("cancel-session").click()
    confirm = b.get_by_test_id("cancel-confirm")
    expect(confirm).to_contain_text("Alex will be told")
    expect(b.locator("#cancel-question")).to_be_focused()
    axe.scan(b, "cancel confirmation")
    assert_no_sideways_scroll(b)
    b.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(b.get_by_test_id("cancel-session")).to_be_focused()
    b.get_by_test_id("cancel-session").click()
    b.get_by_test_id("confirm-cancel").click()

    for page, sentence in ((a, "Sam cancelled this session."), (b, "You cancelled this session.")):
        banner = page.get_by_test_id("finished-banner")
        expect(banner.locator("#finished-title")).to_have_text("This session was cancelled")
        expect(banner.get_by_test_id("ended-text")).to_contain_text(sentence)
        expect(page.get_by_test_id("cancel-session")).to_have_count(0)
    axe.scan(a, "cancelled session (the other partner's open screen)")
    assert unshown not in sam.received() and unshown not in b.content()
    for person in (alex, sam):
        assert flows.session_state(person, session_id)["session"]["status"] == "cancelled"
    # Home lists it as cancelled.
    a.get_by_test_id("back-home").click()
    expect(a.get_by_test_id(f"session-{session_id}")).to_contain_text("Cancelled")
    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_start_asks_first_and_two_starts_at_once_can_join_one(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    flows.pair_up(alex, sam)
    b.reload()
    # The suggested track is the one chosen when the home opens.
    for page in (a, b):
        suggested = page.get_by_test_id("track-suggested")
        expect(suggested).to_be_visible()
        expect(page.locator('input[name="track"]:checked')).to_have_count(1)
        checked = page.locator('input[name="track"]:checked').get_attribute("value")
        expect(page.locator(f'label[for="track-{checked}"]')).to_contain_text("Suggested next")

    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    expect(a.get_by_test_id("start-confirm")).to_contain_text(
        f"Start “{flows.TRACK_TITLE}” with Sam?")
    axe.scan(a, "start confirmation")
    a.get_by_test_id("cancel-start").click()
    expect(a.get_by_test_id("start-confirm")).to_have_count(0)
    expect(a.get_by_test_id("start-session")).to_be_focused()

    # Both confirm different tracks at the same instant: each lands in their own session.
    a.get_by_test_id("start-session").click()
    b.get_by_test_id(f"track-{OTHER_TRACK}").check()
    b.get_by_test_id("start-session").click()
    for page in (a, b):
        expect(page.get_by_test_id("confirm-start")).to_be_visible()
    at = a.evaluate("Date.now()") + 400
    for page in (a, b):
        page.evaluate("""(at) => { setTimeout(() => document.querySelector(
            '[data-testid="confirm-start"]').click(), Math.max(0, at - Date.now())); }""", at)
    for page in (a, b):
        page.wait_for_url(re.compile(r"/s/[^/]+$"))
    ids = {name: page.url.rsplit("/", 1)[1] for name, page in (("a", a), ("b", b))}
    assert ids["a"] != ids["b"]

    # Each is told of the other's choice, on their own open screen.
    expect(a.get_by_test_id("two-starts-line")).to_contain_text("Sam started “")
    expect(b.get_by_test_id("two-starts-line")).to_contain_text(
        f"Alex started “{flows.TRACK_TITLE}”")
    axe.scan(b, "two starts at once")
    assert_no_sideways_scroll(b)
    # Sam joins Alex's: Sam's own is called off, and Alex's notice goes away.
    b.get_by_test_id("join-other-session").click()
    b.wait_for_url(re.compile(rf"/s/{ids['a']}$"))
    flows.expect_session_open(b)
    expect(a.get_by_test_id("two-starts-card")).to_have_count(0)
    assert flows.session_state(sam, ids["b"])["session"]["status"] == "cancelled"
    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_the_counsellor_in_the_session_sees_the_cancel_on_their_open_screen(
        partners, counsellor, mend_server):  # noqa: F811 (the imported fixture)
    from tests.e2e.test_counsellor import counsellor_in_session

    alex, sam = partners
    jo = counsellor
    a, c = alex.page, jo.page
    session_id = counsellor_in_session(alex, sam, jo, mend_server)
    expect(c.get_by_test_id("moderation-panel")).to_be_visible()
    # Only partners are offered the cancel; the counsellor has their own end.
    expect(c.get_by_test_id("cancel-session")).to_have_count(0)
    a.get_by_test_id("cancel-session").click()
    a.get_by_test_id("confirm-cancel").click()
    banner = c.get_by_test_id("finished-banner")
    expect(banner.locator("#finished-title")).to_have_text("This session was cancelled")
    expect(banner.get_by_test_id("ended-text")).to_contain_text("Alex cancelled this session.")
    expect(c.get_by_test_id("mod-finished")).to_contain_text("cancelled by a partner")
    axe.scan(c, "cancelled session (the counsellor's open screen)")
    assert flows.session_state(jo, session_id)["session"]["status"] == "cancelled"
