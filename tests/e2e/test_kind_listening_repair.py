"""A betrayal in two real browsers (Alex at 1200 px, Sam at 390 px): before anyone speaks
the two agree who was hurt (Sam); Sam speaks first with a clock only Sam sees; after Sam
felt heard, "One round is enough for today" ends the step honestly, without Sam ever
mirroring or validating Alex; then Sam's questions, answered by Alex."""

from __future__ import annotations

import re

import pytest

from tests.e2e import axe
from tests.e2e.conftest import people_with_track
from tests.e2e.flows import open_session, pair_up, pass_checks

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips
    expect = None

pytestmark = pytest.mark.e2e

TRACK_ID = "listening-repair-test-track"
TRACK_YAML = """
id: listening-repair-test-track
title: After a breach
summary: A test track with the hurt partner first and their questions.
version: 1
steps:
  - id: listen
    kind: listening
    title: Hearing the hurt
    prompt: Speak about how this has affected you.
    settings:
      first_speaker: hurt
      max_chars: 300
      turn_minutes: 10
  - id: questions
    kind: listening
    title: Questions that need answers
    prompt: Ask what you need to know.
    settings:
      mode: questions
      max_chars: 500
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""


@pytest.fixture
def repair_people(browser, tmp_path):
    with people_with_track(browser, tmp_path, TRACK_ID, TRACK_YAML) as people:
        yield people


def box(page, step_id="listen"):
    return page.get_by_test_id(f"step-{step_id}")


def now_line(page, step_id="listen"):
    return box(page, step_id).get_by_test_id("listening-now")


def send(page, text: str, step_id="listen") -> None:
    step = box(page, step_id)
    step.get_by_test_id("listening-input").fill(text)
    step.get_by_test_id("listening-send").click()


def test_the_hurt_partner_speaks_first_and_one_round_is_enough(repair_people):
    alex, sam = repair_people
    a, b = alex.page, sam.page
    pair_up(alex, sam)
    a.get_by_test_id(f"track-{TRACK_ID}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    open_session(sam, a.url.rsplit("/", 1)[1])
    pass_checks(alex, sam)

    # Roles first: nobody can just start speaking.
    expect(now_line(a)).to_contain_text("agree which of you was hurt")
    expect(box(a).get_by_test_id("listening-speak-first")).to_have_count(0)
    box(a).get_by_test_id("listening-partner-was-hurt").click()
    expect(now_line(a)).to_contain_text("Waiting for Sam to agree")
    expect(now_line(b)).to_contain_text("Alex says you were the one hurt")
    axe.scan(b, "listening: agreeing who was hurt")
    box(b).get_by_test_id("listening-agree-roles").click()

    # Sam (hurt) speaks first, once Alex says now is a good time.
    expect(now_line(a)).to_contain_text("Sam would like to speak")
    box(a).get_by_test_id("listening-ready").click()
    expect(now_line(b)).to_contain_text("Your turn to speak")
    expect(box(b).get_by_test_id("listening-timer")).to_contain_text("minutes left")
    expect(box(a).get_by_test_id("listening-timer")).to_have_count(0)
    send(b, "I feel betrayed, because it went on for months")
    send(a, "You feel betrayed because it went on for months")
    box(b).get_by_test_id("listening-confirm").click()
    send(a, "It makes sense that you feel betrayed")
    send(a, "I imagine you feel you can't trust me")
    box(b).get_by_test_id("heard-yes").click()

    # Round two would have Sam listen to Alex: Sam may say one round is enough.
    expect(now_line(b)).to_contain_text("Alex would like to speak")
    expect(box(a).get_by_test_id("listening-enough")).to_have_count(0)
    stop = box(b).get_by_test_id("listening-enough")
    expect(stop).to_have_text("One round is enough for today")
    axe.scan(b, "listening: one round is enough for today")
    stop.click()
    for page in (a, b):
        expect(now_line(page)).to_contain_text("One round was enough for today")
        expect(box(page)).not_to_contain_text("both spoken and been heard")
    box(a).get_by_test_id("ready-button").click()
    box(b).get_by_test_id("ready-button").click()

    # Sam's questions: Alex says they're ready to answer; Sam asks; Alex answers.
    expect(now_line(a, "questions")).to_contain_text("Sam has questions for you")
    box(a, "questions").get_by_test_id("listening-ready").click()
    expect(box(a, "questions").get_by_test_id("listening-roles")).to_contain_text("Asking: Sam")
    send(b, "Who else knew?", "questions")
    expect(now_line(a, "questions")).to_contain_text("Answer Sam's question honestly")
    send(a, "Nobody else knew. I'm sorry I hid it.", "questions")
    answers = box(b, "questions").get_by_test_id("listening-turns")
    expect(answers).to_contain_text("Nobody else knew")
    axe.scan(a, "listening: questions and answers")
    box(b, "questions").get_by_test_id("listening-enough").click()
    for page in (a, b):
        expect(now_line(page, "questions")).to_contain_text("Questions can come back another day")


QUESTIONS_ID = "listening-questions-test-track"
QUESTIONS_YAML = """
id: listening-questions-test-track
title: Questions
summary: A test track with the hurt partner's questions.
version: 1
steps:
  - id: questions
    kind: listening
    title: Questions that need answers
    prompt: Ask what you need to know.
    settings:
      mode: questions
      max_chars: 500
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""


