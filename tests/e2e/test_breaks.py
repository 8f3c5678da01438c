"""Two browsers: Alex takes a break mid-step, Sam sees it, Sam's submit waits while Sam's
words keep saving, both come back, and the session carries on."""

from __future__ import annotations

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe, flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

STEP = flows.TEXT_STEP


def test_a_break_mid_step_pauses_both_and_the_session_carries_on_after(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    for person in partners:
        axe.serve_axe(person.context, person.base_url)
    session_id = flows.couple_in_session(alex, sam)
    reason = unique_marker("flooded")

    # Alex, mid-answer, takes a break with the keyboard: the default length is preselected.
    flows.write_draft(a, STEP, "Half a thought")
    a.get_by_test_id("break-open").focus()
    a.keyboard.press("Enter")
    expect(a.get_by_test_id("break-minutes")).to_be_focused()
    expect(a.get_by_test_id("break-minutes")).to_have_value("20")
    a.get_by_test_id("break-reason-input").fill(reason)
    # A push while the form is open (Sam starts writing) leaves Alex's note and focus alone.
    flows.write_draft(b, STEP, "Sam starts")
    expect(flows.step(a, STEP).get_by_test_id("partner-status")).to_contain_text("Sam is writing")
    expect(a.get_by_test_id("break-reason-input")).to_be_focused()
    expect(a.get_by_test_id("break-reason-input")).to_have_value(reason)
    axe.scan(a, "break form")
    a.get_by_test_id("break-start").click()

    panel_a = a.get_by_test_id("break-panel")
    expect(panel_a).to_contain_text("You asked for a break")
    expect(a.locator("#break-title")).to_be_focused()  # the form became the panel
    expect(panel_a.get_by_test_id("break-reason")).to_contain_text(reason)
    expect(panel_a.get_by_test_id("break-card")).to_contain_text("rehearse")

    # Sam sees the break, never the reason.
    panel_b = b.get_by_test_id("break-panel")
    expect(panel_b).to_contain_text("Alex asked for a break")
    expect(panel_b.get_by_test_id("break-countdown")).to_contain_text("Back in about")
    assert reason not in b.content()
    axe.scan(b, "break panel (partner)")
    axe.scan(a, "break panel (caller)")
    assert reason not in sam.received(), "Alex's private reason reached Sam's browser"

    # Sam's words keep saving; the submit button says why it waits, and nothing is sent.
    box_b = flows.step(b, STEP)
    flows.write_draft(b, STEP, "Sam keeps writing")
    expect(box_b.get_by_test_id("submit-blocked")).to_contain_text("On a break")
    box_b.get_by_test_id("submit-answer").focus()  # aria-disabled: still reachable, pressable
    b.keyboard.press("Enter")
    expect(box_b.get_by_test_id("submit-error")).to_contain_text("On a break")
    assert flows.step_state(flows.session_state(sam, session_id), STEP)["mine"]["entry"] is None

    # Sam is back first: the session waits for Alex.
    panel_b.get_by_test_id("break-back").click()
    expect(b.get_by_test_id("break-waiting")).to_contain_text("Ready when Alex is")
    expect(a.get_by_test_id("break-partner-back")).to_contain_text("Sam is back")
    a.get_by_test_id("break-back").click()
    for page in (a, b):
        expect(page.get_by_test_id("break-panel")).to_have_count(0)
        expect(page.get_by_test_id("break-open")).to_be_visible()

    # The session carries on: Sam's kept words go, then Alex's, and the reveal follows.
    expect(box_b.get_by_test_id("submit-blocked")).to_be_hidden()
    flows.submit(b, STEP)
    flows.write_draft(a, STEP, "Alex's whole thought")
    flows.step(a, STEP).get_by_test_id("submit-answer").click()
    flows.expect_reveal(a, STEP, "Alex's whole thought", "Sam keeps writing", "Sam")
    assert reason not in sam.received()
