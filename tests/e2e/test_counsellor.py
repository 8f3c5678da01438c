"""Three browsers: two partners and a counsellor. The couple invites and agrees, the
counsellor joins with the code, holds a reveal, previews it, releases it, and gives the
floor; each partner sees only what they may, and the Activity list says who did what."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import unique_marker
from tests.e2e import axe, flows
from tests.e2e.conftest import ARTIFACTS, Person
from tests.e2e.flows import expect
from tests.live.conftest import MEND

pytestmark = pytest.mark.e2e

TEXT = flows.TEXT_STEP  # step 2
SCALE = flows.SCALE_STEP  # step 3


def sign_up_asking_to_be_a_counsellor(person, email: str) -> None:
    """The API's sign-up with `role: counsellor` (the role is only a request until granted),
    then a log-in, with this browser's cookies."""
    page = person.page

    def post(path: str, data: dict):
        token = page.request.get("/api/v1/csrf").json()["csrf_token"]
        response = page.request.post(f"/api/v1{path}", data=data,
                                     headers={"X-CSRFToken": token})
        assert response.ok, response.text()

    post("/auth/signup", {"email": email, "password": flows.PASSWORD,
                          "display_name": person.name, "role": "counsellor"})
    post("/auth/login", {"email": email, "password": flows.PASSWORD})


