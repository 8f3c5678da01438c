"""Closing the laptop, losing Wi-Fi or restarting the server loses nothing acknowledged.

Real parts only: a `mend run` process killed with SIGKILL and started again on the same
port and data directory, and Chromium's own offline switch. The client must show that it
is reconnecting, join again with session:join, and resend an unacknowledged submit with the
same client_id; a submit is "Submitted" only once the server has acknowledged it.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import unique_marker
from tests.e2e import flows
from tests.e2e.flows import expect
from tests.live.conftest import MendServer

pytestmark = pytest.mark.e2e

STEP = flows.TEXT_STEP
# socket.io retries with a back-off capped at 5 s; a restart takes a second or two more.
RECONNECT_TIMEOUT_MS = 20_000
# What a browser logs, by itself, while it cannot reach the server.
NETWORK_NOISE = ("net::ERR_", "WebSocket connection to")


@pytest.fixture
def restart(mend_server):
    """`restart()` starts Mend again on the same port and data directory (same database,
    same secret key, so the same cookies work). Every server it started is stopped."""
    started: list[MendServer] = []

    def start_again() -> MendServer:
        server = MendServer(mend_server.data_dir, mend_server.async_mode, port=mend_server.port)
        started.append(server)
        return server.start()

    yield start_again
    if mend_server.process.poll() is None:  # a test that froze it and then failed
        mend_server.process.send_signal(signal.SIGCONT)
    for server in started:
        server.stop()


def only_network_noise(person) -> None:
    """No uncaught JS error, and no console error but the browser's own network failures."""
    assert person.exceptions == [], person.exceptions
    other = [e for e in person.errors if not any(noise in e for noise in NETWORK_NOISE)]
    assert other == [], other


