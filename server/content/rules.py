"""Rules files under content/rules/: phrase lists a step kind shows as advisory hints.

`apology-hints.yaml` is the first: phrases that often shift blame in an apology, each with
a gentle explanation. The loader validates the file and checks each rule's examples with
`phrase_matches`, the same matching the browser does (client/js/kinds/apology-hints.js);
the rules then travel to the client inside each apology step's `settings.hints`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import yaml

APOLOGY_HINTS = "apology-hints.yaml"
APOLOGY_PARTS = ("act", "impact", "responsibility", "regret", "change", "setup")
HINT_PARTS = (*APOLOGY_PARTS, "mirror")

_TEXT = {"type": "string", "minLength": 1, "pattern": "^[^<>]*$"}
HINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["hints"],
    "properties": {"hints": {"type": "array", "minItems": 1, "maxItems": 40, "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "phrases", "message"],
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 40},
            "phrases": {"type": "array", "minItems": 1, "maxItems": 40, "uniqueItems": True,
                        "items": {**_TEXT, "maxLength": 60}},
            "parts": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": {"enum": list(HINT_PARTS)}},
            "message": {**_TEXT, "maxLength": 400},
            "examples": {"type": "object", "additionalProperties": False, "properties": {
                "flags": {"type": "array", "items": {**_TEXT, "maxLength": 200}},
                "passes": {"type": "array", "items": {**_TEXT, "maxLength": 200}},
            }},
        },
    }}},
}


class RulesError(Exception):
    """A rules file is not valid; the message names the file and the problem."""


def _normal(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def phrase_matches(phrase: str, text: str) -> bool:
    """Whole words, in order, any spacing, case and apostrophe style ignored.

    Kept deliberately simple (ASCII word characters plus the apostrophe) so the browser's
    RegExp does exactly the same; tests run both over the rules' examples.
    """
    words = _normal(phrase).split()
    if not words:
        return False
    body = r"\s+".join(re.escape(w) for w in words)
    pattern = rf"(?:^|[^a-z0-9_'])(?:{body})(?=$|[^a-z0-9_'])"
    return re.search(pattern, _normal(text)) is not None


def _checked_rules(path: Path, schema: Mapping[str, Any], key: str, label: str,
                   needed_by: str) -> list[dict[str, Any]]:
    """The rules under `key` in one rules file: valid YAML, valid against `schema`, ids
    unique, and every example flagged (or passed) as it says, with `phrase_matches`."""
    name = f"rules/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RulesError(f"{name}: missing; {needed_by}.") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{name}: not valid YAML ({exc}).") from exc
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise RulesError(f"{name}: {where}: {error.message}")
    seen: set[str] = set()
    for rule in data[key]:
        if rule["id"] in seen:
            raise RulesError(f"{name}: {label} id {rule['id']!r} appears twice.")
        seen.add(rule["id"])
        examples = rule.get("examples", {})
        for text in examples.get("flags", []):
            if not any(phrase_matches(p, text) for p in rule["phrases"]):
                raise RulesError(f"{name}: {label} {rule['id']!r}: example {text!r} should be "
                                 "flagged but none of its phrases matches it.")
        for text in examples.get("passes", []):
            if any(phrase_matches(p, text) for p in rule["phrases"]):
                raise RulesError(f"{name}: {label} {rule['id']!r}: example {text!r} should "
                                 "pass but one of its phrases matches it.")
    return list(data[key])


def load_hints(path: Path) -> tuple[dict[str, Any], ...]:
    """The hints in one rules file, validated, with their examples checked."""
    hints = []
    for rule in _checked_rules(path, HINTS_SCHEMA, "hints", "hint",
                               "an apology step needs its hints"):
        # Spelled out for the client: by default a rule covers the apology's own parts,
        # not the mirror (which may rightly quote the partner's "you always").
        hints.append({"id": rule["id"], "phrases": list(rule["phrases"]),
                      "message": rule["message"], "parts": list(rule.get("parts", APOLOGY_PARTS))})
    return tuple(hints)


def with_apology_hints(tracks: Mapping[str, Any], rules_dir: Path,
                       freeze: Any) -> dict[str, Any]:
    """Every apology step gets the hints in its settings (read once, only if needed)."""
    if not any(s.kind == "apology" for t in tracks.values() for s in t.steps):
        return dict(tracks)
    hints = freeze([dict(h) for h in load_hints(rules_dir / APOLOGY_HINTS)])
    out = {}
    for track_id, track in tracks.items():
        steps = tuple(
            replace(s, settings=freeze({**_plain(s.settings), "hints": hints}))
            if s.kind == "apology" else s
            for s in track.steps)
        out[track_id] = replace(track, steps=steps)
    return out


def _plain(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(settings or {})


# --- boundary flags (content/rules/boundary-flags.yaml) --------------------------------------

BOUNDARY_FLAGS = "boundary-flags.yaml"
FLAGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["flags"],
    "properties": {"flags": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "phrases", "message"],
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 40},
            "phrases": {"type": "array", "minItems": 1, "maxItems": 80, "uniqueItems": True,
                        "items": {**_TEXT, "maxLength": 60}},
            "message": {**_TEXT, "maxLength": 500},
            "examples": HINTS_SCHEMA["properties"]["hints"]["items"]["properties"]["examples"],
        },
    }}},
}


def load_boundary_flags(path: Path) -> tuple[dict[str, Any], ...]:
    """The shared boundary flags, validated, with their examples checked (the need only is
    matched, with `phrase_matches`, as the engine and the browser do)."""
    flags = []
    for rule in _checked_rules(path, FLAGS_SCHEMA, "flags", "flag",
                               "a boundary step needs its flags"):
        flags.append({"id": rule["id"], "phrases": list(rule["phrases"]),
                      "message": " ".join(rule["message"].split())})
    return tuple(flags)


def with_boundary_flags(tracks: Mapping[str, Any], rules_dir: Path,
                        freeze: Any) -> dict[str, Any]:
    """Every boundary step gets the shared flags in its settings; a step's own flags are
    kept after them unless they reuse a shared id (the shared, reviewed rule wins)."""
    if not any(s.kind == "boundary" for t in tracks.values() for s in t.steps):
        return dict(tracks)
    shared = [dict(f) for f in load_boundary_flags(rules_dir / BOUNDARY_FLAGS)]
    ids = {f["id"] for f in shared}
    out = {}
    for track_id, track in tracks.items():
        steps = []
        for s in track.steps:
            if s.kind == "boundary":
                settings = _plain(s.settings)
                own = [f for f in settings.get("flags", ()) if f["id"] not in ids]
                s = replace(s, settings=freeze({**settings, "flags": [*shared, *own]}))
            steps.append(s)
        out[track_id] = replace(track, steps=tuple(steps))
    return out
