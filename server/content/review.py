"""Steps that live outside the tracks: the review step a couple's next session opens with
(content/review-step.yaml) and the private check that opens every session
(content/check.yaml)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from server.content.errors import ContentError
from server.engine.tracks import Step, freeze

REVIEW_FILE = "review-step.yaml"
REVIEW_ID = "last-time-commitments"
CHECK_FILE = "check.yaml"
CHECK_ID = "check"


def _load_step_file(content_dir: Path, name: str, schema: dict) -> dict | None:
    path = content_dir / name
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{name}: not valid YAML ({exc}).") from exc
    step_schema = {"$defs": schema["$defs"], **schema["$defs"]["step"]}
    try:
        jsonschema.validate(data, step_schema)
    except jsonschema.ValidationError as exc:
        raise ContentError(f"{name}: {exc.message}.") from exc
    return data


def _step(data: dict) -> Step:
    return Step(id=data["id"], kind=data["kind"], title=data["title"],
                prompt=data.get("prompt"), hint=data.get("hint"),
                body=(data.get("body") or "").strip() or None,
                settings=freeze(data["settings"]))


def load_check_step(content_dir: Path, schema: dict) -> Step | None:
    """The check's questions and words, checked against the `safety` step schema; None
    without a file (then sessions open without a check: hand-made content in tests)."""
    data = _load_step_file(content_dir, CHECK_FILE, schema)
    if data is None:
        return None
    settings = data.get("settings") or {}
    if data["id"] != CHECK_ID or data["kind"] != "safety":
        raise ContentError(f"{CHECK_FILE}: keep id {CHECK_ID!r} and kind 'safety'; change "
                           "the words and questions only.")
    if not settings.get("stopped_title") or not settings.get("stopped_text"):
        raise ContentError(f"{CHECK_FILE}: settings.stopped_title and stopped_text are the "
                           "words both partners read when a session stops early; write both.")
    return _step(data)


def load_review_step(content_dir: Path, schema: dict) -> Step | None:
    """The step, checked against the same schema as a track's steps; None without a file
    (then sessions simply open without a review)."""
    data = _load_step_file(content_dir, REVIEW_FILE, schema)
    if data is None:
        return None
    if data["id"] != REVIEW_ID or data["kind"] != "commitment" \
            or (data.get("settings") or {}).get("mode") != "review":
        raise ContentError(f"{REVIEW_FILE}: keep id {REVIEW_ID!r}, kind 'commitment' and "
                           "settings.mode 'review'; change the words only.")
    return _step(data)
