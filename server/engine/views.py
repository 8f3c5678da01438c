"""Small shaping helpers shared by the visibility module and the step kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z (datetimes are naive UTC throughout Mend)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def entry_dict(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "step_id": entry.step_id,
        "body": entry.body,
        "fields": dict(entry.fields) if entry.fields is not None else None,
        "skipped": entry.skipped,
        "submitted_at": iso(entry.submitted_at),
    }


def draft_dict(draft: Any | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    return {
        "body": draft.body,
        "fields": dict(draft.fields) if draft.fields is not None else None,
        "saved_at": iso(draft.saved_at),
    }
