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


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "real_check: the test answers the private check that opens every session "
                   "itself (otherwise in-process tests start sessions past it)")


@pytest.fixture(autouse=True)
def _sessions_start_past_the_check(request, monkeypatch):
    """In-process tests of everything but the check start sessions whose check both
    partners already passed, through the real service (server.services.sessions.
    submit_check) right after the session is created. Servers in their own process (live,
    e2e) answer it over the socket or in the browser instead."""
    if request.node.get_closest_marker("real_check"):
        return
    from server.services import sessions
    from tests.checking import clear_answers

    original = sessions.start_or_open_session

    def started_past_the_check(db, library, user_id, couple_id, track_id):
        summary, created = original(db, library, user_id, couple_id, track_id)
        if created and library.check_step is not None:
            state = sessions.load_state(db, library, summary["id"])
            answers = {"answers": clear_answers(library.check_step)}
            for uid in state.partner_ids:
                sessions.submit_check(db, library, uid, summary["id"],
                                      f"test-check-{uid[:12]}", answers)
        return summary, created

    monkeypatch.setattr(sessions, "start_or_open_session", started_past_the_check)
