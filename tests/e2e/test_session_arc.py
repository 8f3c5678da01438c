"""The session arc in two real browsers: skipping an optional step, text over the limit that
is never cut, an exclusive checklist option, acknowledgements at a reveal, the end of a
track and its summary page.

The couple is set up through the HTTP API (each person's own cookies, in their browser
context): sign-up and pairing have their own browser tests (test_reveal_flow.py).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import unique_marker
from tests.e2e import flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

APPRECIATION = "small-steps-of-appreciation"
APPRECIATED = "something-i-appreciated"  # step 2: optional text, 2,000 characters, a followup
SMALL_THINGS = "small-things-that-help"  # step 3: optional checklist
ONE_SMALL_THING = "one-small-thing"  # step 4: optional text
CLOSING = "closing"  # step 5: optional closing (reflection + scale)
URGES = "signs-i-notice"  # trust track step 6: checklist ending in an exclusive option
NONE_OF_THESE = "None of these right now"


# ---- setup through the HTTP API ---------------------------------------------------------


def _post(person, path: str, data: dict) -> dict:
    request = person.page.request
    token = request.get("/api/v1/csrf").json()["csrf_token"]
    response = request.post(f"/api/v1{path}", data=data, headers={"X-CSRFToken": token})
    assert response.ok, (path, response.status, response.text())
    return response.json()


def couple_in_session(alex, sam, track_id: str) -> str:
    """Both sign up, pair, and Alex starts `track_id`; both open it. Returns the session id."""
    suffix = flows.new_suffix()
    for person in (alex, sam):
        email = flows.email_for(person.name, suffix)
        _post(person, "/auth/signup", {
            "email": email, "password": flows.PASSWORD, "display_name": person.name,
        })
        _post(person, "/auth/login", {"email": email, "password": flows.PASSWORD})
    couple = _post(alex, "/couples", {})
    _post(sam, "/couples/join", {"invite_code": couple["invite_code"]})
    session = _post(alex, "/sessions", {"couple_id": couple["couple"]["id"], "track_id": track_id})
    session_id = session["session"]["id"]
    for person in (alex, sam):
        person.page.goto(f"/s/{session_id}")
        expect(person.page.get_by_test_id("connection-status")).to_have_text("Connected")
    flows.pass_checks(alex, sam)
    return session_id


def progress(page, index: int, count: int):
    expect(page.get_by_test_id("step-progress")).to_have_text(f"Step {index} of {count}")


def both_continue(alex, sam, index: int, count: int) -> None:
    for person in (alex, sam):
        person.page.get_by_test_id("continue-button").click()
    for person in (alex, sam):
        progress(person.page, index + 1, count)


def both_ready(alex, sam, step_id: str, next_index: int, count: int) -> None:
    for person in (alex, sam):
        flows.step(person.page, step_id).get_by_test_id("ready-button").click()
    for person in (alex, sam):
        progress(person.page, next_index, count)


def skip(page, step_id: str) -> None:
    box = flows.step(page, step_id)
    box.get_by_test_id("skip-answer").click()
    expect(box.get_by_test_id("skip-confirm")).to_be_visible()
    box.get_by_test_id("confirm-skip").click()
    # Waiting for the partner, or (the second of the two) straight to the reveal.
    expect(box.get_by_test_id("my-answer").or_(box.get_by_test_id("reveal-mine"))).to_contain_text(
        "You chose not to share this yet"
    )


def answer_text(page, step_id: str, text: str) -> None:
    box = flows.step(page, step_id)
    box.get_by_test_id("answer-text").fill(text)
    box.get_by_test_id("submit-answer").click()
    expect(box.get_by_test_id("reveal-mine").or_(box.get_by_test_id("my-answer"))).to_contain_text(text)


# ---- tests ------------------------------------------------------------------------------


def test_a_skipped_step_shows_the_partner_it_was_not_shared_and_answers_can_be_acknowledged(
    partners,
):
    alex, sam = partners
    a, b = alex.page, sam.page
    session_id = couple_in_session(alex, sam, APPRECIATION)
    both_continue(alex, sam, 1, 5)

    # Alex would rather not share: Skip asks once, lightly, then goes as a submit.
    box_a = flows.step(a, APPRECIATED)
    box_a.get_by_test_id("skip-answer").click()
    expect(box_a.get_by_test_id("skip-confirm")).to_contain_text(
        "Sam will see that you chose not to share this yet"
    )
    box_a.get_by_test_id("cancel-skip").click()  # changed their mind: nothing sent
    expect(box_a.get_by_test_id("skip-confirm")).to_be_hidden()
    expect(box_a.get_by_test_id("skip-answer")).to_be_focused()
    assert alex.emitted("entry:submit") == []
    skip(a, APPRECIATED)
    expect(box_a.get_by_test_id("submit-status")).to_have_text("Skipped")
    sent = alex.emitted("entry:submit")
    assert len(sent) == 1 and sent[0]["skip"] is True, sent
    assert "body" not in sent[0] and "fields" not in sent[0], sent
    mine = flows.step_state(flows.session_state(alex, session_id), APPRECIATED)["mine"]
    assert mine["entry"]["skipped"] is True
    assert mine["entry"]["client_id"] == sent[0]["client_id"]

    # Sam answers; the reveal shows Sam's words, and says Alex chose not to share.
    box_b = flows.step(b, APPRECIATED)
    expect(box_b.get_by_test_id("partner-status")).to_contain_text("Alex has submitted")
    sam_text = f"You made me tea on Tuesday {unique_marker('sam')}"
    answer_text(b, APPRECIATED, sam_text)
    expect(box_b.get_by_test_id("reveal-partner")).to_contain_text(
        "Alex chose not to share this yet"
    )
    expect(box_b.get_by_test_id("reveal-partner")).to_contain_text("Alex's answer")
    expect(box_b.get_by_test_id("reveal-mine")).to_contain_text("Your answer")
    expect(box_a.get_by_test_id("reveal-mine")).to_contain_text("You chose not to share this yet")
    expect(box_a.get_by_test_id("reveal-partner")).to_contain_text(sam_text)
    for box in (box_a, box_b):
        expect(box.get_by_test_id("followup")).to_contain_text(
            "Talk about it together: How did it feel to read what your partner noticed?"
        )
    # Sam has nothing of Alex's to thank for; Alex can acknowledge what Sam shared.
    expect(box_b.get_by_test_id("ack-row")).to_have_count(0)
    hear = box_a.get_by_test_id("ack-hear_you")
    expect(hear).to_have_attribute("aria-pressed", "false")
    hear.focus()
    a.keyboard.press("Enter")
    expect(hear).to_have_attribute("aria-pressed", "true")
    expect(hear).to_be_focused()  # the re-render kept the keyboard where it was
    expect(box_a.get_by_test_id("ack-thanks")).to_have_attribute("aria-pressed", "false")
    expect(box_b.get_by_test_id("partner-ack")).to_have_text("Alex: I hear you")
    # Changing it replaces it, on both screens.
    box_a.get_by_test_id("ack-thanks").click()
    expect(box_a.get_by_test_id("ack-thanks")).to_have_attribute("aria-pressed", "true")
    expect(hear).to_have_attribute("aria-pressed", "false")
    expect(box_b.get_by_test_id("partner-ack")).to_have_text("Alex: Thank you for sharing")

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_pasted_text_over_the_limit_stays_whole_and_is_neither_submitted_nor_saved(partners):
    alex, sam = partners
    a = alex.page
    session_id = couple_in_session(alex, sam, APPRECIATION)
    both_continue(alex, sam, 1, 5)
    box = flows.step(a, APPRECIATED)
    text = box.get_by_test_id("answer-text")

    first = f"A short draft {unique_marker('first')}"
    flows.write_draft(a, APPRECIATED, first)
    long_text = (f"{unique_marker('long')} " + "word " * 5_000)[:25_000]
    text.fill(long_text)  # what a paste does: the whole value at once
    assert len(text.input_value()) == 25_000  # never cut
    # One message, under the box (issue 16): the save status and the button add none.
    over = ("23,000 characters over the limit of 2,000. "
            "Nothing has been cut, but it can't be saved or sent until it's shorter.")
    expect(box.get_by_test_id("char-counter")).to_have_text(over)
    expect(box.get_by_test_id("save-status")).to_have_text("")
    expect(box.get_by_test_id("submit-blocked")).to_be_hidden()
    submit = box.get_by_test_id("submit-answer")
    expect(submit).to_have_attribute("aria-disabled", "true")
    expect(text).to_have_attribute("aria-invalid", "true")
    # aria-disabled, so still reachable by Tab: pressing it takes the keyboard to the box
    # (whose description is the message) instead of sending or stacking a second message.
    submit.focus()
    a.keyboard.press("Enter")
    expect(text).to_be_focused()
    expect(box.get_by_test_id("submit-error")).to_be_hidden()
    assert len(text.input_value()) == 25_000

    # Shortened, it saves and submits. That draft is a barrier: a draft of the long text
    # would have gone before it.
    fits = long_text[:1_990]
    text.fill(fits)
    expect(box.get_by_test_id("char-counter")).to_have_text("1,990 / 2,000 characters")
    expect(box.get_by_test_id("save-status")).to_contain_text("Saved")
    expect(submit).to_have_attribute("aria-disabled", "false")
    drafts = alex.emitted("entry:draft")
    assert [d["body"] for d in drafts] == [first, fits], [len(d["body"]) for d in drafts]
    assert alex.emitted("entry:submit") == []
    submit.click()
    expect(box.get_by_test_id("submit-status")).to_have_text("Submitted")
    mine = flows.step_state(flows.session_state(alex, session_id), APPRECIATED)["mine"]
    assert mine["entry"]["body"] == fits

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_an_exclusive_option_clears_the_others_and_the_closing_scale_sits_beside_the_earlier_one(
    partners,
):
    alex, sam = partners
    a, b = alex.page, sam.page
    session_id = couple_in_session(alex, sam, flows.TRACK)
    count = flows.STEP_COUNT
    both_continue(alex, sam, 1, count)
    for person in (alex, sam):
        answer_text(person.page, flows.TEXT_STEP, f"Trust {unique_marker(person.name)}")
    both_ready(alex, sam, flows.TEXT_STEP, 3, count)
    for person, value in ((alex, 6), (sam, 4)):
        scale = flows.step(person.page, flows.SCALE_STEP)
        scale.get_by_test_id(f"scale-{value}").check()
        scale.get_by_test_id("submit-answer").click()
    both_ready(alex, sam, flows.SCALE_STEP, 4, count)
    for person in (alex, sam):
        answer_text(person.page, "what-helps-trust-be-kept", "Tell me when plans change")
    both_ready(alex, sam, "what-helps-trust-be-kept", 5, count)
    both_continue(alex, sam, 5, count)

    box = flows.step(a, URGES)
    options = box.get_by_test_id("answer-choices").locator('input[type="checkbox"]')
    none = box.get_by_role("checkbox", name=NONE_OF_THESE)
    first, second = options.nth(0), options.nth(1)
    first.check()
    second.check()
    none.check()  # clears the others, and says so
    expect(none).to_be_checked()
    expect(first).not_to_be_checked()
    expect(second).not_to_be_checked()
    expect(a.locator("#announcer")).to_contain_text("the other 2 choices were unticked")
    first.check()  # and ticking another clears it
    expect(none).not_to_be_checked()
    expect(first).to_be_checked()
    expect(a.locator("#announcer")).to_contain_text(f"“{NONE_OF_THESE}” was unticked")
    # From the keyboard: Space on the exclusive option.
    none.focus()
    a.keyboard.press("Space")
    expect(none).to_be_checked()
    expect(first).not_to_be_checked()
    box.get_by_test_id("submit-answer").click()
    expect(box.get_by_test_id("submit-status")).to_have_text("Submitted")
    mine = flows.step_state(flows.session_state(alex, session_id), URGES)["mine"]
    assert mine["entry"]["fields"] == {"choices": [NONE_OF_THESE]}

    b_box = flows.step(b, URGES)
    b_box.get_by_test_id("choice-0").check()
    b_box.get_by_test_id("submit-answer").click()
    expect(box.get_by_test_id("reveal-partner")).to_contain_text("Sam's answer")
    expect(box.get_by_test_id("reveal-mine")).to_contain_text(NONE_OF_THESE)
    both_ready(alex, sam, URGES, 7, count)

    # On to the closing step: an optional step skipped by both, a text step, then the
    # check-out, read back beside the scale from step 3.
    for person in (alex, sam):
        skip(person.page, "where-my-fears-come-from")
    both_ready(alex, sam, "where-my-fears-come-from", 8, count)
    for person in (alex, sam):
        answer_text(person.page, "what-helps-me-feel-secure", "A message when plans change")
    both_ready(alex, sam, "what-helps-me-feel-secure", 9, count)
    for person, value in ((alex, 8), (sam, 5)):
        closing = flows.step(person.page, CLOSING)
        expect(closing.get_by_test_id("submit-answer")).to_have_text("Submit my answer")
        closing.get_by_test_id("submit-answer").click()  # the scale is the answer
        expect(closing.get_by_test_id("submit-error")).to_contain_text("Choose a number")
        closing.get_by_test_id(f"scale-{value}").check()
        closing.get_by_test_id("submit-answer").click()
    closing = flows.step(a, CLOSING)
    expect(closing.get_by_test_id("reveal-mine").get_by_test_id("compare-line")).to_have_text(
        "At “How close and secure I feel right now”: Earlier: 6 → now: 8"
    )
    expect(closing.get_by_test_id("reveal-partner").get_by_test_id("compare-line")).to_contain_text(
        "Earlier: 4 → now: 5"
    )
    expect(closing.get_by_test_id("reveal-mine")).to_contain_text("No words added")
    expect(closing.get_by_test_id("ready-button")).to_have_text("I'm ready to finish")

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_the_last_step_finishes_the_track_and_the_summary_page_reads_it_back(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    session_id = couple_in_session(alex, sam, APPRECIATION)

    # A summary that isn't yours (or doesn't exist) says so plainly.
    a.goto(f"/s/{'0' * 32}/summary")
    expect(a.get_by_test_id("summary-error")).to_contain_text("There's no summary here for you")
    assert alex.errors == ["Failed to load resource: the server responded with a status of 404 "
                           "(NOT FOUND)"], alex.errors  # the browser's own log of that answer
    alex.errors.clear()
    # Before anything is revealed the summary says so, and offers nothing to print.
    a.goto(f"/s/{session_id}/summary")
    expect(a.get_by_test_id("summary-empty")).to_contain_text("Nothing has been shared yet")
    expect(a.get_by_test_id("print-summary")).to_have_count(0)
    a.goto(f"/s/{session_id}")

    both_continue(alex, sam, 1, 5)
    alex_text = f"The tea {unique_marker('alex')}"
    answer_text(a, APPRECIATED, alex_text)
    skip(b, APPRECIATED)
    flows.step(a, APPRECIATED).get_by_test_id("ready-button").click()
    flows.step(b, APPRECIATED).get_by_test_id("ack-thanks").click()
    expect(flows.step(a, APPRECIATED).get_by_test_id("partner-ack")).to_have_text(
        "Sam: Thank you for sharing"
    )
    flows.step(b, APPRECIATED).get_by_test_id("ready-button").click()
    for person in (alex, sam):
        progress(person.page, 3, 5)
    for step_id in (SMALL_THINGS, ONE_SMALL_THING):
        for person in (alex, sam):
            skip(person.page, step_id)
        index = 4 if step_id == SMALL_THINGS else 5
        both_ready(alex, sam, step_id, index, 5)

    # The closing step: a few words (optional) and the check-out scale.
    for person, value in ((alex, 7), (sam, 5)):
        box = flows.step(person.page, CLOSING)
        box.get_by_test_id("answer-text").fill(f"Noticing {person.name}")
        box.get_by_test_id(f"scale-{value}").check()
        box.get_by_test_id("submit-answer").click()
    closing_a = flows.step(a, CLOSING)
    expect(closing_a.get_by_test_id("reveal-mine")).to_contain_text("7 / 10")
    expect(closing_a.get_by_test_id("reveal-partner")).to_contain_text("Noticing Sam")
    finish = closing_a.get_by_test_id("ready-button")
    expect(finish).to_have_text("I'm ready to finish")
    finish.click()
    expect(closing_a.get_by_test_id("waiting-ready")).to_contain_text(
        "You're ready to finish. Waiting for Sam"
    )
    flows.step(b, CLOSING).get_by_test_id("ready-button").click()

    # Finished: a calm card with the summary and home; every step folded, still readable.
    for page in (a, b):
        expect(page.get_by_test_id("finished-banner")).to_contain_text(
            "You've finished this track"
        )
        expect(page.get_by_test_id("step-progress")).to_have_text("Finished · 5 steps")
        expect(page.get_by_test_id("ready-button")).to_have_count(0)
        expect(page.locator("details[data-testid=step-done][open]")).to_have_count(0)
    expect(a.get_by_test_id("finished-home")).to_have_attribute("href", "/")
    done = flows.step(a, APPRECIATED).get_by_test_id("step-done")
    done.locator("summary").click()
    expect(done.get_by_test_id("reveal-partner")).to_contain_text(
        "Sam chose not to share this yet"
    )

    a.get_by_test_id("summary-link").click()
    a.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}/summary$"))
    expect(a.get_by_test_id("summary-title")).to_have_text("Small steps of appreciation")
    step = a.get_by_test_id(f"summary-step-{APPRECIATED}")
    expect(step.get_by_test_id("summary-mine")).to_contain_text(alex_text)
    expect(step.get_by_test_id("summary-partner")).to_contain_text(
        "Sam chose not to share this yet"
    )
    expect(step.get_by_test_id("summary-ack")).to_have_text("Sam: Thank you for sharing")
    expect(a.get_by_test_id(f"summary-step-{CLOSING}")).to_contain_text("Noticing Sam")
    download = a.get_by_test_id("download-summary")
    expect(download).to_have_text("Download as text (Markdown)")
    markdown = a.request.get(download.get_attribute("href"))
    assert markdown.ok and alex_text in markdown.text()
    # Its times are in the reader's own zone, named (a browser in Auckland here), and no
    # raw timestamp is left (issue 16).
    nz = a.context.browser.new_context(storage_state=a.context.storage_state(),
                                       timezone_id="Pacific/Auckland", base_url=alex.base_url)
    try:
        page = nz.new_page()
        page.goto(f"/s/{session_id}/summary")
        href = page.get_by_test_id("download-summary").get_attribute("href")
        assert "tz=Pacific%2FAuckland" in href
        text = page.request.get(href).text()
        assert "Times are in Pacific/Auckland." in text and alex_text in text
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)
    finally:
        nz.close()
    expect(a.get_by_test_id("print-summary")).to_be_visible()
    # Printed, only the words: no top bar, no controls.
    a.emulate_media(media="print")
    expect(a.locator("#topbar")).to_be_hidden()
    expect(a.get_by_test_id("print-summary")).to_be_hidden()
    expect(step).to_be_visible()
    a.emulate_media(media="screen")

    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)


def test_a_partner_who_has_left_is_shown_as_away_not_writing(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    couple_in_session(alex, sam, APPRECIATION)
    both_continue(alex, sam, 1, 5)
    flows.write_draft(a, APPRECIATED, f"Half a thought {unique_marker('alex')}")
    status = flows.step(b, APPRECIATED).get_by_test_id("partner-status")
    expect(status).to_have_text("Alex is writing…")
    a.goto("about:blank")  # Alex closes the page; the draft stays on the server
    expect(status).to_have_text("Alex is away — they've started their answer")
    a.goto(b.url)  # back again
    expect(status).to_have_text("Alex is writing…")
    assert sam.errors == [], sam.errors
