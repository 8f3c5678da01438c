"""Where the review of last time's commitments goes in a track, and the content that
words it (content/review-step.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.content import ContentError, load_library, load_schema
from server.content.review import load_review_step
from server.engine.opening import review_position, with_review
from server.engine.tracks import Step, Track

CONTENT = Path(__file__).resolve().parents[2] / "content"
REVIEW = Step(id="last-time-commitments", kind="commitment", title="Last time",
              settings={"mode": "review"})


def track(*kinds: str) -> Track:
    return Track(id="t", title="T", summary="t", version=1,
                 steps=tuple(Step(id=f"s{i}", kind=k, title=k) for i, k in enumerate(kinds)))


def ids(t: Track) -> list[str]:
    return [s.id for s in t.steps]


def test_without_a_safety_step_the_review_opens_the_session():
    t = track("info", "prompt", "closing")
    assert review_position(t) == 0
    assert ids(with_review(t, REVIEW)) == ["last-time-commitments", "s0", "s1", "s2"]


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
    for shipped in library:
        opened = with_review(shipped, step)
        if opened is shipped:  # weekly-check-in words its own review
            assert any(s.kind == "commitment" and (s.settings or {}).get("mode") == "review"
                       for s in shipped.steps)
            continue
        # No shipped track carries a safety step of its own: the session's private check
        # comes before any joint step, the review included, so the review opens the track.
        assert not [s.id for s in shipped.steps if s.kind == "safety"], shipped.id
        assert opened.step_index(step.id) == 0, shipped.id


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
