"""Apology hints pause the send once, in two real browsers: words with a flagged phrase ("if
you", "but") never reach the hurt partner until their author has chosen to send them as
they are. "Edit" (or Escape) puts the keyboard back in the flagged part; "Send anyway"
sends; the same words sent a second time go without asking, and changed words that still
carry a phrase are asked about again."""

from __future__ import annotations

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.test_kind_apology import TRACK_ID, TRACK_YAML, box, fill, start

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e


@pytest.fixture
def apology_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


QUESTION = "This may read as an excuse — send it anyway, or edit it first?"


def to_the_apology(alex, sam) -> None:
    """Alex apologises to Sam: roles agreed, Sam heard, Alex's mirror sent."""
    a, b = alex.page, sam.page
    start(alex, sam)
    box(a).get_by_test_id("apology-offer-apologising").click()
    box(b).get_by_test_id("apology-accept").click()
    fill(b, "felt", "Shut out")
    box(b).get_by_test_id("apology-send-hurt").click()
    fill(a, "mirror", "You felt shut out")
    box(a).get_by_test_id("apology-send-mirror").click()
    expect(box(a).get_by_test_id("apology-form-apology")).to_be_visible()


def write_apology(page, regret: str) -> None:
    fill(page, "act", "I spent the evening on my phone")
    fill(page, "impact", "You felt alone at our own table")
    fill(page, "responsibility", "It was my choice")
    fill(page, "regret", regret)
    fill(page, "change", "Phones stay in the hall at dinner")


def apologies_sent(person) -> list:
    return [t for t in person.emitted("turn:submit") if t.get("kind") == "apology"]


def test_an_excuse_never_reaches_the_hurt_partner_without_the_author_choosing_it(apology_people):
    alex, sam = apology_people
    a, b = alex.page, sam.page
    to_the_apology(alex, sam)

    marker = unique_marker("excuse")
    write_apology(a, f"I'm sorry if you felt hurt, but you were always so distant {marker}")
    box(a).get_by_test_id("apology-send-apology").click()

    # The send waits on a question, with the keyboard on it, naming what was flagged.
    confirm = box(a).get_by_test_id("apology-confirm")
    question = confirm.get_by_test_id("apology-confirm-question")
    expect(question).to_have_text(QUESTION)
    expect(question).to_be_focused()
    expect(confirm).to_contain_text("“if you” in What I regret")
    expect(confirm).to_contain_text("“but” in What I regret")
    # Nothing left Alex's browser as a move, and Sam has nothing of it.
    assert apologies_sent(alex) == []
    expect(box(b).get_by_test_id("apology-said-apology")).to_have_count(0)
    assert marker not in b.content() and marker not in sam.received()

    # Escape is "Edit": the keyboard goes back to the flagged part.
    a.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(box(a).get_by_test_id("apology-field-regret")).to_be_focused()

    # Changed words that still carry a phrase are asked about again; "Edit" again.
    fill(a, "regret", f"I'm sorry if you felt hurt {marker}")
    box(a).get_by_test_id("apology-send-apology").click()
    expect(question).to_be_focused()
    expect(confirm).to_contain_text("“if you” in What I regret")
    axe.scan(a, "apology: the pause before an excuse is sent")
    confirm.get_by_test_id("apology-confirm-edit").click()
    expect(box(a).get_by_test_id("apology-field-regret")).to_be_focused()
    assert apologies_sent(alex) == []
    assert marker not in b.content() and marker not in sam.received()

    # Without the phrase it goes at once, and only these words reach Sam.
    fill(a, "regret", f"I'm sorry I left you alone {marker}")
    box(a).get_by_test_id("apology-send-apology").click()
    said = box(b).get_by_test_id("apology-said-apology")
    expect(said).to_contain_text(f"I'm sorry I left you alone {marker}")
    assert "so distant" not in sam.received() and "if you felt hurt" not in sam.received()
    assert len(apologies_sent(alex)) == 1
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)


def test_send_anyway_sends_the_words_as_written(apology_people):
    alex, sam = apology_people
    a, b = alex.page, sam.page
    to_the_apology(alex, sam)
    marker = unique_marker("chosen")
    regret = f"I'm sorry if you felt hurt, but I was tired {marker}"
    write_apology(a, regret)
    box(a).get_by_test_id("apology-send-apology").click()
    question = box(a).get_by_test_id("apology-confirm-question")
    expect(question).to_be_focused()
    # By keyboard: Tab past "Edit" to "Send anyway", then Enter.
    a.keyboard.press("Tab")
    expect(box(a).get_by_test_id("apology-confirm-edit")).to_be_focused()
    a.keyboard.press("Tab")
    expect(box(a).get_by_test_id("apology-confirm-send")).to_be_focused()
    a.keyboard.press("Enter")
    expect(box(b).get_by_test_id("apology-said-apology")).to_contain_text(regret)
    assert len(apologies_sent(alex)) == 1
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)


def test_the_same_words_sent_again_go_without_a_second_question(apology_people):
    alex, sam = apology_people
    a, b = alex.page, sam.page
    to_the_apology(alex, sam)
    marker = unique_marker("again")
    regret = f"I'm sorry, but I did mean well {marker}"
    write_apology(a, regret)
    send = box(a).get_by_test_id("apology-send-apology")
    send.click()
    box(a).get_by_test_id("apology-confirm-edit").click()
    expect(box(a).get_by_test_id("apology-field-regret")).to_be_focused()
    assert marker not in sam.received()
    # Read again, left as they were, sent again: the author has already been asked.
    send.click()
    expect(box(b).get_by_test_id("apology-said-apology")).to_contain_text(regret)
    assert len(apologies_sent(alex)) == 1
    assert not alex.exceptions and not sam.exceptions, (alex.exceptions, sam.exceptions)
