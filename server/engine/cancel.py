"""Calling a session off: either partner may cancel a session under way.

`DELETE /api/v1/sessions/<id>` (server.services.sessions.cancel_session) applies
`CancelSession`. The session reads `status: "cancelled"` for everyone in it from then on.

Privacy first: whatever was never shown to the other partner is deleted at once and never
revealed — answers submitted but not yet revealed, every draft (the author's own words
included: a cancelled session takes no more work), the private check's answers and a
break's private reason. What was already shown to both stays readable, as in any session
that ended. Who cancelled is recorded (`session_data["cancelled"]`): with two partners the
other knows anyway, and the screen says it in a sentence.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from server.engine.errors import MendError
from server.engine.session import (
    ACTIVE,
    CANCELLED,
    CancelSession,
    DraftDeleted,
    Effect,
    EntryDeleted,
    SessionDataSaved,
    SessionState,
    Transition,
    require_partner,
)
from server.engine.views import iso

ALREADY_OVER = {
    "finished": "This session has already finished, so there is nothing to cancel.",
    CANCELLED: "This session has already been cancelled.",
}


def cancel(state: SessionState, action: CancelSession, now: datetime) -> Transition:
    require_partner(state, action.user_id)
    if state.status != ACTIVE:
        raise MendError("conflict", ALREADY_OVER.get(
            state.status, "This session has already ended, so there is nothing to cancel."))
    effects: list[Effect] = []
    kept = {}
    for key, entry in state.entries.items():
        if entry.step_id in state.reveals:
            kept[key] = entry
        else:
            effects.append(EntryDeleted(entry.step_id, entry.user_id, entry.client_id))
    effects.extend(DraftDeleted(d.step_id, d.user_id) for d in state.drafts.values())
    data: dict[str, Any] = {k: v for k, v in state.session_data.items()
                            if k not in ("private", "break")}
    check = dict(data.get("check") or {})
    if check:
        # Closed for good; the counsellor's flag (never who) stays for them.
        check.update(open=False)
        check.pop("first_answer_at", None)
        check.pop("step_id", None)
        data["check"] = check
    moderation = dict(data.get("moderation") or {})
    if moderation:
        moderation.update(floor=None, focus_step_id=None)
        data["moderation"] = moderation
    data["cancelled"] = {"by_user_id": action.user_id, "at": iso(now)}
    effects.insert(0, SessionDataSaved(data))
    new_state = replace(state, status=CANCELLED, finished_at=now, paused_until=None,
                        entries=kept, drafts={}, session_data=data,
                        version=state.version + 1)
    return Transition(new_state, tuple(effects))


def cancelled_view(state: SessionState, viewer_id: str) -> dict[str, Any] | None:
    """The sentence everyone in a cancelled session reads, naming who called it off."""
    if state.status != CANCELLED:
        return None
    found = state.session_data.get("cancelled") or {}
    by = found.get("by_user_id")
    person = state.participant(by) if by else None
    viewer = state.participant(viewer_id)
    both = "both partners" if viewer is not None and viewer.role != "partner" else "you both"
    if by == viewer_id:
        text = "You cancelled this session."
    elif person is not None:
        text = f"{person.display_name} cancelled this session."
    else:
        text = "This session was cancelled."
    return {
        "by_user_id": by,
        "at": found.get("at"),
        "text": f"{text} Answers and drafts not yet shown to {both} were deleted "
                "without being shown.",
    }
