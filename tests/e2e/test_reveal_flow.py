"""Two partners in two browsers: invite, join, a session, private answers, the reveal."""

from __future__ import annotations

import pytest

from tests.conftest import unique_marker
from tests.e2e import flows
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

STEP = flows.TEXT_STEP


def test_partners_answer_privately_then_see_both_answers_side_by_side(partners):
    alex, sam = partners
    a, b = alex.page, sam.page

    # Alex signs up and creates the couple space; Sam follows the invite link and signs
    # up; Alex's waiting card notices Sam on its own. Alex starts the track, Sam opens it
    # from the sessions list, and both continue past the info card.
    flows.couple_in_session(alex, sam)

    step_a = flows.step(a, STEP)
    step_b = flows.step(b, STEP)
    alex_marker = unique_marker("alex")
    sam_marker = unique_marker("sam")

    # Alex writes (autosaved) and submits first.
    flows.write_draft(a, STEP, f"For me trust is {alex_marker}.")
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex is writing")
    flows.submit(a, STEP)
    expect(step_a.get_by_test_id("waiting-partner")).to_contain_text(
        "Their answer stays private until you both submit"
    )
    expect(step_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")

    # Sam writes; the draft is saved on the server, yet nothing of it reaches Alex.
    flows.write_draft(b, STEP, f"Trust, to me, is {sam_marker}.")
    expect(step_a.get_by_test_id("partner-status")).to_contain_text("Sam is writing")
    assert sam_marker not in a.content()
    assert alex_marker not in b.content()
    assert sam_marker not in alex.received(), "Sam's draft reached Alex's browser"

    # Sam submits: both answers appear on both screens, side by side and labelled.
    step_b.get_by_test_id("submit-answer").click()
    flows.expect_reveal(a, STEP, alex_marker, sam_marker, "Sam")
    flows.expect_reveal(b, STEP, sam_marker, alex_marker, "Alex")

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
    flows.both_ready(alex, sam, STEP, next_index=3)
    for page in (a, b):
        expect(
            flows.step(page, flows.SCALE_STEP).get_by_test_id("answer-scale")
        ).to_be_visible()

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)
