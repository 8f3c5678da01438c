"""What one viewer may see of a session: the only place private answers are projected.

Every byte of a person's words that leaves the server goes through `view_for` or
`summary_for`. The session-wide parts are shaped here; each step's personal parts are
projected by its kind (server.engine.kinds), per viewer and role: a draft is shown to its
author only; an entry to its author, and to everyone else only once its step is revealed.
The other partner learns a status, never text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.engine import check
from server.engine.breaks import break_minutes, break_view
from server.engine.cancel import cancelled_view
from server.engine.kinds import kind_of
from server.engine.moderation import counsellor_data
from server.engine.session import (
    ACTIVE,
    CANCELLED,
    COUNSELLOR,
    ENDED,
    FINISHED,
    PARTNER,
    SessionState,
)
from server.engine.views import draft_dict, entry_dict, iso, record_dict, turn_dict

__all__ = ["dashboard_row", "draft_dict", "entry_dict", "iso", "records_for", "step_status",
           "summary_for", "turn_dict", "view_for"]

COUNSELLOR_NOTICE = (
    "{name}, your counsellor, can see the answers you both submit once they are shown, and "
    "what you write in turns, except an apology's own words, which go only to the partner "
    "receiving it. They never see drafts or your answers to the private check; "
    "if a check suggests it, they are told only to check in with each of you privately, "
    "never who. Either of you can remove them at any time."
)


def records_for(state: SessionState, viewer_id: str, kind: str) -> list[dict[str, Any]]:
    """The couple's records of one kind this viewer may see (shared, or private to them)."""
    return [record_dict(r) for r in sorted(state.records_of(kind), key=lambda r: r.created_at)
            if r.private_to in (None, viewer_id)]


def step_status(state: SessionState, index: int) -> str:
    if state.status in (ENDED, CANCELLED) and index >= state.current_index \
            and not _touched(state, state.track.steps[index].id):
        return "locked"  # stopped early before this step began: nothing to read again
    if state.status != ACTIVE or index < state.current_index:
        return "done"
    if index > state.current_index:
        return "locked"
    return "revealed" if state.track.steps[index].id in state.reveals else "open"


def _touched(state: SessionState, step_id: str) -> bool:
    """Someone did something on the step (an answer, a turn, a ready, a reveal)."""
    return step_id in state.reveals or any(sid == step_id for sid, _ in state.entries) \
        or any(sid == step_id for sid, _ in state.ready) \
        or any(t.step_id == step_id for t in state.turns)


def _step_view(state: SessionState, index: int, viewer) -> dict[str, Any]:
    step = state.track.steps[index]
    status = step_status(state, index)
    view = step.public_dict()
    view.update(status=status, mine=None, partner_status=None, revealed=None, acks=[])
    kind_of(step).project(state, step, status, viewer, view)
    view["ready"] = [uid for uid in state.partner_ids if (step.id, uid) in state.ready]
    return view


def _require_viewer(state: SessionState, viewer_id: str):
    viewer = state.participant(viewer_id)
    if viewer is None:
        raise ValueError("only participants have a view; check access first")
    return viewer


def _session_header(state: SessionState) -> dict[str, Any]:
    track = state.track
    return {
        "id": state.id,
        "status": state.status,
        "version": state.version,
        "track": {"id": track.id, "title": track.title, "version": track.version},
        "created_at": iso(state.created_at),
        "finished_at": iso(state.finished_at),
    }


def _counsellor_view(state: SessionState) -> dict[str, Any]:
    """Who the counsellor is, or the invite waiting for consent: the same for everyone."""
    present = state.counsellor
    found = counsellor_data(state)
    invite = None
    if found is not None and present is None:
        invite = {
            "invited_by": found["invited_by"],
            "invited_at": found["invited_at"],
            "expires_at": found["expires_at"],
            "consents": [uid for uid in state.partner_ids if uid in found["consents"]],
            "waiting_for": [uid for uid in state.partner_ids if uid not in found["consents"]],
        }
    return {
        "present": None if present is None else {
            "user_id": present.user_id, "display_name": present.display_name,
            "joined_at": (found or {}).get("joined_at"),
        },
        "invite": invite,
        "notice": COUNSELLOR_NOTICE.format(name=present.display_name) if present else None,
    }


def _moderation_view(state: SessionState) -> dict[str, Any]:
    moderation = state.moderation
    current = state.current_step
    floor = moderation.get("floor") if state.counsellor is not None else None
    if floor and (current is None or floor.get("step_id") != current.id):
        floor = None  # the floor was given on a step the couple has since left
    return {
        "held": [s for s in moderation.get("held", ()) if state.reveal_held(s)],
        "floor": dict(floor) if floor else None,
        "focus_step_id": moderation.get("focus_step_id"),
        # Reframe cards shown on the step under way.
        "cards": [dict(c) for c in moderation.get("cards", ())
                  if current is not None and c.get("step_id") == current.id],
    }


