"""Steps the browser tests share: two partners sign up, pair through the invite link, start
a session and pass its opening info card. Each step asserts what a person would see.

`alex` and `sam` are `tests.e2e.conftest.Person`s (a browser context each); the first
creates the couple, the second joins it.
"""

from __future__ import annotations

import re

from tests.conftest import unique_marker

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (or fails in CI)
    expect = None

TRACK = "understanding-our-trust"
TRACK_TITLE = "Understanding our trust"
STEP_COUNT = 9  # understanding-our-trust v2 (ends with a closing step)
PASSWORD = "correct horse battery"
TEXT_STEP = "what-trust-means"  # step 2, a text answer
SCALE_STEP = "feeling-secure-now"  # step 3, a 1-10 scale


def email_for(name: str, suffix: str) -> str:
    return f"{name.lower()}-{suffix}@example.test"


def new_suffix() -> str:
    return unique_marker("user")[-8:]


def sign_up(page, name: str, email: str) -> None:
    page.get_by_test_id("tab-signup").click()
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-name").fill(name)
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()


def create_couple(person) -> str:
    """On the home page, logged in: create the couple space. Returns the invite link."""
    page = person.page
    page.get_by_test_id("create-couple").click()
    code = page.get_by_test_id("invite-code").inner_text().strip()
    link = page.get_by_test_id("invite-link").input_value()
    assert re.fullmatch(r"[A-Z0-9]{8}", code), code
    assert link == f"{person.base_url}/join/{code}"
    expect(page.get_by_test_id("waiting-for-partner")).to_be_visible()
    return link


def join_by_link(person, link: str, inviter: str, suffix: str) -> None:
    """Follow the invite link signed out, sign up, land in the inviter's couple space."""
    page = person.page
    page.goto(link)
    expect(page.get_by_test_id("invite-banner")).to_contain_text(
        "You've been invited to join your partner on Mend"
    )
    sign_up(page, person.name, email_for(person.name, suffix))
    expect(page.get_by_test_id("couple-complete")).to_contain_text(inviter)
    assert page.url.rstrip("/") == person.base_url  # the /join/<code> address is left behind


def pair_up(alex, sam) -> None:
    """Alex signs up and invites; Sam joins through the link; Alex's card notices Sam."""
    suffix = new_suffix()
    a = alex.page
    a.goto("/")
    sign_up(a, alex.name, email_for(alex.name, suffix))
    expect(a.get_by_test_id("greeting")).to_contain_text(alex.name)
    link = create_couple(alex)
    join_by_link(sam, link, alex.name, suffix)
    # The waiting card polls every 5 s: it notices Sam on its own.
    expect(a.get_by_test_id("couple-complete")).to_contain_text(sam.name, timeout=15_000)


def open_session(person, session_id: str) -> None:
    """From the home page's sessions list (reloaded: the session is new)."""
    page = person.page
    page.reload()
    page.get_by_test_id(f"session-link-{session_id}").click()
    page.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))


def expect_session_open(page, step_index: int = 1) -> None:
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    expect(page.get_by_test_id("session-title")).to_have_text(TRACK_TITLE)
    expect(page.get_by_test_id("step-progress")).to_have_text(
        f"Step {step_index} of {STEP_COUNT}"
    )


def start_session(alex, sam) -> str:
    """Alex starts the track from home; Sam opens it. Returns the session id."""
    a = alex.page
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    open_session(sam, session_id)
    for page in (a, sam.page):
        expect_session_open(page)
    pass_checks(alex, sam)
    return session_id


def answer_check(page, answers: dict[str, str] | None = None) -> None:
    """Answer the private check that opens every session (clear answers by default)."""
    from tests.checking import clear_answers

    panel = page.get_by_test_id("check")
    expect(panel).to_be_visible()
    for question, option in (answers or clear_answers()).items():
        panel.get_by_test_id(f"check-{question}-{option}").check()
    panel.get_by_test_id("check-submit").click()


