"""Boundary items marked "to talk about" become an later listening step's topics: only once
both lists were revealed, only the talk items still open or parked, and a share may name one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import MendError
from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import view_for

T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B = "user-a", "user-b"
SECRET = "SECRET-MARKER"

TRACK = Track(
    id="talk", title="Talk", summary="For tests.", version=1,
    steps=(
        Step(id="lists", kind="boundary", title="Needs and offers", prompt="List a few."),
        Step(id="listen", kind="listening", title="Talk it through"),
    ),
)


def start() -> engine.SessionState:
    return engine.SessionState(
        id="s1", track=TRACK, couple_id="c1",
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")))


class Clock:
    def __init__(self) -> None:
        self.n = 0

    def tick(self) -> datetime:
        self.n += 1
        return T0 + timedelta(seconds=self.n)


def act(state, action, clock):
    return engine.handle(state, action, clock.tick()).state


def submit(state, user, needs, clock):
    fields = {"items": [{"need": n} for n in needs]}
    return act(state, engine.SubmitEntry(user, "lists", f"e-{user}", f"c-{user}", None, fields),
               clock)


def move(state, user, name, item, clock, step="lists", body=None, fields=None):
    n = clock.n + 1
    fields = {"item": item} if fields is None else fields
    return act(state, engine.SubmitTurn(user, step, f"t{n:030d}", f"ct-{n}", name, body, fields),
               clock)


def topics(state, viewer):
    step = next(s for s in view_for(state, viewer)["steps"] if s["id"] == "listen")
    return step.get("listening", {}).get("topics")


def at_listening(state):
    return replace(state, current_index=1)


def test_talk_items_open_or_parked_become_topics_for_both_partners():
    clock = Clock()
    state = submit(start(), A, ["a call when you're late", "quiet time"], clock)
    state = submit(state, B, ["help with dinner"], clock)
    state = move(state, B, "talk", f"{A}-1", clock)          # to talk about, still open
    state = move(state, B, "talk", f"{A}-2", clock)
    state = move(state, B, "park", f"{A}-2", clock)          # parked after the talk
    state = move(state, A, "agree", f"{B}-1", clock)         # agreed: not a topic
    state = at_listening(state)
    expected = [
        {"item_id": f"{A}-1", "text": "I need a call when you're late", "author_user_id": A,
         "boundary_step_id": "lists"},
        {"item_id": f"{A}-2", "text": "I need quiet time", "author_user_id": A,
         "boundary_step_id": "lists"},
    ]
    assert topics(state, A) == expected
    assert topics(state, B) == expected


def test_an_agreed_talk_item_and_untalked_parked_items_are_not_topics():
    clock = Clock()
    state = submit(start(), A, ["one", "two"], clock)
    state = submit(state, B, ["three"], clock)
    state = move(state, B, "talk", f"{A}-1", clock)
    state = move(state, B, "agree", f"{A}-1", clock)
    state = move(state, B, "park", f"{A}-2", clock)
    state = move(state, A, "park", f"{B}-1", clock)
    assert topics(at_listening(state), A) == []


def test_a_share_may_name_a_listed_topic_and_nothing_else():
    clock = Clock()
    state = submit(start(), A, ["one", "two"], clock)
    state = submit(state, B, ["three"], clock)
    state = move(state, B, "talk", f"{A}-1", clock)
    for iid in (f"{A}-1", f"{A}-2"):
        state = move(state, B, "park", iid, clock)
    state = move(state, A, "park", f"{B}-1", clock)
    state = at_listening(state)
    state = move(state, A, "speak_first", None, clock, step="listen", fields={})
    state = move(state, B, "ready", None, clock, step="listen", fields={})
    with pytest.raises(MendError) as error:
        move(state, A, "share", None, clock, step="listen", body="I felt alone.",
             fields={"topic_item_id": f"{A}-2"})  # parked without a talk: not a topic
    assert error.value.code == "invalid"
    state = move(state, A, "share", None, clock, step="listen", body="I felt alone.",
                 fields={"topic_item_id": f"{A}-1"})
    share = [t for t in state.turns if t.name == "share"][0]
    assert dict(share.fields) == {"topic_item_id": f"{A}-1"}
    # A share without a topic is still fine.
    assert topics(state, B)[0]["item_id"] == f"{A}-1"


def test_a_track_without_an_earlier_boundary_step_has_no_topics():
    track = Track(id="x", title="X", summary="x", version=1,
                  steps=(Step(id="listen", kind="listening", title="Talk"),
                         Step(id="lists", kind="boundary", title="Later")))
    state = engine.SessionState(
        id="s1", track=track, couple_id="c1",
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")))
    assert topics(state, A) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([A, B]),
                          st.sampled_from(["submit", "talk", "park", "agree", "counter"]),
                          st.integers(0, 2)), max_size=14))
def test_a_topic_is_shown_only_once_its_boundary_list_was_revealed(sequence):
    """Random boundary moves with a planted marker in one list: the listening step's topics
    hold nothing before the reveal, and afterwards only revealed items."""
    clock = Clock()
    state = start()
    for user, name, index in sequence:
        try:
            if name == "submit":
                needs = [f"{SECRET} {user} {i}" for i in range(index + 1)]
                state = submit(state, user, needs, clock)
            else:
                author = B if user == A else A
                fields = {"item": f"{author}-{index + 1}"}
                if name == "counter":
                    fields["need"] = f"{SECRET} counter"
                state = move(state, user, name, None, clock, fields=fields)
        except MendError:
            pass
        for viewer in (A, B):
            shown = topics(at_listening(state), viewer)
            if "lists" not in state.reveals:
                assert shown == []
            text = repr(shown)
            if SECRET in text:
                assert "lists" in state.reveals


def test_every_shipped_track_with_a_boundary_step_has_a_listening_step_after_it():
    """"Let's talk" on a boundary item must have somewhere to go in every track (issue 16):
    a listening step later in the same track lists those items as its topics."""
    from server.config import PROJECT_ROOT
    from server.content import load_library

    library = load_library(PROJECT_ROOT / "content")
    with_boundaries = 0
    for track in library.tracks.values():
        kinds = [s.kind for s in track.steps]
        if "boundary" not in kinds:
            continue
        with_boundaries += 1
        last_boundary = max(i for i, k in enumerate(kinds) if k == "boundary")
        assert "listening" in kinds[last_boundary + 1:], track.id
    assert with_boundaries >= 2  # the boundaries track and the repair track at least


def test_the_repair_tracks_talk_step_follows_the_agreed_roles_and_lists_the_talk_items():
    """In the repair track the talk step after the agreements puts the hurt partner first
    (roles carried over from the first listening step) and lists "Let's talk" items."""
    from server.config import PROJECT_ROOT
    from server.content import load_library
    from server.engine.kinds.boundary import item_id
    from server.engine.kinds.listening import current
    from server.engine.kinds.listening import topics as topics_of

    repair = load_library(PROJECT_ROOT / "content").get("repair-after-a-breach")
    ids = [s.id for s in repair.steps]
    clock = Clock()
    state = engine.SessionState(
        id="s2", track=repair, couple_id="c1",
        participants=(engine.Participant(A, "Ana", "partner"),
                      engine.Participant(B, "Ben", "partner")),
        current_index=ids.index("hearing-the-hurt"))
    state = move(state, A, "propose_roles", None, clock, step="hearing-the-hurt",
                 fields={"hurt": B})
    state = move(state, B, "agree_roles", None, clock, step="hearing-the-hurt", fields={})
    state = replace(state, current_index=ids.index("our-agreements"))
    for user in (A, B):
        state = act(state, engine.SubmitEntry(user, "our-agreements", f"e-{user}", f"c-{user}",
                                              None, {"items": [{"need": f"{user} TALK"}]}),
                    clock)
    state = move(state, B, "talk", item_id(A, 0), clock, step="our-agreements")
    talk = repair.step("talking-it-through")
    state = replace(state, current_index=ids.index("talking-it-through"))
    assert [t["text"] for t in topics_of(state, talk)] == [f"I need {A} TALK"]
    data = current(state, talk)
    assert (data["speaker"], data["listener"], data["expect"]) == (B, A, "ready")
