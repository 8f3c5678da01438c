"""The listening step in two real browsers (Alex at 1200 px, Sam at 390 px): who speaks
first, the listener says now is a good time, a share with a sentence starter, a mirror, a
correction and a second mirror, validate, empathise, heard "Not yet", the listener says it
back again, heard; the roles swap and the second round runs to "Partly" and an honest "come
back to this another time"; then both move on. Along the way: the partner without the floor
reads "It's Alex's turn to speak" by a closed input, the soft timer shows to the speaker
only, an over-long share is kept whole and not sent, a draft never reaches the partner's
browser, and the summary holds it all."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks, session_state
from tests.integration.test_kind_listening import TRACK_ID, TRACK_YAML

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e


@pytest.fixture
def listening_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


def wait_until(condition, message: str, timeout: float = 10.0) -> None:
    """Poll a condition (a server-side fact the page can't show) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def box(page):
    return page.get_by_test_id("step-listen")


def now_line(page):
    return box(page).get_by_test_id("listening-now")


def send(page, text: str) -> None:
    step = box(page)
    step.get_by_test_id("listening-input").fill(text)
    step.get_by_test_id("listening-send").click()


def test_a_full_speaker_listener_round_with_a_swap(listening_people):
    alex, sam = listening_people
    a, b = alex.page, sam.page
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    open_session(sam, session_id)
    pass_checks(alex, sam)

    # Opening: Alex asks to speak first; Sam is asked whether now is a good time.
    expect(now_line(b)).to_contain_text("Who would like to speak first?")
    box(a).get_by_test_id("listening-speak-first").click()
    expect(now_line(b)).to_contain_text("Alex would like to speak. Is now a good time")
    expect(now_line(a)).to_contain_text("once Sam says now is a good time")
    expect(box(a).get_by_test_id("listening-ready")).to_have_count(0)
    # "Not yet" is a choice, not an error: it offers a break.
    box(b).get_by_test_id("listening-not-yet").click()
    expect(box(a).get_by_test_id("listening-not-yet-note")).to_contain_text("Sam said not yet")
    expect(box(b).get_by_test_id("listening-break")).to_be_visible()
    # Sam agrees by keyboard.
    box(b).get_by_test_id("listening-ready").focus()
    b.keyboard.press("Enter")

    # Alex holds the floor; Sam's input is closed with the reason spelled out.
    expect(now_line(a)).to_contain_text("Your turn to speak")
    expect(box(a).get_by_test_id("listening-roles")).to_contain_text("Speaking: You")
    expect(box(b).get_by_test_id("listening-input")).to_be_disabled()
    expect(box(b).get_by_test_id("listening-closed")).to_contain_text("It's Alex's turn to speak")
    # The clock is the speaker's alone: the listener sees no countdown on Alex's words.
    expect(box(a).get_by_test_id("listening-timer")).to_contain_text("minutes left")
    expect(box(b).get_by_test_id("listening-timer")).to_have_count(0)
    expect(box(b)).not_to_contain_text("minutes left")
    axe.scan(b, "listening: the listener while the speaker holds the floor")

    # A sentence starter goes into Alex's box; the draft is saved but stays Alex's.
    draft = unique_marker("draft")
    box(a).get_by_test_id("listening-starter").first.click()
    expect(box(a).get_by_test_id("listening-input")).to_have_value("I feel ")
    expect(box(a).get_by_test_id("listening-input")).to_be_focused()
    a.keyboard.type(f"{draft}")
    wait_until(lambda: draft in json.dumps(session_state(alex, session_id)),
               "Alex's draft was never saved")
    # The draft outlives a reload (it is kept on the server, for Alex alone).
    a.reload()
    expect(box(a).get_by_test_id("listening-input")).to_have_value(f"I feel {draft}")
    # Too long: one message, the words stay whole in the box, nothing is sent.
    long_words = unique_marker("toolong") + " " + "x" * 300
    box(a).get_by_test_id("listening-input").fill(long_words)
    limit = box(a).get_by_test_id("listening-limit")
    expect(limit).to_contain_text(f"{len(long_words) - 300} characters over the limit of 300")
    expect(limit).to_contain_text("Nothing has been cut")
    box(a).get_by_test_id("listening-send").click()
    expect(box(a).get_by_test_id("listening-input")).to_be_focused()
    expect(box(a).get_by_test_id("listening-input")).to_have_value(long_words)
    expect(box(a).locator(".over-limit, [role=alert]")).to_have_count(1)
    assert "toolong" not in json.dumps(session_state(sam, session_id))
    shared = unique_marker("shared")
    send(a, f"I feel left out when plans change, because I need a say {shared}")
    expect(box(b).get_by_test_id("listening-turns")).to_contain_text(shared)
    assert draft not in b.content() and draft not in sam.received()

    # Sam mirrors; Alex corrects; Sam mirrors again; Alex confirms.
    expect(now_line(b)).to_contain_text("Say back what you heard Alex say")
    for page in (a, b):
        expect(box(page)).not_to_contain_text("null")  # nothing empty drawn as text
    axe.scan(a, "listening: the conversation so far, the speaker waiting")
    send(b, "You feel left out when plans change")
    expect(now_line(a)).to_contain_text("Did Sam get it?")
    expect(box(b).get_by_test_id("listening-closed")).to_contain_text("It's Alex's turn")
    send(a, "And I need to be asked first")
    expect(box(b).get_by_test_id("listening-turns")).to_contain_text("asked first")
    send(b, "You need to be asked first")
    box(a).get_by_test_id("listening-confirm").click()
    expect(now_line(b)).to_contain_text("what makes sense")
    send(b, "It makes sense that you felt left out")
    send(b, "I imagine you felt alone")
    # "Not yet" doesn't end the round: Alex chooses what would help.
    box(a).get_by_test_id("heard-not_yet").click()
    expect(now_line(a)).to_contain_text("You didn't feel fully heard yet")
    expect(now_line(b)).to_contain_text("Alex didn't feel fully heard yet")
    expect(box(b)).not_to_contain_text("been heard")
    expect(box(b).get_by_test_id("listening-roles")).to_contain_text("Round 1 of 2")
    axe.scan(a, "listening: the speaker chooses after 'Not yet'")
    box(a).get_by_test_id("listening-reflect-again").click()
    expect(now_line(b)).to_contain_text("Say back what you heard Alex say")
    send(b, "You need a say, and to be asked first, and it hurt to be left out")
    box(a).get_by_test_id("listening-confirm").click()
    send(b, "That makes sense to me")
    send(b, "I imagine it stung")
    box(a).get_by_test_id("heard-yes").click()

    # Roles swap: Sam speaks once Alex says now is a good time.
    expect(now_line(a)).to_contain_text("Sam would like to speak. Is now a good time")
    expect(box(b).get_by_test_id("listening-roles")).to_contain_text("Round 2 of 2")
    expect(now_line(b)).to_have_text("You'll speak once Alex says now is a good time to listen.")
    box(a).get_by_test_id("listening-ready").click()
    expect(box(a).get_by_test_id("listening-closed")).to_contain_text("It's Sam's turn to speak")
    send(b, "I feel rushed when we plan late")
    # Alex mirrors from the keyboard: Ctrl+Enter sends.
    box(a).get_by_test_id("listening-input").fill("You feel rushed")
    box(a).get_by_test_id("listening-input").press("Control+Enter")
    expect(box(b).get_by_test_id("listening-turns")).to_contain_text("You feel rushed")
    box(b).get_by_test_id("listening-confirm").click()
    send(a, "It makes sense")
    send(a, "I imagine it's tiring")
    box(b).get_by_test_id("heard-partly").click()
    expect(now_line(a)).to_contain_text("Sam didn't feel fully heard yet")
    box(b).get_by_test_id("listening-come-back").click()

    # An honest ending, in words that say so; never "you've both been heard".
    for page in (a, b):
        expect(now_line(page)).to_contain_text("come back to this another time")
        expect(box(page)).not_to_contain_text("both spoken and been heard")
        turns = box(page).get_by_test_id("listening-turn")
        expect(turns).to_have_count(19)
    expect(now_line(a)).to_contain_text("Sam didn't feel fully heard yet")
    expect(now_line(b)).to_contain_text("You didn't feel fully heard yet")
    axe.scan(b, "listening: come back to this another time")
    box(a).get_by_test_id("ready-button").click()
    box(b).get_by_test_id("ready-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text("Step 2 of 2")

    # The summary holds the conversation for both.
    for page in (a, b):
        page.goto(f"/s/{session_id}/summary")
        expect(page.get_by_test_id("summary-listening")).to_contain_text(shared)
        expect(page.get_by_test_id("summary-listening")).to_contain_text("Partly")
        expect(page.get_by_test_id("summary-listening-outcome")).to_have_text(
            "You agreed to come back to this another time.")
    axe.scan(b, "listening: the summary page")
    assert not alex.exceptions and not sam.exceptions
