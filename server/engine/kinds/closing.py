"""`closing`: the end of a track — a short reflection and a check-out scale, which can be
set beside an earlier scale of the same track ("earlier 4, now 6")."""

from __future__ import annotations

from typing import Any

from server.engine.kinds import register
from server.engine.kinds.answered import AnsweredKind
from server.engine.session import SessionState
from server.engine.tracks import Step


@register
class Closing(AnsweredKind):
    name = "closing"

    def compare(self, state: SessionState, step: Step, viewer) -> dict[str, Any] | None:
        """The earlier scale's values this viewer may see: their own, the partner's once
        that step was revealed."""
        earlier_id = (step.answer or {}).get("compare_with")
        earlier = state.track.step(earlier_id) if earlier_id else None
        if earlier is None:
            return None
        values = []
        for uid in state.partner_ids:
            entry = state.entries.get((earlier.id, uid))
            if entry is None or entry.fields is None:
                continue
            if uid == viewer.user_id or earlier.id in state.reveals:
                values.append({"user_id": uid, "value": entry.fields.get("value")})
        return {"step_id": earlier.id, "title": earlier.title, "entries": values}

    def project(self, state, step, status, viewer, view) -> None:
        super().project(state, step, status, viewer, view)
        if status != "locked":
            view["compare"] = self.compare(state, step, viewer)

    def summarize(self, state, step, viewer):
        part = super().summarize(state, step, viewer)
        if part is not None:
            part["compare"] = self.compare(state, step, viewer)
        return part
