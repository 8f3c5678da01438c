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
    assert "988" in track.steps[0].body  # the crisis line is there before anything else


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
