"""Fixtures shared by every level of the suite.

Under CI=true a test that would skip for a missing service or browser fails instead:
`require()` is the one place that decides.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip locally, fail in CI, when something a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def unique_marker(label: str) -> str:
    """A string that can only appear where this test put it."""
    return f"MARKER-{label}-{uuid.uuid4().hex}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
