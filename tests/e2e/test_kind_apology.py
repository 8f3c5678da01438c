"""The apology step in two real browsers: Alex offers to apologise and Sam says yes; Sam
speaks first; Alex mirrors, then writes the apology in parts while a gentle hint flags a
"but"; a break is called in the middle and both come back with the draft intact; the
apology reaches Sam only when sent (the draft never reaches Sam's browser); Sam says back
what they heard and answers with one of three equal choices; the summary keeps it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks
from tests.integration.test_kind_apology import TRACK_ID
from tests.integration.test_kind_apology import TRACK_YAML as APOLOGY_YAML

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e

# The integration test's track, opened like the shipped repair tracks: a welcome card, then
# the track's own check step (it opens the session's check again with its question), then
# the apology.
WELCOME = """  - id: welcome
    kind: info
    title: Before you begin
    body: One of you apologises, the other receives it.
"""
TRACK_YAML = APOLOGY_YAML.replace("steps:\n  - id: check\n", f"steps:\n{WELCOME}  - id: check\n")
assert TRACK_YAML != APOLOGY_YAML


@pytest.fixture
def apology_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


def box(page):
    return page.get_by_test_id("step-sorry")


def fill(page, part: str, text: str) -> None:
    box(page).get_by_test_id(f"apology-field-{part}").fill(text)


def start(alex, sam) -> str:
    """Pair up, start the test track, pass the private checks; returns the session id."""
    a, b = alex.page, sam.page
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    open_session(sam, session_id)
    # The session's private check (content/check.yaml) comes before any step.
    pass_checks(alex, sam)
    for page in (a, b):
        page.get_by_test_id("step-welcome").get_by_test_id("continue-button").click()
    # Then the track's own check step asks its question; the apology opens once both are
    # clear.
    pass_checks(alex, sam, answers={"carry_on": "yes"})
    for page in (a, b):
        expect(box(page)).to_be_visible()
        expect(page.get_by_test_id("step-progress")).to_have_text("Step 3 of 4")
    return session_id


def test_an_apology_with_a_break_in_the_middle(apology_people):
    alex, sam = apology_people
    a, b = alex.page, sam.page
    session_id = start(alex, sam)

    # Who is who: Alex offers, Sam agrees.
    box(a).get_by_test_id("apology-offer-apologising").click()
    expect(box(b).get_by_test_id("apology-offer")).to_contain_text("Alex would like to apologise")
    expect(box(a).get_by_test_id("apology-waiting")).to_contain_text("Waiting for Sam")
    box(b).get_by_test_id("apology-accept").click()

    # Sam, who was hurt, speaks first.
    expect(box(a).get_by_test_id("apology-waiting")).to_contain_text("Sam is")
    fill(b, "felt", "Left out and small")
    fill(b, "why", "Because I'd asked you twice")
    fill(b, "need", "To hear that you see it")
    box(b).get_by_test_id("apology-send-hurt").click()
    expect(box(a).get_by_test_id("apology-said-hurt")).to_contain_text("Left out and small")

    # Alex mirrors it back; Sam reads it.
    fill(a, "mirror", "You felt left out, because you had asked me twice")
    box(a).get_by_test_id("apology-send-mirror").click()
    expect(box(b).get_by_test_id("apology-said-mirror")).to_contain_text("asked me twice")

    # The apology, in parts: drafts are Alex's alone; a "but" earns a gentle hint.
    draft = unique_marker("apology-draft")
    fill(a, "act", f"I went out with friends after saying I'd stay in {draft}")
    fill(a, "impact", "You spent the evening waiting, feeling you didn't count")
    fill(a, "responsibility", "It was my choice, but you never said it mattered")
    hints = box(a).get_by_test_id("apology-hints-responsibility")
    expect(hints.get_by_test_id("apology-hint-but")).to_be_visible()
    expect(hints.get_by_test_id("apology-hint-you-always")).to_be_visible()
    assert hints.get_attribute("aria-live") == "polite"
    axe.scan(a, "apology: writing the parts, with hints")
    fill(a, "responsibility", "It was my choice, and I knew it mattered to you")
    expect(hints.get_by_test_id("apology-hint-but")).to_have_count(0)
    fill(a, "regret", "I'm sorry I left you waiting")
    fill(a, "change", "When I've said I'll stay in, I'll stay in")
    expect(box(a).get_by_test_id("apology-save-status")).to_contain_text("Saved")
    expect(box(b).get_by_test_id("apology-waiting")).to_contain_text("Alex is writing")

    # A break in the middle: the session pauses for both, then both come back.
    a.get_by_test_id("break-open").click()
    a.get_by_test_id("break-start").click()
    for page in (a, b):
        expect(page.get_by_test_id("break-panel")).to_be_visible()
    expect(box(a).get_by_test_id("apology-paused")).to_be_visible()
    expect(box(a).get_by_test_id("apology-send-apology")).to_have_attribute("aria-disabled", "true")
    for page in (a, b):
        page.get_by_test_id("break-back").click()
    for page in (a, b):
        expect(page.get_by_test_id("break-panel")).to_have_count(0)
    expect(box(a).get_by_test_id("apology-field-act")).to_have_value(re.compile(draft))
    assert draft not in b.content() and draft not in sam.received()

    expect(box(a).get_by_test_id("apology-paused")).to_have_count(0)

    # Sent: a one-way reveal to Sam.
    box(a).get_by_test_id("apology-send-apology").click()
    said = box(b).get_by_test_id("apology-said-apology")
    expect(said).to_contain_text(draft)
    expect(said).to_contain_text("I knew it mattered to you")
    expect(box(a).get_by_test_id("apology-waiting")).to_contain_text("saying back what they heard")

    # Sam says back what they heard, then chooses freely among three equal answers.
    fill(b, "reflect", "You chose to go out and you know it hurt")
    box(b).get_by_test_id("apology-send-reflect").click()
    expect(box(a).get_by_test_id("apology-said-reflect")).to_contain_text("you know it hurt")
    choices = [box(b).get_by_test_id(f"apology-choice-{c}").locator("xpath=..")
               for c in ("accept", "more_time", "more_of")]
    # Sam's own page may still be rendering Sam's move when Alex's shows it: measure the
    # three answers once they are all on Sam's screen.
    for choice in choices:
        expect(choice).to_be_visible()
    expect(box(b).get_by_test_id("apology-send-response")).to_be_visible()
    sizes = {(round(c.bounding_box()["width"]), round(c.bounding_box()["height"]))
             for c in choices}
    assert len(sizes) == 1, sizes  # the same size: no answer is the "right" one
    axe.scan(b, "apology: the reveal and the three answers")
    box(b).get_by_test_id("apology-choice-more_of").check()
    fill(b, "more", "Showing me, over the next weeks")
    box(b).get_by_test_id("apology-send-response").click()
    expect(box(a).get_by_test_id("apology-said-response")).to_contain_text("I need more of")
    expect(box(a).get_by_test_id("apology-said-response")).to_contain_text("next weeks")

    # The commitment is kept, and the summary holds the outcome for both.
    for page in (a, b):
        box(page).get_by_test_id("ready-button").click()
    for page in (a, b):
        page.goto(f"/s/{session_id}/summary")
        summary = page.get_by_test_id("summary-apology")
        expect(summary).to_contain_text("I need more of")
        expect(summary).to_contain_text("I'll stay in")
    axe.scan(b, "apology: the summary page")
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)


def test_not_now_is_a_full_answer_to_an_offer(apology_people):
    alex, sam = apology_people
    a, b = alex.page, sam.page
    start(alex, sam)
    box(b).get_by_test_id("apology-offer-hurt").click()
    expect(box(a).get_by_test_id("apology-offer")).to_contain_text("Sam says they were hurt")
    box(a).get_by_test_id("apology-decline").click()
    expect(box(b).get_by_test_id("apology-declined")).to_contain_text("Alex said not now")
    expect(box(a).get_by_test_id("apology-declined")).to_contain_text("You said not now")
    for page in (a, b):
        box(page).get_by_test_id("ready-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-after")).to_contain_text("That is all for today")
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)
