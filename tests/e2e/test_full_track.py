"""The whole trust track, as two partners in two browsers, to the summary page.

At 1280 px and at 390 px (each a full run): sign up, pair through the invite link, one
partner starts the track and the other's home shows it live; all 9 steps of
understanding-our-trust (info cards, text, the scale, the checklist with its exclusive
option, the optional step skipped by one partner, acknowledgements, the closing step with
"earlier → now"); the finished session, the summary page (printable) and the home that marks
the track done and suggests the next one.

Privacy: before every reveal, neither partner's page nor anything their browser received over
Socket.IO holds the other's words for that step.

Accessibility: axe-core (tests/e2e/axe.py, vendored, CSP left on) runs on every distinct
screen the test visits, in light mode for Alex and dark mode for Sam, and must be clean.
"""

from __future__ import annotations

import contextlib
import re
import sys

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe, flows
from tests.e2e.conftest import ARTIFACTS, Person
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

TRACK = flows.TRACK
NEXT_TRACK = "small-steps-of-appreciation"
CHECKLIST_NONE = 11  # "None of these right now", the exclusive option of signs-i-notice
SCREENS = {
    "create account", "home: no couple yet", "home: waiting for partner", "invite",
    "home: couple complete", "home: partner started a session", "session: the private check",
    "session: info card",
    "session: prompt (writing)", "session: submitted, waiting", "session: reveal",
    "session: scale", "session: checklist", "session: skip confirmation",
    "session: reveal with a skip", "session: closing", "session: closing reveal",
    "session: finished", "summary", "home: track finished", "get help dialog",
}


@pytest.fixture
def people(browser, mend_server, request):
    """Makes Persons whose contexts can load axe; screenshots and server log on failure."""
    made: list[Person] = []

    def make(name: str, viewport: dict, color_scheme: str) -> Person:
        person = Person(browser, mend_server.url, name, viewport)
        person.page.emulate_media(color_scheme=color_scheme)
        axe.serve_axe(person.context, mend_server.url)
        made.append(person)
        return person

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for person in made:
            with contextlib.suppress(Exception):  # best effort on the way out
                person.page.screenshot(
                    path=str(ARTIFACTS / f"failure-{request.node.name}-{person.name}.png"),
                    full_page=True,
                )
        sys.stderr.write(f"\n--- mend server log ---\n{mend_server.log()[-4000:]}\n")
    for person in made:
        person.close()


