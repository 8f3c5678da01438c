"""Tracks as data: load `content/tracks/*.yaml`, validate, expose immutable Tracks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import jsonschema
import yaml

from server.engine.answers import MAX_TEXT_LENGTH
from server.engine.tracks import Step, Track, freeze


class ContentError(Exception):
    """A track file is not valid; the message names the file and the problem."""


def _check_semantics(name: str, data: dict) -> None:
    seen: set[str] = set()
    for step in data["steps"]:
        if step["id"] in seen:
            raise ContentError(f"{name}: step id {step['id']!r} appears twice.")
        seen.add(step["id"])
        answer = step.get("answer")
        if not answer:
            continue
        if answer["type"] == "scale" and answer["min"] >= answer["max"]:
            raise ContentError(f"{name}: step {step['id']!r} has a scale whose min >= max.")
        if answer["type"] == "text" and answer["max_length"] > MAX_TEXT_LENGTH:
            raise ContentError(f"{name}: step {step['id']!r} allows more than {MAX_TEXT_LENGTH}.")
        if answer["type"] == "choices" and len(set(answer["options"])) != len(answer["options"]):
            raise ContentError(f"{name}: step {step['id']!r} repeats an option.")


def _build_track(data: dict) -> Track:
    steps = tuple(
        Step(
            id=s["id"],
            kind=s["kind"],
            title=s["title"],
            prompt=s.get("prompt"),
            hint=s.get("hint"),
            body=s.get("body", "").strip() or None,
            optional=bool(s.get("optional", False)),
            answer=freeze(s["answer"]) if "answer" in s else None,
        )
        for s in data["steps"]
    )
    return Track(data["id"], data["title"], data["summary"].strip(), data["version"], steps)


def load_track_file(path: Path, schema: dict) -> Track:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML ({exc}).") from exc
    # best_match digs into oneOf branches for the error an author can act on.
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ContentError(f"{path.name}: {where}: {error.message}")
    if data["id"] != path.stem:
        raise ContentError(f"{path.name}: id {data['id']!r} must equal the file name.")
    _check_semantics(path.name, data)
    return _build_track(data)


@dataclass(frozen=True)
class TrackLibrary:
    tracks: Mapping[str, Track]

    def get(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def __iter__(self):
        return iter(self.tracks.values())


def load_library(content_dir: Path) -> TrackLibrary:
    schema = json.loads((content_dir / "schema" / "track.schema.json").read_text())
    tracks = {}
    for path in sorted((content_dir / "tracks").glob("*.yaml")):
        track = load_track_file(path, schema)
        tracks[track.id] = track
    if not tracks:
        raise ContentError(f"No tracks found in {content_dir / 'tracks'}.")
    return TrackLibrary(MappingProxyType(tracks))
