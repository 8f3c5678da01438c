"""Browser: the weekly check-in twice. The first session's check-ins and commitments; the
second opens, after the welcome card, by looking back at those commitments (each says how
it went; a reply is optional); after the second check-in both see, on their home page, each
person's ratings drawn over time — an SVG chart with the same numbers in a table. Either
partner can skip the review for today, for both, after a confirmation."""

from __future__ import annotations

import re

from tests.e2e import axe, flows
from tests.e2e.flows import step

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (or fails in CI)
    expect = None

TRACK = "weekly-check-in"
REVIEW, CHECKIN, PROMISE, CLOSING = ("last-weeks-commitments", "this-week",
                                     "this-weeks-commitment", "closing")


def start(alex, sam) -> str:
    a = alex.page
    a.goto("/")
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    sam.page.goto("/")
    flows.open_session(sam, session_id)
    for page in (a, sam.page):
        expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    flows.pass_checks(alex, sam)
    return session_id


def both(alex, sam, step_id: str, testid: str = "ready-button") -> None:
    step(alex.page, step_id).get_by_test_id(testid).click()
    expect(step(alex.page, step_id).get_by_test_id("waiting-ready")).to_be_visible()
    step(sam.page, step_id).get_by_test_id(testid).click()
    for page in (alex.page, sam.page):
        expect(step(page, step_id).get_by_test_id("waiting-ready")).to_have_count(0)


def check_in(page, ratings: tuple[int, int, int], support: str, high: str | None = None,
             share: bool = False):
    box = step(page, CHECKIN)
    for rating, value in zip(("trust", "closeness", "mood"), ratings, strict=True):
        box.get_by_test_id(f"checkin-rating-{rating}").get_by_test_id(f"scale-{value}").check()
    if high:
        box.get_by_test_id("checkin-high").fill(high)
    box.get_by_test_id(f"checkin-support-{support}").check()
    if share:  # numbers are kept from the partner unless their owner shows them
        box.get_by_test_id("checkin-line-share").check()
        expect(box.get_by_test_id("checkin-line-status")).to_contain_text(
            "Your partner sees your numbers")
    box.get_by_test_id("submit-answer").click()


def first_session(alex, sam) -> None:
    start(alex, sam)
    both(alex, sam, "welcome", "continue-button")
    for person in (alex, sam):  # nothing to look back on yet: it says so
        expect(step(person.page, REVIEW).get_by_test_id("review-empty")).to_be_visible()
    both(alex, sam, REVIEW)
    check_in(alex.page, (4, 5, 6), "listening", high="A long walk on Sunday")
    expect(step(alex.page, CHECKIN).get_by_test_id("submit-status")).to_have_text("Submitted")
    check_in(sam.page, (7, 6, 8), "advice", share=True)
    box = step(alex.page, CHECKIN)
    trust = box.get_by_test_id("reveal-partner").get_by_test_id("checkin-value-trust")
    expect(trust).to_have_text("7 / 10")  # Sam shows hers
    theirs = step(sam.page, CHECKIN).get_by_test_id("reveal-partner")
    expect(theirs).to_contain_text("A long walk on Sunday")
    # Alex keeps his (the default): Sam reads his high and wish, never his numbers.
    expect(theirs.get_by_test_id("checkin-numbers-kept")).to_have_text(
        "Alex keeps their numbers to themselves.")
    expect(theirs.get_by_test_id("checkin-value-trust")).to_have_count(0)
    axe.scan(sam.page, "check-in revealed, one partner's numbers kept")
    both(alex, sam, CHECKIN)
    for person, words in ((alex, "I'll text when I'm running late."),
                          (sam, "I'll put my phone away at dinner.")):
        box = step(person.page, PROMISE)
        box.get_by_test_id("answer-text").fill(words)
        box.get_by_test_id("submit-answer").click()
    expect(step(alex.page, PROMISE).get_by_test_id("reveal-partner")).to_contain_text("phone away")
    expect(step(alex.page, PROMISE).get_by_test_id("reveal-mine").get_by_test_id(
        "commitment-due")).to_contain_text("For the days until")
    both(alex, sam, PROMISE)
    for person in (alex, sam):
        box = step(person.page, CLOSING)
        box.get_by_test_id("scale-6").check()
        box.get_by_test_id("submit-answer").click()
    expect(step(alex.page, CLOSING).get_by_test_id("ready-button")).to_be_visible()
    step(alex.page, CLOSING).get_by_test_id("ready-button").click()
    step(sam.page, CLOSING).get_by_test_id("ready-button").click()
    for person in (alex, sam):
        expect(person.page.get_by_test_id("finished-banner")).to_be_visible()


def review(alex, sam) -> None:
    """Each says how their own commitment went; Alex asks to talk about Sam's, Sam doesn't
    reply to Alex's "partly" (a reply is optional) and both go on."""
    for owner, other, status, ack in ((alex, sam, "partly", None),
                                      (sam, alex, "kept", "talk")):
        item = step(owner.page, REVIEW).get_by_test_id("review-item-mine")
        item.get_by_test_id(f"review-status-{status}").check()
        item.get_by_test_id("review-send").click()
        expect(item.get_by_test_id("review-shared")).to_contain_text("can reply if they like")
        theirs = step(other.page, REVIEW).get_by_test_id("review-item-partner")
        expect(theirs.get_by_test_id("review-answer")).to_contain_text(
            {"partly": "Partly", "kept": "Kept"}[status])
        expect(theirs.get_by_test_id("review-ack-talk")).to_have_text("Let's talk about this")
        if ack:
            theirs.get_by_test_id(f"review-ack-{ack}").click()
            expect(item.get_by_test_id("review-ack")).to_contain_text("Let's talk about this")
            # weekly-check-in has no listening step: the page says so, and what to do instead
            for box in (item, theirs):
                expect(box.get_by_test_id("review-talk")).to_contain_text(
                    "There is no talking step in this session.")
    both(alex, sam, REVIEW)


