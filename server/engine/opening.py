"""Where the "how did last time's commitments go?" review goes when a couple's next session
opens with it (a session of any track, while commitments from earlier sessions are open)."""

from __future__ import annotations

from dataclasses import replace

from server.engine.tracks import Step, Track


def is_review_step(step: Step) -> bool:
    return step.kind == "commitment" and (step.settings or {}).get("mode") == "review"


def review_position(track: Track) -> int:
    """The index the review step takes.

    The review is joint work: each partner says how their commitment went and the other
    acknowledges it. The safety check must come before any joint work, so in a track with a
    safety step the review goes right after the first one (and waits on its gate like every
    step after it); otherwise it opens the session.
    """
    for index, step in enumerate(track.steps):
        if step.kind == "safety":
            return index + 1
    return 0


def with_review(track: Track, review: Step) -> Track:
    """The track with `review` inserted at its place; unchanged when the track already has a
    review step of its own (weekly-check-in) or a step with the same id."""
    if any(is_review_step(s) or s.id == review.id for s in track.steps):
        return track
    at = review_position(track)
    return replace(track, steps=(*track.steps[:at], review, *track.steps[at:]))
