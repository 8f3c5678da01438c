"""content/AUTHORING.md traces every track to its methods (issue 16): each track file in
content/tracks has its own rows in the table, named by its id, and each kind the engine
knows has rows too. A new track without its trace fails here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.engine.kinds import known_kinds

ROOT = Path(__file__).resolve().parents[2]


def trace_section() -> str:
    text = (ROOT / "content" / "AUTHORING.md").read_text(encoding="utf-8")
    start = text.index("## Which method each exercise rests on")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def first_cells(section: str) -> list[str]:
    return [row.split("|")[1].strip() for row in section.splitlines()
            if row.startswith("| ") and row.split("|")[1].strip()]


def test_every_track_file_is_in_the_trace_table():
    named = " ".join(first_cells(trace_section()))
    for path in sorted((ROOT / "content" / "tracks").glob("*.yaml")):
        track = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert f"(`{track['id']}`)" in named, (
            f"{path.name}: add the track to AUTHORING.md's trace table, with a row per step")
        assert track["title"] in named, f"{path.name}: name the track by its title too"


def test_every_kind_is_in_the_trace_table():
    named = " ".join(first_cells(trace_section()))
    for kind in sorted(known_kinds()):
        if kind == "info":  # a card: traced with its track
            continue
        assert re.search(rf"`{kind}`", named), f"kind {kind} has no row in the trace table"


def test_claims_the_issue_found_wrong_stay_corrected():
    section = trace_section()
    checkin = next(r for r in section.splitlines() if "where you are today" in r)
    assert "does **not** ask" in checkin  # the check-in never claimed to show both calm
    agreements = next(r for r in section.splitlines() if "what we agree on from here" in r)
    assert "atone" in agreements and "attune" not in agreements.replace("(not attune)", "")
    value = next(r for r in section.splitlines() if "something I still value" in r)
    assert "Not affair recovery's attach" in value
    assert "EFT" in section