def test_with_a_counsellor_each_answer_waits_for_the_counsellors_release(browser, tmp_path):
    """Three browsers: Sam (hurt, 390 px) asks, Alex answers, Jo (the counsellor both invited)
    reads the answer first and releases it; until then Sam's page shows that an answer is
    waiting, never its words."""
    import shutil
    from pathlib import Path

    from tests.conftest import unique_marker
    from tests.e2e import flows
    from tests.e2e.conftest import Person
    from tests.e2e.test_counsellor import grant, sign_up_asking_to_be_a_counsellor
    from tests.live.conftest import MendServer

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parents[2] / "content", content,
                    ignore=shutil.ignore_patterns("drafts"))
    (content / "tracks" / f"{QUESTIONS_ID}.yaml").write_text(QUESTIONS_YAML)
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    server = MendServer(data_dir, "gevent", env_extra={"MEND_CONTENT_DIR": str(content)}).start()
    alex = Person(browser, server.url, "Alex", {"width": 1200, "height": 900})
    sam = Person(browser, server.url, "Sam", {"width": 390, "height": 844})
    jo = Person(browser, server.url, "Jo", {"width": 1280, "height": 900})
    for person in (alex, sam, jo):
        axe.serve_axe(person.context, server.url)
    try:
        a, b, c = alex.page, sam.page, jo.page
        email = flows.email_for("jo", flows.new_suffix())
        c.goto("/")
        sign_up_asking_to_be_a_counsellor(jo, email)
        grant(server, email)
        pair_up(alex, sam)
        a.get_by_test_id(f"track-{QUESTIONS_ID}").check()
        a.get_by_test_id("start-session").click()
        a.get_by_test_id("confirm-start").click()
        a.wait_for_url(re.compile(r"/s/[^/]+$"))
        session_id = a.url.rsplit("/", 1)[1]
        open_session(sam, session_id)
        pass_checks(alex, sam)
        a.get_by_test_id("invite-counsellor").click()
        a.get_by_test_id("create-counsellor-invite").click()
        expect(a.get_by_test_id("counsellor-invite-code")).to_be_visible()
        code = a.get_by_test_id("counsellor-invite-code").inner_text().strip()
        b.get_by_test_id("agree-counsellor").click()
        expect(a.get_by_test_id("counsellor-invite-status")).to_contain_text("both agreed")
        c.goto("/")
        c.get_by_test_id("dashboard-join-code").fill(code)
        c.get_by_test_id("dashboard-join-submit").click()
        c.get_by_test_id("counsellor-join-submit").click()
        c.wait_for_url(re.compile(rf"/s/{re.escape(session_id)}$"))

        q = "questions"
        box(b, q).get_by_test_id("listening-i-was-hurt").click()
        box(a, q).get_by_test_id("listening-agree-roles").click()
        box(a, q).get_by_test_id("listening-ready").click()
        send(b, "Did you see them again?", q)
        marker = unique_marker("answer")
        send(a, f"Yes, once, in March. {marker}", q)
        # Jo reads it first and sees it held; Sam sees only that an answer is waiting.
        expect(box(c, q).get_by_test_id("listening-turns")).to_contain_text(marker)
        expect(c.get_by_test_id("mod-held")).to_contain_text("Sam sees the answers")
        expect(box(b, q).get_by_test_id("listening-held")).to_contain_text(
            "Your counsellor will share the answer")
        assert marker not in b.content() and marker not in sam.received()
        axe.scan(b, "listening: an answer held for the counsellor")
        axe.scan(c, "listening: the counsellor holds an answer")
        c.get_by_test_id("mod-release").click()
        expect(box(b, q).get_by_test_id("listening-turns")).to_contain_text(marker)
        expect(box(b, q).get_by_test_id("listening-held")).to_have_count(0)
    finally:
        for person in (alex, sam, jo):
            person.close()
        server.stop()
