"""Immutable descriptions of tracks and their steps, as the engine sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def freeze(value: Any) -> Any:
    """Deep read-only copy of plain JSON-like data (dicts and lists)."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """The inverse of freeze: JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    title: str
    prompt: str | None = None
    hint: str | None = None
    body: str | None = None
    optional: bool = False
    answer: Mapping[str, Any] | None = None
    # A short prompt the track attaches to this step's reveal ("What surprised you?").
    followup: str | None = None
    # What a kind needs from content beyond the common fields (timers, parts, phrase
    # rules): defaults live in content, not constants in code. Frozen, kind-specific.
    settings: Mapping[str, Any] | None = None

    @property
    def takes_answer(self) -> bool:
        from server.engine.kinds import kind_of  # the registry knows; imported late

        return kind_of(self).takes_answer

    def public_dict(self) -> dict[str, Any]:
        """What anyone may know about the step itself (it is track content, not a person's)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "prompt": self.prompt,
            "hint": self.hint,
            "body": self.body,
            "optional": self.optional,
            "answer": plain(self.answer),
            "followup": self.followup,
            "settings": plain(self.settings),
        }


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    summary: str
    version: int
    steps: tuple[Step, ...]
    # Track-wide defaults (e.g. break_minutes); kinds and the session read them.
    settings: Mapping[str, Any] = field(default_factory=dict)
    _index: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {step.id: i for i, step in enumerate(self.steps)}
        if len(index) != len(self.steps):
            raise ValueError(f"track {self.id!r} has duplicate step ids")
        object.__setattr__(self, "_index", MappingProxyType(index))

    def step_index(self, step_id: str) -> int | None:
        return self._index.get(step_id)

    def step(self, step_id: str) -> Step | None:
        i = self._index.get(step_id)
        return None if i is None else self.steps[i]


def track_to_data(track: Track) -> dict[str, Any]:
    """Plain JSON for a track, complete enough to rebuild it (a session's pinned copy)."""
    return {
        "id": track.id,
        "title": track.title,
        "summary": track.summary,
        "version": track.version,
        "steps": [
            {
                "id": s.id, "kind": s.kind, "title": s.title, "prompt": s.prompt,
                "hint": s.hint, "body": s.body, "optional": s.optional,
                "answer": plain(s.answer), "followup": s.followup,
                "settings": plain(s.settings),
            }
            for s in track.steps
        ],
        "settings": plain(track.settings),
    }


def track_from_data(data: Mapping[str, Any]) -> Track:
    steps = tuple(
        Step(
            id=s["id"], kind=s["kind"], title=s["title"], prompt=s.get("prompt"),
            hint=s.get("hint"), body=s.get("body"), optional=bool(s.get("optional")),
            answer=freeze(s["answer"]) if s.get("answer") is not None else None,
            followup=s.get("followup"),
            settings=freeze(s["settings"]) if s.get("settings") is not None else None,
        )
        for s in data["steps"]
    )
    return Track(data["id"], data["title"], data["summary"], data["version"], steps,
                 freeze(data.get("settings") or {}))
