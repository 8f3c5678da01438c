"""`checkin`: private ratings (trust, closeness, mood by default; 1–10), a high and a low
since last time, and whether you'd like listening or advice — revealed together.

Everything goes in one entry's `fields`: `{ratings: {id: n}, high, low, support}`, each part
checked on its own. Ratings and the support choice are needed to submit; the high and low
may stay empty (some weeks have neither). `revealed_ratings` is what the couple's chart may
draw: only revealed entries, one person at a time.

Each partner's numbers (their "line") are kept from the other partner unless their owner
shares them (issue 16): a trust line the other can watch invites pressure ("why is it still
3?"), so sharing is something offered, never assumed. The choice is a couple record of kind
`checkin_line` owned by (and private to) the partner, read in every session of the couple;
without one, the numbers are kept. Kept numbers never leave for the other partner: not at
the reveal, not in the summary, not in the chart. The high, the low and the wish for
listening or advice are still shown at the reveal, as the step says. A counsellor both
partners invited reads the check-in like any answer they submit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.engine.answers import MAX_TEXT_LENGTH
from server.engine.errors import MendError
from server.engine.kinds import register
from server.engine.kinds.answered import AnsweredKind
from server.engine.kinds.appreciation import settings_of
from server.engine.session import PARTNER, SessionState
from server.engine.text import is_blank as blank_text
from server.engine.tracks import Step, plain
from server.engine.views import iso

DEFAULT_RATINGS = (
    {"id": "trust", "label": "Trust"},
    {"id": "closeness", "label": "Closeness"},
    {"id": "mood", "label": "Mood"},
)
DEFAULT_SUPPORT = (
    {"id": "listening", "label": "Listening"},
    {"id": "advice", "label": "Advice"},
    {"id": "neither", "label": "Neither right now"},
)
DEFAULT_MIN, DEFAULT_MAX = 1, 10
DEFAULT_TEXT_LENGTH = 500
FIELDS = ("ratings", "high", "low", "support")
LINE = "checkin_line"  # the couple record holding one partner's choice (status shared/kept)
SHARED, KEPT = "shared", "kept"


def line_shared(state: SessionState, user_id: str) -> bool:
    """Whether this partner shares their check-in numbers with the other (default: no)."""
    mine = [r for r in state.records_of(LINE) if r.user_id == user_id]
    if not mine:
        return False
    return max(mine, key=lambda r: (r.updated_at, r.id)).status == SHARED


def numbers_hidden(state: SessionState, author: str, viewer: Any) -> bool:
    """The author's numbers are kept from this viewer: the other partner, while the author
    hasn't shared them."""
    return (viewer.role == PARTNER and viewer.user_id != author
            and not line_shared(state, author))


def _without_numbers(answer: dict[str, Any]) -> None:
    fields = answer.get("fields")
    if fields and "ratings" in fields:
        answer["fields"] = {k: v for k, v in fields.items() if k != "ratings"}
    answer["numbers_kept"] = True


def checkin_spec(step: Step) -> dict[str, Any]:
    """The check-in's answer spec, from the step's settings with the defaults filled in."""
    settings = settings_of(step)
    return {
        "type": "checkin",
        "ratings": plain(settings.get("ratings", DEFAULT_RATINGS)),
        "min": int(settings.get("min", DEFAULT_MIN)),
        "max": int(settings.get("max", DEFAULT_MAX)),
        "support": plain(settings.get("support", DEFAULT_SUPPORT)),
        "max_length": min(int(settings.get("max_length", DEFAULT_TEXT_LENGTH)), MAX_TEXT_LENGTH),
    }


