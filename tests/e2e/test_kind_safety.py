"""Two browsers, on a phone (390 px) and a desktop (1280 px): the private check that opens
every session (issue 15, server/engine/check.py, content/check.yaml).

* Both partners see the check, not the steps, when a new session opens. One partner's
  answer changes nothing on the other's screen, and the other's browser receives no
  `session:state` push for it; once both answered clear, the steps show.
* A concerning answer followed by "Stop for today" in one couple, and "Not today" without
  answering in another, side by side: the partner's screen and every socket frame the
  partner's browser received are the same in both couples once names, ids and times are
  normalised: the same neutral card, credited to nobody, with the same help list. The
  support shown after the concerning answer is not shown again.
"""

from __future__ import annotations

import difflib
import json
import re

import pytest
import yaml

from tests.checking import CHECK_FILE, clear_answers, concerning_answers
from tests.e2e import axe, flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

WIDTHS = [390, 1280]
CHECK = yaml.safe_load(CHECK_FILE.read_text(encoding="utf-8"))


def words(text: str) -> str:
    return " ".join(text.split())


def open_new_session(alex, sam) -> str:
    """Pair up; Alex starts the trust track; Sam opens it. Nobody answers the check."""
    a = alex.page
    flows.pair_up(alex, sam)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    flows.open_session(sam, session_id)
    for page in (a, sam.page):
        expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    return session_id


def expect_check_not_steps(page) -> None:
    check = page.get_by_test_id("check")
    expect(check).to_be_visible()
    expect(check.get_by_test_id("check-title")).to_have_text(CHECK["title"])
    for question in CHECK["settings"]["questions"]:
        expect(check.get_by_test_id(f"check-q-{question['id']}")).to_be_visible()
    expect(check.get_by_test_id("check-submit")).to_be_visible()
    expect(check.get_by_test_id("check-not-today")).to_be_visible()
    expect(page.get_by_test_id("steps")).to_be_hidden()


def screen(page) -> dict[str, str]:
    """What the person can read of the session right now."""
    return {
        "check": page.get_by_test_id("check").inner_text(),
        "steps": page.get_by_test_id("steps").text_content(),
        "page": page.locator("#app").inner_text(),
    }


# engine.io "message" (4) + Socket.IO EVENT (2), optional ack id, then the JSON array.
EVENT = re.compile(r"^42\d*(\[.*\])$", re.DOTALL)


def events(frames: list[str], name: str) -> list:
    """The payloads of every `name` event among these websocket frames, in order."""
    found = []
    for frame in frames:
        match = EVENT.match(frame)
        if match:
            event, *args = json.loads(match.group(1))
            if event == name:
                found.append(args[0] if args else None)
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_both_see_the_check_first_and_one_answer_changes_nothing_for_the_other(
        person, width):
    alex, sam = person("Alex", width=width), person("Sam", width=width)
    a, b = alex.page, sam.page
    open_new_session(alex, sam)

    # Both are asked, each on their own screen, before any step.
    for page in (a, b):
        expect_check_not_steps(page)
    expect(b.get_by_test_id("check")).not_to_contain_text("Alex")
    axe.scan(a, f"the private check ({width} px)")

    # Alex answers clear. Nothing changes on Sam's screen, and Sam's browser is sent
    # nothing about it (no push at all) until Sam acts.
    before = screen(b)
    # (Person._frames are the websocket's frames in arrival order: the socket must be on it.)
    assert b.evaluate("window.__mendSocket.io.engine.transport.name") == "websocket"
    sam_mark, alex_mark = len(sam._frames), len(alex._frames)
    flows.answer_check(a)
    expect(a.get_by_test_id("check-thanks")).to_be_visible()
    expect(a.get_by_test_id("steps")).to_be_hidden()  # joint work waits for Sam
    axe.scan(a, f"the private check: answered, waiting ({width} px)")
    # (Alex's own browser did get the private change: the capture works.)
    mine = [s["check"].get("mine") for s in events(alex._frames[alex_mark:], "session:state")]
    assert mine and mine[-1]["answers"] == clear_answers() and mine[-1]["clear"] is True, mine
    assert screen(b) == before
    expect_check_not_steps(b)
    expect(b.get_by_test_id("check-thanks")).to_have_count(0)

    # Sam answers. Sam's own action is the first thing that sends Sam a new state: on one
    # websocket frames arrive in order, so a push caused by Alex's answer would come first.
    flows.answer_check(b)
    for page in (a, b):
        expect(page.get_by_test_id("check")).to_be_hidden()
        expect(page.get_by_test_id("steps")).to_be_visible()
        expect(page.get_by_test_id("step-progress")).to_have_text(
            f"Step 1 of {flows.STEP_COUNT}")
        expect(flows.step(page, "welcome").get_by_test_id("continue-button")).to_be_visible()
    pushes = events(sam._frames[sam_mark:], "session:state")
    assert len(pushes) == 1, [p.get("check") for p in pushes]
    assert pushes[0]["check"] == {"open": False}, pushes[0]["check"]
    # Nothing of either partner's answers is left in any view.
    for someone in (alex, sam):
        state = flows.session_state(someone, someone.page.url.rsplit("/", 1)[1])
        assert state["check"] == {"open": False}, state["check"]


