"""Two partners in two browsers: invite, join, a session, private answers, the reveal."""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique_marker
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

TRACK = "understanding-our-trust"
PASSWORD = "correct horse battery"


def sign_up(page, name: str, email: str) -> None:
    page.get_by_test_id("tab-signup").click()
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-name").fill(name)
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()


def test_partners_answer_privately_then_see_both_answers_side_by_side(partners):
    from playwright.sync_api import expect

    alex, sam = partners
    a, b = alex.page, sam.page
    suffix = unique_marker("user")[-8:]

    # Alex signs up and creates the couple space.
    a.goto("/")
    sign_up(a, "Alex", f"alex-{suffix}@example.test")
    expect(a.get_by_test_id("greeting")).to_contain_text("Alex")
    a.get_by_test_id("create-couple").click()
    code = a.get_by_test_id("invite-code").inner_text().strip()
    link = a.get_by_test_id("invite-link").input_value()
    assert re.fullmatch(r"[A-Z0-9]{8}", code), code
    assert link == f"{alex.base_url}/join/{code}"
    expect(a.get_by_test_id("waiting-for-partner")).to_be_visible()

    # Sam follows the invite link, signs up, and lands in the couple space.
    b.goto(link)
    expect(b.get_by_test_id("invite-banner")).to_contain_text(
        "You've been invited to join your partner on Mend"
    )
    sign_up(b, "Sam", f"sam-{suffix}@example.test")
    expect(b.get_by_test_id("couple-complete")).to_contain_text("Alex")
    assert b.url.rstrip("/") == sam.base_url  # the /join/<code> address is left behind

    # Alex's waiting card notices Sam on its own; Alex starts the track.
    expect(a.get_by_test_id("couple-complete")).to_contain_text("Sam", timeout=15_000)
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]

    # Sam opens it from the sessions list.
    b.reload()
    b.get_by_test_id(f"session-link-{session_id}").click()
    b.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
    for page in (a, b):
        expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
        expect(page.get_by_test_id("session-title")).to_have_text("Understanding our trust")
        expect(page.get_by_test_id("step-progress")).to_have_text("Step 1 of 8")

    # The info card: both continue.
    a.get_by_test_id("continue-button").click()
    expect(a.get_by_test_id("waiting-ready")).to_contain_text("Waiting for Sam")
    b.get_by_test_id("continue-button").click()

    step_a = a.get_by_test_id("step-what-trust-means")
    step_b = b.get_by_test_id("step-what-trust-means")
    expect(a.get_by_test_id("step-progress")).to_have_text("Step 2 of 8")

    alex_marker = unique_marker("alex")
    sam_marker = unique_marker("sam")

    # Alex writes (autosaved) and submits first.
    step_a.get_by_test_id("answer-text").fill(f"For me trust is {alex_marker}.")
    expect(step_a.get_by_test_id("save-status")).to_contain_text("Saved")
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex is writing")
    step_a.get_by_test_id("submit-answer").click()
    expect(step_a.get_by_test_id("submit-status")).to_have_text("Submitted")
    expect(step_a.get_by_test_id("waiting-partner")).to_contain_text(
        "Their answer stays private until you both submit"
    )
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")

    # Sam writes; the draft is saved on the server, yet nothing of it reaches Alex.
    step_b.get_by_test_id("answer-text").fill(f"Trust, to me, is {sam_marker}.")
    expect(step_b.get_by_test_id("save-status")).to_contain_text("Saved")
    expect(step_a.get_by_test_id("partner-status")).to_contain_text("Sam is writing")
    assert sam_marker not in a.content()
    assert alex_marker not in b.content()
    assert sam_marker not in alex.received(), "Sam's draft reached Alex's browser"

    # Sam submits: both answers appear on both screens, side by side and labelled.
    step_b.get_by_test_id("submit-answer").click()
    for page, mine, theirs, partner in (
        (a, alex_marker, sam_marker, "Sam"),
        (b, sam_marker, alex_marker, "Alex"),
    ):
        step = page.get_by_test_id("step-what-trust-means")
        expect(step.get_by_test_id("reveal-mine")).to_contain_text(mine)
        expect(step.get_by_test_id("reveal-mine")).to_contain_text("You")
        expect(step.get_by_test_id("reveal-partner")).to_contain_text(theirs)
        expect(step.get_by_test_id("reveal-partner")).to_contain_text(partner)
        expect(step.get_by_test_id("ready-button")).to_be_visible()

    # The capture above really sees socket traffic: after the reveal the marker is in it.
    assert sam_marker in alex.received()

    # On the wide screen the two answers sit in one row.
    mine_box = step_a.get_by_test_id("reveal-mine").bounding_box()
    theirs_box = step_a.get_by_test_id("reveal-partner").bounding_box()
    assert abs(mine_box["y"] - theirs_box["y"]) < 2 and mine_box["x"] < theirs_box["x"]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "reveal.png"
    shot.unlink(missing_ok=True)
    a.evaluate("window.scrollTo(0, 0)")  # the status bar is sticky: shoot from the top
    a.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 0

    # Both ready: the next step opens for both.
    step_a.get_by_test_id("ready-button").click()
    expect(step_a.get_by_test_id("ready-block")).to_contain_text("Waiting for Sam")
    step_b.get_by_test_id("ready-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text("Step 3 of 8")
        expect(
            page.get_by_test_id("step-feeling-secure-now").get_by_test_id("answer-scale")
        ).to_be_visible()

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)