def grant(server, email: str) -> None:
    """`mend counsellor grant EMAIL` against the running server's database."""
    result = subprocess.run(
        [MEND, "counsellor", "grant", email],
        env={**os.environ, "MEND_DATA_DIR": str(server.data_dir)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr


def user_id(person, session_id: str) -> str:
    return flows.session_state(person, session_id)["viewer"]["user_id"]


@pytest.fixture
def counsellor(browser, mend_server, partners, request):
    jo = Person(browser, mend_server.url, "Jo", {"width": 1280, "height": 900})
    for person in (*partners, jo):
        axe.serve_axe(person.context, mend_server.url)
    yield jo
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        jo.page.screenshot(path=str(ARTIFACTS / f"failure-{request.node.name}-Jo.png"),
                           full_page=True)
    jo.close()


def test_counsellor_joins_holds_previews_releases_and_gives_the_floor(
        partners, counsellor, mend_server):
    alex, sam = partners
    jo = counsellor
    a, b, c = alex.page, sam.page, jo.page
    log = axe.AxeLog()

    # Jo asks to be a counsellor: until an administrator grants it, the page says so.
    jo_email = flows.email_for("jo", flows.new_suffix())
    c.goto("/")
    sign_up_asking_to_be_a_counsellor(jo, jo_email)
    c.goto("/")
    expect(c.get_by_test_id("counsellor-pending")).to_contain_text("waiting for approval")
    assert c.url.endswith("/counsellor")
    grant(mend_server, jo_email)
    c.reload()
    expect(c.get_by_test_id("dashboard-empty")).to_be_visible()
    axe.scan(c, "counsellor dashboard (empty)", log)

    # The couple, on the first step of a session.
    flows.pair_up(alex, sam)
    session_id = flows.start_session(alex, sam)
    alex_id, sam_id = user_id(alex, session_id), user_id(sam, session_id)

    # Alex invites a counsellor: first what it means, then the code and the link.
    a.get_by_test_id("invite-counsellor").click()
    panel = a.get_by_test_id("counsellor-invite-panel")
    expect(panel).to_contain_text("They won’t see")
    expect(panel).to_contain_text("Drafts")
    panel.get_by_test_id("create-counsellor-invite").click()
    code = a.get_by_test_id("counsellor-invite-code").inner_text().strip()
    link = a.get_by_test_id("counsellor-invite-link").input_value()
    assert link == f"{alex.base_url}/counsellor/join/{code}"
    expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("Waiting for Sam")

    # Jo follows the link before Sam has agreed: refused, and told why.
    c.goto(link)
    expect(c.get_by_test_id("counsellor-join-code")).to_have_value(code)
    axe.scan(c, "counsellor join page", log)
    c.get_by_test_id("counsellor-join-submit").click()
    error = c.get_by_test_id("counsellor-join-error")
    expect(error).to_have_attribute("data-code", "forbidden")
    expect(error).to_contain_text("Both partners need to agree")
    axe.scan(c, "counsellor join page (refused)", log)

    # Sam is asked, and agrees.
    expect(b.get_by_test_id("counsellor-consent-title")).to_have_text(
        "Alex would like to invite a counsellor")
    b.get_by_test_id("agree-counsellor").click()
    expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("both agreed")

    # Now Jo joins, and lands in the session with the controls; both partners are told.
    c.get_by_test_id("counsellor-join-submit").click()
    c.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
    expect(c.get_by_test_id("moderation-panel")).to_be_visible()
    for page in (a, b):
        notice = page.get_by_test_id("counsellor-notice")
        expect(notice).to_contain_text("Jo is here as your counsellor")
        expect(notice).to_contain_text("never see drafts")
        expect(notice.get_by_test_id("remove-counsellor")).to_be_visible()

    # Jo moves the session on from the opening card.
    c.get_by_test_id("mod-advance").click()
    for page in (a, b, c):
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step 2 of {flows.STEP_COUNT}")

    # Jo holds the reveal; both partners answer.
    c.get_by_test_id("mod-hold").focus()  # the controls work from the keyboard
    c.keyboard.press("Enter")
    expect(c.get_by_test_id("mod-held")).to_be_visible()
    expect(c.get_by_test_id("answer-text")).to_have_count(0)  # a counsellor never answers
    alex_marker, sam_marker = unique_marker("alex"), unique_marker("sam")
    flows.write_draft(a, TEXT, f"Trust is {alex_marker}.")
    flows.submit(a, TEXT)
    flows.write_draft(b, TEXT, f"For me, {sam_marker}.")
    flows.submit(b, TEXT)
    for page in (a, b):
        expect(flows.step(page, TEXT).get_by_test_id("held-note")).to_have_text(
            "Both answers are in. Your counsellor will show them when you're ready to talk.")
        expect(flows.step(page, TEXT).get_by_test_id("reveal-partner")).to_have_count(0)
    assert sam_marker not in a.content() and alex_marker not in b.content()
    assert sam_marker not in alex.received(), "Sam's held answer reached Alex's browser"
    assert alex_marker not in sam.received(), "Alex's held answer reached Sam's browser"

    # Jo sees who has submitted, previews both answers (only Jo), then releases them.
    expect(flows.step(c, TEXT).get_by_test_id("observe-submitted")).to_have_text(
        "Alex has submitted · Sam has submitted")
    c.get_by_test_id("mod-preview").click()
    dialog = c.get_by_test_id("preview-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("preview-entry")).to_have_count(2)
    expect(dialog).to_contain_text(alex_marker)
    expect(dialog).to_contain_text(sam_marker)
    axe.scan(c, "counsellor preview dialog", log)
    c.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(c.get_by_test_id("mod-preview")).to_be_focused()
    assert sam_marker not in a.content() and alex_marker not in b.content()

    c.get_by_test_id("mod-release").click()
    flows.expect_reveal(a, TEXT, alex_marker, sam_marker, "Sam")
    flows.expect_reveal(b, TEXT, sam_marker, alex_marker, "Alex")

    # Every counsellor action, and the preview, is in both partners' Activity, in words.
    for page in (a, b):
        activity = page.get_by_test_id("activity")
        activity.locator("summary").click()
        expect(activity).to_contain_text("Jo (counsellor) held the answers to")
        expect(activity).to_contain_text("Jo (counsellor) read the answers to")
        expect(activity).to_contain_text("Jo (counsellor) released the answers to")
        expect(activity).to_contain_text("Jo (counsellor) joined as your counsellor")
    expect(a.get_by_test_id("activity")).to_contain_text("Sam agreed to a counsellor joining")
    expect(b.get_by_test_id("activity")).to_contain_text("You agreed to a counsellor joining")
    axe.scan(a, "partner session with a counsellor", log)

    # On to the scale step; Jo gives Alex the floor: Sam's input closes, with the reason.
    c.get_by_test_id("mod-advance").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step 3 of {flows.STEP_COUNT}")
    c.get_by_role("button", name="Give the floor to Alex").click()
    expect(c.get_by_test_id(f"mod-floor-{alex_id}")).to_have_attribute("aria-pressed", "true")
    scale_b = flows.step(b, SCALE)
    expect(scale_b.get_by_test_id("floor-note")).to_contain_text(
        "Your counsellor has given the floor to Alex")
    expect(scale_b.get_by_test_id("scale-5")).to_be_disabled()
    expect(scale_b.get_by_test_id("submit-blocked")).to_contain_text(
        "Your counsellor has given the floor to Alex")
    expect(flows.step(a, SCALE).get_by_test_id("floor-note")).to_have_text(
        "Your counsellor has given you the floor.")
    expect(flows.step(a, SCALE).get_by_test_id("scale-5")).to_be_enabled()
    axe.scan(c, "counsellor session view", log)
    ARTIFACTS.mkdir(exist_ok=True)
    for person in (alex, sam, jo):
        person.page.evaluate("window.scrollTo(0, 0)")
        person.page.screenshot(path=str(ARTIFACTS / f"counsellor-floor-{person.name}.png"),
                               full_page=True)
    axe.scan(b, "partner without the floor", log)

    # Jo opens the floor again: Sam can answer.
    c.get_by_test_id("mod-floor-open").click()
    expect(scale_b.get_by_test_id("floor-note")).to_have_count(0)
    expect(scale_b.get_by_test_id("scale-5")).to_be_enabled()

    # The dashboard lists the session, live: Alex answers and the row says so.
    c.get_by_test_id("back-home").click()
    row = c.get_by_test_id(f"dash-row-{session_id}")
    expect(row).to_contain_text("Alex & Sam")
    expect(row.get_by_test_id("dash-step")).to_contain_text("Step 3 of")
    expect(row.get_by_test_id("dash-submitted")).to_have_text("Alex hasn't yet · Sam hasn't yet")
    flows.step(a, SCALE).get_by_test_id("scale-7").check()
    flows.submit(a, SCALE)
    expect(row.get_by_test_id("dash-submitted")).to_have_text(
        "Alex has submitted · Sam hasn't yet")
    axe.scan(c, "counsellor dashboard", log)
    ARTIFACTS.mkdir(exist_ok=True)
    c.screenshot(path=str(ARTIFACTS / "counsellor-dashboard.png"), full_page=True)

    # Alex removes the counsellor: the session leaves Jo's dashboard at once.
    a.get_by_test_id("remove-counsellor").click()
    a.get_by_test_id("confirm-remove-counsellor").click()
    expect(row).to_have_count(0)
    expect(c.get_by_test_id("dashboard-empty")).to_be_visible()
    for page in (a, b):
        expect(page.get_by_test_id("counsellor-notice")).to_have_count(0)
        expect(page.get_by_test_id("invite-counsellor")).to_be_visible()
    expect(b.get_by_test_id("activity")).to_contain_text("Alex removed the counsellor")

    assert sam_id != alex_id
    assert alex.errors == [] and sam.errors == [], (alex.errors, sam.errors)
    # The one refused join (before Sam agreed) is the browser's only logged failure.
    assert jo.errors == [
        "Failed to load resource: the server responded with a status of 403 (FORBIDDEN)"
    ], jo.errors
    print(log.report())


def counsellor_in_session(alex, sam, jo, server) -> str:
    """Jo is a granted counsellor; Alex and Sam pair up and start a session; Alex invites,
    Sam says "Not now" once, Alex invites again, Sam agrees, and Jo joins. Returns its id."""
    a, b, c = alex.page, sam.page, jo.page
    email = flows.email_for("jo", flows.new_suffix())
    c.goto("/")
    sign_up_asking_to_be_a_counsellor(jo, email)
    grant(server, email)
    flows.pair_up(alex, sam)
    session_id = flows.start_session(alex, sam)

    a.get_by_test_id("invite-counsellor").click()
    a.get_by_test_id("create-counsellor-invite").click()
    expect(a.get_by_test_id("counsellor-invite-code")).to_be_visible()
    first_code = a.get_by_test_id("counsellor-invite-code").inner_text().strip()
    b.get_by_test_id("decline-counsellor").click()  # "Not now" cancels the invite
    expect(a.get_by_test_id("invite-counsellor")).to_be_visible()
    expect(b.get_by_test_id("counsellor-invite")).to_have_count(0)

    # The new invite's push can reach Alex before the answer to his own request does: hold
    # that answer back. Until it comes, the page has no code to show, and must never show
    # the cancelled one.
    held = []

    def hold_answer(route) -> None:
        held.append((route, route.fetch()))

    invite_api = f"**/api/v1/sessions/{session_id}/counsellor-invite"
    a.route(invite_api, hold_answer)
    a.get_by_test_id("invite-counsellor").click()
    a.get_by_test_id("create-counsellor-invite").click()
    expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("Waiting for")
    expect(a.get_by_test_id("counsellor-invite-code")).to_have_count(0)
    assert first_code not in a.locator("body").inner_text()
    route, answer = held[0]
    route.fulfill(response=answer)
    a.unroute(invite_api)
    expect(a.get_by_test_id("counsellor-invite-code")).to_be_visible()
    code = a.get_by_test_id("counsellor-invite-code").inner_text().strip()
    assert code != first_code
    b.get_by_test_id("agree-counsellor").click()
    expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("both agreed")
    c.goto("/")  # the dashboard: Jo types the code there
    c.get_by_test_id("dashboard-join-code").fill(code)
    c.get_by_test_id("dashboard-join-submit").click()
    expect(c.get_by_test_id("counsellor-join-code")).to_have_value(code)
    c.get_by_test_id("counsellor-join-submit").click()
    c.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
    for page in (a, b):
        expect(page.get_by_test_id("counsellor-notice")).to_be_visible()
    return session_id


def test_counsellor_cards_notes_messages_revisit_and_ending_with_help(
        partners, counsellor, mend_server):
    alex, sam = partners
    jo = counsellor
    a, b, c = alex.page, sam.page, jo.page
    counsellor_in_session(alex, sam, jo, mend_server)
    c.get_by_test_id("mod-advance").click()
    for page in (a, b):
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step 2 of {flows.STEP_COUNT}")

    # A reframe card: shown to both, on the step under way.
    card = unique_marker("card")
    c.get_by_test_id("mod-card-body").fill(f"Notice what you each need, {card}.")
    c.get_by_test_id("mod-card-send").click()
    for page in (a, b):
        expect(flows.step(page, TEXT).get_by_test_id("reframe-card")).to_contain_text(card)
    expect(c.get_by_test_id("mod-card-body")).to_have_value("")

    # A question: the next step for both, answered like any other.
    question = unique_marker("question")
    c.get_by_test_id("mod-card-kind-prompt").check()
    c.get_by_test_id("mod-card-body").fill(f"What would help this week? {question}")
    c.get_by_test_id("mod-card-send").click()
    for page in (a, b, c):
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step 2 of {flows.STEP_COUNT + 1}")
        expect(page.get_by_test_id("steps")).to_contain_text("A question from your counsellor")

    # A private note stays with Jo; a private message reaches Sam only.
    note, message = unique_marker("note"), unique_marker("message")
    c.get_by_test_id("mod-note-body").fill(f"Sam seems tense {note}")
    c.get_by_test_id("mod-note-send").click()
    expect(c.get_by_test_id("mod-note")).to_contain_text(note)
    c.get_by_test_id("mod-note-to").select_option(label="Sam (a private message only they see)")
    c.get_by_test_id("mod-note-body").fill(f"Take your time, Sam {message}")
    c.get_by_test_id("mod-note-send").click()
    expect(c.get_by_test_id("mod-note")).to_have_count(2)
    expect(b.get_by_test_id("counsellor-message")).to_contain_text(message)
    sent = "Jo (counsellor) sent a private message to"
    expect(b.get_by_test_id("activity")).to_contain_text(f"{sent} you")
    expect(a.get_by_test_id("activity")).to_contain_text(f"{sent} Sam")
    expect(a.get_by_test_id("activity")).to_contain_text("Jo (counsellor) wrote a private note")
    expect(a.get_by_test_id("counsellor-messages")).to_have_count(0)
    for person in (alex, sam):
        assert note not in person.page.content() and note not in person.received()
    assert message not in a.content() and message not in alex.received()

    # Jo brings the finished first step back: highlighted for both.
    c.get_by_test_id("mod-revisit-step").select_option("welcome")
    c.get_by_test_id("mod-revisit").click()
    for page in (a, b):
        welcome = flows.step(page, "welcome")
        expect(welcome.get_by_test_id("revisit-note")).to_contain_text("brought this step back")
        expect(welcome).to_have_class(re.compile(r"\bstep-revisit\b"))
        expect(welcome.get_by_test_id("step-done")).to_have_attribute("open", "")

    # Jo ends the session (after a confirmation): the same early stop as any other (issue
    # 15), credited to nobody, with the same words and the same help list for both.
    c.get_by_test_id("mod-end").click()
    expect(c.get_by_test_id("mod-end-question")).to_be_focused()
    c.get_by_test_id("mod-end-confirm").click()
    for page in (a, b):
        flows.expect_stopped(page)
        banner = page.get_by_test_id("finished-banner")
        expect(banner).not_to_contain_text("Jo")
        expect(banner).not_to_contain_text("Your counsellor ended")
    banners = [page.get_by_test_id("finished-banner").inner_text() for page in (a, b)]
    assert banners[0] == banners[1], banners
    flows.expect_stopped(c, help_list=False)
    axe.scan(b, "partner: session ended by the counsellor")
    ARTIFACTS.mkdir(exist_ok=True)
    b.evaluate("window.scrollTo(0, 0)")
    b.screenshot(path=str(ARTIFACTS / "counsellor-ended-Sam.png"), full_page=True)
    axe.scan(c, "counsellor: session ended")

    assert alex.errors == [] and sam.errors == [] and jo.errors == [], (
        alex.errors, sam.errors, jo.errors)
