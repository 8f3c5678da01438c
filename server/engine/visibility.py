"""What one viewer may see of a session: the only place private answers are projected.

Every byte of a person's words that leaves the server goes through `view_for`. A partner's
draft is shown to that partner only; an entry is shown to its author, and to everyone else
only once its step is revealed. The other partner learns a status, never text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.engine.session import ACTIVE, FINISHED, Draft, Entry, SessionState


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z (datetimes are naive UTC throughout Mend)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "step_id": entry.step_id,
        "body": entry.body,
        "fields": dict(entry.fields) if entry.fields is not None else None,
        "submitted_at": iso(entry.submitted_at),
    }


def _draft_dict(draft: Draft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    return {
        "body": draft.body,
        "fields": dict(draft.fields) if draft.fields is not None else None,
        "saved_at": iso(draft.saved_at),
    }


def step_status(state: SessionState, index: int) -> str:
    if state.status == FINISHED or index < state.current_index:
        return "done"
    if index > state.current_index:
        return "locked"
    return "revealed" if state.track.steps[index].id in state.reveals else "open"


def _step_view(state: SessionState, index: int, viewer_id: str) -> dict[str, Any]:
    step = state.track.steps[index]
    status = step_status(state, index)
    view = step.public_dict()
    view.update(status=status, mine=None, partner_status=None, revealed=None, ready=[])
    viewer = state.participant(viewer_id)
    is_partner = viewer is not None and viewer.role == "partner"
    if step.takes_answer and status != "locked":
        if is_partner:
            own = state.entries.get((step.id, viewer_id))
            view["mine"] = {
                "draft": None if own else _draft_dict(state.drafts.get((step.id, viewer_id))),
                "entry": entry_dict(own) if own else None,
            }
            other = next((uid for uid in state.partner_ids if uid != viewer_id), None)
            if other is not None:
                view["partner_status"] = state.partner_status(step.id, other)
        if step.id in state.reveals:
            view["revealed"] = {
                "at": iso(state.reveals[step.id]),
                "entries": [
                    {
                        **entry_dict(state.entries[(step.id, uid)]),
                        "user_id": uid,
                        "display_name": state.participant(uid).display_name,
                    }
                    for uid in state.partner_ids
                    if (step.id, uid) in state.entries
                ],
            }
    view["ready"] = [uid for uid in state.partner_ids if (step.id, uid) in state.ready]
    return view


def view_for(state: SessionState, viewer_id: str, online: Iterable[str] = ()) -> dict[str, Any]:
    """The viewer's full view of the session (the `session:state` payload)."""
    viewer = state.participant(viewer_id)
    if viewer is None:
        raise ValueError("view_for() is only for participants; check access first")
    online = set(online)
    current = state.track.steps[state.current_index] if state.status == ACTIVE else None
    return {
        "session": {
            "id": state.id,
            "status": state.status,
            "version": state.version,
            "track": {"id": state.track.id, "title": state.track.title},
            "current_step_id": current.id if current else None,
            "step_index": state.current_index + 1,
            "step_count": len(state.track.steps),
            "paused_until": iso(state.paused_until),
            "created_at": iso(state.created_at),
        },
        "viewer": {"user_id": viewer.user_id, "role": viewer.role},
        "participants": [
            {
                "user_id": p.user_id,
                "display_name": p.display_name,
                "role": p.role,
                "online": p.user_id in online,
            }
            for p in state.participants
        ],
        "steps": [_step_view(state, i, viewer_id) for i in range(len(state.track.steps))],
        "agreements": [],
        "commitments": [],
    }
