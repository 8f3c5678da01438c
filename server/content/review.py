"""The review step a couple's next session opens with (content/review-step.yaml)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from server.engine.tracks import Step, freeze

REVIEW_FILE = "review-step.yaml"
REVIEW_ID = "last-time-commitments"


def load_review_step(content_dir: Path, schema: dict) -> Step | None:
    """The step, checked against the same schema as a track's steps; None without a file
    (then sessions simply open without a review)."""
    from server.content import ContentError  # the package imports this module

    path = content_dir / REVIEW_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{REVIEW_FILE}: not valid YAML ({exc}).") from exc
    step_schema = {"$defs": schema["$defs"], **schema["$defs"]["step"]}
    try:
        jsonschema.validate(data, step_schema)
    except jsonschema.ValidationError as exc:
        raise ContentError(f"{REVIEW_FILE}: {exc.message}.") from exc
    if data["id"] != REVIEW_ID or data["kind"] != "commitment" \
            or (data.get("settings") or {}).get("mode") != "review":
        raise ContentError(f"{REVIEW_FILE}: keep id {REVIEW_ID!r}, kind 'commitment' and "
                           "settings.mode 'review'; change the words only.")
    return Step(id=data["id"], kind=data["kind"], title=data["title"],
                prompt=data.get("prompt"), hint=data.get("hint"),
                body=(data.get("body") or "").strip() or None,
                settings=freeze(data["settings"]))