class Walk:
    """The two partners and the axe log, with the moves the test repeats."""

    def __init__(self, alex: Person, sam: Person) -> None:
        self.alex, self.sam = alex, sam
        self.log = axe.AxeLog()

    def scan(self, person: Person, screen: str) -> None:
        axe.scan(person.page, f"{screen} ({person.name}, {person.page.viewport_size['width']} px)",
                 self.log)
        self.log.screens[-1] = screen  # the coverage check below counts screens, not people

    def other(self, person: Person) -> Person:
        return self.sam if person is self.alex else self.alex

    def expect_private(self, secrets: dict[str, str]) -> None:
        """{person name: their secret}: the other partner has not seen it, anywhere."""
        for person in (self.alex, self.sam):
            other = self.other(person)
            secret = secrets.get(other.name)
            if secret is None:
                continue
            assert secret not in person.page.content(), f"{other.name}'s words shown"
            assert secret not in person.received(), f"{other.name}'s words reached {person.name}"

    def submit(self, person: Person, step_id: str, *, first: bool = True) -> None:
        """The first of the two sees "Submitted"; the second's submit reveals at once."""
        box = flows.step(person.page, step_id)
        box.get_by_test_id("submit-answer").click()
        if first:
            expect(box.get_by_test_id("submit-status")).to_have_text("Submitted")
        else:
            expect(box.get_by_test_id("reveal")).to_be_visible()

    def expect_progress(self, index: int) -> None:
        for person in (self.alex, self.sam):
            expect(person.page.get_by_test_id("step-progress")).to_have_text(
                f"Step {index} of {flows.STEP_COUNT}")

    def both_continue(self, step_id: str, next_index: int) -> None:
        """An info card: both press Continue; the first waits for the other."""
        first, second = self.alex, self.sam
        flows.step(first.page, step_id).get_by_test_id("continue-button").click()
        expect(flows.step(first.page, step_id).get_by_test_id("waiting-ready")).to_contain_text(
            f"Waiting for {second.name}")
        flows.step(second.page, step_id).get_by_test_id("continue-button").click()
        self.expect_progress(next_index)

    def both_ready(self, step_id: str, next_index: int | None) -> None:
        """At a reveal: Sam first this time, then Alex; the next step opens (or it ends)."""
        first, second = self.sam, self.alex
        flows.step(first.page, step_id).get_by_test_id("ready-button").click()
        expect(flows.step(first.page, step_id).get_by_test_id("ready-block")).to_contain_text(
            f"Waiting for {second.name}")
        flows.step(second.page, step_id).get_by_test_id("ready-button").click()
        if next_index is not None:
            self.expect_progress(next_index)

    def write_both(self, step_id: str, alex_text: str, sam_text: str,
                   box_testid: str = "answer-text") -> None:
        """Both write at once (the two drafts save in parallel), then wait for both 'Saved'."""
        for person, text in ((self.alex, alex_text), (self.sam, sam_text)):
            flows.step(person.page, step_id).get_by_test_id(box_testid).fill(text)
        for person in (self.alex, self.sam):
            expect(flows.step(person.page, step_id).get_by_test_id("save-status")).to_contain_text(
                "Saved")

    def reveal_text(self, step_id: str, alex_text: str, sam_text: str) -> None:
        """A text step: private while written and after one submit; side by side after both."""
        self.write_both(step_id, alex_text, sam_text)
        self.expect_private({"Alex": alex_text, "Sam": sam_text})
        self.submit(self.alex, step_id)
        self.expect_private({"Alex": alex_text, "Sam": sam_text})
        self.submit(self.sam, step_id, first=False)
        flows.expect_reveal(self.alex.page, step_id, alex_text, sam_text, "Sam")
        flows.expect_reveal(self.sam.page, step_id, sam_text, alex_text, "Alex")

    def acknowledge(self, person: Person, step_id: str, ack: str, text: str) -> None:
        """`person` thanks the other for what they shared; the other sees it live."""
        box = flows.step(person.page, step_id)
        button = box.get_by_test_id(f"ack-{ack}")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        other = self.other(person)
        expect(flows.step(other.page, step_id).get_by_test_id("partner-ack")).to_have_text(
            f"{person.name}: {text}")


