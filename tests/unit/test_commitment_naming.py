"""One name for one thing: what a partner commits to do for the other is a "commitment" in
all shipped copy (content, client, server messages, docs). "Small promises" and "last
time's small steps" named the same records once; they must not come back. ("Small steps of
appreciation" is a track's title about noticing the good, not a name for commitments: its
"one small thing" step is a prompt, explicitly an offer nobody holds anyone to.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [("content", "*.yaml"), ("content", "*.md"), ("content", "*.json"),
           ("client", "*.js"), ("client", "*.html"), ("server", "*.py"), ("docs", "*.md"),
           (".", "README.md")]
# Other names for a commitment: "small promise(s)", "last time's promises", "last week's
# small steps" and the like.
OTHER_NAMES = re.compile(
    r"small promises?|(?:last|this|next) (?:time|week)'s (?:small )?(?:promises|steps|things)",
    re.IGNORECASE)


def shipped_files() -> list[Path]:
    files = []
    for folder, pattern in SHIPPED:
        for path in (ROOT / folder).rglob(pattern) if folder != "." else [ROOT / pattern]:
            if "vendor" in path.parts or "node_modules" in path.parts:
                continue
            files.append(path)
    return files


def test_commitments_have_one_name_in_shipped_copy():
    found = []
    for path in shipped_files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OTHER_NAMES.search(line) and "OTHER_NAMES" not in line:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "Call them commitments:\n" + "\n".join(found)


def test_the_check_catches_the_old_names():
    for old in ("Following through on small promises", "Last time's small promises",
                "Before we start, last time's small steps", "how last week's small promises went"):
        assert OTHER_NAMES.search(old), old
    for fine in ("Last time's commitments", "Small steps of appreciation",
                 "one small step at a time", "One commitment for the coming week"):
        assert not OTHER_NAMES.search(fine), fine
