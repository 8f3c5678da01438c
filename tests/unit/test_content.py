"""Tracks as data: the shipped tracks are valid, and broken ones are refused by name."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from server.config import PROJECT_ROOT
from server.content import ContentError, load_library

CONTENT = PROJECT_ROOT / "content"
# The source material lives beside the repository (shared/seed), not in it.
SEED = Path(os.environ.get("MEND_SEED_DIR", PROJECT_ROOT.parent / "shared" / "seed"))


def test_the_shipped_tracks_load():
    library = load_library(CONTENT)
    assert "understanding-our-trust" in library.tracks


def test_understanding_our_trust_mixes_text_scale_and_checklist_prompts_and_an_info_card():
    track = load_library(CONTENT).get("understanding-our-trust")
    prompts = [s for s in track.steps if s.kind == "prompt"]
    assert len(prompts) >= 4
    assert {s.answer["type"] for s in prompts} >= {"text", "scale", "choices"}
    assert track.steps[0].kind == "info"
    # Help comes before anything else, pointing at support where the reader lives.
    assert "Get help" in track.steps[0].body and "988" not in track.steps[0].body
    assert "counsellor" in track.steps[0].body


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def _break(content: Path, change) -> None:
    path = content / "tracks" / "understanding-our-trust.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize("change,expected", [
    (lambda d: d.update(id="another-id"), "must equal the file name"),
    (lambda d: d["steps"].append(dict(d["steps"][1])), "appears twice"),
    (lambda d: d["steps"][1].update(kind="mystery"), "understanding-our-trust.yaml"),
    (lambda d: d["steps"][1].pop("answer"), "answer"),
    (lambda d: next(s for s in d["steps"] if s.get("answer", {}).get("type") == "scale")
     ["answer"].update(min=10, max=1), "min >= max"),
    (lambda d: d.update(steps=[]), "understanding-our-trust.yaml"),
])
def test_a_broken_track_is_refused_with_its_file_named(tmp_path, change, expected):
    content = _copy_content(tmp_path)
    _break(content, change)
    with pytest.raises(ContentError) as error:
        load_library(content)
    assert expected in str(error.value)


def test_the_schema_is_valid_json_schema():
    from jsonschema import Draft202012Validator

    schema = json.loads((CONTENT / "schema" / "track.schema.json").read_text())
    Draft202012Validator.check_schema(schema)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def test_no_sentence_is_copied_from_the_seed_material():
    seed_files = list(SEED.glob("*.txt")) if SEED.exists() else []
    if not seed_files:
        # Reference material outside the repository, not a service: a checkout without it
        # cannot run this check (set MEND_SEED_DIR to point at it).
        pytest.skip(f"the seed material is not at {SEED}")
    seed_words = _words(" ".join(p.read_text(errors="replace") for p in seed_files))
    seed_runs = {tuple(seed_words[i:i + 8]) for i in range(len(seed_words) - 7)}
    for path in sorted((CONTENT / "tracks").glob("*.yaml")):
        ours = _words(path.read_text())
        copied = [" ".join(ours[i:i + 8]) for i in range(len(ours) - 7)
                  if tuple(ours[i:i + 8]) in seed_runs]
        assert not copied, f"{path.name} repeats the seed: {copied[:3]}"


def test_a_scale_with_a_stray_field_names_the_field(tmp_path):
    content = _copy_content(tmp_path)
    _break(content, lambda d: next(s for s in d["steps"] if s.get("answer", {}).get("type")
                                   == "scale")["answer"].update(step=2))
    with pytest.raises(ContentError) as error:
        load_library(content)
    assert "'step'" in str(error.value)


# --- The step features added with the session arc (issue 5) ---------------------------


def _step(data: dict, step_id: str) -> dict:
    return next(s for s in data["steps"] if s["id"] == step_id)


def _closing(data: dict) -> dict:
    return next(s for s in data["steps"] if s["kind"] == "closing")


def _refused(tmp_path: Path, change) -> str:
    content = _copy_content(tmp_path)
    _break(content, change)
    with pytest.raises(ContentError) as error:
        load_library(content)
    message = str(error.value)
    assert "understanding-our-trust.yaml" in message
    return message


def test_the_trust_track_ends_with_a_check_out_beside_the_opening_scale():
    track = load_library(CONTENT).get("understanding-our-trust")
    assert track.version >= 2
    closing = track.steps[-1]
    assert closing.kind == "closing"
    assert closing.answer["type"] == "closing"
    assert closing.answer["compare_with"] == "feeling-secure-now"
    earlier = track.step("feeling-secure-now").answer
    assert (closing.answer["scale"]["min"], closing.answer["scale"]["max"]) == (
        earlier["min"], earlier["max"])
    assert sum(1 for s in track.steps if s.followup) >= 2
    # The old backward-looking step is gone; the forward-looking one replaces it.
    assert track.step("what-would-break-trust") is None
    assert track.step("what-helps-trust-be-kept") is not None


def test_choices_are_normalised_to_labels_with_the_exclusive_ones_listed():
    track = load_library(CONTENT).get("understanding-our-trust")
    spec = track.step("signs-i-notice").answer
    assert all(isinstance(o, str) for o in spec["options"])
    assert spec["multiple"] is True
    assert list(spec["exclusive"]) == ["None of these right now"]
    assert "None of these right now" in spec["options"]
    # A choices step with no exclusive option keeps the v1 shape.
    plain_spec = load_library(CONTENT).get("small-steps-of-appreciation").step(
        "small-things-that-help").answer
    assert "exclusive" not in plain_spec


def test_every_answer_of_the_appreciation_track_may_be_skipped():
    track = load_library(CONTENT).get("small-steps-of-appreciation")
    answered = [s for s in track.steps if s.kind != "info"]
    assert answered and all(s.optional for s in answered)
    assert track.steps[-1].kind == "closing"
    assert "Get help" in track.steps[0].body and "counsellor" in track.steps[0].body


def test_followup_reaches_the_step(tmp_path):
    content = _copy_content(tmp_path)
    _break(content, lambda d: _step(d, "what-trust-means").update(
        followup="  What surprised you?\n"))
    step = load_library(content).get("understanding-our-trust").step("what-trust-means")
    assert step.followup == "What surprised you?"
    assert step.public_dict()["followup"] == "What surprised you?"


@pytest.mark.parametrize("change,expected", [
    # followup: plain text, short, and only on steps that reveal answers.
    (lambda d: _step(d, "what-trust-means").update(followup="x" * 301), "followup"),
    (lambda d: _step(d, "small-moments").update(followup="What did you notice?"), "followup"),
    (lambda d: _step(d, "what-trust-means").update(followup="<b>bold</b>"), "followup"),
    # exclusive only with multiple: true.
    (lambda d: _step(d, "signs-i-notice")["answer"].update(multiple=False),
     "only makes sense with multiple: true"),
    (lambda d: _step(d, "signs-i-notice")["answer"].update(
        options=[{"label": "A", "exclusive": True}, {"label": "B", "exclusive": True}]),
     "every option exclusive"),
    (lambda d: _step(d, "signs-i-notice")["answer"]["options"].__setitem__(
        0, "None of these right now"), "repeats an option ('None of these right now')"),
    (lambda d: _step(d, "signs-i-notice")["answer"]["options"].__setitem__(
        -1, {"label": "None", "exclusive": True, "colour": "red"}), "options"),
    # the closing step: last, alone, and compared with an earlier scale of the same range.
    (lambda d: d["steps"].insert(1, d["steps"].pop()), "must be the last step"),
    (lambda d: d["steps"].append(dict(_closing(d), id="closing-again")), "must be the last step"),
    (lambda d: _closing(d)["answer"].update(compare_with="no-such-step"),
     "'no-such-step' is not an earlier step"),
    (lambda d: _closing(d)["answer"].update(compare_with="what-trust-means"),
     "'what-trust-means' is not a scale step"),
    (lambda d: _closing(d)["answer"]["scale"].update(max=5),
     "runs 1-10 but this scale runs 1-5"),
    (lambda d: _closing(d)["answer"]["scale"].update(min=7, max=3), "min >= max"),
    (lambda d: _closing(d)["answer"]["reflection"].update(max_length=20001), "reflection"),
    (lambda d: _closing(d)["answer"].pop("scale"), "scale"),
    (lambda d: _closing(d)["answer"].update(type="text"), "closing"),
    (lambda d: _step(d, "what-trust-means")["answer"].update(type="closing"), "answer"),
    (lambda d: _step(d, "what-trust-means")["answer"].update(max_length=20001), "20000"),
])
def test_a_track_breaking_a_step_rule_is_refused_with_the_problem_named(
        tmp_path, change, expected):
    assert expected in _refused(tmp_path, change)


def test_a_closing_step_compared_with_itself_is_refused(tmp_path):
    # The closing step is last, so "earlier" means any other step, never itself.
    message = _refused(tmp_path, lambda d: _closing(d)["answer"].update(compare_with="closing"))
    assert "closing step 'closing': compare_with 'closing' is not an earlier step" in message


def test_a_schema_problem_names_the_step_by_id_and_says_how_to_fix_it(tmp_path):
    message = _refused(tmp_path, lambda d: _step(d, "small-moments").update(followup="Hm?"))
    assert "(step 'small-moments')" in message and "'followup' was unexpected" in message
    message = _refused(tmp_path / "long", lambda d: _step(d, "what-trust-means").update(
        followup="x" * 400))
    assert "(step 'what-trust-means')" in message
    assert "is 400 characters; the limit is 300. Shorten it." in message


# --- Line numbers: a problem points at the line to fix (issue 6) ----------------------


def _line_of(content: Path, needle: str) -> int:
    text = (content / "tracks" / "understanding-our-trust.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(text, 1) if needle in line)


@pytest.mark.parametrize("change,needle,expected", [
    # An unknown kind points at the kind itself.
    (lambda d: _step(d, "what-trust-means").update(kind="mystery"), "kind: mystery",
     "'mystery' is not one of"),
    # A missing text points at the step that lacks it.
    (lambda d: _step(d, "what-trust-means").pop("prompt"), "id: what-trust-means",
     "'prompt' is a required property"),
    # A repeated step id points at the second one.
    (lambda d: _step(d, "small-moments").update(id="what-trust-means"),
     "id: what-trust-means\n", "'what-trust-means' appears twice"),
])
def test_a_problem_names_the_file_and_line(tmp_path, change, needle, expected):
    content = _copy_content(tmp_path)
    _break(content, change)
    text = (content / "tracks" / "understanding-our-trust.yaml").read_text()
    # The step's "- id:" line; for the repeated id, the last occurrence.
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle.strip() in line]
    with pytest.raises(ContentError) as error:
        load_library(content)
    message = str(error.value)
    assert expected in message
    assert f"understanding-our-trust.yaml, line {lines[-1]}:" in message, message


def test_a_key_written_twice_is_refused_with_its_line(tmp_path):
    content = _copy_content(tmp_path)
    path = content / "tracks" / "understanding-our-trust.yaml"
    text = path.read_text()
    # YAML itself would quietly keep the second title.
    path.write_text(text.replace("    title: What trust means to me\n",
                                 "    title: What trust means to me\n    title: Again\n", 1))
    with pytest.raises(ContentError) as error:
        load_library(content)
    assert f"understanding-our-trust.yaml, line {_line_of(content, 'title: Again')}: " \
           "'title' appears twice" in str(error.value)


# --- The order tracks are offered in (content/track-order.txt) ------------------------


def test_every_shipped_track_is_listed_in_the_order_file_gentle_ones_first():
    library = load_library(CONTENT)
    listed = [line.split("#", 1)[0].strip()
              for line in (CONTENT / "track-order.txt").read_text().splitlines()]
    listed = [i for i in listed if i]
    assert list(library.tracks) == listed
    # A newcomer is offered an everyday track first, never the repair work.
    assert listed[0] == "small-steps-of-appreciation"


def test_a_track_left_out_of_the_order_file_follows_by_file_name(tmp_path):
    content = _copy_content(tmp_path)
    (content / "track-order.txt").write_text("understanding-our-trust\n")
    ids = list(load_library(content).tracks)
    assert ids[0] == "understanding-our-trust"
    assert ids[1:] == sorted(ids[1:])


@pytest.mark.parametrize("order,expected", [
    ("understanding-our-trust\nno-such-track\n", "track-order.txt, line 2: there is no "
                                                 "tracks/no-such-track.yaml"),
    ("# first\nunderstanding-our-trust\nunderstanding-our-trust  # again\n",
     "track-order.txt, line 3: 'understanding-our-trust' is listed twice"),
])
def test_a_broken_order_file_is_refused_with_its_line(tmp_path, order, expected):
    content = _copy_content(tmp_path)
    (content / "track-order.txt").write_text(order)
    with pytest.raises(ContentError) as error:
        load_library(content)
    assert expected in str(error.value)


# --- Every shipped track keeps the tone rules that can be checked ----------------------


@pytest.mark.parametrize("track_id", sorted(
    p.stem for p in (CONTENT / "tracks").glob("*.yaml")))
def test_a_shipped_track_opens_with_help_and_ends_with_a_closing_step(track_id):
    track = load_library(CONTENT).get(track_id)
    welcome = track.steps[0]
    assert welcome.kind == "info"
    assert "Get help (top of every screen)" in welcome.body
    assert "988" not in welcome.body
    assert "break" in welcome.body and "counsellor" in welcome.body
    assert track.steps[-1].kind == "closing"
    # Repair work waits for the private check, which now opens every session before any
    # joint step (content/check.yaml) instead of being a step in the track: every welcome
    # card says so, in the same words in every track.
    assert _check_paragraph(welcome.body) == _check_paragraph(
        load_library(CONTENT).get("understanding-our-trust").steps[0].body)


def _check_paragraph(body: str) -> str:
    """The welcome card's paragraph about the private check (the one offering "Not today")."""
    found = [p for p in body.split("\n\n") if '"Not today"' in p]
    assert len(found) == 1, body
    assert "private check" in found[0] and "own device" in found[0], found[0]
    return found[0]


