"""The Markdown summary reads as a document (issue 16): times in the reader's own time zone
(named), a counsellor mentioned only when one took part, and Markdown whose line structure
keeps every item, quote and line apart. The Markdown is parsed block by block here."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for
from server.services.summaries import summary_markdown, time_zone

T0 = datetime(2026, 7, 3, 22, 30, 0)  # naive UTC, as the engine keeps it
A, B, C = "user-a", "user-b", "user-c"
PEOPLE = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))
TRACK = Track(id="t", title="Our week", summary="S.", version=1, steps=(
    Step(id="story", kind="prompt", title="A story", prompt="What happened?",
         answer={"type": "text", "max_length": 2000}),
    Step(id="scale", kind="prompt", title="How close", prompt="How close do you feel?",
         answer={"type": "scale", "min": 1, "max": 10}),
    Step(id="checkin", kind="checkin", title="Check-in", prompt="How are you?"),
))
CHECKIN = {"ratings": {"trust": 6, "closeness": 7, "mood": 5}, "high": "A walk.\nAnd a film.",
           "low": "Monday.", "support": "listening"}


def finished_state() -> engine.SessionState:
    state = engine.SessionState(id="s1", track=TRACK, participants=PEOPLE, created_at=T0)
    n = 0

    def act(action):
        nonlocal state, n
        n += 1
        state = engine.handle(state, action, T0 + timedelta(minutes=n)).state

    for uid in (A, B):
        act(engine.SubmitEntry(uid, "story", f"s-{uid}", f"cs-{uid}",
                               "First line.\nSecond line.\n\nAfter a gap.", None))
    act(engine.StepAction(A, "story", "acknowledge", {"ack": "thanks"}))
    act(engine.StepAction(B, "story", "acknowledge", {"ack": "hear_you"}))
    for uid in (A, B):
        act(engine.MarkReady(uid, "story"))
    for uid, value in ((A, 4), (B, 8)):
        act(engine.SubmitEntry(uid, "scale", f"v-{uid}", f"cv-{uid}", None, {"value": value}))
    for uid in (A, B):
        act(engine.MarkReady(uid, "scale"))
    for uid in (A, B):
        act(engine.SubmitEntry(uid, "checkin", f"c-{uid}", f"cc-{uid}", None, CHECKIN))
    return state


def blocks_ok(markdown: str) -> list[str]:
    """Problems with the line structure: two lines of different kinds with no blank line
    between (a line after a list or a quote would be swallowed into it), or two plain
    lines in a row (they would run together into one paragraph)."""
    problems = []
    lines = markdown.split("\n")

    def kind(line: str) -> str:
        if line.startswith("#"):
            return "heading"
        if line.startswith(">"):
            return "quote"
        if line.startswith("- "):
            return "item"
        if line.startswith("  ") and line.strip():
            return "continued"  # a list item's own next line, indented into it
        return "blank" if not line.strip() else "plain"

    for before, after in zip(lines, lines[1:], strict=False):
        k1, k2 = kind(before), kind(after)
        if "blank" in (k1, k2) or (k1, k2) in (("quote", "quote"), ("item", "item"),
                                               ("item", "continued"), ("continued", "item"),
                                               ("continued", "continued")):
            continue
        problems.append(f"{before!r} then {after!r}")
    return problems


ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_times_are_local_and_named_and_the_lines_stand_apart():
    summary = summary_for(finished_state(), A)
    markdown = summary_markdown(summary, "America/New_York")
    # 22:30 UTC on 3 July is 18:30 in New York (summer time)
    assert "Started 3 July 2026, 18:30." in markdown
    assert "Times are in America/New_York." in markdown
    assert not ISO.search(markdown), "a raw timestamp is left in the summary"
    assert blocks_ok(markdown) == []
    # one item per line: each acknowledgement and each check-in part is its own list item
    assert "- Ana: Thank you for sharing\n- Ben: I hear you\n" in markdown
    assert "- Trust: 6 of 10\n" in markdown and "- Would like: Listening\n" in markdown
    assert "- High: A walk.  \n  And a film.\n" in markdown
    # a quote keeps its blank line inside, and a scale answer is not swallowed by it
    assert "> First line.\n> Second line.\n>\n> After a gap.\n\n" in markdown
    assert "\n\n4 on a scale of 1 to 10\n\n" in markdown
    assert "\n\n\n" not in markdown


def test_no_counsellor_sentence_without_a_counsellor():
    markdown = summary_markdown(summary_for(finished_state(), A), "Europe/London")
    assert "counsellor" not in markdown.lower()
    assert "Private to the two of you. Keep it somewhere safe." in markdown
    with_one = replace(finished_state(),
                       participants=PEOPLE + (engine.Participant(C, "Cleo", "counsellor"),))
    markdown = summary_markdown(summary_for(with_one, A), "Europe/London")
    assert "Private to the two of you and the counsellor you invited." in markdown


@pytest.mark.parametrize("asked", ["", "Mars/Olympus", "../../etc/passwd", "utc+2", None,
                                   "x" * 500])
def test_an_unknown_zone_reads_as_utc_and_says_so(asked):
    assert time_zone(asked) == "UTC"
    markdown = summary_markdown(summary_for(finished_state(), A), asked)
    assert "Started 3 July 2026, 22:30." in markdown and "Times are in UTC." in markdown


def test_a_known_zone_is_kept():
    assert time_zone("Australia/Sydney") == "Australia/Sydney"
    markdown = summary_markdown(summary_for(finished_state(), A), "Australia/Sydney")
    assert "Started 4 July 2026, 08:30." in markdown
