"""The live home, in real browsers against a real `mend run`: the partner joining, a session
started by the other partner and a finished track all appear without a reload, over the
app's one Socket.IO connection (the home no longer polls, so only the `me:state` push can
make these pass); both pressing Start at once land in one session.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.checking import pass_check_over_socket
from tests.e2e import flows
from tests.e2e.conftest import Person
from tests.e2e.flows import expect
from tests.live.conftest import Browserless

pytestmark = pytest.mark.e2e

# A push arrives in milliseconds; this bound only absorbs a slow, shared machine. (The
# home used to poll every 5 s; it no longer polls at all.)
LIVE_MS = 4_000
APPRECIATION = "small-steps-of-appreciation"
APPRECIATION_TITLE = "Small steps of appreciation"


def count_handshakes(person) -> list[str]:
    """Socket.IO connections this page opens: an Engine.IO handshake has no `sid`."""
    handshakes: list[str] = []
    person.page.on(
        "request",
        lambda req: "/socket.io/" in req.url and "sid=" not in req.url
        and handshakes.append(req.url),
    )
    return handshakes


def mark_page(page) -> None:
    """A flag that a reload (or any full page load) would wipe."""
    page.evaluate("window.__sameDocument = true")


def assert_same_page(page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def test_the_partner_joining_and_a_new_session_show_up_live(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    sam_handshakes = count_handshakes(sam)
    suffix = flows.new_suffix()

    # Alex waits for Sam on the home page, which updates by itself when Sam joins.
    a.goto("/")
    flows.sign_up(a, alex.name, flows.email_for(alex.name, suffix))
    expect(a.get_by_test_id("greeting")).to_contain_text(alex.name)
    link = flows.create_couple(alex)
    mark_page(a)
    flows.join_by_link(sam, link, alex.name, suffix)
    expect(a.get_by_test_id("couple-complete")).to_contain_text(sam.name, timeout=LIVE_MS)
    expect(a.get_by_test_id("waiting-for-partner")).to_have_count(0)
    assert_same_page(a)

    # Sam stays on the home page; Alex starts the trust track.
    expect(b.get_by_test_id(f"track-{flows.TRACK}")).to_be_visible()
    mark_page(b)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]

    started = b.get_by_test_id(f"partner-started-{session_id}")
    expect(started).to_contain_text(f"Alex started “{flows.TRACK_TITLE}”", timeout=LIVE_MS)
    expect(b.get_by_test_id(f"track-underway-{flows.TRACK}")).to_be_visible()
    expect(b.get_by_test_id(f"session-link-{session_id}")).to_have_text("Join")
    assert_same_page(b)

    # Join opens Alex's session; both are in it, over Sam's one connection.
    b.get_by_test_id(f"join-session-{session_id}").click()
    b.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
    for page in (a, b):
        flows.expect_session_open(page)
    flows.pass_checks(alex, sam)
    expect(a.get_by_test_id("participant").filter(has_text="Sam")).to_have_class(
        re.compile(r"\bonline\b"))

    # Home and back, twice: the same connection all along (one handshake since sign-up).
    for _ in range(2):
        b.get_by_test_id("back-home").click()
        expect(b.get_by_test_id(f"session-link-{session_id}")).to_be_visible()
        expect(a.get_by_test_id("participant").filter(has_text="Sam")).not_to_have_class(
            re.compile(r"\bonline\b"))  # leaving the screen leaves the session's room
        b.get_by_test_id(f"session-link-{session_id}").click()
        flows.expect_session_open(b)
    assert_same_page(b)
    assert len(sam_handshakes) == 1, sam_handshakes
    assert b.evaluate("window.__mendSocket && window.__mendSocket.connected") is True
    assert alex.exceptions == [] and sam.exceptions == [], (alex.exceptions, sam.exceptions)


def test_both_pressing_start_at_once_land_in_one_session(partners):
    alex, sam = partners
    a, b = alex.page, sam.page
    flows.pair_up(alex, sam)
    for page in (a, b):
        page.get_by_test_id(f"track-{flows.TRACK}").check()
        expect(page.get_by_test_id("start-session")).to_have_text("Start session")

    # Both confirm at the same moment ("Yes, start"): each page schedules its own click for
    # one shared instant (the two browsers share this machine's clock).
    for page in (a, b):
        page.get_by_test_id("start-session").click()
        expect(page.get_by_test_id("confirm-start")).to_be_visible()
    at = int(time.time() * 1000) + 400
    for page in (a, b):
        page.evaluate("""(at) => { setTimeout(() => document.querySelector(
            '[data-testid="confirm-start"]').click(), Math.max(0, at - Date.now())); }""", at)
    for page in (a, b):
        page.wait_for_url(re.compile(r"/s/[^/]+$"))
    ids = {page.url.rsplit("/", 1)[1] for page in (a, b)}
    assert len(ids) == 1, ids
    for page in (a, b):
        flows.expect_session_open(page)
    sessions = a.request.get("/api/v1/me").json()["sessions"]
    assert [s["id"] for s in sessions] == list(ids), sessions


# --- a finished track -----------------------------------------------------------------------


def emit(sock, event: str, **payload) -> dict:
    ack = sock.call(event, payload, timeout=10)
    assert ack["ok"], (event, payload, ack)
    return ack


def finish_by_skipping(socks, session_id: str) -> None:
    """Both partners go through a track whose answered steps are all optional: skip, ready."""
    state = emit(socks[0], "session:join", session_id=session_id)["state"]
    for sock in socks[1:]:
        emit(sock, "session:join", session_id=session_id)
    for n, sock in enumerate(socks):  # the private check that opens every session
        pass_check_over_socket(sock, session_id, f"home-{n}")
    for step in state["steps"]:
        if step["answer"] is not None:
            assert step["optional"], step["id"]
            for n, sock in enumerate(socks):
                emit(sock, "entry:submit", session_id=session_id, step_id=step["id"],
                     client_id=f"shell-{n}-{step['id']}"[:60], skip=True)
        for sock in socks:
            emit(sock, "step:ready", session_id=session_id, step_id=step["id"])


def test_a_finished_track_is_marked_done_live_and_its_summary_is_linked(browser, mend_server):
    """Ana's home is open in a browser while Ana and Ben finish the appreciation track
    from two other clients: the home marks the track done, suggests the trust track and
    lists the session with its summary page, without a reload. Offline, it says so calmly."""
    ana = Browserless(mend_server.url, "Ana").sign_up()
    ben = Browserless(mend_server.url, "Ben").sign_up()
    code = ana.post("/couples").json()["invite_code"]
    couple_id = ben.post("/couples/join", {"invite_code": code}).json()["couple"]["id"]
    person = Person(browser, mend_server.url, "Ana", {"width": 1280, "height": 900})
    try:
        page = person.page
        page.goto("/")
        page.get_by_test_id("switch-to-login").click()
        page.get_by_test_id("login-email").fill(ana.email)
        page.get_by_test_id("login-password").fill(ana.password)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("couple-complete")).to_contain_text("Ben")
        expect(page.get_by_test_id("sessions-empty")).to_contain_text("No sessions yet")
        # Nothing done yet: the first track in the library is suggested and chosen.
        suggested = page.get_by_test_id("track-suggested")
        expect(suggested).to_have_count(1)
        expect(page.locator(".track-option", has=suggested)).to_contain_text(APPRECIATION_TITLE)
        expect(page.get_by_test_id(f"track-{APPRECIATION}")).to_be_checked()
        page.get_by_test_id(f"track-{flows.TRACK}").check()
        mark_page(page)

        # Ben starts the appreciation track; Ana's home shows it at once.
        started = ben.post("/sessions", {"couple_id": couple_id, "track_id": APPRECIATION})
        assert started.status_code == 201, started.text
        session_id = started.json()["session"]["id"]
        expect(page.get_by_test_id(f"partner-started-{session_id}")).to_contain_text(
            f"Ben started “{APPRECIATION_TITLE}”", timeout=LIVE_MS)
        # The update kept Ana's choice (not the suggested default), and her focus on it.
        expect(page.get_by_test_id(f"track-{flows.TRACK}")).to_be_checked()
        expect(page.get_by_test_id(f"track-{flows.TRACK}")).to_be_focused()
        expect(page.get_by_test_id("start-session")).to_have_text("Start session")
        # Pressing Start on that track now opens it (POST /sessions answers 200).
        page.get_by_test_id(f"track-{APPRECIATION}").check()
        expect(page.get_by_test_id("start-session")).to_have_text("Open the session under way")

        socks = [ana.connect(), ben.connect()]
        finish_by_skipping(socks, session_id)

        expect(page.get_by_test_id(f"track-done-{APPRECIATION}")).to_be_visible(timeout=LIVE_MS)
        expect(page.get_by_test_id(f"partner-started-{session_id}")).to_have_count(0)
        expect(suggested).to_have_count(1)
        expect(page.locator(".track-option", has=suggested)).to_contain_text(flows.TRACK_TITLE)
        expect(page.get_by_test_id("past-sessions")).to_contain_text(APPRECIATION_TITLE)
        expect(page.get_by_test_id("active-sessions")).to_have_count(0)
        assert_same_page(page)
        # The choice made before the update is kept: Start would now begin it again.
        expect(page.get_by_test_id(f"track-{APPRECIATION}")).to_be_checked()
        expect(page.get_by_test_id("start-session")).to_have_text("Start session")

        # Offline: a small line says the page will catch up; it goes once connected again.
        connection = page.get_by_test_id("home-connection")
        expect(connection).to_be_hidden()
        person.context.set_offline(True)
        expect(connection).to_be_visible()
        expect(connection).to_have_attribute("data-status", "offline")
        person.context.set_offline(False)
        expect(connection).to_be_hidden(timeout=20_000)
        expect(connection).to_have_attribute("data-status", "connected")

        # The past session opens, and so does its summary page.
        page.get_by_test_id(f"summary-link-{session_id}").click()
        page.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}/summary$"))
        expect(page.get_by_test_id("summary-title")).to_be_visible()
        # Home by the page's own link: moving between screens adds no history entry (issue
        # 15: Back leaves Mend), so the browser's Back is not the way.
        page.get_by_test_id("summary-home").click()
        page.get_by_test_id(f"session-link-{session_id}").click()
        page.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))
        expect(page.get_by_test_id("session-title")).to_have_text(APPRECIATION_TITLE)
        assert person.exceptions == [], person.exceptions
    finally:
        person.close()
        ana.close()
        ben.close()
