"""In two real browsers: an item marked "to talk about" on a boundary step and parked shows
on the next listening step, for both, as "You marked these to talk about"; the speaker picks
it as the subject of their share and the server records it with the share."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks, session_state, step_state
from tests.integration.test_kind_boundary import TRACK_YAML as BOUNDARY_YAML

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e
TRACK_ID = "talk-topics-track"
LISTEN = """  - id: listen
    kind: listening
    title: Talking one through
    prompt: Choose one you marked to talk about, and take turns.
"""
TRACK_YAML = BOUNDARY_YAML.replace("id: boundary-test-track", f"id: {TRACK_ID}").replace(
    "  - id: after\n", LISTEN + "  - id: after\n")


@pytest.fixture
def people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML, scan=False) as people:
        yield people


def item(page, text: str):
    return page.get_by_test_id("boundary-item").filter(has_text=text)


def test_a_talk_item_becomes_the_listening_topic_and_the_subject_of_a_share(people):
    alex, sam = people
    a, b = alex.page, sam.page
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    sid = a.url.rsplit("/", 1)[1]
    open_session(sam, sid)
    pass_checks(alex, sam)  # the session's private check, before any step
    for page in (a, b):
        page.get_by_test_id("continue-button").click()
    # The track's own check step opens the check again, with its question.
    pass_checks(alex, sam, answers={"go": "yes"})

    a.get_by_test_id("boundary-need").first.fill("a call if you're running late")
    a.get_by_test_id("boundary-share").click()
    b.get_by_test_id("boundary-need").first.fill("a quiet hour after work")
    b.get_by_test_id("boundary-share").click()
    for page in (a, b):
        expect(page.get_by_test_id("boundary-item")).to_have_count(2)
    item(b, "running late").get_by_test_id("boundary-talk").click()
    expect(item(a, "running late").get_by_test_id("boundary-talk-mark")).to_be_visible()
    item(b, "running late").get_by_test_id("boundary-park").click()
    item(a, "quiet hour").get_by_test_id("boundary-park").click()
    a.get_by_test_id("step-lists").get_by_test_id("ready-button").click()
    b.get_by_test_id("step-lists").get_by_test_id("ready-button").click()

    for page in (a, b):
        topics = page.get_by_test_id("step-listen").get_by_test_id("listening-topics")
        expect(topics).to_contain_text("You marked these to talk about:")
        expect(topics.get_by_test_id("listening-topic-item")).to_have_count(1)
        expect(topics).to_contain_text("I need a call if you're running late")
        expect(topics).not_to_contain_text("quiet hour")  # parked without a talk

    a.get_by_test_id("step-listen").get_by_test_id("listening-speak-first").click()
    b.get_by_test_id("step-listen").get_by_test_id("listening-ready").click()
    listen = a.get_by_test_id("step-listen")
    picker = listen.get_by_test_id("listening-topic")
    expect(picker).to_be_visible()
    expect(b.get_by_test_id("step-listen").get_by_test_id("listening-topic")).to_have_count(0)
    picker.select_option(label="I need a call if you're running late")
    listen.get_by_test_id("listening-input").fill("I worry when I don't hear from you.")
    listen.get_by_test_id("listening-send").click()
    expect(b.get_by_test_id("step-listen").get_by_test_id("listening-turns")).to_contain_text(
        "I worry when I don't hear from you.")

    deadline = time.monotonic() + 10
    while True:  # the recorded share names the topic (a server fact the page doesn't show)
        turns = step_state(session_state(sam, sid), "listen")["listening"]["turns"]
        share = [t for t in turns if t["kind"] == "share"]
        if share:
            break
        assert time.monotonic() < deadline, "the share never reached the server"
        time.sleep(0.1)
    topic_id = step_state(session_state(sam, sid), "listen")["listening"]["topics"][0]["item_id"]
    assert share[0]["fields"] == {"topic_item_id": topic_id}