def _audit_view(state: SessionState) -> list[dict[str, Any]]:
    return [
        {"actor_id": e.actor_id, "actor_name": e.actor_name, "actor_role": e.actor_role,
         "action": e.action, "step_id": e.step_id, "target_user_id": e.target_user_id,
         "at": iso(e.at)}
        for e in state.audit
    ]


def notes_for(state: SessionState, viewer) -> list[dict[str, Any]]:
    """The counsellor's own notes and messages; a partner's messages addressed to them."""
    if viewer.role == COUNSELLOR:
        notes = [n for n in state.notes if n.author_id == viewer.user_id]
    else:
        notes = [n for n in state.notes if n.recipient_id == viewer.user_id]
    return [
        {"id": n.id, "client_id": n.client_id, "from_user_id": n.author_id,
         "to_user_id": n.recipient_id, "private": n.recipient_id is None, "body": n.body,
         "at": iso(n.at)}
        for n in notes
    ]


def view_for(state: SessionState, viewer_id: str, online: Iterable[str] = ()) -> dict[str, Any]:
    """The viewer's full view of the session (the `session:state` payload)."""
    viewer = _require_viewer(state, viewer_id)
    online = set(online)
    current = state.current_step
    header = _session_header(state)
    header.update(
        # The session's version plus this viewer's private changes (a check answer): it
        # grows with every change this viewer can see, and only with those.
        version=state.version + int((state.session_data.get("seq") or {}).get(viewer_id, 0)),
        # A session that stopped before its last step: the same words for everyone,
        # whatever the cause (engine.check.stop_early).
        stopped=check.stopped_view(state),
        # Called off by a partner: who, when, and the sentence everyone reads (engine.cancel).
        cancelled=cancelled_view(state, viewer.user_id),
        current_step_id=current.id if current else None,
        step_index=state.current_index + 1,
        step_count=len(state.track.steps),
        paused_until=iso(state.paused_until),
        # A break under way ({by_user_id, started_at, until, back, countdown_over}); the
        # reason only ever in its caller's own view.
        **{"break": break_view(state, viewer.user_id)},
        breaks=dict(zip(("minutes", "max_minutes"), break_minutes(state), strict=True)),
    )
    return {
        "session": header,
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
        "steps": [_step_view(state, i, viewer) for i in range(len(state.track.steps))],
        "agreements": records_for(state, viewer_id, "agreement"),
        "commitments": records_for(state, viewer_id, "commitment"),
        "check": check.view(state, viewer),
        "counsellor": _counsellor_view(state),
        "moderation": _moderation_view(state),
        "audit": _audit_view(state),
        "notes": notes_for(state, viewer),
    }


def dashboard_row(state: SessionState, viewer_id: str, online: Iterable[str] = ()
                  ) -> dict[str, Any]:
    """One line of the counsellor's dashboard: where a session stands, from their view."""
    view = view_for(state, viewer_id, online)
    current = next((s for s in view["steps"] if s["id"] == view["session"]["current_step_id"]),
                   None)
    partners = [p for p in view["participants"] if p["role"] == PARTNER]
    found = view.get("check") or {}
    flags = [{"message": found["message"]}] if found.get("flag") else []
    return {
        "session": view["session"],
        "partners": partners,
        "step": None if current is None else {
            "id": current["id"], "title": current["title"], "kind": current["kind"],
            "submitted": current.get("submitted"), "held": current.get("held", False),
        },
        "break": view["session"]["break"],
        "flags": flags,
        "moderation": view["moderation"],
    }


def summary_for(state: SessionState, viewer_id: str) -> dict[str, Any]:
    """What this viewer may keep of the session: revealed answers (and their own)."""
    viewer = _require_viewer(state, viewer_id)
    steps = []
    for index, step in enumerate(state.track.steps):
        if index > state.current_index and state.status == ACTIVE:
            break
        part = kind_of(step).summarize(state, step, viewer)
        if part is not None:
            steps.append(part)
    extra = {"notes": notes_for(state, viewer)} if viewer.role == COUNSELLOR else {}
    return {
        **extra,
        "session": _session_header(state) | {"finished": state.status == FINISHED},
        "viewer": {"user_id": viewer.user_id, "role": viewer.role},
        "participants": [
            {"user_id": p.user_id, "display_name": p.display_name, "role": p.role}
            for p in state.participants
        ],
        "steps": steps,
    }
