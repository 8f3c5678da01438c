"""`listening`: speaker and listener take turns (Imago mirroring, the Gottman-Rapoport
exercise, PREP's speaker-listener technique).

One step holds two rounds. Each round opens with the listener saying that now is a good
time; the speaker then shares one short I-statement; the listener mirrors it back and asks
"is there more?"; the speaker confirms, or corrects and the listener mirrors again (at most
`max_loops` mirrors); the listener validates, then empathises; the speaker says whether
they felt heard. Then the roles swap, and the step is complete once both were heard.

Every move is a `turn:submit` whose kind names the move. The step state holds a small state
machine: `expect` (the move due now) and `floor` (who must make it). Only the floor holder
may move (`not_your_turn` for the other partner); the listener has no move to answer back
with while the other speaks. "Not yet" is a choice, not an error: either partner may say it
while a round is opening, and the page offers a break.

Who speaks first: the first partner to press "I'd like to speak first" (`first_speaker:
either`, the default), or the first partner in session order (`first_speaker: slot`). The
engine can't know who is hurt, so content that wants "the hurt partner first" says so in
its text and the couple chooses.

Each move due in a round has a soft deadline (`turn_minutes`): when it passes a Tick marks
the move overdue, nobody is cut off; the floor holder may extend it `max_extensions` times.
During a break the deadline is not marked (a move whose time ran out during the break is
marked once the break is over; the holder may extend it then).

Visibility: every recorded move is shared at once with both partners (it is a live
conversation). The words being written for a move are a draft, shown to its author only.

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
    Draft,
    DraftSaved,
    Participant,
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
    "turn_minutes": 3,
    "max_extensions": 2,
    "first_speaker": "either",
}

# Moves that carry the conversation (shown in the transcript and the summary).
SPOKEN = ("share", "mirror", "confirm", "correct", "validate", "empathise", "heard")
# Moves about the exercise itself.
CONTROL = ("speak_first", "ready", "not_yet", "extend")
MOVES = SPOKEN + CONTROL
NEEDS_WORDS = frozenset({"share", "mirror", "correct", "validate", "empathise"})
HEARD = ("yes", "partly", "not_yet")

# The move due, as the refusal of another move names it.
NEXT = {
    "speak_first": "choosing who speaks first",
    "ready": "the listener saying whether now is a good time",
    "share": "the speaker sharing",
    "mirror": "the listener saying back what they heard",
    "confirm": "the speaker confirming or correcting",
    "validate": "the listener saying what makes sense",
    "empathise": "the listener imagining how it feels",
    "heard": "the speaker saying whether they felt heard",
}

OPENING = "opening"
SPEAKING = "speaking"
DONE = "done"


def setting(step: Step, key: str) -> Any:
    value = (step.settings or {}).get(key)
    return DEFAULTS[key] if value is None else value


def _parse(moment: str | None) -> datetime | None:
    if moment is None:
        return None
    return datetime.fromisoformat(moment.rstrip("Z"))


def initial(state: SessionState, step: Step) -> dict[str, Any]:
    """The step state before anyone has moved."""
    data: dict[str, Any] = {
        "phase": OPENING, "round": 0, "first": None, "speaker": None, "listener": None,
        "expect": "speak_first", "floor": None, "loops": 0, "deadline": None,
        "overdue": False, "extensions": 0, "not_yet": [], "rounds": [],
    }
    if setting(step, "first_speaker") == "slot" and state.partner_ids:
        speaker = state.partner_ids[0]
        listener = state.other_partner(speaker)
        data.update(first=speaker, speaker=speaker, listener=listener, floor=listener,
                    expect="ready")
    return data


def current(state: SessionState, step: Step) -> dict[str, Any]:
    data = state.step_state(step.id)
    return dict(data) if data else initial(state, step)


def allowed(state: SessionState, data: dict[str, Any], step: Step, user_id: str
            ) -> tuple[str, ...]:
    """The moves `user_id` may make now (empty: it isn't their turn)."""
    if data["phase"] == DONE or user_id not in state.partner_ids:
        return ()
    if data["phase"] == OPENING:
        if data["speaker"] is None:
            return ("speak_first", "not_yet")
        if user_id == data["listener"]:
            return ("ready", "not_yet")
        return ("not_yet",)
    if user_id != data["floor"]:
        return ()
    moves: tuple[str, ...] = ("confirm", "correct") if data["expect"] == "confirm" \
        else (data["expect"],)
    if data["extensions"] < setting(step, "max_extensions"):
        moves += ("extend",)
    return moves


def _expect(data: dict[str, Any], step: Step, move: str, who: str, now: datetime) -> None:
    """Hand the floor to `who` for `move`, with a fresh soft deadline."""
    data.update(expect=move, floor=who, overdue=False, extensions=0,
                deadline=iso(now + timedelta(minutes=setting(step, "turn_minutes"))))


def _words(step: Step, name: str, body: Any) -> str | None:
    if body is not None and not isinstance(body, str):
        raise MendError("invalid", "A turn's words must be text.")
    if name in NEEDS_WORDS and is_blank(body, None):
        raise MendError("invalid", "Write a few words before you send this.")
    if name not in SPOKEN:
        return None  # control moves carry no words
    if body is not None and len(body) > setting(step, "max_chars"):
        raise MendError("invalid", f"Keep it short: at most {setting(step, 'max_chars')} "
                                   "characters (about three sentences).")
    return None if is_blank(body, None) else body.strip()


def topics(state: SessionState, step: Step) -> list[dict[str, Any]]:
    """The items marked "to talk about" on the latest boundary step before this one."""
    index = next((i for i, s in enumerate(state.track.steps) if s.id == step.id), 0)
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
        return MendError("conflict", "You have both spoken and been heard on this step.")
    floor = data["floor"]
    if floor is not None and user_id != floor:
        return MendError("not_your_turn",
                         f"It's {state.participant(floor).display_name}'s turn now.")
    if name == "extend":
        return MendError("conflict", "This turn's time can't be extended now.")
    if name == "speak_first" and data["speaker"] is not None:
        return MendError("conflict", "Who speaks first is already settled.")
    return MendError("conflict", f"That isn't the next move; now it's "
                                 f"{NEXT.get(data['expect'], 'something else')}.")


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
            raise MendError("invalid", f"Keep it short: at most {setting(step, 'max_chars')} "
                                       "characters.")
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
        if name == "not_yet":
            data["not_yet"] = [*data["not_yet"], {"user_id": user, "round": data["round"],
                                                  "at": iso(now)}]
        elif name == "speak_first":
            data.update(speaker=user, listener=other, floor=other, expect="ready", first=user)
        elif name == "ready":
            data.update(phase=SPEAKING, loops=0)
            _expect(data, step, "share", data["speaker"], now)
        elif name == "extend":
            base = max(_parse(data["deadline"]) or now, now)
            data.update(deadline=iso(base + timedelta(minutes=setting(step, "turn_minutes"))),
                        overdue=False, extensions=data["extensions"] + 1)
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
        elif name == "validate":
            _expect(data, step, "empathise", data["listener"], now)
        elif name == "empathise":
            _expect(data, step, "heard", data["speaker"], now)
        elif name == "heard":
            data["rounds"] = [*data["rounds"], {"speaker": data["speaker"],
                                                "listener": data["listener"],
                                                "heard": fields["heard"], "loops": data["loops"]}]
            data.update(deadline=None, overdue=False, extensions=0, loops=0)
            if data["round"] == 0:
                # Roles swap; the new listener (who just spoke) says when they're ready.
                data.update(phase=OPENING, round=1, speaker=data["listener"],
                            listener=data["speaker"], floor=data["speaker"], expect="ready")
            else:
                data.update(phase=DONE, floor=None, expect=None)
        turn = Turn(action.turn_id, user, step.id, action.client_id, name, body, fields, now)
        effects: list = [StepStateSaved(step.id, data), TurnRecorded(turn)]
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
            raise MendError("conflict", "You both need a turn to speak and be heard first.")

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
        # Soft: the move stays with the floor holder; both just see that time is up.
        data = {**state.step_state(step.id), "overdue": True}
        new_state = replace(state, step_states={**state.step_states, step.id: data})
        return Transition(new_state, (StepStateSaved(step.id, data),))

    # --- what each viewer sees -----------------------------------------------------------

    def listening_view(self, state: SessionState, step: Step, viewer: Participant
                       ) -> dict[str, Any]:
        data = current(state, step)
        return {
            "phase": data["phase"], "round": data["round"], "speaker": data["speaker"],
            "listener": data["listener"], "first": data["first"], "floor": data["floor"],
            "expect": data["expect"], "loops": data["loops"],
            "max_loops": setting(step, "max_loops"),
            "deadline": data["deadline"], "overdue": data["overdue"],
            "extensions": data["extensions"],
            "max_extensions": setting(step, "max_extensions"),
            "max_chars": setting(step, "max_chars"),
            "not_yet": list(data["not_yet"]), "rounds": [dict(r) for r in data["rounds"]],
            "my_moves": list(allowed(state, data, step, viewer.user_id)),
            "turns": [turn_dict(t) for t in state.turns_on(step.id)],
            "topics": topics(state, step),
        }

    def project(self, state: SessionState, step: Step, status: str, viewer: Participant,
                view: dict[str, Any]) -> None:
        if status == "locked":
            return
        view["listening"] = self.listening_view(state, step, viewer)
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
            "rounds": [dict(r) for r in data["rounds"]],
            "turns": [{**turn_dict(t), "display_name": state.participant(t.user_id).display_name}
                      for t in spoken],
        }