def pass_checks(*people, answers: dict[str, str] | None = None) -> None:
    """Each partner answers the check clear on their own screen; the steps then show.
    `answers`: for a track's own check step (its questions), clear answers to them."""
    for person in people:
        answer_check(person.page, answers)
    for person in people:
        expect(person.page.get_by_test_id("check")).to_be_hidden()
        expect(person.page.get_by_test_id("steps")).to_be_visible()


def stopped_words() -> tuple[str, str]:
    """The title and text of the card a session that stopped early shows to everyone
    (content/check.yaml settings.stopped_title and stopped_text)."""
    import yaml

    from tests.checking import CHECK_FILE

    settings = yaml.safe_load(CHECK_FILE.read_text(encoding="utf-8"))["settings"]
    return settings["stopped_title"], " ".join(settings["stopped_text"].split())


def expect_stopped(page, *, help_list: bool = True) -> None:
    """The session stopped for today: the neutral card, in content/check.yaml's words,
    credited to nobody; a partner (`help_list`) sees the help list in it."""
    title, text = stopped_words()
    banner = page.get_by_test_id("finished-banner")
    expect(banner.locator("#finished-title")).to_have_text(title)
    expect(banner.get_by_test_id("ended-text")).to_have_text(text)
    expect(banner).not_to_have_attribute("data-ended-by", re.compile(".*"))
    if help_list:
        expect(banner.get_by_test_id("ended-help")).to_be_visible()
        expect(banner.get_by_test_id("ended-help-resource").first).to_be_visible()
    else:
        expect(banner.get_by_test_id("ended-help")).to_have_count(0)


def pass_info_card(alex, sam) -> None:
    """Both press Continue on the opening info card; step 2 opens for both."""
    a, b = alex.page, sam.page
    a.get_by_test_id("continue-button").click()
    expect(a.get_by_test_id("waiting-ready")).to_contain_text(f"Waiting for {sam.name}")
    b.get_by_test_id("continue-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text(f"Step 2 of {STEP_COUNT}")


def couple_in_session(alex, sam) -> str:
    """Everything up to step 2 (the first prompt) open for both. Returns the session id."""
    pair_up(alex, sam)
    session_id = start_session(alex, sam)
    pass_info_card(alex, sam)
    return session_id


def step(page, step_id: str):
    return page.get_by_test_id(f"step-{step_id}")


def write_draft(page, step_id: str, text: str) -> None:
    """Write into a text step and wait until the server acknowledged the draft."""
    box = step(page, step_id)
    box.get_by_test_id("answer-text").fill(text)
    expect(box.get_by_test_id("save-status")).to_contain_text("Saved")


def submit(page, step_id: str) -> None:
    """Submit as the first of the two (the second one's submit reveals straight away)."""
    box = step(page, step_id)
    box.get_by_test_id("submit-answer").click()
    expect(box.get_by_test_id("submit-status")).to_have_text("Submitted")


def expect_reveal(page, step_id: str, mine: str, theirs: str, partner: str) -> None:
    """Both answers side by side, labelled, with the ready button."""
    box = step(page, step_id)
    expect(box.get_by_test_id("reveal-mine")).to_contain_text(mine)
    expect(box.get_by_test_id("reveal-mine")).to_contain_text("You")
    expect(box.get_by_test_id("reveal-partner")).to_contain_text(theirs)
    expect(box.get_by_test_id("reveal-partner")).to_contain_text(partner)
    expect(box.get_by_test_id("ready-button")).to_be_visible()


def both_ready(alex, sam, step_id: str, next_index: int) -> None:
    a, b = alex.page, sam.page
    step(a, step_id).get_by_test_id("ready-button").click()
    expect(step(a, step_id).get_by_test_id("ready-block")).to_contain_text(
        f"Waiting for {sam.name}"
    )
    step(b, step_id).get_by_test_id("ready-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step {next_index} of {STEP_COUNT}"
        )


def session_state(person, session_id: str) -> dict:
    """The person's view from the HTTP API, with their cookies (GET /api/v1/sessions/<id>)."""
    response = person.page.request.get(f"/api/v1/sessions/{session_id}")
    assert response.ok, response.text()
    return response.json()["state"]


def step_state(state: dict, step_id: str) -> dict:
    return next(s for s in state["steps"] if s["id"] == step_id)
