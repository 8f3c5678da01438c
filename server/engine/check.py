"""The private check that opens every session, before any joint step.

Good practice screens each partner apart, before joint work, at every joint session
(CONTENT-BRIEF.md, "Safety"). So the check belongs to the session, not to a track: it is
open from the moment a session starts, each partner answers it on their own screen, and
joint work (answers, turns, ready, breaks) waits until both partners' answers are clear.
A session picked up again after a gap (`SessionState.recheck_after`, MEND_RECHECK_HOURS)
asks again before joint work resumes; a track may place a further check with a `safety`
step, which reopens it at that point.

Why before the session becomes joint, and not as a step both watch go by: an answer that
is not clear then reads as "the session didn't start today", never as a stop in the middle
of a conversation with both looking at the screen.

What the other partner can tell, and nothing more:
* Nothing changes on their screen while the check is open, whatever was answered, in what
  order or when: a check answer is a *private* change (no version, no push to them; it
  goes to its author, and to a counsellor whose view carries the flag).
* Then either the session starts (both answered clear) or it stops for today. A stop looks
  the same whoever and whatever caused it: a concerning answer followed by "Stop for
  today", "Not today" from either, a counsellor ending the session, or the clock (a check
  left unresolved for `recheck_after` once someone answered). `stop_early` is the one way
  a session ends before its last step; it keeps nothing about who or why.

What is kept: an answer lives in `session_data["private"][user]["check"]` only while the
check is open (its author sees support at that moment); it is deleted when the check
resolves either way. The session keeps `session_data["check"]`: {round, open, opened_at,
passed_at, flag}, where `flag` (some answer this session asked for help: a concern, not a
plain "Not today") is shown to a counsellor as "check in with each partner privately" —
never who.

The questions come from content/check.yaml (`SessionState.check_step`, a `safety` step);
with no check step configured (engine unit tests on hand-made tracks) there is no gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from server.engine.errors import MendError
from server.engine.session import (
    ACTIVE,
    COUNSELLOR,
    ENDED,
    SessionDataSaved,
    SessionState,
    StepAdvanced,
    Transition,
    require_partner,
)
from server.engine.tracks import Step, plain
from server.engine.views import iso

NOT_OPEN = "The private check isn't open right now."
ANSWER_FIRST = "Each of you answers a short private check before you start together."


@dataclass(frozen=True)
class SubmitCheck:
    """`check:submit`: one partner's answers to the check, `{"answers": {question: option}}`."""

    user_id: str
    client_id: str
    fields: Any = None


@dataclass(frozen=True)
class StopForToday:
    """`check:stop`: "Not today" (any time the check is open) or "Stop for today" after a
    concerning answer. Stops the session at once, on this one press."""

    user_id: str


def _parse(value: str | None) -> datetime | None:
    """Back from engine.views.iso: naive UTC, as every datetime in Mend."""
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else None


def check_data(state: SessionState) -> dict[str, Any]:
    return dict(state.session_data.get("check") or {})


def gated(state: SessionState) -> bool:
    """This deployment checks sessions (content/check.yaml is loaded)."""
    return state.check_step is not None


def is_open(state: SessionState) -> bool:
    """Joint work waits: the session is under way and its check is not passed."""
    if not gated(state) or state.status != ACTIVE:
        return False
    return check_data(state).get("open", True)


def require_passed(state: SessionState) -> None:
    """The rule for every joint action (engine.session calls it)."""
    if is_open(state):
        raise MendError("conflict", ANSWER_FIRST)


def questions_step(state: SessionState) -> Step:
    """The questions of the round under way: a track's own `safety` step when it reopened
    the check, otherwise the deployment's check."""
    step_id = check_data(state).get("step_id")
    if step_id:
        step = state.track.step(step_id)
        if step is not None:
            return step
    assert state.check_step is not None
    return state.check_step


def _private(state: SessionState) -> dict[str, dict[str, Any]]:
    return {uid: dict(v) for uid, v in (state.session_data.get("private") or {}).items()}


def my_answer(state: SessionState, user_id: str) -> Mapping[str, Any] | None:
    """This partner's answer in the round under way (None: not answered yet)."""
    mine = (state.session_data.get("private") or {}).get(user_id, {}).get("check")
    if mine and mine.get("round") == check_data(state).get("round", 1):
        return mine
    return None