def test_the_check_in_chart_on_home_after_two_check_ins(partners):
    alex, sam = partners
    for person in (alex, sam):
        axe.serve_axe(person.context, person.base_url)
    flows.pair_up(alex, sam)
    first_session(alex, sam)

    # After one check-in: one point each, mine first.
    alex.page.goto("/")
    card = alex.page.get_by_test_id("checkins-card")
    expect(card.get_by_test_id("checkins-mine")).to_contain_text("1 check-in")
    # Sam's home: her own line, and Alex's numbers kept (his chart isn't drawn for her).
    sam.page.goto("/")
    sam_card = sam.page.get_by_test_id("checkins-card")
    expect(sam_card.get_by_test_id("checkins-partner-kept")).to_have_text(
        "Alex keeps their numbers to themselves.")
    expect(sam_card.get_by_test_id("checkins-partner")).to_have_count(0)
    expect(sam_card.get_by_test_id("checkins-my-line")).to_contain_text(
        "Your partner sees your numbers")
    axe.scan(sam.page, "home chart with a partner's numbers kept")

    second = start(alex, sam)
    both(alex, sam, "welcome", "continue-button")
    expect(step(sam.page, REVIEW).get_by_test_id("review-item-mine")).to_be_visible()
    axe.scan(sam.page, "commitments review (phone)")
    review(alex, sam)
    expect(step(alex.page, CHECKIN).get_by_test_id("checkin-rating-trust")).to_be_visible()
    axe.scan(alex.page, "check-in editor")
    check_in(alex.page, (9, 8, 7), "neither", share=True)  # and his earlier one with it
    expect(step(alex.page, CHECKIN).get_by_test_id("submit-status")).to_have_text("Submitted")
    # Alex's second check-in isn't shown to Sam yet: Sam's home still draws one point.
    sam.page.goto("/")
    sam_card = sam.page.get_by_test_id("checkins-card")
    expect(sam_card.get_by_test_id("checkins-partner")).to_contain_text("1 check-in")
    sam.page.go_back()
    expect(sam.page.get_by_test_id("connection-status")).to_have_text("Connected")
    check_in(sam.page, (6, 6, 7), "listening")
    expect(step(alex.page, CHECKIN).get_by_test_id("reveal-partner")).to_be_visible()

    for person, mine, theirs in ((alex, "9 of 10", "6 of 10"), (sam, "6 of 10", "9 of 10")):
        page = person.page
        page.goto("/")
        card = page.get_by_test_id("checkins-card")
        expect(card.get_by_test_id("checkins-mine")).to_contain_text("2 check-ins")
        expect(card.get_by_test_id("checkins-partner")).to_contain_text("2 check-ins")
        # one line per rating, two marks each, per person; no combined score anywhere
        chart = card.get_by_test_id("checkins-mine").get_by_test_id("checkin-chart")
        expect(chart.locator(".checkin-line")).to_have_count(3)
        expect(chart.locator(".checkin-mark")).to_have_count(6)
        expect(chart).to_have_attribute("aria-label", re.compile(
            rf"^Your ratings over 2 check-ins; the latest: Trust {mine.split()[0]} of 10"))
        expect(card).not_to_contain_text("score")
        expect(card).not_to_contain_text("streak")
        # the table alternative carries the same numbers
        table = card.get_by_test_id("checkins-mine").get_by_test_id("checkin-table")
        card.get_by_test_id("checkins-mine").locator("summary").click()
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table.locator("tbody tr").nth(1)).to_contain_text(mine)
        partner_table = card.get_by_test_id("checkins-partner").get_by_test_id("checkin-table")
        expect(partner_table.locator("tbody tr").nth(1)).to_contain_text(
            theirs, use_inner_text=False)
        axe.scan(page, f"home with the check-in chart ({person.name})")
    # The summary keeps the look back: each commitment and how it went.
    alex.page.goto(f"/s/{second}/summary")
    kept = alex.page.get_by_test_id("summary-review")
    expect(kept).to_contain_text("You: Partly")
    expect(kept).to_contain_text("Sam: Kept")
    for person in (alex, sam):
        assert not person.exceptions, person.exceptions


def test_either_partner_can_skip_the_review_for_both(partners):
    alex, sam = partners
    for person in (alex, sam):
        axe.serve_axe(person.context, person.base_url)
    flows.pair_up(alex, sam)
    first_session(alex, sam)
    start(alex, sam)
    both(alex, sam, "welcome", "continue-button")
    box = step(sam.page, REVIEW)
    expect(box.get_by_test_id("review-item-mine")).to_be_visible()
    box.get_by_test_id("review-skip").click()
    # One partner's skip ends it for both, so it asks first; "Keep going" changes nothing.
    expect(box.get_by_test_id("review-skip-confirm")).to_be_focused()
    axe.scan(sam.page, "skip the review: confirmation (phone)")
    box.get_by_test_id("review-skip-cancel").click()
    expect(box.get_by_test_id("review-skip-confirm")).to_have_count(0)
    box.get_by_test_id("review-skip").click()
    box.get_by_test_id("review-skip-confirm").click()
    for person in (alex, sam):
        expect(step(person.page, CHECKIN).get_by_test_id("checkin-rating-trust")).to_be_visible()
    # Both are told in a sentence, on the finished step (nobody is named).
    for person in (alex, sam):
        expect(step(person.page, REVIEW).get_by_test_id("review-skipped")).to_contain_text(
            "The review was skipped for today.")
    for person in (alex, sam):
        assert not person.exceptions, person.exceptions