VIEWPORTS = [
    pytest.param({"width": 1280, "height": 800}, id="1280px"),
    pytest.param({"width": 390, "height": 844}, id="390px"),
]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_two_partners_walk_the_trust_track_to_the_summary(people, viewport):
    alex = people("Alex", viewport, "light")
    sam = people("Sam", viewport, "dark")
    a, b = alex.page, sam.page
    walk = Walk(alex, sam)
    suffix = flows.new_suffix()

    # --- 1. Two new visitors, paired through the invite link -----------------------------
    a.goto("/")
    # A new visitor lands on "Create an account", not on "Log in".
    expect(a.get_by_test_id("tab-signup")).to_have_attribute("aria-selected", "true")
    expect(a.get_by_test_id("signup-email")).to_be_visible()
    walk.scan(alex, "create account")
    flows.sign_up(a, alex.name, flows.email_for(alex.name, suffix))
    expect(a.get_by_test_id("greeting")).to_contain_text(alex.name)
    expect(a.get_by_test_id("create-couple")).to_be_visible()
    walk.scan(alex, "home: no couple yet")
    link = flows.create_couple(alex)
    walk.scan(alex, "home: waiting for partner")

    b.goto(link)
    # The invite names who sent it, and opens on "Create an account".
    expect(b.get_by_test_id("invite-banner")).to_contain_text(f"{alex.name} invited you")
    expect(b.get_by_test_id("tab-signup")).to_have_attribute("aria-selected", "true")
    walk.scan(sam, "invite")
    flows.sign_up(b, sam.name, flows.email_for(sam.name, suffix))
    expect(b.get_by_test_id("couple-complete")).to_contain_text(alex.name)
    assert b.url.rstrip("/") == sam.base_url
    walk.scan(sam, "home: couple complete")
    expect(a.get_by_test_id("couple-complete")).to_contain_text(sam.name)  # live, no reload

    # --- Alex starts the track; Sam's home shows it without a reload ----------------------
    b.evaluate("window.__sameDocument = true")  # gone if the page reloads
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[0-9a-f]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    started = b.get_by_test_id(f"partner-started-{session_id}")
    expect(started).to_contain_text(f"{alex.name} started")
    expect(started).to_contain_text(flows.TRACK_TITLE)
    assert b.evaluate("window.__sameDocument === true"), "Sam's home reloaded"
    walk.scan(sam, "home: partner started a session")
    b.get_by_test_id(f"join-session-{session_id}").click()
    b.wait_for_url(re.compile(rf"/s/{session_id}$"))
    for page in (a, b):
        flows.expect_session_open(page)

    # --- The private check, each on their own screen, before any step ----------------------
    for page in (a, b):
        expect(page.get_by_test_id("check")).to_be_visible()
        expect(page.get_by_test_id("steps")).to_be_hidden()
    walk.scan(sam, "session: the private check")
    flows.pass_checks(alex, sam)

    # --- Step 1: the welcome card ----------------------------------------------------------
    expect(flows.step(a, "welcome").get_by_test_id("info-body")).to_contain_text(
        "Get help")
    walk.scan(alex, "session: info card")
    walk.both_continue("welcome", next_index=2)

    # --- Step 2: text; private while written, then side by side; Alex thanks Sam ------------
    step_id = "what-trust-means"
    alex_trust, sam_trust = unique_marker("alex-trust"), unique_marker("sam-trust")
    walk.write_both(step_id, f"Trust is {alex_trust}.", f"Trust means {sam_trust}.")
    expect(flows.step(b, step_id).get_by_test_id("partner-status")).to_contain_text(
        "Alex is writing")
    walk.scan(sam, "session: prompt (writing)")
    walk.expect_private({"Alex": alex_trust, "Sam": sam_trust})
    walk.submit(alex, step_id)
    expect(flows.step(a, step_id).get_by_test_id("waiting-partner")).to_contain_text(
        "Their answer stays private until you both submit")
    walk.scan(alex, "session: submitted, waiting")
    walk.expect_private({"Alex": alex_trust, "Sam": sam_trust})
    walk.submit(sam, step_id, first=False)
    flows.expect_reveal(a, step_id, alex_trust, sam_trust, "Sam")
    flows.expect_reveal(b, step_id, sam_trust, alex_trust, "Alex")
    assert sam_trust in alex.received()  # the privacy capture really sees the traffic
    walk.acknowledge(alex, step_id, "thanks", "Thank you for sharing")
    walk.scan(sam, "session: reveal")
    walk.both_ready(step_id, next_index=3)

    # --- Step 3: the scale -----------------------------------------------------------------
    step_id = flows.SCALE_STEP
    walk.scan(alex, "session: scale")
    flows.step(a, step_id).get_by_test_id("scale-3").check()
    flows.step(b, step_id).get_by_test_id("scale-6").check()
    walk.submit(alex, step_id)
    # Numbers are no markers: here privacy is that Alex's page shows no partner column yet.
    expect(flows.step(a, step_id).get_by_test_id("reveal-partner")).to_have_count(0)
    walk.submit(sam, step_id, first=False)
    for page, mine, theirs in ((a, "3 / 10", "6 / 10"), (b, "6 / 10", "3 / 10")):
        expect(flows.step(page, step_id).get_by_test_id("reveal-mine")).to_contain_text(mine)
        expect(flows.step(page, step_id).get_by_test_id("reveal-partner")).to_contain_text(theirs)
    walk.both_ready(step_id, next_index=4)

    # --- Step 4: text with a follow-up at the reveal; Sam hears Alex -------------------------
    step_id = "what-helps-trust-be-kept"
    alex_kept, sam_kept = unique_marker("alex-kept"), unique_marker("sam-kept")
    walk.reveal_text(step_id, f"Tell me when {alex_kept}.", f"Keep {sam_kept}.")
    for page in (a, b):
        expect(flows.step(page, step_id).get_by_test_id("followup")).to_contain_text(
            "Which of these do you already do for each other")
    walk.acknowledge(sam, step_id, "hear_you", "I hear you")
    walk.both_ready(step_id, next_index=5)

    # --- Step 5: an info card --------------------------------------------------------------
    walk.both_continue("small-moments", next_index=6)

    # --- Step 6: the checklist; "None of these right now" stands alone ------------------------
    step_id = "signs-i-notice"
    box_a, box_b = flows.step(a, step_id), flows.step(b, step_id)
    box_a.get_by_test_id("choice-0").check()
    box_a.get_by_test_id("choice-2").check()
    box_b.get_by_test_id("choice-1").check()
    box_b.get_by_test_id(f"choice-{CHECKLIST_NONE}").check()  # clears choice-1
    expect(box_b.get_by_test_id("choice-1")).not_to_be_checked()
    walk.scan(sam, "session: checklist")
    walk.submit(alex, step_id)
    expect(box_a.get_by_test_id("reveal-partner")).to_have_count(0)
    walk.submit(sam, step_id, first=False)
    expect(box_a.get_by_test_id("reveal-partner")).to_contain_text("None of these right now")
    expect(box_b.get_by_test_id("reveal-partner")).to_contain_text(
        "Check their phone, messages or where they are")
    expect(box_b.get_by_test_id("reveal-partner")).to_contain_text(
        "Ask lots of questions until I feel sure")
    walk.both_ready(step_id, next_index=7)

    # --- Step 7: optional; Alex shares, Sam chooses not to --------------------------------
    step_id = "where-my-fears-come-from"
    box_a, box_b = flows.step(a, step_id), flows.step(b, step_id)
    alex_fears, sam_unsent = unique_marker("alex-fears"), unique_marker("sam-unsent")
    walk.write_both(step_id, f"Maybe {alex_fears}.", f"Perhaps {sam_unsent}.")
    walk.submit(alex, step_id)
    walk.expect_private({"Alex": alex_fears, "Sam": sam_unsent})
    box_b.get_by_test_id("skip-answer").click()
    expect(box_b.get_by_test_id("skip-confirm")).to_contain_text(
        "Alex will see that you chose not to share this yet")
    walk.scan(sam, "session: skip confirmation")
    box_b.get_by_test_id("confirm-skip").click()
    # Both have responded: the reveal says Sam chose not to share, never an empty box.
    expect(box_a.get_by_test_id("reveal-partner")).to_contain_text(
        "Sam chose not to share this yet")
    expect(box_a.get_by_test_id("reveal-mine")).to_contain_text(alex_fears)
    expect(box_b.get_by_test_id("reveal-mine")).to_contain_text("You chose not to share this yet")
    expect(box_b.get_by_test_id("reveal-partner")).to_contain_text(alex_fears)
    expect(box_a.get_by_test_id("ack-row")).to_have_count(0)  # nothing to thank Sam for here
    walk.acknowledge(sam, step_id, "thanks", "Thank you for sharing")
    walk.scan(alex, "session: reveal with a skip")
    # Sam's unsent draft was discarded, not shared, by the skip.
    assert sam_unsent not in a.content() and sam_unsent not in alex.received()
    walk.both_ready(step_id, next_index=8)

    # --- Step 8: text ----------------------------------------------------------------------
    step_id = "what-helps-me-feel-secure"
    alex_secure, sam_secure = unique_marker("alex-secure"), unique_marker("sam-secure")
    walk.reveal_text(step_id, f"A message when {alex_secure}.", f"Hold {sam_secure}.")

    # Get help, mid-session, on a phone or a desktop: a private dialog over the session.
    help_button = b.get_by_test_id("get-help")
    help_button.click()
    dialog = b.get_by_test_id("help-dialog")
    expect(dialog.get_by_test_id("help-resource").first).to_be_visible()
    walk.scan(sam, "get help dialog")
    b.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(help_button).to_be_focused()
    walk.both_ready(step_id, next_index=9)

    # --- Step 9: the closing; a reflection and "earlier → now" -----------------------------
    step_id = "closing"
    box_a, box_b = flows.step(a, step_id), flows.step(b, step_id)
    alex_close, sam_close = unique_marker("alex-close"), unique_marker("sam-close")
    walk.write_both(step_id, f"Remember {alex_close}.", f"Keep {sam_close} in mind.")
    box_a.get_by_test_id("scale-5").check()
    box_b.get_by_test_id("scale-8").check()
    walk.scan(alex, "session: closing")
    walk.submit(alex, step_id)
    walk.expect_private({"Alex": alex_close, "Sam": sam_close})
    walk.submit(sam, step_id, first=False)
    for box, mine, theirs, my_line, their_line in (
        (box_a, alex_close, sam_close, "Earlier: 3 → now: 5", "Earlier: 6 → now: 8"),
        (box_b, sam_close, alex_close, "Earlier: 6 → now: 8", "Earlier: 3 → now: 5"),
    ):
        expect(box.get_by_test_id("reveal-mine")).to_contain_text(mine)
        expect(box.get_by_test_id("reveal-mine").get_by_test_id("compare-line")).to_have_text(
            re.compile(re.escape(my_line)))
        expect(box.get_by_test_id("reveal-partner")).to_contain_text(theirs)
        expect(box.get_by_test_id("reveal-partner").get_by_test_id("compare-line")).to_have_text(
            re.compile(re.escape(their_line)))
    walk.scan(sam, "session: closing reveal")
    walk.both_ready(step_id, next_index=None)

    # --- The end: finished for both, then the summary -------------------------------------
    for page in (a, b):
        expect(page.get_by_test_id("finished-banner")).to_contain_text(
            "You've finished this track")
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Finished · {flows.STEP_COUNT} steps")
        expect(page.get_by_test_id("ready-button")).to_have_count(0)
    walk.scan(alex, "session: finished")

    shared = {
        "what-trust-means": (alex_trust, sam_trust),
        "what-helps-trust-be-kept": (alex_kept, sam_kept),
        "what-helps-me-feel-secure": (alex_secure, sam_secure),
        "closing": (alex_close, sam_close),
    }
    for person, mine_index in ((alex, 0), (sam, 1)):
        page = person.page
        page.get_by_test_id("summary-link").click()
        page.wait_for_url(re.compile(rf"/s/{session_id}/summary$"))
        expect(page.get_by_test_id("summary-title")).to_have_text(flows.TRACK_TITLE)
        for step_id, markers in shared.items():
            block = page.get_by_test_id(f"summary-step-{step_id}")
            expect(block.get_by_test_id("summary-mine")).to_contain_text(markers[mine_index])
            expect(block.get_by_test_id("summary-partner")).to_contain_text(
                markers[1 - mine_index])
        fears = page.get_by_test_id("summary-step-where-my-fears-come-from")
        if person is alex:
            expect(fears.get_by_test_id("summary-mine")).to_contain_text(alex_fears)
            expect(fears.get_by_test_id("summary-partner")).to_contain_text(
                "Sam chose not to share this yet")
        else:
            expect(fears.get_by_test_id("summary-mine")).to_contain_text(
                "You chose not to share this yet")
            expect(fears.get_by_test_id("summary-partner")).to_contain_text(alex_fears)
        expect(page.get_by_test_id("summary-step-closing")).to_contain_text("Earlier: 3 → now: 5")
        expect(page.get_by_test_id("summary-step-welcome")).to_have_count(0)  # info cards aren't
        assert sam_unsent not in page.content()
        walk.scan(person, "summary")

    # Printable: a Print button; on paper the top bar and the controls are gone.
    expect(a.get_by_test_id("print-summary")).to_be_visible()
    a.emulate_media(media="print")
    expect(a.locator("#topbar")).to_be_hidden()
    expect(a.get_by_test_id("print-summary")).to_be_hidden()
    expect(a.get_by_test_id("summary-step-what-trust-means")).to_be_visible()
    a.emulate_media(media="screen")
    expect(a.locator("#topbar")).to_be_visible()

    # --- Home: the track is marked done and the next one is suggested ----------------------
    a.get_by_test_id("summary-home").click()
    a.wait_for_url(f"{alex.base_url}/")
    expect(a.get_by_test_id(f"track-done-{TRACK}")).to_be_visible()
    expect(a.get_by_test_id("track-suggested")).to_have_count(1)
    expect(a.locator(f'label[for="track-{NEXT_TRACK}"]').get_by_test_id("track-suggested")
           ).to_have_text("Suggested next")
    expect(a.get_by_test_id(f"summary-link-{session_id}")).to_be_visible()  # stays readable
    walk.scan(alex, "home: track finished")

    # Every screen on the list was scanned, at this width (each for one person or both).
    assert set(walk.log.screens) == SCREENS, set(walk.log.screens) ^ SCREENS
    print(walk.log.report())  # shown with -rP: what axe could not decide, for a person
    assert alex.exceptions == [] and sam.exceptions == [], (alex.exceptions, sam.exceptions)
    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)
