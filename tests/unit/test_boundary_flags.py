"""The shipped boundary flags (content/rules/boundary-flags.yaml, in every boundary step):
a table of needs that must be flagged and of words that must not be, read as the engine
reads them (the need only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.content import load_library
from server.content.rules import RulesError, load_boundary_flags
from server.engine.kinds.boundary import Boundary, flags_for

CONTENT = Path(__file__).resolve().parents[2] / "content"
LIBRARY = load_library(CONTENT)
BOUNDARY_STEPS = [(t.id, s) for t in LIBRARY for s in t.steps if s.kind == "boundary"]

# need (what follows "I need") -> the rule it must trip
MUST_FLAG = {
    "your passwords": "monitoring",
    "your phone's passcode": "monitoring",
    "to read your messages when I feel worried": "monitoring",
    "to know where you are at all times": "location",
    "to always know your whereabouts": "location",
    "you to share your location with me": "location",
    "you to keep Life360 on": "location",
    "you to turn on Find My for me": "location",
    "you to ask my permission before you go out": "control",
    "you to answer my calls straight away": "control",
    "you to reply right away when I text": "control",
    "you to be home by ten": "control",
    "a curfew on weeknights": "control",
    "you to stop seeing your friends from work": "control",
    "to see your bank statements": "control",
    "you to hand over your wages": "control",
    "you to prove you were at work": "control",
    "proof of where you went": "control",
    "you to know you're not allowed to lie to me": "absolutes",
}
# needs that ask for nothing to watch or control
MUST_NOT_FLAG_NEEDS = [
    "a message if your plans change",
    "to hear from you if you'll be very late",
    "us to decide big spending together",
    "you to put your phone away at dinner",
    "an evening to myself each week",
    "you to check in by text when you can",
    "to feel things improve slowly",
    "to prove to myself I can trust again",
    "honesty, even when it's hard",
]
# offers: openness freely given is never flagged, whatever words it uses
OFFERS = [
    "give you my passcode",
    "respect your privacy and not look at your phone",
    "share my location when I travel, and we'll talk about it again next month",
    "answer your calls straight away when you're worried",
    "show you my bank statements if you'd like",
]


@pytest.mark.parametrize(("track_id", "step"), BOUNDARY_STEPS, ids=[t for t, _ in BOUNDARY_STEPS])
def test_the_shipped_flags_read_the_need(track_id, step):
    for need, rule in MUST_FLAG.items():
        assert [f["id"] for f in flags_for(step, need)] == [rule], need
    for need in MUST_NOT_FLAG_NEEDS:
        assert flags_for(step, need) == [], need
    # the view's per-item flags for a list of offers (with and without a plain need)
    fields = {"items": [{"need": "", "offer": o} for o in OFFERS]
              + [{"need": "quiet mornings", "offer": "give you my passwords"}]}
    assert Boundary()._own_flags(step, fields) == [[]] * (len(OFFERS) + 1)


def test_every_flag_message_speaks_to_openness_offered_or_choice():
    for rule in load_boundary_flags(CONTENT / "rules" / "boundary-flags.yaml"):
        words = rule["message"].lower()
        assert "offer" in words or "choose" in words, rule["id"]


def test_a_bad_example_in_the_rules_file_stops_the_load(tmp_path):
    path = tmp_path / "boundary-flags.yaml"
    path.write_text("flags:\n  - id: money\n    phrases: [your bank]\n    message: Hm.\n"
                    "    examples: {flags: ['my own savings']}\n")
    with pytest.raises(RulesError, match="should be flagged"):
        load_boundary_flags(path)


# --- "Let's talk" has somewhere to go in every track with boundaries ----------------------


@pytest.mark.parametrize(("track_id", "step"), BOUNDARY_STEPS, ids=[t for t, _ in BOUNDARY_STEPS])
def test_a_talk_item_is_a_topic_of_the_tracks_next_listening_step(track_id, step):
    """Every shipped track with a boundary step has a listening step after it, and an item
    marked "Let's talk" there (then parked) is that listening step's topic, for both."""
    from dataclasses import replace
    from datetime import datetime, timedelta

    from server.engine import session as engine
    from server.engine.kinds.listening import topics

    track = LIBRARY.get(track_id)
    at = track.step_index(step.id)
    listening = next((s for s in track.steps[at:] if s.kind == "listening"), None)
    assert listening is not None, f"{track_id}: 'Let's talk' items have nowhere to go"
    a, b, t0 = "user-a", "user-b", datetime(2026, 12, 1, 9)
    state = engine.SessionState(
        id="s1", track=track, couple_id="c1", current_index=at, created_at=t0,
        participants=(engine.Participant(a, "Ana", "partner"),
                      engine.Participant(b, "Ben", "partner")))
    moves = [engine.SubmitEntry(a, step.id, "e-a", "c-a", None,
                                {"items": [{"need": "a call when you're late"}]}),
             engine.SubmitEntry(b, step.id, "e-b", "c-b", None, {"items": [{"need": "quiet"}]}),
             engine.SubmitTurn(b, step.id, "t" * 31 + "1", "ct-1", "talk", None,
                               {"item": f"{a}-1"}),
             engine.SubmitTurn(b, step.id, "t" * 31 + "2", "ct-2", "park", None,
                               {"item": f"{a}-1"})]
    for n, action in enumerate(moves):
        state = engine.handle(state, action, t0 + timedelta(seconds=n)).state
    later = replace(state, current_index=track.step_index(listening.id))
    assert [t["text"] for t in topics(later, listening)] == ["I need a call when you're late"]