def _without_answers(private: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    cleaned = {}
    for uid, data in private.items():
        data = {k: v for k, v in data.items() if k != "check"}
        if data:
            cleaned[uid] = data
    return cleaned


def _seq_bumped(data: dict[str, Any], user_ids: list[str]) -> dict[str, int]:
    """Per-viewer counters for private changes: a viewer's view version is the session's
    version plus theirs (engine.visibility), so the author's and counsellor's screens
    update while nobody else's version moves."""
    seq = dict(data.get("seq") or {})
    for uid in user_ids:
        seq[uid] = int(seq.get(uid, 0)) + 1
    return seq


def _saved(state: SessionState, data: dict[str, Any]) -> tuple[SessionState, SessionDataSaved]:
    return replace(state, session_data=data), SessionDataSaved(data)


def submit(state: SessionState, action: SubmitCheck, now: datetime) -> Transition:
    require_partner(state, action.user_id)
    if not is_open(state):
        raise MendError("conflict", NOT_OPEN)
    earlier = my_answer(state, action.user_id)
    step = questions_step(state)
    from server.engine.kinds.safety import Safety, is_clear, wants_help

    _, fields = Safety().validate(step, None, action.fields, draft=False)
    if earlier is not None:
        if earlier.get("client_id") == action.client_id and earlier.get("answers") == fields[
                "answers"]:
            return Transition(state, (), visible=False)  # a retry: nothing new
        raise MendError("conflict", "You have already answered this check.")
    clear = is_clear(step, fields)
    help_wanted = wants_help(step, fields)
    data = dict(state.session_data)
    check = check_data(state)
    check.setdefault("round", 1)
    check.setdefault("open", True)
    check.setdefault("opened_at", iso(now))
    check.setdefault("first_answer_at", iso(now))
    if help_wanted:
        # A concern, not a plain "Not today": the counsellor is asked to check in.
        check["flag"] = True
    private = _private(state)
    private.setdefault(action.user_id, {})["check"] = {
        "round": check["round"], "client_id": action.client_id,
        "answers": plain(fields["answers"]), "clear": clear,
        "help": help_wanted, "at": iso(now),
    }
    data.update(check=check, private=private)
    answers = [my_answer(replace(state, session_data=data), uid) for uid in state.partner_ids]
    if all(a is not None and a["clear"] for a in answers):
        return _pass(state, data, now)
    # Private: the author's view (their support, or "waiting for your partner") and the
    # counsellor's (the flag) change; the other partner's does not, in any byte.
    counsellor = state.counsellor
    watchers = [action.user_id] + ([counsellor.user_id] if counsellor else [])
    data["seq"] = _seq_bumped(data, watchers)
    new_state, saved = _saved(state, data)
    return Transition(new_state, (replace(saved, private_to=tuple(watchers)),), visible=False)


def _pass(state: SessionState, data: dict[str, Any], now: datetime) -> Transition:
    """Both answered clear: the answers are deleted and joint work starts (or resumes)."""
    check = dict(data["check"])
    check.update(open=False, passed_at=iso(now))
    check.pop("first_answer_at", None)
    check.pop("step_id", None)
    data.update(check=check, private=_without_answers(_private(replace(state,
                                                                       session_data=data))))
    new_state, saved = _saved(state, data)
    effects: list[Any] = [saved]
    current = new_state.current_step
    if current is not None and current.kind == "safety":
        # A track's own check step (the one that reopened the check, or a track's first
        # step, which the opening check covers) is done once the check passes: move on.
        from server.engine.session import advance, data_saved

        moved = advance(new_state, now)
        effects.append(StepAdvanced(current.id, moved.current_index, moved.status != ACTIVE,
                                    None, now))
        effects.extend(data_saved(new_state, moved))
        new_state = moved
    return Transition(replace(new_state, version=state.version + 1), tuple(effects))


def stop(state: SessionState, action: StopForToday, now: datetime) -> Transition:
    require_partner(state, action.user_id)
    if not is_open(state):
        raise MendError("conflict", NOT_OPEN)
    return stop_early(state, now)


def stop_early(state: SessionState, now: datetime, by_user_id: str | None = None
               ) -> Transition:
    """The session stops for today: the same state whatever the cause, credited to nobody.
    Check answers and break reasons are dropped; the counsellor's flag stays for them."""
    if state.status != ACTIVE:
        raise MendError("conflict", "This session has already ended.")
    data = dict(state.session_data)
    check = check_data(state)
    if check:
        check.update(open=False)
        check.pop("first_answer_at", None)
        check.pop("step_id", None)
        data["check"] = check
    private = {uid: {k: v for k, v in d.items() if k not in ("check", "break_reason")}
               for uid, d in _private(state).items()}
    data["private"] = {uid: d for uid, d in private.items() if d}
    data.pop("break", None)
    moderation = dict(data.get("moderation") or {})
    if moderation:
        moderation.update(floor=None, focus_step_id=None)
        moderation.pop("ended", None)
        data["moderation"] = moderation
    step = state.track.steps[state.current_index]
    new_state = replace(state, session_data=data, status=ENDED, finished_at=now,
                        paused_until=None, version=state.version + 1)
    return Transition(new_state, (SessionDataSaved(data),
                                  StepAdvanced(step.id, state.current_index, True, by_user_id,
                                               now)))


def reopen(state: SessionState, now: datetime, step_id: str | None = None) -> SessionState:
    """A new round: asked again (a resumed session, or a track's own check step)."""
    data = dict(state.session_data)
    check = check_data(state)
    check.update(round=int(check.get("round", 1)) + 1, open=True, opened_at=iso(now),
                 passed_at=None)
    check.pop("first_answer_at", None)
    if step_id:
        check["step_id"] = step_id
    else:
        check.pop("step_id", None)
    data["check"] = check
    data["private"] = _without_answers(_private(state))
    return replace(state, session_data=data)


def last_activity(state: SessionState) -> datetime | None:
    """The latest moment someone did something in the session that the state records."""
    moments: list[datetime] = [e.submitted_at for e in state.entries.values()]
    moments += [d.saved_at for d in state.drafts.values()]
    moments += [t.at for t in state.turns]
    moments += list(state.reveals.values())
    moments += [a.at for a in state.audit if a.actor_role != COUNSELLOR]
    check = check_data(state)
    for key in ("passed_at", "opened_at"):
        moment = _parse(check.get(key))
        if moment is not None:
            moments.append(moment)
    if state.created_at is not None:
        moments.append(state.created_at)
    return max(moments, default=None)


def recheck_due(state: SessionState, now: datetime) -> bool:
    """A passed check is asked again when the session is picked up after a gap."""
    if not gated(state) or state.status != ACTIVE or is_open(state):
        return False
    last = last_activity(state)
    return last is not None and now - last >= state.recheck_after


def recheck(state: SessionState, now: datetime) -> Transition:
    """Reopen the check of a session picked up after a gap (a visible change). A break
    left open over the gap is over: the check is the new start."""
    new_state = reopen(state, now)
    data = dict(new_state.session_data)
    data.pop("break", None)
    new_state = replace(new_state, session_data=data, paused_until=None)
    return Transition(replace(new_state, version=state.version + 1),
                      (SessionDataSaved(new_state.session_data),))


def expires_at(state: SessionState) -> datetime | None:
    """The clock: answers are for the moment, so a check someone answered that is still
    unresolved after `recheck_after` stops the session for today."""
    if not is_open(state):
        return None
    first = _parse(check_data(state).get("first_answer_at"))
    return None if first is None else first + state.recheck_after


def view(state: SessionState, viewer) -> dict[str, Any] | None:
    """The check in a viewer's view. A partner sees the questions and their own answer;
    nothing of the other partner's. A counsellor sees whether it is open and the flag."""
    if not gated(state):
        return None
    check = check_data(state)
    opened = is_open(state)
    if viewer.role == COUNSELLOR:
        return {"open": opened, "flag": bool(check.get("flag")),
                "message": "Check in with each partner privately" if check.get("flag")
                else None}
    if not opened:
        return {"open": False}
    step = questions_step(state)
    mine = my_answer(state, viewer.user_id)
    return {
        "open": True,
        "round": check.get("round", 1),
        "step": step.public_dict(),
        "mine": None if mine is None else {
            "answers": dict(mine["answers"]), "clear": mine["clear"], "help": mine["help"],
        },
    }


def stopped_view(state: SessionState) -> dict[str, Any] | None:
    """What both partners read on a session that stopped early: the same words."""
    if state.status != ENDED or state.check_step is None:
        return None
    settings = state.check_step.settings or {}
    return {"title": settings.get("stopped_title"), "text": settings.get("stopped_text")}