# --- a concerning answer and "Not today", side by side ----------------------------------

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")
EMAIL = re.compile(r"[\w.+-]+@example\.test")
CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?:\s?[AP]M)?\b")
SID = re.compile(r'"sid"\s*:\s*"[^"]*"')
ONLINE = re.compile(r'"online":\[([^\]]*)\]')


def couple_ids(one, other, session_id: str) -> dict[str, str]:
    """Each id of this couple, by the role it plays: the partner who stopped, the one who
    only watched, their couple, the session."""
    state = flows.session_state(other, session_id)
    users = {p["display_name"]: p["user_id"] for p in state["participants"]}
    couple = other.page.request.get("/api/v1/me").json()["couples"][0]["id"]
    return {users[one.name]: "<stopper-id>", users[other.name]: "<partner-id>",
            couple: "<couple-id>", session_id: "<session-id>"}


def normaliser(one, other, ids: dict[str, str]):
    """One couple's names, ids, e-mail addresses, invite codes, socket ids and times
    replaced by the same placeholders in both couples."""
    names = {one.name: "<stopper>", other.name: "<partner>"}

    def normalise(text: str) -> str:
        for value, role in ids.items():
            text = text.replace(value, role)
        text = HEX_ID.sub("<other-id>", text)
        text = ISO.sub("<time>", text)
        text = EMAIL.sub("<email>", text)
        text = SID.sub('"sid":"<sid>"', text)
        text = re.sub(r'"(invite_code|code)"\s*:\s*"[A-Z0-9]{8}"', r'"\1":"<code>"', text)
        for name, role in names.items():
            text = re.sub(rf"\b{re.escape(name)}\b", role, text)
        # Who is online is a set: its order follows the (random) ids, not what happened.
        text = ONLINE.sub(lambda m: '"online":[' + ",".join(sorted(
            filter(None, m.group(1).split(",")))) + "]", text)
        return CLOCK.sub("<clock>", text)

    return normalise


def socketio_messages(frames: list[str]) -> list[str]:
    """Socket.IO events and acks (42…, 43…) among engine.io packets: transport packets
    (open, ping, pong, upgrade probes, noop) and the connect packet follow the wall clock
    and the moment of the upgrade, not what happened in the session."""
    return [f for f in frames if f.startswith(("42", "43"))]


def everything_received(someone) -> list[str]:
    """Every Socket.IO message this person's browser received, on either transport."""
    packets = []
    for chunk in someone.received().split("\n"):
        packets.extend(chunk.split("\x1e"))  # engine.io's separator in polling bodies
    return socketio_messages(packets)


def expect_same(label: str, one: list[str] | str, two: list[str] | str) -> None:
    if one == two:
        return
    one_lines = one if isinstance(one, list) else one.splitlines()
    two_lines = two if isinstance(two, list) else two.splitlines()
    diff = "\n".join(difflib.unified_diff(one_lines, two_lines, "stop", "not today",
                                          lineterm="", n=1))
    raise AssertionError(f"{label} differ between the two couples:\n{diff[:6000]}")


