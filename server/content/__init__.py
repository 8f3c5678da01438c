"""Tracks as data: load `content/tracks/*.yaml`, validate, expose immutable Tracks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from server.content.errors import ContentError
from server.content.review import load_check_step, load_review_step
from server.content.rules import RulesError, with_apology_hints, with_boundary_flags
from server.engine.answers import MAX_TEXT_LENGTH
from server.engine.kinds import known_kinds
from server.engine.kinds.safety import is_gated_step
from server.engine.tracks import Step, Track, freeze

__all__ = ["ContentError", "TrackLibrary", "load_library", "load_schema", "load_track_file"]



def _labels(answer: dict) -> list[str]:
    return [o if isinstance(o, str) else o["label"] for o in answer["options"]]


def _check_choices(where: str, answer: dict) -> None:
    labels = _labels(answer)
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ContentError(f"{where} repeats an option ({repeated[0]!r}); give each option "
                           "a different label.")
    exclusive = [o["label"] for o in answer["options"]
                 if isinstance(o, dict) and o.get("exclusive")]
    if exclusive and not answer["multiple"]:
        raise ContentError(f"{where} marks {exclusive[0]!r} exclusive, which only makes sense "
                           "with multiple: true; set multiple: true or drop exclusive.")
    if exclusive and len(exclusive) == len(labels):
        raise ContentError(f"{where} marks every option exclusive; leave at least one option "
                           "that can be ticked with others.")


def _check_scale(where: str, scale: dict) -> None:
    if scale["min"] >= scale["max"]:
        raise ContentError(f"{where} has a scale whose min >= max; make min smaller than max.")


def _check_text_limit(where: str, max_length: int) -> None:
    if max_length > MAX_TEXT_LENGTH:
        raise ContentError(f"{where} allows more than {MAX_TEXT_LENGTH}; lower max_length.")


def _check_closing(name: str, data: dict, index: int) -> None:
    steps = data["steps"]
    step = steps[index]
    where = f"{name}: closing step {step['id']!r}"
    if index != len(steps) - 1:
        raise ContentError(f"{where} must be the last step (a track has at most one closing "
                           "step, at the end); move it to the end or make it a prompt.")
    answer = step["answer"]
    _check_text_limit(where, answer["reflection"]["max_length"])
    _check_scale(where, answer["scale"])
    target = answer.get("compare_with")
    if target is None:
        return
    earlier = {s["id"]: s for s in steps[:index]}
    if target not in earlier:
        raise ContentError(f"{where}: compare_with {target!r} is not an earlier step of this "
                           "track; name the id of a scale step that comes before it.")
    other = earlier[target].get("answer") or {}
    if other.get("type") != "scale":
        raise ContentError(f"{where}: compare_with {target!r} is not a scale step; name a "
                           "step whose answer has type: scale.")
    mine = answer["scale"]
    if (other["min"], other["max"]) != (mine["min"], mine["max"]):
        raise ContentError(
            f"{where}: compare_with {target!r} runs {other['min']}-{other['max']} but this "
            f"scale runs {mine['min']}-{mine['max']}; give both the same min and max.")


def _check_safety(at, data: dict, session_check: bool = False) -> None:
    """Safety questions and options have distinct ids, and a step that must be gated on the
    safety check (apology, boundary, settings.requires_safety) has a safety step before it —
    unless the deployment's own check (content/check.yaml) opens every session, which then
    gates every step of every track (server.engine.check)."""
    safety_seen = session_check
    for index, step in enumerate(data["steps"]):
        where = f"{at(index)}: step {step['id']!r}"
        if step["kind"] == "safety":
            safety_seen = True
            questions = step["settings"]["questions"]
            ids = [q["id"] for q in questions]
            if len(set(ids)) != len(ids):
                raise ContentError(f"{where} asks two questions with the same id; give each "
                                   "question its own id.")
            for question in questions:
                options = [o["id"] for o in question["options"]]
                if len(set(options)) != len(options):
                    raise ContentError(f"{where}: question {question['id']!r} repeats an "
                                       "option id; give each option its own id.")
        elif is_gated_step(step["kind"], step.get("settings")) and not safety_seen:
            raise ContentError(f"{where} is a {step['kind']} step with no safety step before "
                               "it; open the track with a step of kind safety.")


def _check_semantics(name: str, data: dict, lines: list[int] | None = None,
                     session_check: bool = False) -> None:
    """`lines[i]` is the line step i starts on, so each message can point at it."""
    def at(index: int) -> str:
        return f"{name}, line {lines[index]}" if lines and index < len(lines) else name

    seen: set[str] = set()
    # Ids first: the other checks (compare_with above all) name steps by id.
    for index, step in enumerate(data["steps"]):
        if step["id"] in seen:
            raise ContentError(f"{at(index)}: step id {step['id']!r} appears twice; "
                               "give each step its own id.")
        seen.add(step["id"])
    _check_safety(at, data, session_check)
    for index, step in enumerate(data["steps"]):
        if step["kind"] == "closing":
            _check_closing(at(index), data, index)
            continue
        answer = step.get("answer")
        if not answer:
            continue
        where = f"{at(index)}: step {step['id']!r}"
        if answer["type"] == "scale":
            _check_scale(where, answer)
        if answer["type"] == "text":
            _check_text_limit(where, answer["max_length"])
        if answer["type"] == "choices":
            _check_choices(where, answer)


def _answer_spec(answer: dict | None) -> dict | None:
    """The answer as the engine sees it: choices options become plain labels, with the
    exclusive ones listed apart (omitted when there are none)."""
    if answer is None or answer["type"] != "choices":
        return answer
    spec = {"type": "choices", "options": _labels(answer), "multiple": answer["multiple"]}
    exclusive = [o["label"] for o in answer["options"]
                 if isinstance(o, dict) and o.get("exclusive")]
    if exclusive:
        spec["exclusive"] = exclusive
    return spec


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
            answer=freeze(_answer_spec(s["answer"])) if "answer" in s else None,
            followup=(s.get("followup") or "").strip() or None,
            settings=freeze(s["settings"]) if "settings" in s else None,
        )
        for s in data["steps"]
    )
    return Track(data["id"], data["title"], data["summary"].strip(), data["version"], steps,
                 freeze(data.get("settings", {})))


def _schema_problem(data: Any, error: jsonschema.ValidationError) -> str:
    """The schema's complaint, with the step named by id and a pointer to the fix."""
    parts = list(error.absolute_path)
    where = "/".join(str(p) for p in parts) or "(top level)"
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(data, dict):
        step = data["steps"][parts[1]]
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            where += f" (step {step['id']!r})"
    if error.validator == "maxLength" and isinstance(error.instance, str):
        problem = (f"is {len(error.instance)} characters; the limit is {error.validator_value}. "
                   "Shorten it.")
    else:
        problem = error.message
        if len(problem) > 300:
            problem = problem[:300] + "…"
    return f"{where}: {problem} (content/AUTHORING.md lists the fields each kind allows.)"


