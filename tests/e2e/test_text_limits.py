"""Words over a step's limit on a phone (390 px), in a prompt and in an apology part: the
paste stays whole in the box, exactly ONE message says so (no red save status, no second
warning by the button, no error line), pressing Send takes the keyboard back to the box and
sends nothing, no draft of the long words leaves the browser, and once shortened the words
save and send as written."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e

TRACK_ID = "limits-test-track"
TRACK_YAML = """
id: limits-test-track
title: Words and limits
summary: A test track with a short answer and an apology.
version: 1
steps:
  - id: note
    kind: prompt
    title: In a few words
    prompt: What is one thing on your mind today?
    answer: {type: text, max_length: 120}
  - id: sorry
    kind: apology
    title: An apology
    prompt: About what happened on Friday.
    settings: {max_length: 150}
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""

# Every place on a step that could carry a message about the words: the line under the box,
# the save status, the note by the button, the error line, the apology's own lines.
MESSAGE_PLACES = ("[data-testid=char-counter], [data-testid^=apology-limit-], "
                  "[data-testid=save-status], [data-testid=apology-save-status], "
                  "[data-testid=submit-blocked], [data-testid=submit-error], "
                  "[data-testid=apology-error], .field-error, .over-limit")


@pytest.fixture
def limit_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


def messages(box) -> list[str]:
    """The words of every visible message place in `box` that says anything."""
    found = box.locator(MESSAGE_PLACES).evaluate_all(
        """els => [...new Set(els)].filter(el => el.offsetParent !== null && el.textContent.trim())
                 .map(el => el.textContent.trim())""")
    return list(dict.fromkeys(found))


def expect_one_message(page, box, text: str) -> None:
    expect(box.locator(".over-limit")).to_have_count(1)
    expect(box.locator(".over-limit")).to_have_text(text)
    assert messages(box) == [text], messages(box)
    # No sideways scroll on the phone, however long the words.
    root = "document.documentElement"
    assert page.evaluate(f"{root}.scrollWidth <= {root}.clientWidth")


def over_by(over: int, limit: int) -> str:
    return (f"{over} characters over the limit of {limit}. "
            "Nothing has been cut, but it can't be saved or sent until it's shorter.")


def test_words_over_the_limit_stay_in_the_box_under_one_message_on_a_phone(limit_people):
    alex, sam = limit_people
    a, b = alex.page, sam.page  # Sam's browser is 390 px wide
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    open_session(sam, a.url.rsplit("/", 1)[1])
    pass_checks(alex, sam)

    # --- a prompt ---------------------------------------------------------------------
    box = b.get_by_test_id("step-note")
    text = box.get_by_test_id("answer-text")
    first = f"Short {unique_marker('first')}"
    text.fill(first)
    expect(box.get_by_test_id("save-status")).to_contain_text("Saved")
    long_text = f"{unique_marker('long')} " + "word " * 40  # 200 characters
    long_text = long_text[:200]
    text.fill(long_text)  # what a paste does: the whole value at once
    assert text.input_value() == long_text  # never cut
    expect_one_message(b, box, over_by(80, 120))
    expect(text).to_have_attribute("aria-invalid", "true")
    submit = box.get_by_test_id("submit-answer")
    expect(submit).to_have_attribute("aria-disabled", "true")
    # The button is still reachable, and points at the one message.
    counter_id = box.get_by_test_id("char-counter").get_attribute("id")
    expect(submit).to_have_attribute("aria-describedby", counter_id)
    axe.scan(b, "limits: a prompt answer over its limit, 390 px")
    submit.focus()
    b.keyboard.press("Enter")
    expect(text).to_be_focused()  # back where the fix is
    expect_one_message(b, box, over_by(80, 120))
    # A screen reader hears the same sentence, not another one.
    expect(b.locator("#announcer")).to_have_text(over_by(80, 120))
    assert text.input_value() == long_text
    assert sam.emitted("entry:submit") == []

    # Shortened, it saves and sends as written; no draft of the long words ever left.
    fits = long_text[:118]
    text.fill(fits)
    expect(box.locator(".over-limit")).to_have_count(0)
    expect(box.get_by_test_id("char-counter")).to_have_text("118 / 120 characters")
    expect(box.get_by_test_id("save-status")).to_contain_text("Saved")
    assert [d["body"] for d in sam.emitted("entry:draft")] == [first, fits]
    submit.click()
    expect(box.get_by_test_id("submit-status")).to_have_text("Submitted")
    note_a = a.get_by_test_id("step-note")
    note_a.get_by_test_id("answer-text").fill("A quiet week")
    note_a.get_by_test_id("submit-answer").click()
    expect(note_a.get_by_test_id("reveal-partner")).to_contain_text(fits)
    for page in (a, b):
        page.get_by_test_id("step-note").get_by_test_id("ready-button").click()

    # --- an apology part ----------------------------------------------------------------
    sorry_a, sorry_b = a.get_by_test_id("step-sorry"), b.get_by_test_id("step-sorry")
    sorry_b.get_by_test_id("apology-offer-hurt").click()
    sorry_a.get_by_test_id("apology-accept").click()
    felt = sorry_b.get_by_test_id("apology-field-felt")
    expect(felt).to_be_visible()
    assert felt.get_attribute("maxlength") is None  # the browser would cut a paste
    part = f"{unique_marker('part')} " + "so alone " * 30
    part = part[:210]
    felt.fill(part)
    assert felt.input_value() == part
    expect_one_message(b, sorry_b, over_by(60, 150))
    axe.scan(b, "limits: an apology part over its limit, 390 px")
    sorry_b.get_by_test_id("apology-send-hurt").click()
    expect(felt).to_be_focused()
    expect_one_message(b, sorry_b, over_by(60, 150))
    assert felt.input_value() == part
    marker = part.split(" ", 1)[0]
    assert not [t for t in sam.emitted("turn:submit") if t.get("kind") == "hurt"]
    assert marker not in a.content() and marker not in alex.received()

    # Shortened: saved, then shared whole.
    fits = part[:150]
    felt.fill(fits)
    expect(sorry_b.locator(".over-limit")).to_have_count(0)
    expect(sorry_b.get_by_test_id("apology-save-status")).to_contain_text("Saved")
    drafts = [d.get("fields") or {} for d in sam.emitted("entry:draft")]
    lengths = [len(f.get("felt", "")) for f in drafts]
    assert lengths and max(lengths) <= 150, lengths
    sorry_b.get_by_test_id("apology-send-hurt").click()
    expect(sorry_a.get_by_test_id("apology-said-hurt")).to_contain_text(fits)
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)