def test_the_private_check_that_opens_every_session_holds_what_the_gate_needs():
    """content/check.yaml: a step of kind safety, valid against the composed step schema;
    "I'm not sure" and "I'd rather not say" are never clear and bring up help, "Not today"
    is never clear and brings up none, and both partners read the same words when a
    session stops early."""
    from jsonschema import validate

    from server.content import load_schema

    schema = load_schema(CONTENT)
    check = yaml.safe_load((CONTENT / "check.yaml").read_text())
    validate(check, {"$defs": schema["$defs"], **schema["$defs"]["step"]})
    assert (check["id"], check["kind"]) == ("check", "safety")
    assert load_library(CONTENT).check_step.id == "check"  # the engine opens sessions with it
    settings = check["settings"]
    assert settings["stopped_title"] and settings["stopped_text"]
    assert settings["concerning_text"] and settings["not_today_text"]
    questions = settings["questions"]
    assert len(questions) >= 6
    for question in questions:
        assert any(o.get("clear", True) for o in question["options"]), question["id"]
        for option in question["options"]:
            if option["label"] in ("I'm not sure", "I'd rather not say"):
                assert option.get("clear") is False and option.get("help") is True, option
    not_today = [o for q in questions for o in q["options"] if o["label"] == "Not today"]
    assert len(not_today) == 1
    assert not_today[0].get("clear") is False and not_today[0].get("help") is False


# --- The per-kind schema files ---------------------------------------------------------


def test_the_composed_schema_with_every_kind_file_is_valid_json_schema():
    from jsonschema import Draft202012Validator

    from server.content import load_schema
    from server.engine.kinds import known_kinds

    schema = load_schema(CONTENT)
    Draft202012Validator.check_schema(schema)
    kinds = set(schema["$defs"]["step"]["properties"]["kind"]["enum"])
    # Every kind the engine runs can be written in a track, and nothing else can.
    assert kinds == set(known_kinds())
    for path in (CONTENT / "schema" / "kinds").glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_a_schema_file_for_a_kind_the_engine_does_not_know_is_refused(tmp_path):
    content = _copy_content(tmp_path)
    (content / "schema" / "kinds" / "mystery.json").write_text('{"type": "object"}')
    with pytest.raises(ContentError) as error:
        load_library(content)
    assert "schema/kinds/mystery.json: the engine has no step kind 'mystery'" in str(error.value)