def _node_at(node: yaml.Node | None, parts: list) -> yaml.Node | None:
    """The deepest YAML node along a JSON path (keys and indexes), for its line number."""
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            child = node.value[part]
        else:
            child = None
        if child is None:
            break
        node = child
    return node


def _line(node: yaml.Node | None) -> str:
    return f", line {node.start_mark.line + 1}" if node is not None else ""


def _check_repeated_keys(name: str, node: yaml.Node | None) -> None:
    # safe_load keeps the last of two equal keys without a word; an author means one.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise ContentError(f"{name}{_line(key)}: {key.value!r} appears twice in the "
                                   "same place; keep one.")
            seen.add(key.value)
            _check_repeated_keys(name, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_repeated_keys(name, item)


def load_track_file(path: Path, schema: dict, *, session_check: bool = False) -> Track:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML ({exc}).") from exc
    _check_repeated_keys(path.name, root)
    # best_match digs into oneOf branches for the error an author can act on.
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    if error is not None:
        line = _line(_node_at(root, list(error.absolute_path)))
        raise ContentError(f"{path.name}{line}: {_schema_problem(data, error)}")
    if data["id"] != path.stem:
        raise ContentError(f"{path.name}{_line(_node_at(root, ['id']))}: id {data['id']!r} "
                           "must equal the file name.")
    steps = _node_at(root, ["steps"])
    _check_semantics(path.name, data, [n.start_mark.line + 1 for n in steps.value],
                     session_check)
    return _build_track(data)


@dataclass(frozen=True)
class TrackLibrary:
    tracks: Mapping[str, Track]
    # Opens a couple's next session while earlier commitments are open (content/review-step.yaml).
    review_step: Step | None = None
    # The private check that opens every session (content/check.yaml; engine.check), and
    # the gap after which it is asked again (MEND_RECHECK_HOURS, set by create_app).
    check_step: Step | None = None
    recheck_after: timedelta = timedelta(hours=12)

    def get(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def __iter__(self):
        return iter(self.tracks.values())


def load_schema(content_dir: Path) -> dict:
    """The track schema, with one file per further step kind composed in.

    `content/schema/kinds/<kind>.json` is the JSON Schema of one step of that kind (the
    shape of infoStep in track.schema.json). Each joins the step dispatch, so adding a kind
    never edits the shared schema file. A kind file whose kind the engine does not know is
    refused: content must not promise what the server cannot run.
    """
    schema = json.loads((content_dir / "schema" / "track.schema.json").read_text())
    kinds_dir = content_dir / "schema" / "kinds"
    step = schema["$defs"]["step"]
    for path in sorted(kinds_dir.glob("*.json")) if kinds_dir.is_dir() else ():
        kind = path.stem
        if kind not in known_kinds():
            raise ContentError(f"schema/kinds/{path.name}: the engine has no step kind {kind!r}.")
        try:
            kind_schema = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ContentError(f"schema/kinds/{path.name}: not valid JSON ({exc}).") from exc
        step["properties"]["kind"]["enum"].append(kind)
        step["allOf"].append({"if": {"properties": {"kind": {"const": kind}}},
                              "then": kind_schema})
    return schema


ORDER_FILE = "track-order.txt"


def _track_files(content_dir: Path) -> list[Path]:
    """Track files in the order they are offered: the picker lists them so, and the first
    one a person has not done is suggested next. `content/track-order.txt` lists track ids,
    one a line (# starts a comment); tracks it leaves out follow by file name."""
    files = {p.stem: p for p in sorted((content_dir / "tracks").glob("*.yaml"))}
    order_path = content_dir / ORDER_FILE
    listed: list[str] = []
    if order_path.is_file():
        for number, raw in enumerate(order_path.read_text(encoding="utf-8").splitlines(), 1):
            track_id = raw.split("#", 1)[0].strip()
            if not track_id:
                continue
            if track_id not in files:
                raise ContentError(f"{ORDER_FILE}, line {number}: there is no "
                                   f"tracks/{track_id}.yaml; fix the id or remove the line.")
            if track_id in listed:
                raise ContentError(f"{ORDER_FILE}, line {number}: {track_id!r} is listed "
                                   "twice; keep one.")
            listed.append(track_id)
    return [files[i] for i in listed] + [p for i, p in files.items() if i not in listed]


def load_library(content_dir: Path) -> TrackLibrary:
    schema = load_schema(content_dir)
    check_step = load_check_step(content_dir, schema)
    tracks = {}
    for path in _track_files(content_dir):
        track = load_track_file(path, schema, session_check=check_step is not None)
        tracks[track.id] = track
    if not tracks:
        raise ContentError(f"No tracks found in {content_dir / 'tracks'}.")
    try:  # apology steps carry their advisory hints (content/rules/) in their settings
        tracks = with_apology_hints(tracks, content_dir / "rules", freeze)
        # boundary steps carry the shared flags (content/rules/boundary-flags.yaml)
        tracks = with_boundary_flags(tracks, content_dir / "rules", freeze)
    except RulesError as exc:
        raise ContentError(str(exc)) from exc
    return TrackLibrary(MappingProxyType(tracks), load_review_step(content_dir, schema),
                        check_step)
