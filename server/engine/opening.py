"""Where the "how did last time's commitments go?" review goes when a couple's next session
opens with it, and which tracks it opens at all (content: each track's
`settings.review_sources`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from server.engine.tracks import Step, Track

# What a review looks back on: commitments by where they were made (a record's
# `data.source`), and agreements due for their revisit date.
SOURCES = ("commitment", "apology", "agreement")
# How many reviews a commitment stays in, by source, when the review step's content does
# not say (content/review-step.yaml `settings.check_ins`): an apology's "what will change"
# is rebuilt trust over weeks, so one look back is not enough.
DEFAULT_CHECK_INS = {"commitment": 1, "apology": 3}


def is_review_step(step: Step) -> bool:
    return step.kind == "commitment" and (step.settings or {}).get("mode") == "review"


def review_sources(track: Track) -> tuple[str, ...]:
    """The commitments this track's review looks back on, by source. Content decides per
    track (a gentle appreciation session reviews no apology); a hand-made track that does
    not say reviews them all."""
    sources = (track.settings or {}).get("review_sources")
    return tuple(SOURCES) if sources is None else tuple(sources)


def check_ins(review: Step | None) -> dict[str, int]:
    """How many reviews a commitment of each source stays in (see DEFAULT_CHECK_INS)."""
    given = ((review.settings or {}) if review is not None else {}).get("check_ins") or {}
    return {**DEFAULT_CHECK_INS, **{k: int(v) for k, v in given.items()}}


def due_for_review(source: str | None, status: str, checks: Iterable[Mapping[str, Any]],
                   sources: Iterable[str], keep: Mapping[str, int],
                   session_id: str | None = None) -> bool:
    """Whether a commitment belongs in a review: it was made where this track reviews, and
    it has been looked back on (in sessions other than `session_id`) fewer times than its
    source asks for. Never checked (`open`) always counts."""
    source = source or "commitment"
    if source not in tuple(sources):
        return False
    if status == "open":
        return True
    earlier = [c for c in checks if c.get("session_id") != session_id]
    return len(earlier) < keep.get(source, 1)


def review_position(track: Track) -> int:
    """The index the review step takes.

    The welcome card comes first: it carries the privacy notice and Get help, which a
    couple reads before any joint work. So a track that opens with an `info` card gets the
    review right after it. The review is joint work, so in a track with a safety step it
    also goes after the first one (and waits on its gate like every step after it).
    """
    at = 1 if track.steps and track.steps[0].kind == "info" else 0
    for index, step in enumerate(track.steps):
        if step.kind == "safety":
            return max(at, index + 1)
    return at


def with_review(track: Track, review: Step) -> Track:
    """The track with `review` inserted at its place; unchanged when the track already has a
    review step of its own (weekly-check-in), a step with the same id, or reviews nothing
    (`settings.review_sources: []`)."""
    if any(is_review_step(s) or s.id == review.id for s in track.steps):
        return track
    if not review_sources(track):
        return track
    at = review_position(track)
    return replace(track, steps=(*track.steps[:at], review, *track.steps[at:]))
