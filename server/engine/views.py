"""Small shaping helpers shared by the visibility module and the step kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.engine.tracks import plain


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
        "removed": entry.removed,
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


def turn_dict(turn: Any) -> dict[str, Any]:
    return {
        "id": turn.id,
        "client_id": turn.client_id,
        "user_id": turn.user_id,
        "step_id": turn.step_id,
        "kind": turn.name,
        "body": turn.body,
        "fields": dict(turn.fields) if turn.fields is not None else None,
        "removed": turn.removed,
        "at": iso(turn.at),
    }


def record_dict(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "status": record.status,
        "user_id": record.user_id,
        "session_id": record.session_id,
        "step_id": record.step_id,
        **{k: v for k, v in plain(record.data).items() if k not in ("id", "kind", "status")},
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }

