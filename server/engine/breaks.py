"""Breaks (time-outs): either partner stops the session for both, for a while.

A partner who feels flooded calls a break at any moment of an active session. The session
pauses for both: a countdown (the track's `break_minutes`, 20 when it doesn't say; longer on
request up to `break_max_minutes`, 240 when unset), a card, and a prompt to come back within
a day. While the break lasts, submits, turns, ready and acknowledgements get `paused`;
drafts keep saving (session.handle applies that through `SessionState.is_paused`).

The break lives in `session_data["break"]`:
    {by_user_id, started_at, until, back: [user_id], countdown_over}
and the caller's reason, if given, in `session_data["private"][by_user_id]["break_reason"]`
(projected to that user only, and dropped when the break ends). `paused_until` stays the
countdown's end while it runs; the Tick at that moment clears it and sets `countdown_over`
("Time's up — come back when you're ready"). The break itself ends only when every partner
has said "I'm back" (or a counsellor resumes it for everyone).

"I'm back" is accepted before the countdown ends. The countdown is advice about how long
calming down usually takes, not a lock: the session resumes only when *both* partners are
back, so the person who asked for the break decides when they are ready, and nobody is kept
staring at a timer after they have calmed down. A partner who is back early is shown as
"ready when you are", which asks nothing of the other.

A session with `paused_until` set but no break object (older data, tests) is a simple timed
pause: paused until that moment, ended by the Tick.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.answers import MAX_TEXT_LENGTH
from server.engine.errors import MendError
from server.engine.session import (
    ACTIVE,
    COUNSELLOR,
    PauseEnded,
    SessionDataSaved,
    SessionState,
    Transition,
    unchanged,
)
from server.engine.text import is_blank as blank_text
from server.engine.text import trim
from server.engine.views import iso

DEFAULT_BREAK_MINUTES = 20
DEFAULT_MAX_MINUTES = 240
MAX_REASON_LENGTH = min(1000, MAX_TEXT_LENGTH)


@dataclass(frozen=True)
class PauseSession:
    """`session:pause`: a partner (or the counsellor) calls a break for everyone."""

    user_id: str
    minutes: Any = None
    reason: Any = None


@dataclass(frozen=True)
class ResumeSession:
    """`session:resume`: "I'm back" from a partner; the counsellor resumes for everyone."""

    user_id: str


def break_minutes(state: SessionState) -> tuple[int, int]:
    """(default, longest) break in minutes, from the track's settings."""
    settings = state.track.settings or {}
    default = int(settings.get("break_minutes", DEFAULT_BREAK_MINUTES))
    longest = max(default, int(settings.get("break_max_minutes", DEFAULT_MAX_MINUTES)))
    return default, longest


def current_break(state: SessionState) -> dict[str, Any] | None:
    found = state.session_data.get("break")
    return dict(found) if found else None


def is_on_break(state: SessionState, now: datetime) -> bool:
    """The rule behind `SessionState.is_paused`: a break lasts until everyone is back;
    a bare `paused_until` (no break object) until that moment."""
    if state.session_data.get("break"):
        return True
    return state.paused_until is not None and now < state.paused_until


def _private(state: SessionState) -> dict[str, Any]:
    return {uid: dict(v) for uid, v in (state.session_data.get("private") or {}).items()}


def _with_data(state: SessionState, data: dict[str, Any]) -> SessionState:
    return replace(state, session_data=data)


def _minutes(state: SessionState, minutes: Any) -> int:
    default, longest = break_minutes(state)
    if minutes is None:
        return default
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise MendError("invalid", "How long the break lasts must be a whole number of minutes.")
    if not default <= minutes <= longest:
        raise MendError("invalid", f"A break here lasts from {default} to {longest} minutes.")
    return minutes


def _reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise MendError("invalid", "The reason must be text.")
    if len(reason) > MAX_REASON_LENGTH:
        raise MendError("too_large", f"Keep the reason under {MAX_REASON_LENGTH} characters.")
    return None if blank_text(reason) else trim(reason)


def _require_member(state: SessionState, user_id: str) -> str:
    participant = state.participant(user_id)
    if participant is None:
        raise MendError("forbidden", "You are not part of this session.")
    if state.status != ACTIVE:
        raise MendError("conflict", "This session has finished; there is nothing to pause.")
    return participant.role


def pause(state: SessionState, action: PauseSession, now: datetime) -> Transition:
    _require_member(state, action.user_id)
    if current_break(state) is not None:
        raise MendError("conflict", "The session is already on a break.")
    minutes = _minutes(state, action.minutes)
    reason = _reason(action.reason)
    until = now + timedelta(minutes=minutes)
    data = dict(state.session_data)
    data["break"] = {"by_user_id": action.user_id, "started_at": iso(now), "until": iso(until),
                     "minutes": minutes, "back": [], "countdown_over": False}
    if reason is not None:
        private = _private(state)
        private[action.user_id] = {**private.get(action.user_id, {}), "break_reason": reason}
        data["private"] = private
    new_state = replace(_with_data(state, data), paused_until=until, version=state.version + 1)
    return Transition(new_state, (SessionDataSaved(data),))


def _end_break(state: SessionState, now: datetime) -> Transition:
    """Everyone is back: the break and its private reason go; the session carries on."""
    data = {k: v for k, v in state.session_data.items() if k != "break"}
    private = _private(state)
    for uid in list(private):
        private[uid].pop("break_reason", None)
        if not private[uid]:
            del private[uid]
    if private:
        data["private"] = private
    else:
        data.pop("private", None)
    new_state = replace(_with_data(state, data), paused_until=None, version=state.version + 1)
    return Transition(new_state, (SessionDataSaved(data), PauseEnded(now)))


def resume(state: SessionState, action: ResumeSession, now: datetime) -> Transition:
    role = _require_member(state, action.user_id)
    found = current_break(state)
    if found is None:
        if state.is_paused(now) and role == COUNSELLOR:
            return _end_break(state, now)  # a simple timed pause, lifted by the counsellor
        # Nothing to come back from (or a plain timed pause that ends on its own): harmless.
        return unchanged(state)
    if role == COUNSELLOR:
        return _end_break(state, now)
    back = list(found.get("back", ()))
    if action.user_id in back:
        return unchanged(state)
    back.append(action.user_id)
    if all(uid in back for uid in state.partner_ids):
        return _end_break(state, now)
    data = dict(state.session_data)
    data["break"] = {**found, "back": back}
    new_state = replace(_with_data(state, data), version=state.version + 1)
    return Transition(new_state, (SessionDataSaved(data),))


def handle(state: SessionState, action: PauseSession | ResumeSession, now: datetime
           ) -> Transition:
    if isinstance(action, PauseSession):
        return pause(state, action, now)
    return resume(state, action, now)


def tick(state: SessionState, now: datetime) -> tuple[SessionState, tuple]:
    """The countdown's end: `paused_until` clears; a break stays until everyone is back,
    now marked countdown_over so both screens say "Time's up"."""
    if state.paused_until is None or now < state.paused_until:
        return state, ()
    found = current_break(state)
    new_state = replace(state, paused_until=None)
    if found is None:
        return new_state, (PauseEnded(now),)
    data = dict(state.session_data)
    data["break"] = {**found, "countdown_over": True}
    return _with_data(new_state, data), (SessionDataSaved(data), PauseEnded(now))


def break_view(state: SessionState, viewer_id: str) -> dict[str, Any] | None:
    """The viewer's `session.break`: never anyone's reason but the viewer's own."""
    found = current_break(state)
    if found is None:
        return None
    own = (state.session_data.get("private") or {}).get(viewer_id) or {}
    return {
        "by_user_id": found["by_user_id"],
        "started_at": found["started_at"],
        "until": found["until"],
        "minutes": found.get("minutes"),
        "back": [uid for uid in state.partner_ids if uid in found.get("back", ())],
        "countdown_over": bool(found.get("countdown_over")),
        "reason": own.get("break_reason") if found["by_user_id"] == viewer_id else None,
    }
