"""Where the review of last time's commitments goes in a track, and the content that
words it (content/review-step.yaml)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from server.content import ContentError, load_library, load_schema
from server.content.review import load_review_step
from server.engine.opening import (
    check_ins,
    due_for_review,
    is_review_step,
    review_position,
    review_sources,
    with_review,
)
from server.engine.tracks import Step, Track

CONTENT = Path(__file__).resolve().parents[2] / "content"
REVIEW = Step(id="last-time-commitments", kind="commitment", title="Last time",
              settings={"mode": "review"})


def track(*kinds: str) -> Track:
    return Track(id="t", title="T", summary="t", version=1,
                 steps=tuple(Step(id=f"s{i}", kind=k, title=k) for i, k in enumerate(kinds)))


def ids(t: Track) -> list[str]:
    return [s.id for s in t.steps]


def test_the_review_comes_right_after_the_welcome_card():
    t = track("info", "prompt", "closing")
    assert review_position(t) == 1
    assert ids(with_review(t, REVIEW)) == ["s0", "last-time-commitments", "s1", "s2"]


def test_without_a_welcome_card_or_safety_step_the_review_opens_the_session():
    t = track("prompt", "closing")
    assert review_position(t) == 0
    assert ids(with_review(t, REVIEW)) == ["last-time-commitments", "s0", "s1"]


def test_a_track_that_reviews_nothing_gets_no_review():
    t = replace(track("info", "prompt"), settings={"review_sources": []})
    assert review_sources(t) == ()
    assert with_review(t, REVIEW) is t
    assert review_sources(track("info")) == ("commitment", "apology", "agreement")


def test_which_commitments_a_review_looks_back_on():
    keep = {"commitment": 1, "apology": 3}
    both = ("commitment", "apology")
    checks = [{"session_id": f"s{i}", "status": "kept"} for i in range(3)]
    # never checked: always, if the track reviews its source
    assert due_for_review("commitment", "open", [], both, keep)
    assert due_for_review(None, "open", [], both, keep)  # older records: a commitment step
    assert not due_for_review("apology", "open", [], ("commitment",), keep)
    # an everyday commitment once, an apology's for three check-ins
    assert not due_for_review("commitment", "kept", checks[:1], both, keep)
    assert due_for_review("apology", "not_yet", checks[:2], both, keep)
    assert not due_for_review("apology", "kept", checks, both, keep)
    # this session's own check doesn't count against it while its review is open
    assert due_for_review("apology", "kept", checks, both, keep, session_id="s2")


def test_with_a_safety_step_the_review_comes_right_after_the_first_one():
    t = track("info", "safety", "info", "listening", "safety", "closing")
    assert review_position(t) == 2
    assert ids(with_review(t, REVIEW))[:4] == ["s0", "s1", "last-time-commitments", "s2"]


def test_a_track_with_its_own_review_step_is_left_as_it_is():
    own = Step(id="own-review", kind="commitment", title="Own", settings={"mode": "review"})
    t = Track(id="t", title="T", summary="t", version=1,
              steps=(Step(id="hi", kind="info", title="Hi"), own))
    assert with_review(t, REVIEW) is t
    writing = Track(id="t", title="T", summary="t", version=1,
                    steps=(Step(id="c", kind="commitment", title="C", settings={"days": 7}),))
    assert ids(with_review(writing, REVIEW)) == ["last-time-commitments", "c"]


def test_the_shipped_review_step_comes_from_content_and_fits_every_track():
    library = load_library(CONTENT)
    step = library.review_step
    assert step is not None and step.id == "last-time-commitments"
    assert step.kind == "commitment" and step.settings["mode"] == "review"
    assert step.title and step.prompt
    assert check_ins(step) == {"commitment": 1, "apology": 3}
    for shipped in library:
        opened = with_review(shipped, step)
        if opened is shipped:  # weekly-check-in words its own review
            own = [s for s in shipped.steps if is_review_step(s)]
            assert own, shipped.id
            # ... and keeps an apology's commitment as long as the opening review does
            assert check_ins(own[0]) == check_ins(step)
            assert shipped.step_index(own[0].id) == 1 and shipped.steps[0].id == "welcome"
            continue
        # No shipped track carries a safety step of its own: the session's private check
        # comes before any joint step. The welcome card (privacy notice, Get help) comes
        # first, the review right after it.
        assert not [s.id for s in shipped.steps if s.kind == "safety"], shipped.id
        assert shipped.steps[0].id == "welcome" and shipped.steps[0].kind == "info"
        assert opened.step_index(step.id) == 1, shipped.id


def test_the_gentle_appreciation_track_reviews_no_apology():
    library = load_library(CONTENT)
    assert review_sources(library.get("small-steps-of-appreciation")) == ("commitment",)
    for repair in ("repair-after-a-breach", "apology-workshop", "weekly-check-in",
                   "setting-boundaries-together"):
        assert "apology" in review_sources(library.get(repair)), repair


def test_the_review_file_keeps_its_id_kind_and_mode(tmp_path):
    schema = load_schema(CONTENT)
    (tmp_path / "review-step.yaml").write_text(
        "id: something-else\nkind: commitment\ntitle: Hi\nsettings: {mode: review}\n")
    with pytest.raises(ContentError, match="keep id"):
        load_review_step(tmp_path, schema)
    (tmp_path / "review-step.yaml").write_text("id: last-time-commitments\nkind: commitment\n")
    with pytest.raises(ContentError, match="review-step.yaml"):
        load_review_step(tmp_path, schema)
    assert load_review_step(tmp_path / "none", schema) is None
