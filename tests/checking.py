"""The private check that opens every session (server.engine.check), for tests about
something else: answers that pass it, and the one place that passes it for them.

Tests of the check itself are marked `real_check` and answer it as a person would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CHECK_FILE = Path(__file__).resolve().parent.parent / "content" / "check.yaml"


def clear_answers(step: Any = None) -> dict[str, str]:
    """For each question the first option that is clear: answers that pass the check."""
    if step is None:
        questions = yaml.safe_load(CHECK_FILE.read_text(encoding="utf-8"))["settings"]["questions"]
    else:
        questions = step.settings["questions"]
    return {q["id"]: next(o["id"] for o in q["options"] if o.get("clear", True))
            for q in questions}


def concerning_answers(step: Any = None) -> dict[str, str]:
    """Clear answers except the first question, answered with its first concerning option."""
    if step is None:
        questions = yaml.safe_load(CHECK_FILE.read_text(encoding="utf-8"))["settings"]["questions"]
    else:
        questions = step.settings["questions"]
    answers = clear_answers(step)
    first = questions[0]
    answers[first["id"]] = next(o["id"] for o in first["options"] if o.get("clear") is False)
    return answers


def pass_check_over_socket(sock: Any, session_id: str, label: str = "x") -> None:
    """A live client answers the check clear (each partner's socket, after session:join)."""
    ack = sock.call("check:submit", {"session_id": session_id,
                                     "client_id": f"check-{label}-{session_id[:12]}",
                                     "fields": {"answers": clear_answers()}}, timeout=15)
    assert ack["ok"], ack
