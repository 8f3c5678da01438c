"""`listening`: speaker and listener take turns (Imago mirroring, the Gottman-Rapoport
exercise, PREP's speaker-listener technique), and a place for a hurt partner's questions.

One step holds two rounds. Each round opens with the listener saying that now is a good
time; the speaker then shares one short I-statement; the listener mirrors it back and asks
"is there more?"; the speaker confirms, or corrects and the listener mirrors again (at most
`max_loops` mirrors); the listener validates, then empathises; the speaker says whether
they felt heard. Then the roles swap, and the step is complete once both were heard.

Not feeling heard is not the end of a round. After "Partly" or "Not yet" the speaker
chooses (`expect: "again"`): say it another way (`try_again`, the speaker shares again),
ask the listener to say it back again (`reflect_again`), or stop honestly for today
(`come_back`: the step ends with `outcome: "later"`, and the page says so). At most
`max_tries` more tries per round; after that only `come_back` is left. The words "you've
both spoken and been heard" belong to `outcome: "heard"` alone (every round said "yes").

Every move is a `turn:submit` whose kind names the move. The step state holds a small state
machine: `expect` (the move due now) and `floor` (who must make it). Only the floor holder
may move (`not_your_turn` for the other partner); the listener has no move to answer back
with while the other speaks. "Not yet" is a choice, not an error: either partner may say it
while a round is opening, and the page offers a break.

Who speaks first: the first partner to press "I'd like to speak first" (`first_speaker:
either`, the default), the first partner in session order (`slot`), or the partner who was
hurt (`hurt`, for repair after a betrayal, which is not symmetrical). With `hurt` the
couple agree the roles before anyone speaks: either proposes who was hurt
(`propose_roles`), the other agrees (`agree_roles`) or not (`decline_roles`); nobody is
cast into a role they did not agree to. Roles agreed on an earlier listening (or apology)
step of the session carry over. The hurt partner speaks first, and is never required to
listen to, mirror, validate or empathise with the partner who broke trust before moving
on: in the second round they may stop at any moment (`enough`: "one round is enough
today", `outcome: "enough"`), and may leave validating and empathising out (`pass`).

`mode: questions` is a place for the hurt partner's questions: the hurt partner asks
(`ask`), the other answers (`answer`), as many times as the hurt partner wants, until they
say that's enough for today (`enough`, `outcome: "asked"`). Where a counsellor takes part,
each answer is held for the counsellor's release (the session's hold/release mechanism:
recording an answer holds the step, the counsellor reads it and releases it; the asker
sees that an answer is waiting, never its words).

Each move due in a round has a soft deadline (`turn_minutes`): when it passes a Tick marks
the move overdue, nobody is cut off; the floor holder may extend it `max_extensions` times.
The clock is shown to the floor holder alone: a countdown on someone else's disclosure of
hurt reads as a deadline. During a break the deadline is not marked (a move whose time ran
out during the break is marked once the break is over; the holder may extend it then).

Visibility: every recorded move is shared at once with both partners (it is a live
conversation), except an answer held for the counsellor. The words being written for a
move are a draft, shown to its author only. Over-long words are refused (`too_large`),
never cut; the limit is the step's `max_chars`.

Topics: when a boundary step comes earlier in the same track, the items the couple marked
"to talk about" there (still open, or parked after the talk) are this step's `topics`. They
come from the boundary step's revealed items only, so nothing unrevealed is shown; a `share`
may name one in `fields.topic_item_id`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.answers import is_blank
from server.engine.breaks import current_break
from server.engine.errors import MendError
from server.engine.kinds import StepKind, kind_of, register
from server.engine.session import (
    PARTNER,
    Draft,
    DraftSaved,
    Participant,
    SessionDataSaved,
    SessionState,
    StepStateSaved,
    SubmitTurn,
    Transition,
    Turn,
    TurnRecorded,
)
from server.engine.tracks import Step
from server.engine.views import draft_dict, iso, turn_dict

# Fallbacks when a step's settings leave a value out; tracks set their own in content.
DEFAULTS: dict[str, Any] = {
    "max_chars": 600,
    "max_loops": 3,
    "max_tries": 2,
    "turn_minutes": 3,
    "max_extensions": 2,
    "first_speaker": "either",
    "mode": "mirror",
}

# Moves that carry the conversation (shown in the transcript and the summary).
SPOKEN = ("share", "mirror", "confirm", "correct", "validate", "empathise", "heard",
          "ask", "answer")
# Moves about the exercise itself.
CONTROL = ("speak_first", "ready", "not_yet", "extend", "propose_roles", "agree_roles",
           "decline_roles", "try_again", "reflect_again", "come_back", "enough", "pass")
MOVES = SPOKEN + CONTROL
NEEDS_WORDS = frozenset({"share", "mirror", "correct", "validate", "empathise", "ask",
                         "answer"})
HEARD = ("yes", "partly", "not_yet")

# The move due, as the refusal of another move names it.
NEXT = {
    "roles": "agreeing which of you was hurt",
    "speak_first": "choosing who speaks first",
    "ready": "the listener saying whether now is a good time",
    "share": "the speaker sharing",
    "mirror": "the listener saying back what they heard",
    "confirm": "the speaker confirming or correcting",
    "validate": "the listener saying what makes sense",
    "empathise": "the listener imagining how it feels",
    "heard": "the speaker saying whether they felt heard",
    "again": "the speaker choosing whether to try again",
    "ask": "a question from the partner who was hurt",
    "answer": "an honest answer to the question",
}

OPENING = "opening"
SPEAKING = "speaking"
DONE = "done"
# How a finished step ended (the page's closing line says which, in so many words).
HEARD_ALL, LATER, ENOUGH, ASKED = "heard", "later", "enough", "asked"
QUESTIONS = "questions"


def setting(step: Step, key: str) -> Any:
    value = (step.settings or {}).get(key)
    return DEFAULTS[key] if value is None else value


def uses_roles(step: Step) -> bool:
    """Roles (who was hurt) decide who speaks first: repair after a betrayal."""
    return setting(step, "first_speaker") == "hurt" or setting(step, "mode") == QUESTIONS


def _parse(moment: str | None) -> datetime | None:
    if moment is None:
        return None
    return datetime.fromisoformat(moment.rstrip("Z"))


def earlier_roles(state: SessionState, step: Step) -> dict[str, str] | None:
    """Roles the couple already agreed on an earlier step of this session, or None."""
    index = next((i for i, s in enumerate(state.track.steps) if s.id == step.id), 0)
    for source in reversed(state.track.steps[:index]):
        data = state.step_state(source.id)
        roles = data.get("roles") if data else None
        if not roles:
            continue
        if source.kind == "listening" and roles.get("hurt") and roles.get("other"):
            return {"hurt": roles["hurt"], "other": roles["other"]}
        if source.kind == "apology" and roles.get("hurt") and roles.get("apologising"):
            return {"hurt": roles["hurt"], "other": roles["apologising"]}
    return None


def _cast(data: dict[str, Any], roles: dict[str, str]) -> None:
    """The hurt partner speaks (or asks) first; the other is asked if now is a good time."""
    data.update(roles=roles, proposal=None, first=roles["hurt"], speaker=roles["hurt"],
                listener=roles["other"], floor=roles["other"], expect="ready")


def initial(state: SessionState, step: Step) -> dict[str, Any]:
    """The step state before anyone has moved."""
    data: dict[str, Any] = {
        "phase": OPENING, "round": 0, "first": None, "speaker": None, "listener": None,
        "expect": "speak_first", "floor": None, "loops": 0, "tries": 0, "deadline": None,
        "overdue": False, "extensions": 0, "not_yet": [], "rounds": [], "outcome": None,
        "roles": None, "proposal": None, "declined": [], "passed": [], "shown": [],
    }
    if uses_roles(step):
        roles = earlier_roles(state, step)
        if roles and set(roles.values()) == set(state.partner_ids):
            _cast(data, roles)
        else:
            data["expect"] = "roles"
    elif setting(step, "first_speaker") == "slot" and state.partner_ids:
        speaker = state.partner_ids[0]
        listener = state.other_partner(speaker)
        data.update(first=speaker, speaker=speaker, listener=listener, floor=listener,
                    expect="ready")
    return data


def current(state: SessionState, step: Step) -> dict[str, Any]:
    data = state.step_state(step.id)
    if not data:
        return initial(state, step)
    # Steps saved before these keys existed read as if they had them.
    return {**{k: v for k, v in initial(state, step).items() if k not in data}, **data}


def _hurt(data: dict[str, Any]) -> str | None:
    return (data.get("roles") or {}).get("hurt")


def may_stop(step: Step, data: dict[str, Any], user_id: str) -> bool:
    """The hurt partner's way on: asking questions, or listening to the partner who broke
    trust, they may stop whenever they choose."""
    if data["phase"] == DONE or user_id != _hurt(data):
        return False
    return setting(step, "mode") == QUESTIONS or data["round"] == 1


def allowed(state: SessionState, data: dict[str, Any], step: Step, user_id: str
            ) -> tuple[str, ...]:
    """The moves `user_id` may make now (empty: it isn't their turn)."""
    if data["phase"] == DONE or user_id not in state.partner_ids:
        return ()
    stop: tuple[str, ...] = ("enough",) if may_stop(step, data, user_id) else ()
    if data["phase"] == OPENING:
        if data["speaker"] is None:
            if data["expect"] == "roles":
                proposal = data.get("proposal")
                if proposal is None or proposal["by"] == user_id:
                    return ("propose_roles", "not_yet")
                return ("agree_roles", "decline_roles", "not_yet")
            return ("speak_first", "not_yet")
        if user_id == data["listener"]:
            return ("ready", "not_yet") + stop
        return ("not_yet",) + stop
    if user_id != data["floor"]:
        return stop
    expect = data["expect"]
    if expect == "again":
        more = data["tries"] < setting(step, "max_tries")
        return (("try_again", "reflect_again") if more else ()) + ("come_back",)
    moves: tuple[str, ...] = ("confirm", "correct") if expect == "confirm" else (expect,)
    if expect in ("validate", "empathise") and user_id == _hurt(data):
        moves += ("pass",)  # never required to validate the partner who broke trust
    if data["deadline"] is not None and data["extensions"] < setting(step, "max_extensions"):
        moves += ("extend",)
    return moves + stop


def _expect(data: dict[str, Any], step: Step, move: str, who: str, now: datetime) -> None:
    """Hand the floor to `who` for `move`, with a fresh soft deadline."""
    data.update(expect=move, floor=who, overdue=False, extensions=0,
                deadline=iso(now + timedelta(minutes=setting(step, "turn_minutes"))))


def _untimed(data: dict[str, Any], move: str, who: str | None) -> None:
    data.update(expect=move, floor=who, overdue=False, extensions=0, deadline=None)


def too_long_message(step: Step, length: int) -> str:
    limit = setting(step, "max_chars")
    return (f"That is {length:,} characters; the limit here is {limit:,} (about three "
            "sentences). Nothing was cut or saved: shorten it and send it again.")


def _words(step: Step, name: str, body: Any) -> str | None:
    if body is not None and not isinstance(body, str):
        raise MendError("invalid", "A turn's words must be text.")
    if name in NEEDS_WORDS and is_blank(body, None):
        raise MendError("invalid", "Write a few words before you send this.")
    if name not in SPOKEN:
        return None  # control moves carry no words
    if body is not None and len(body) > setting(step, "max_chars"):
        raise MendError("too_large", too_long_message(step, len(body)))
    return None if is_blank(body, None) else body.strip()


def topics(state: SessionState, step: Step) -> list[dict[str, Any]]:
    """The items marked "to talk about" on the latest boundary step before this one, then
    what a partner answered "Let's talk about this" to in the session's commitment review
    (server/engine/kinds/commitment.py `talk_topics`)."""
    index = next((i for i, s in enumerate(state.track.steps) if s.id == step.id), 0)
    return _boundary_topics(state, index) + [
        topic for s in state.track.steps[:index]
        if s.kind == "commitment" and (s.settings or {}).get("mode") == "review"
        for topic in kind_of(s).talk_topics(state, s)]


def _boundary_topics(state: SessionState, index: int) -> list[dict[str, Any]]:
    earlier = [s for s in state.track.steps[:index] if s.kind == "boundary"]
    if not earlier:
        return []
    source = earlier[-1]
    # Boundary.items is empty until both lists are revealed: nothing private leaks here.
    return [{"item_id": item["id"], "text": item["text"], "author_user_id": item["author"],
             "boundary_step_id": source.id}
            for item in kind_of(source).items(state, source)
            if item["talk"] and item["state"] != "agreed"]


def _fields(state: SessionState, step: Step, name: str, fields: Any
            ) -> dict[str, Any] | None:
    if name == "share":
        topic = fields.get("topic_item_id") if isinstance(fields, dict) else None
        if topic is None:
            return None
        if topic not in {t["item_id"] for t in topics(state, step)}:
            raise MendError("invalid", "That isn't one of the things you marked to talk about.")
        return {"topic_item_id": topic}
    if name == "propose_roles":
        hurt = fields.get("hurt") if isinstance(fields, dict) else None
        if hurt not in state.partner_ids:
            raise MendError("invalid", "Say which of you was hurt: fields.hurt is one "
                                       "partner's user_id.")
        return {"hurt": hurt}
    if name != "heard":
        return None
    heard = fields.get("heard") if isinstance(fields, dict) else None
    if heard not in HEARD:
        raise MendError("invalid", "Say whether you felt heard: 'yes', 'partly' or 'not_yet'.")
    return {"heard": heard}


def _refuse(state: SessionState, data: dict[str, Any], user_id: str, name: str
            ) -> MendError:
    """Why `user_id` may not make move `name` now."""
    if name not in MOVES:
        return MendError("invalid", "That isn't a move in a listening turn.")
    if data["phase"] == DONE:
        return MendError("conflict", "This conversation has finished for today.")
    floor = data["floor"]
    if floor is not None and user_id != floor:
        return MendError("not_your_turn",
                         f"It's {state.participant(floor).display_name}'s turn now.")
    if name == "extend":
        return MendError("conflict", "This turn's time can't be extended now.")
    if name == "speak_first" and data["speaker"] is not None:
        return MendError("conflict", "Who speaks first is already settled.")
    if name in ("try_again", "reflect_again") and data["expect"] == "again":
        return MendError("conflict", "You've tried again as often as this step allows; "
                                     "you can come back to this another time.")
    return MendError("conflict", f"That isn't the next move; now it's "
                                 f"{NEXT.get(data['expect'], 'something else')}.")


def _close_round(data: dict[str, Any], heard: str | None, outcome: str | None) -> None:
    data["rounds"] = [*data["rounds"], {"speaker": data["speaker"],
                                        "listener": data["listener"], "heard": heard,
                                        "loops": data["loops"], "tries": data["tries"]}]
    data.update(deadline=None, overdue=False, extensions=0, loops=0, tries=0)
    if outcome is not None:
        data.update(phase=DONE, floor=None, expect=None, outcome=outcome)


def _last_heard(state: SessionState, step: Step) -> str | None:
    heard = [t for t in state.turns_on(step.id) if t.name == "heard"]
    return heard[-1].fields.get("heard") if heard and heard[-1].fields else None


def _hold_answer(state: SessionState, step: Step) -> tuple[SessionState, list]:
    """With a counsellor in the session, each answer waits for their release: recording
    one holds the step (the session's hold; the counsellor's release shows it)."""
    if state.counsellor is None or step.id in state.moderation.get("held", ()):
        return state, []
    moderation = dict(state.moderation)
    moderation["held"] = [*moderation.get("held", ()), step.id]
    session_data = {**state.session_data, "moderation": moderation}
    return replace(state, session_data=session_data), [SessionDataSaved(session_data)]


def hidden_from(state: SessionState, step: Step, data: dict[str, Any], turn: Turn,
                viewer: Participant) -> bool:
    """An answer held for the counsellor's release: not yet for the partner who asked."""
    return (turn.name == "answer" and viewer.role == PARTNER and viewer.user_id != turn.user_id
            and turn.id not in data["shown"] and state.reveal_held(step.id))


def _turns_for(state: SessionState, step: Step, data: dict[str, Any], viewer: Participant,
               turns: tuple[Turn, ...] | list[Turn]) -> list[dict[str, Any]]:
    out = []
    for t in turns:
        shown = turn_dict(t)
        if hidden_from(state, step, data, t, viewer):
            shown.update(body=None, fields={"held": True})
        out.append(shown)
    return out


@register
class Listening(StepKind):
    name = "listening"

    # --- drafts: the words for the next move, the author's own ---------------------------

    def save_draft(self, state: SessionState, step: Step, action, now: datetime
                   ) -> Transition:
        body = action.body
        if body is not None and not isinstance(body, str):
            raise MendError("invalid", "A draft must be text.")
        if body is not None and len(body) > setting(step, "max_chars"):
            raise MendError("too_large", too_long_message(step, len(body)))
        draft = Draft(action.user_id, step.id, body, None, now)
        new_state = replace(state, drafts={**state.drafts, (step.id, action.user_id): draft})
        # Nobody else's view changes: a draft is never shown to the other partner.
        return Transition(new_state, (DraftSaved(draft),), visible=False)

    # --- moves ---------------------------------------------------------------------------

    def turn(self, state: SessionState, step: Step, action: SubmitTurn, now: datetime
             ) -> Transition:
        data = current(state, step)
        user, name = action.user_id, action.name
        if name not in allowed(state, data, step, user):
            raise _refuse(state, data, user, name)
        body = _words(step, name, action.body)
        fields = _fields(state, step, name, action.fields)
        other = state.other_partner(user)
        questions = setting(step, "mode") == QUESTIONS
        turn = Turn(action.turn_id, user, step.id, action.client_id, name, body, fields, now)
        extra: list = []
        if name == "not_yet":
            data["not_yet"] = [*data["not_yet"], {"user_id": user, "round": data["round"],
                                                  "at": iso(now)}]
        elif name == "speak_first":
            data.update(speaker=user, listener=other, floor=other, expect="ready", first=user)
        elif name == "propose_roles":
            data["proposal"] = {"by": user, "hurt": fields["hurt"], "at": iso(now)}
        elif name == "agree_roles":
            hurt = data["proposal"]["hurt"]
            _cast(data, {"hurt": hurt, "other": state.other_partner(hurt)})
        elif name == "decline_roles":
            data["declined"] = [*data["declined"], {"user_id": user, "at": iso(now)}]
            data["proposal"] = None
        elif name == "enough":
            if questions:
                data.update(phase=DONE, floor=None, expect=None, outcome=ASKED,
                            deadline=None, overdue=False, extensions=0)
            else:
                # The second round stops where it is: what was said stays said.
                _close_round(data, None, ENOUGH)
        elif name == "ready":
            data.update(phase=SPEAKING, loops=0, tries=0)
            _expect(data, step, "ask" if questions else "share", data["speaker"], now)
        elif name == "extend":
            base = max(_parse(data["deadline"]) or now, now)
            data.update(deadline=iso(base + timedelta(minutes=setting(step, "turn_minutes"))),
                        overdue=False, extensions=data["extensions"] + 1)
        elif name == "ask":
            _expect(data, step, "answer", data["listener"], now)
        elif name == "answer":
            state, extra = _hold_answer(state, step)
            if not state.reveal_held(step.id):
                data["shown"] = [*data["shown"], turn.id]
            _expect(data, step, "ask", data["speaker"], now)
        elif name == "share":
            _expect(data, step, "mirror", data["listener"], now)
        elif name == "mirror":
            data["loops"] += 1
            _expect(data, step, "confirm", data["speaker"], now)
        elif name == "confirm" or (name == "correct"
                                   and data["loops"] >= setting(step, "max_loops")):
            # Past the loop cap a correction is kept and read, and the listener moves on.
            _expect(data, step, "validate", data["listener"], now)
        elif name == "correct":
            _expect(data, step, "mirror", data["listener"], now)
        elif name == "validate" or (name == "pass" and data["expect"] == "validate"):
            if name == "pass":
                data["passed"] = [*data["passed"], {"round": data["round"], "move": "validate"}]
            _expect(data, step, "empathise", data["listener"], now)
        elif name == "empathise" or name == "pass":
            if name == "pass":
                data["passed"] = [*data["passed"], {"round": data["round"], "move": "empathise"}]
            _expect(data, step, "heard", data["speaker"], now)
        elif name == "try_again":
            data.update(tries=data["tries"] + 1, loops=0)
            _expect(data, step, "share", data["speaker"], now)
        elif name == "reflect_again":
            data.update(tries=data["tries"] + 1, loops=0)
            _expect(data, step, "mirror", data["listener"], now)
        elif name == "come_back":
            # Honest: not heard yet, and the couple will come back to it another time.
            _close_round(data, _last_heard(state, step), LATER)
        elif name == "heard" and fields["heard"] != "yes":
            # Not heard (yet) doesn't end the round: the speaker chooses what comes next.
            _untimed(data, "again", data["speaker"])
        elif name == "heard":
            _close_round(data, "yes", HEARD_ALL if data["round"] == 1 else None)
            if data["round"] == 0:
                # Roles swap; the new listener (who just spoke) says when they're ready.
                data.update(phase=OPENING, round=1, speaker=data["listener"],
                            listener=data["speaker"], floor=data["speaker"], expect="ready")
        effects: list = [StepStateSaved(step.id, data), TurnRecorded(turn), *extra]
        drafts = dict(state.drafts)
        if name in SPOKEN and (step.id, user) in drafts:
            # The words were sent: the draft box starts empty for the next move.
            cleared = Draft(user, step.id, None, None, now)
            drafts[(step.id, user)] = cleared
            effects.append(DraftSaved(cleared))
        new_state = replace(state, step_states={**state.step_states, step.id: data},
                            turns=state.turns + (turn,), drafts=drafts,
                            version=state.version + 1)
        return Transition(new_state, tuple(effects))

    def check_ready(self, state: SessionState, step: Step) -> None:
        if current(state, step)["phase"] != DONE and not step.optional:
            if setting(step, "mode") == QUESTIONS:
                raise MendError("conflict", "This step ends when the partner asking says "
                                            "that's enough for today.")
            raise MendError("conflict", "You both need a turn to speak and be heard first.")

    # --- answers held for the counsellor (called by the session's release) --------------

    def holds_answers(self, step: Step) -> bool:
        return setting(step, "mode") == QUESTIONS

    def reveal_due(self, state: SessionState, step: Step) -> bool:
        data = current(state, step)
        return not state.reveal_held(step.id) and any(
            t.name == "answer" and t.id not in data["shown"] for t in state.turns_on(step.id))

    def reveal(self, state: SessionState, step: Step, now: datetime) -> Transition:
        data = current(state, step)
        data["shown"] = [*data["shown"], *(t.id for t in state.turns_on(step.id)
                                           if t.name == "answer" and t.id not in data["shown"])]
        new_state = replace(state, step_states={**state.step_states, step.id: data})
        return Transition(new_state, (StepStateSaved(step.id, data),))

    # --- the soft timer ------------------------------------------------------------------

    def next_deadline(self, state: SessionState, step: Step) -> datetime | None:
        data = state.step_state(step.id)
        if not data or data.get("overdue") or data.get("phase") != SPEAKING:
            return None
        if current_break(state) is not None:
            return None  # the clock doesn't run out on anyone during a break
        return _parse(data.get("deadline"))

    def tick(self, state: SessionState, step: Step, now: datetime) -> Transition | None:
        due = self.next_deadline(state, step)
        if due is None or now < due:
            return None
        # Soft: the move stays with the floor holder, who alone sees that time is up.
        data = {**state.step_state(step.id), "overdue": True}
        new_state = replace(state, step_states={**state.step_states, step.id: data})
        return Transition(new_state, (StepStateSaved(step.id, data),))

    # --- what each viewer sees -----------------------------------------------------------

    def listening_view(self, state: SessionState, step: Step, viewer: Participant
                       ) -> dict[str, Any]:
        data = current(state, step)
        # The clock is the floor holder's own: nobody watches a countdown on someone else.
        timed = viewer.user_id == data["floor"]
        held = [t["id"] for t in _turns_for(state, step, data, viewer, state.turns_on(step.id))
                if (t["fields"] or {}).get("held")]
        return {
            "mode": setting(step, "mode"),
            "phase": data["phase"], "round": data["round"], "speaker": data["speaker"],
            "listener": data["listener"], "first": data["first"], "floor": data["floor"],
            "expect": data["expect"], "loops": data["loops"],
            "max_loops": setting(step, "max_loops"),
            "tries": data["tries"], "max_tries": setting(step, "max_tries"),
            "deadline": data["deadline"] if timed else None,
            "overdue": bool(data["overdue"]) if timed else False,
            "extensions": data["extensions"] if timed else 0,
            "max_extensions": setting(step, "max_extensions"),
            "turn_minutes": setting(step, "turn_minutes"),
            "max_chars": setting(step, "max_chars"),
            "outcome": data["outcome"],
            "roles": dict(data["roles"]) if data["roles"] else None,
            "proposal": dict(data["proposal"]) if data["proposal"] else None,
            "declined": [dict(d) for d in data["declined"]],
            "passed": [dict(p) for p in data["passed"]],
            "held_answers": held,
            "not_yet": list(data["not_yet"]), "rounds": [dict(r) for r in data["rounds"]],
            "my_moves": list(allowed(state, data, step, viewer.user_id)),
            "turns": _turns_for(state, step, data, viewer, state.turns_on(step.id)),
            "topics": topics(state, step),
        }

    def project(self, state: SessionState, step: Step, status: str, viewer: Participant,
                view: dict[str, Any]) -> None:
        if status == "locked":
            return
        view["listening"] = self.listening_view(state, step, viewer)
        if self.holds_answers(step):
            # The counsellor's controls offer hold / release on this step, as on answers.
            view["held"] = state.reveal_held(step.id)
        if viewer.role == "partner":
            draft = state.drafts.get((step.id, viewer.user_id))
            if draft is not None and is_blank(draft.body, None):
                draft = None
            view["mine"] = {"draft": draft_dict(draft), "entry": None}

    def summarize(self, state: SessionState, step: Step, viewer: Participant
                  ) -> dict[str, Any] | None:
        spoken = [t for t in state.turns_on(step.id) if t.name in SPOKEN]
        if not spoken:
            return None
        data = current(state, step)
        return {
            "id": step.id, "kind": step.kind, "title": step.title, "prompt": step.prompt,
            "answer": None, "revealed": True, "answers": [], "acks": [],
            "mode": setting(step, "mode"), "outcome": data["outcome"],
            "roles": dict(data["roles"]) if data["roles"] else None,
            "rounds": [dict(r) for r in data["rounds"]],
            "turns": [{**t, "display_name": state.participant(t["user_id"]).display_name}
                      for t in _turns_for(state, step, data, viewer, spoken)],
        }
