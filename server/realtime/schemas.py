"""Each client event's payload, declared once: `check` runs before the event's handler
(server.realtime.handlers.event) and raises MendError("invalid") for a malformed one."""

from __future__ import annotations

from typing import Any


def check(event: str, payload: dict[str, Any]) -> None:
    """Raise MendError("invalid" | "too_large") unless `payload` fits `event`'s schema."""