def wait_until(predicate, timeout: float = 10.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish_with_reveal(alex, sam, session_id: str, alex_text: str) -> None:
    """Sam, who saw none of it, answers; both see the reveal; the server holds exactly one
    entry from Alex on the step, with Alex's text."""
    a, b = alex.page, sam.page
    expect(b.get_by_test_id("connection-status")).to_have_text(
        "Connected", timeout=RECONNECT_TIMEOUT_MS
    )
    expect(flows.step(b, STEP).get_by_test_id("partner-status")).to_contain_text(
        "Alex has submitted"
    )
    sam_text = f"For me it is {unique_marker('sam')}."
    flows.write_draft(b, STEP, sam_text)
    flows.step(b, STEP).get_by_test_id("submit-answer").click()  # the second: reveals at once
    flows.expect_reveal(a, STEP, alex_text, sam_text, "Sam")
    flows.expect_reveal(b, STEP, sam_text, alex_text, "Alex")

    state = flows.session_state(alex, session_id)
    step = flows.step_state(state, STEP)
    assert step["status"] == "revealed"
    entries = step["revealed"]["entries"]
    from_alex = [e for e in entries if e["user_id"] == state["viewer"]["user_id"]]
    assert len(entries) == 2 and len(from_alex) == 1, entries
    assert from_alex[0]["body"] == alex_text
    assert step["mine"]["entry"]["body"] == alex_text


def test_server_killed_then_restarted_loses_nothing(partners, mend_server, restart):
    """kill -9 after a saved draft; submit while the server is down; restart; the submit
    goes through exactly once and the words are intact."""
    alex, sam = partners
    a = alex.page
    session_id = flows.couple_in_session(alex, sam)
    box = flows.step(a, STEP)
    text = f"Trust is {unique_marker('alex-restart')}."
    flows.write_draft(a, STEP, text)

    mend_server.kill_9()
    status = a.get_by_test_id("connection-status")
    expect(status).to_contain_text("Reconnecting…")
    expect(status).to_have_attribute("data-status", "reconnecting")

    # Submitting now can't be confirmed: the UI says it is being sent and that it's kept.
    box.get_by_test_id("submit-answer").click()
    submit_status = box.get_by_test_id("submit-status")
    expect(submit_status).to_contain_text("Sending…")
    expect(submit_status).to_contain_text("You're not connected right now")
    expect(box.get_by_test_id("my-answer")).to_contain_text(text)
    a.wait_for_timeout(1_000)  # and it stays that way: nothing pretends to be confirmed
    expect(submit_status).not_to_contain_text("Submitted")
    assert alex.emitted("entry:submit") == []  # there was nobody to send it to

    restart()
    expect(status).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    expect(submit_status).to_have_text("Submitted")
    expect(box.get_by_test_id("my-answer")).to_contain_text(text)

    # The server holds it, once, under the client_id the browser chose.
    mine = flows.step_state(flows.session_state(alex, session_id), STEP)["mine"]
    assert mine["entry"]["body"] == text
    sent = alex.emitted("entry:submit")
    assert sent, "the browser never sent the submit"
    assert {p["client_id"] for p in sent} == {mine["entry"]["client_id"]}
    assert all(p["body"] == text for p in sent)

    finish_with_reveal(alex, sam, session_id, text)
    only_network_noise(alex)
    only_network_noise(sam)


def test_submit_in_flight_when_the_server_dies_is_resent_with_the_same_client_id(
    partners, mend_server, restart
):
    """The submit leaves the browser but the server never answers (frozen, then killed):
    after the restart the client sends it again with the same client_id."""
    alex, sam = partners
    a = alex.page
    session_id = flows.couple_in_session(alex, sam)
    box = flows.step(a, STEP)
    text = f"Trust is {unique_marker('alex-inflight')}."
    flows.write_draft(a, STEP, text)

    # Frozen: the connection stays up and takes the bytes, but nothing is processed.
    mend_server.process.send_signal(signal.SIGSTOP)
    box.get_by_test_id("submit-answer").click()
    submit_status = box.get_by_test_id("submit-status")
    expect(submit_status).to_have_text("Sending…")
    first = wait_until(lambda: alex.emitted("entry:submit"), what="the submit to leave")
    assert len(first) == 1 and first[0]["body"] == text

    mend_server.kill_9()  # SIGKILL ends a stopped process too; the unread submit dies with it
    status = a.get_by_test_id("connection-status")
    expect(status).to_contain_text("Reconnecting…")
    expect(submit_status).to_contain_text("You're not connected right now")
    expect(submit_status).not_to_contain_text("Submitted")

    restart()
    expect(status).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    expect(submit_status).to_have_text("Submitted")

    sent = alex.emitted("entry:submit")
    assert len(sent) >= 2, sent  # sent, lost, sent again
    assert len({p["client_id"] for p in sent}) == 1, sent
    mine = flows.step_state(flows.session_state(alex, session_id), STEP)["mine"]
    assert mine["entry"]["client_id"] == first[0]["client_id"]
    assert mine["entry"]["body"] == text

    finish_with_reveal(alex, sam, session_id, text)
    only_network_noise(alex)
    only_network_noise(sam)


def test_wifi_lost_then_back_saves_the_newer_draft(partners):
    """Offline: the client says so, keeps typing local and never claims "Saved"; back
    online, the newer draft reaches the server (a reload shows it) and not the partner."""
    alex, sam = partners
    a, b = alex.page, sam.page
    session_id = flows.couple_in_session(alex, sam)
    box = flows.step(a, STEP)
    first = f"Trust is {unique_marker('alex-first')}."
    flows.write_draft(a, STEP, first)

    alex.context.set_offline(True)
    status = a.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-status", "offline")
    expect(status).to_have_text(
        "Offline — keep this page open; your words will be saved when you're back"
    )

    newer_marker = unique_marker("alex-offline")
    newer = f"{first} Written offline: {newer_marker}."
    box.get_by_test_id("answer-text").fill(newer)
    save_status = box.get_by_test_id("save-status")
    expect(save_status).to_have_text("Not saved yet — waiting for the connection")
    expect(save_status).to_have_attribute("data-state", "retry")
    # The server still holds the first draft. (page.request is Playwright's own HTTP client,
    # outside the browser's emulated network.)
    draft = flows.step_state(flows.session_state(alex, session_id), STEP)["mine"]["draft"]
    assert draft["body"] == first
    a.wait_for_timeout(1_000)
    expect(save_status).not_to_contain_text("Saved")
    expect(status).to_have_attribute("data-status", "offline")

    alex.context.set_offline(False)
    expect(status).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    expect(save_status).to_contain_text("Saved")
    draft = flows.step_state(flows.session_state(alex, session_id), STEP)["mine"]["draft"]
    assert draft["body"] == newer

    # A fresh load shows the newer draft, from the server.
    a.reload()
    expect(status).to_have_text("Connected")
    expect(box.get_by_test_id("answer-text")).to_have_value(newer)
    expect(box.get_by_test_id("save-status")).to_contain_text("Saved")

    # Drafts go to their author only.
    expect(flows.step(b, STEP).get_by_test_id("partner-status")).to_contain_text(
        "Alex is writing"
    )
    assert newer_marker not in b.content()
    assert newer_marker not in sam.received()
    only_network_noise(alex)
    assert sam.errors == [], sam.errors