def open_new_session_live(one, other) -> str:
    """Pair up; `one` starts the trust track; `other` joins it from the live card on their
    home page (no reload: each step of what `other` is sent happens in a fixed order)."""
    a, b = one.page, other.page
    flows.pair_up(one, other)
    a.get_by_test_id(f"track-{flows.TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()  # Start asks first
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    expect(a.get_by_test_id("connection-status")).to_have_text("Connected")
    b.get_by_test_id(f"join-session-{session_id}").click()
    b.wait_for_url(re.compile(rf"/s/{session_id}$"))
    for page in (a, b):
        expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    expect(a.get_by_test_id("participant").filter(has_text=other.name)).to_have_class(
        re.compile(r"\bonline\b"))
    return session_id


@pytest.mark.parametrize("width", WIDTHS)
def test_a_concerning_answer_and_not_today_look_the_same_to_the_partner(person, width):
    # Couple 1: Alex answers with a concerning answer, sees support, stops for today.
    # Couple 2: Kim says "Not today" without answering. Sam and Lee only watch.
    alex, sam = person("Alex", width=width), person("Sam", width=width)
    kim, lee = person("Kim", width=width), person("Lee", width=width)
    couples = [(alex, sam), (kim, lee)]
    sessions = [open_new_session_live(*couple) for couple in couples]
    for one, other in couples:
        for page in (one.page, other.page):
            expect_check_not_steps(page)
        assert other.page.evaluate(
            "window.__mendSocket.io.engine.transport.name") == "websocket"
    marks = [slice(len(other._frames), None) for _, other in couples]

    # Couple 1: a concerning answer shows support and the help list to Alex alone.
    a = alex.page
    flows.answer_check(a, concerning_answers())
    support = a.get_by_test_id("check-support")
    expect(support).to_be_visible()
    expect(support).to_contain_text(words(CHECK["settings"]["concerning_text"])[:60])
    expect(support.get_by_test_id("ended-help")).to_be_visible()
    expect(support.get_by_test_id("ended-help-resource").first).to_be_visible()
    expect(support.get_by_test_id("check-stop")).to_have_text("Stop for today")
    expect(a.get_by_test_id("steps")).to_be_hidden()
    axe.scan(a, f"the private check: support after a concerning answer ({width} px)")
    expect_check_not_steps(sam.page)
    expect(sam.page.get_by_test_id("check-support")).to_have_count(0)

    # Alex stops for today, on that one press; Kim says "Not today", not answering.
    support.get_by_test_id("check-stop").click()
    kim.page.get_by_test_id("check").get_by_test_id("check-not-today").click()

    # Everyone reads the same neutral card, with the help list, credited to nobody.
    for one, other in couples:
        for someone in (one, other):
            page = someone.page
            flows.expect_stopped(page)
            expect(page.get_by_test_id("check")).to_be_hidden()
            expect(page.get_by_test_id("check-support")).to_have_count(0)
            expect(page.get_by_test_id("break-panel")).to_have_count(0)
            banner = page.get_by_test_id("finished-banner")
            expect(banner).not_to_contain_text(one.name)
            expect(banner).not_to_contain_text(other.name)
            expect(banner).not_to_contain_text("come back within a day")
    axe.scan(sam.page, f"the session stopped for today, partner ({width} px)")

    # The partners' screens are identical: the card, the help list, the whole page.
    banners = [p.page.get_by_test_id("finished-banner").inner_text() for _, p in couples]
    expect_same("the partners' cards", banners[0], banners[1])
    helps = [p.page.get_by_test_id("ended-help").inner_text() for _, p in couples]
    expect_same("the partners' help lists", helps[0], helps[1])
    norms = [normaliser(one, other, couple_ids(one, other, session_id))
             for (one, other), session_id in zip(couples, sessions, strict=True)]
    pages = [norm(p.page.locator("#app").inner_text())
             for norm, (_, p) in zip(norms, couples, strict=True)]
    expect_same("the partners' pages", pages[0], pages[1])

    # And so is everything the partners' browsers were sent: since the session opened, in
    # order (the websocket); and every message about the session from sign-up on, on
    # either transport. (Home pushes from before the session existed are left out: whether
    # one reaches a socket that is still connecting is a race of the pairing, not the stop.)
    streams = [[norm(f) for f in socketio_messages(p._frames[mark])]
               for norm, (_, p), mark in zip(norms, couples, marks, strict=True)]
    assert any('"session:state"' in f for f in streams[0]), streams[0][:5]
    expect_same("the frames the partners received since the session opened",
                streams[0], streams[1])
    whole = [sorted(m for m in map(norm, everything_received(p)) if "<session-id>" in m)
             for norm, (_, p) in zip(norms, couples, strict=True)]
    assert len(whole[0]) >= len(streams[0]) > 0
    expect_same("the messages the partners received from sign-up on", whole[0], whole[1])
    final = [events(p._frames, "session:state")[-1] for _, p in couples]
    assert final[0]["session"]["status"] == "ended"
    assert final[0]["session"]["stopped"] == {"title": CHECK["settings"]["stopped_title"],
                                              "text": CHECK["settings"]["stopped_text"]}

    # The support was for the moment: not shown to Alex again, even after a reload.
    a.reload()
    expect(a.get_by_test_id("connection-status")).to_have_text("Connected")
    flows.expect_stopped(a)
    expect(a.get_by_test_id("check-support")).to_have_count(0)
    expect(a.get_by_test_id("check")).to_be_hidden()
    concerning = words(CHECK["settings"]["concerning_text"])[:60]
    assert concerning not in words(a.locator("#app").inner_text())
    state = flows.session_state(alex, sessions[0])
    assert state["session"]["status"] == "ended"
    assert "mine" not in (state.get("check") or {}), state["check"]
    assert '"answers"' not in json.dumps(state["check"])
