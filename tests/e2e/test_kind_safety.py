"""Two browsers on a repair track: the private safety check. A concerning answer shows help
privately and offers 'Let's stop here for today', which the partner sees as an ordinary
break; the partner's screen never shows what was answered."""

from __future__ import annotations

import re

import pytest

from tests.e2e import axe, flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

TRACK = "apology-workshop"
STEP = "safety-check"


def answer(page, choices: dict[str, str]) -> None:
    box = flows.step(page, STEP)
    for question, option in choices.items():
        box.get_by_test_id(f"safety-{question}-{option}").check()
    box.get_by_test_id("safety-submit").click()


def test_a_concerning_answer_is_private_and_the_way_out_reads_as_a_break(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    for person in partners:
        axe.serve_axe(person.context, person.base_url)
    flows.pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    flows.open_session(sam, a.url.rsplit("/", 1)[1])
    for page in (a, b):
        expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    a.get_by_test_id("continue-button").click()
    b.get_by_test_id("continue-button").click()
    for page in (a, b):
        expect(flows.step(page, STEP).get_by_test_id("safety-form")).to_be_visible()
    axe.scan(a, "safety check")

    answer(a, {"safe_at_home": "yes", "afraid_or_controlled": "sometimes",
               "carry_on_today": "yes"})
    support = flows.step(a, STEP).get_by_test_id("safety-support")
    expect(support).to_contain_text("support that's just for you")
    expect(flows.step(b, STEP).get_by_test_id("safety-partner")).to_contain_text(
        "Alex has finished their check")

    axe.scan(a, "safety check: support")
    # Help opens privately, from the check itself.
    support.get_by_test_id("safety-help").click()
    expect(a.get_by_test_id("help-dialog")).to_be_visible()
    a.keyboard.press("Escape")
    expect(a.get_by_test_id("help-dialog")).to_be_hidden()

    answer(b, {"safe_at_home": "yes", "afraid_or_controlled": "no", "carry_on_today": "yes"})
    expect(flows.step(b, STEP).get_by_test_id("safety-thanks")).to_be_visible()

    # The neutral way out: an ordinary break, with no reason, for both.
    support.get_by_test_id("safety-stop").click()
    expect(b.get_by_test_id("break-panel")).to_contain_text("Alex asked for a break")
    expect(a.get_by_test_id("break-panel")).to_contain_text("You asked for a break")
    expect(b.get_by_test_id("break-reason")).to_have_count(0)

    assert '"afraid_or_controlled":"sometimes"' in alex.received()  # the capture works
    received = sam.received()
    # (The questions and their options are public content; the answers are not.)
    for leak in ('"afraid_or_controlled":"sometimes"', '"afraid_or_controlled": "sometimes"'):
        assert leak not in received, f"{leak} reached Sam's browser"
    assert "support that's just for you" not in b.content()