def _text(value: Any, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MendError("invalid", f"The {what} must be text.")
    if len(value) > limit:
        raise MendError("too_large", f"The {what} is {len(value):,} characters; the limit here "
                        f"is {limit:,}. Nothing was lost: shorten it and try again.")
    return None if blank_text(value) else value


def validate_checkin(spec: Mapping[str, Any], body: Any, fields: Any, *, draft: bool
                     ) -> tuple[None, dict | None]:
    if body not in (None, ""):
        raise MendError("invalid", "A check-in takes its answer in 'fields', not 'body'.")
    if fields is None:
        fields = {}
    if not isinstance(fields, Mapping):
        raise MendError("invalid", "'fields' must be an object.")
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise MendError("invalid", f"A check-in has no field {sorted(unknown)[0]!r}.")
    out: dict[str, Any] = {}

    ratings = fields.get("ratings") or {}
    if not isinstance(ratings, Mapping):
        raise MendError("invalid", "'ratings' must be an object of numbers.")
    ids = [r["id"] for r in spec["ratings"]]
    low, high = spec["min"], spec["max"]
    for key, value in ratings.items():
        if key not in ids:
            raise MendError("invalid", f"{key!r} is not one of this check-in's ratings.")
        if value is None and draft:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise MendError("invalid", f"Choose a number from {low} to {high} for each rating.")
    kept = {k: ratings[k] for k in ids if ratings.get(k) is not None}
    if not draft and len(kept) != len(ids):
        raise MendError("invalid", "Give each rating a number before you submit.")
    if kept:
        out["ratings"] = kept

    for name in ("high", "low"):
        text = _text(fields.get(name), name, spec["max_length"])
        if text is not None:
            out[name] = text

    support = fields.get("support")
    options = [o["id"] for o in spec["support"]]
    if support is not None and support not in options:
        raise MendError("invalid", "Choose one of the options offered for listening or advice.")
    if support is None and not draft:
        raise MendError("invalid", "Say whether you'd like listening or advice.")
    if support is not None:
        out["support"] = support
    return None, (out or None)


@register
class Checkin(AnsweredKind):
    name = "checkin"

    def validate(self, step, body, fields, *, draft):
        return validate_checkin(checkin_spec(step), body, fields, draft=draft)

    def project(self, state, step, status, viewer, view) -> None:
        super().project(state, step, status, viewer, view)
        view["answer"] = checkin_spec(step)
        if viewer.role == PARTNER:
            # The viewer's own standing choice, so the step can offer to change it.
            view["line"] = {"shared": line_shared(state, viewer.user_id),
                            "couple_id": state.couple_id}
        for entry in (view.get("revealed") or {}).get("entries", ()):
            if numbers_hidden(state, entry["user_id"], viewer):
                _without_numbers(entry)

    def summarize(self, state, step, viewer):
        part = super().summarize(state, step, viewer)
        if part is not None:
            part["answer"] = checkin_spec(step)
            for answer in part["answers"]:
                if numbers_hidden(state, answer["user_id"], viewer):
                    _without_numbers(answer)
        return part


def revealed_ratings(state: SessionState, viewer_id: str) -> list[dict[str, Any]]:
    """Each revealed check-in's ratings in this session that this viewer may see, one row
    per person and step.

    Only revealed steps count: an answer the partner hasn't been shown yet never reaches
    the chart; nor do the other partner's numbers while they keep them (`line_shared`).
    High, low and support stay out: the chart draws numbers only.
    """
    rows = []
    hidden = {uid for uid in state.partner_ids
              if uid != viewer_id and not line_shared(state, uid)}
    for step in state.track.steps:
        if step.kind != Checkin.name or step.id not in state.reveals:
            continue
        spec = checkin_spec(step)
        for uid in state.partner_ids:
            entry = state.entries.get((step.id, uid))
            if uid in hidden or entry is None or entry.skipped or not entry.fields:
                continue
            rows.append({
                "user_id": uid, "session_id": state.id, "step_id": step.id,
                "at": iso(state.reveals[step.id]),
                "ratings": dict(entry.fields.get("ratings", {})),
                "min": spec["min"], "max": spec["max"],
                "labels": {r["id"]: r["label"] for r in spec["ratings"]},
            })
    return rows
