"""Keyboard only: Alex signs up, creates the couple space, starts a session and answers a
text and a scale step with Tab, Enter, Space and the arrow keys (page.keyboard, no clicks).
Sam, the partner, uses the mouse; that part is not under test here."""

from __future__ import annotations

import pytest

from tests.checking import clear_answers
from tests.conftest import unique_marker
from tests.e2e import flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

MAX_TABS = 60


def is_focused(locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator) -> None:
    """Press Tab until `locator` has focus: it must be reachable from the keyboard."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if is_focused(locator):
            return
    raise AssertionError(f"{locator} never got focus in {MAX_TABS} presses of Tab")


def tab_once_to(page, locator) -> None:
    """The very next Tab stop is `locator` (a logical order, no detours)."""
    page.keyboard.press("Tab")
    expect(locator).to_be_focused()


def test_sign_up_and_answer_steps_with_the_keyboard_only(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    key = a.keyboard
    suffix = flows.new_suffix()

    # Sign up. The tabs are a tab list: one Tab stop, arrows switch between them. New
    # visitors land on "Create an account".
    a.goto("/")
    login_tab, signup_tab = a.get_by_test_id("tab-login"), a.get_by_test_id("tab-signup")
    expect(signup_tab).to_have_attribute("aria-selected", "true")
    tab_to(a, signup_tab)
    key.press("ArrowRight")
    expect(login_tab).to_be_focused()
    expect(login_tab).to_have_attribute("aria-selected", "true")
    key.press("ArrowLeft")
    expect(signup_tab).to_be_focused()
    expect(signup_tab).to_have_attribute("aria-selected", "true")
    expect(a.get_by_test_id("signup-email")).to_be_visible()
    tab_once_to(a, a.get_by_test_id("signup-email"))
    key.type(flows.email_for("Alex", suffix))
    tab_once_to(a, a.get_by_test_id("signup-name"))
    key.type("Alex")
    tab_once_to(a, a.get_by_test_id("signup-password"))
    key.type(flows.PASSWORD)
    tab_once_to(a, a.get_by_test_id("signup-submit"))
    key.press("Enter")
    expect(a.get_by_test_id("greeting")).to_contain_text("Alex")

    # Create the couple space (Enter on the button); Sam joins through the link.
    tab_to(a, a.get_by_test_id("create-couple"))
    key.press("Enter")
    link = a.get_by_test_id("invite-link").input_value()
    flows.join_by_link(sam, link, "Alex", suffix)
    expect(a.get_by_test_id("couple-complete")).to_contain_text("Sam", timeout=15_000)

    # Pick the track in the radio group with the arrow keys; Space on "Start session".
    track = a.get_by_test_id(f"track-{flows.TRACK}")
    tab_to(a, a.locator('input[name="track"]:checked'))
    for _ in range(5):
        if track.is_checked():
            break
        key.press("ArrowDown")
    expect(track).to_be_checked()
    expect(track).to_be_focused()
    tab_once_to(a, a.get_by_test_id("start-session"))
    key.press("Space")
    # Start asks first: the question takes the focus, "Yes, start" is the next Tab stop.
    expect(a.locator("#start-confirm-question")).to_be_focused()
    tab_once_to(a, a.get_by_test_id("confirm-start"))
    key.press("Space")
    a.wait_for_url("**/s/*")
    session_id = a.url.rsplit("/", 1)[1]
    flows.open_session(sam, session_id)
    for page in (a, b):
        flows.expect_session_open(page)

    # The private check: each question is a radio group, one Tab stop; the arrows move to
    # the answer, Space picks it, Enter on Done sends. Sam answers with the mouse.
    check = a.get_by_test_id("check")
    expect(check).to_be_visible()
    for index, (question, option) in enumerate(clear_answers().items()):
        group = check.get_by_test_id(f"check-q-{question}")
        answer = check.get_by_test_id(f"check-{question}-{option}")
        if index == 0:
            tab_to(a, group.locator("input").first)
        else:
            key.press("Tab")
        assert group.evaluate("el => el.contains(document.activeElement)"), question
        for _ in range(group.locator("input").count()):
            if is_focused(answer):
                break
            key.press("ArrowDown")
        expect(answer).to_be_focused()
        key.press("Space")
        expect(answer).to_be_checked()
    tab_once_to(a, check.get_by_test_id("check-submit"))
    key.press("Enter")
    expect(check.get_by_test_id("check-thanks")).to_be_visible()
    flows.answer_check(b)
    for page in (a, b):
        expect(page.get_by_test_id("check")).to_be_hidden()
        expect(page.get_by_test_id("steps")).to_be_visible()

    # The info card: Continue with Enter.
    tab_to(a, a.get_by_test_id("continue-button"))
    key.press("Enter")
    expect(a.get_by_test_id("waiting-ready")).to_contain_text("Waiting for Sam")
    b.get_by_test_id("continue-button").click()
    expect(a.get_by_test_id("step-progress")).to_have_text("Step 2 of 9")

    # A text step: type, Tab to the submit button, Enter.
    text_step = flows.step(a, flows.TEXT_STEP)
    alex_text = f"Trust is {unique_marker('alex-keys')}."
    tab_to(a, text_step.get_by_test_id("answer-text"))
    key.type(alex_text)
    tab_once_to(a, text_step.get_by_test_id("submit-answer"))
    key.press("Enter")
    expect(text_step.get_by_test_id("submit-status")).to_have_text("Submitted")
    sam_text = f"Trust is {unique_marker('sam')}."
    flows.write_draft(b, flows.TEXT_STEP, sam_text)
    flows.step(b, flows.TEXT_STEP).get_by_test_id("submit-answer").click()
    flows.expect_reveal(a, flows.TEXT_STEP, alex_text, sam_text, "Sam")
    tab_to(a, text_step.get_by_test_id("ready-button"))
    key.press("Space")
    expect(text_step.get_by_test_id("ready-block")).to_contain_text("Waiting for Sam")
    flows.step(b, flows.TEXT_STEP).get_by_test_id("ready-button").click()
    expect(a.get_by_test_id("step-progress")).to_have_text("Step 3 of 9")

    # A scale step: the radio group is one Tab stop; Space picks, arrows move the choice.
    scale_step = flows.step(a, flows.SCALE_STEP)
    tab_to(a, scale_step.get_by_test_id("scale-1"))
    key.press("Space")
    expect(scale_step.get_by_test_id("scale-1")).to_be_checked()
    for _ in range(7):
        key.press("ArrowRight")
    key.press("ArrowLeft")
    seven = scale_step.get_by_test_id("scale-7")
    expect(seven).to_be_checked()
    expect(seven).to_be_focused()
    tab_once_to(a, scale_step.get_by_test_id("submit-answer"))
    key.press("Enter")
    expect(scale_step.get_by_test_id("submit-status")).to_have_text("Submitted")

    mine = flows.step_state(flows.session_state(alex, session_id), flows.SCALE_STEP)["mine"]
    assert mine["entry"]["fields"] == {"value": 7}

    sam_scale = flows.step(b, flows.SCALE_STEP)
    sam_scale.get_by_test_id("scale-4").check()
    sam_scale.get_by_test_id("submit-answer").click()
    flows.expect_reveal(a, flows.SCALE_STEP, "7 / 10", "4 / 10", "Sam")

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)
