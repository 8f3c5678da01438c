"""`apology`: a sincere apology in parts, with the hurt partner heard first.

The flow (Lazare; Chapman & Thomas; Lerner — see CONTENT-BRIEF.md), one phase at a time,
every move a `turn:submit`:

  roles    either partner offers a role ("I'd like to apologise" or "I'm the one who was
           hurt"); the other accepts, or says "not now" (`offer` / `withdraw` / `accept` /
           `decline`). Nobody is cast into a role they did not agree to; after a "not now"
           the two may move on without an apology.
  hurt     the hurt partner says how it felt, why it hurt, what they need (`hurt`);
           shown to both at once.
  mirror   the apologising partner says back what they heard (`mirror`); shown to both.
  apology  the apologising partner writes the parts privately (drafts, seen by nobody
           else), then sends them together (`apology`): a one-way reveal to the hurt
           partner. "What will change" becomes a commitment record owned by the
           apologising partner.
  reflect  the hurt partner says back what they heard (`reflect`).
  respond  the hurt partner chooses freely (`response`): accept, more time, or "I need
           more of …". Each is a full answer: the step is then done.

Blame-shifting hints are computed by the client from content rules and pause the send
once (the author confirms or edits); the engine never refuses a phrase. Over-long parts are
refused whole (`too_large`, answers.check_length), never cut. The apology's parts go to
their author and the hurt partner only (not to a counsellor); everything else on the step is shared.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from server.engine.answers import check_length, is_blank, text_limit
from server.engine.errors import MendError
from server.engine.kinds import StepKind, register
from server.engine.session import (
    PARTNER,
    CoupleRecord,
    Draft,
    DraftSaved,
    Participant,
    RecordSaved,
    SessionState,
    StepStateSaved,
    SubmitTurn,
    Transition,
    Turn,
    TurnRecorded,
)
from server.engine.text import is_blank as blank_text
from server.engine.tracks import Step
from server.engine.views import draft_dict, iso

APOLOGISING = "apologising"
HURT = "hurt"

ROLES, HURT_PHASE, MIRROR, APOLOGY, REFLECT, RESPOND, DONE = (
    "roles", "hurt", "mirror", "apology", "reflect", "respond", "done")

# What each role writes, part by part (the draft keys and the turns' fields).
HURT_PARTS = ("felt", "why", "need")
HURT_REQUIRED = ("felt",)
APOLOGY_PARTS = ("act", "impact", "responsibility", "regret", "change", "setup")
APOLOGY_REQUIRED = ("act", "impact", "responsibility", "regret", "change")
# Single-text turns keep their words in the draft under the turn's own name.
TEXT_TURNS = {MIRROR: APOLOGISING, REFLECT: HURT}
CHOICES = ("accept", "more_time", "more_of")

# Which draft keys each turn consumes once it is sent.
TURN_KEYS = {HURT: HURT_PARTS, MIRROR: ("mirror",), APOLOGY: APOLOGY_PARTS,
             REFLECT: ("reflect",), "response": ("more",)}
ROLE_KEYS = {HURT: HURT_PARTS + ("reflect", "more"),
             APOLOGISING: ("mirror",) + APOLOGY_PARTS}
# The phase in which each turn may be sent, who sends it, and the phase it leads to.
FLOW = {HURT: (HURT_PHASE, HURT, MIRROR), MIRROR: (MIRROR, APOLOGISING, APOLOGY),
        APOLOGY: (APOLOGY, APOLOGISING, REFLECT), REFLECT: (REFLECT, HURT, RESPOND),
        "response": (RESPOND, HURT, DONE)}

DEFAULT_MAX_LENGTH = 2000
# How a part is named in a message (the labels on screen, client/js/kinds/apology.js).
PART_NAMES = {"felt": "How it felt", "why": "Why it hurt", "need": "What you need",
              "mirror": "What I heard", "act": "What I did", "impact": "How it affected you",
              "responsibility": "It was mine", "regret": "What I regret",
              "change": "What I'll do differently", "setup": "What set me up",
              "reflect": "What I heard", "more": "I need more of"}
DEFAULT_COMMITMENT_DAYS = 7


def _setting(step: Step, key: str, default: Any) -> Any:
    return (step.settings or {}).get(key, default)


def _max_length(step: Step) -> int:
    """Each part's limit, from the step's content (settings.max_length) or 2,000."""
    return text_limit(step.settings, DEFAULT_MAX_LENGTH)


def _text(value: Any, step: Step, what: str, *, required: bool) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MendError("invalid", f"'{what}' must be text.")
    # Over the limit the whole move is refused (nothing of it kept, nothing cut).
    check_length(value, _max_length(step), f"'{PART_NAMES.get(what, what)}'")
    if required and blank_text(value):
        raise MendError("invalid", f"Write something for '{what}' before you send it.")
    return None if blank_text(value) else value


def _parts(fields: Any, step: Step, allowed: tuple[str, ...], required: tuple[str, ...]
           ) -> dict[str, str]:
    if not isinstance(fields, dict):
        raise MendError("invalid", "Send the parts as fields: {part: text}.")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise MendError("invalid", f"'{unknown[0]}' is not a part of this step.")
    parts = {}
    for key in allowed:
        text = _text(fields.get(key), step, key, required=key in required)
        if text is not None:
            parts[key] = text
    return parts


@register
class Apology(StepKind):
    name = "apology"

    # --- reading the step's state --------------------------------------------------------

    def data(self, state: SessionState, step: Step) -> dict[str, Any]:
        data = dict(state.step_state(step.id))
        data.setdefault("phase", ROLES)
        return data

    def role_of(self, state: SessionState, step: Step, user_id: str) -> str | None:
        roles = state.step_state(step.id).get("roles") or {}
        return next((role for role, uid in roles.items() if uid == user_id), None)

    def last_turn(self, state: SessionState, step: Step, name: str) -> Turn | None:
        return next((t for t in reversed(state.turns_on(step.id)) if t.name == name), None)

    # --- drafts: the author's only ----------------------------------------------------

    def save_draft(self, state: SessionState, step: Step, action, now: datetime) -> Transition:
        data = self.data(state, step)
        role = self.role_of(state, step, action.user_id)
        if role is None:
            raise MendError("conflict", "Decide together who is apologising before writing.")
        if data["phase"] == DONE:
            raise MendError("conflict", "This apology is complete; it can be read but not "
                            "changed.")
        if action.body not in (None, ""):
            raise MendError("invalid", "Send the parts as fields: {part: text}.")
        sent = {key for name, keys in TURN_KEYS.items()
                if self.last_turn(state, step, name) is not None for key in keys}
        writable = tuple(k for k in ROLE_KEYS[role] if k not in sent)
        fields = action.fields if action.fields is not None else {}
        if isinstance(fields, dict) and set(fields) & sent:
            raise MendError("conflict", "That part was already sent.")
        parts = _parts(fields, step, writable, ())
        return self._put_draft(state, step, action.user_id, parts or None, now)

    def _put_draft(self, state: SessionState, step: Step, user_id: str,
                   fields: dict[str, str] | None, now: datetime) -> Transition:
        before = state.partner_status(step.id, user_id)
        draft = Draft(user_id, step.id, None, fields, now)
        new_state = replace(state, drafts={**state.drafts, (step.id, user_id): draft})
        visible = new_state.partner_status(step.id, user_id) != before
        if visible:
            new_state = replace(new_state, version=state.version + 1)
        return Transition(new_state, (DraftSaved(draft),), visible=visible)

    # --- turns -----------------------------------------------------------------------

    def turn(self, state: SessionState, step: Step, action: SubmitTurn, now: datetime
             ) -> Transition:
        data = self.data(state, step)
        if action.name in ("offer", "withdraw", "accept", "decline"):
            return self._roles_turn(state, step, action, data, now)
        if action.name not in FLOW:
            raise MendError("invalid", "That isn't a move of an apology.")
        phase, role, next_phase = FLOW[action.name]
        if data["phase"] == ROLES:
            raise MendError("conflict", "Decide together who is apologising first.")
        if self.role_of(state, step, action.user_id) != role:
            raise MendError("not_your_turn", "That part belongs to your partner.")
        if data["phase"] != phase:
            raise MendError("conflict", "That part isn't open now.")
        body, fields = self._turn_content(step, action)
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, action.name,
                    body, fields, now)
        data["phase"] = next_phase
        new_state = replace(state, turns=state.turns + (turn,),
                            step_states={**state.step_states, step.id: data},
                            version=state.version + 1)
        effects: list = [TurnRecorded(turn), StepStateSaved(step.id, data)]
        if action.name == APOLOGY:
            record = self._commitment(state, step, turn, now)
            new_state = replace(new_state, records={**new_state.records, record.id: record})
            effects.append(RecordSaved(record))
        # The words just sent leave the draft; whatever else is drafted stays.
        draft = new_state.drafts.get((step.id, action.user_id))
        if draft is not None and draft.fields:
            rest = {k: v for k, v in draft.fields.items() if k not in TURN_KEYS[action.name]}
            if rest != dict(draft.fields):
                kept = Draft(action.user_id, step.id, None, rest or None, now)
                new_state = replace(new_state,
                                    drafts={**new_state.drafts, (step.id, action.user_id): kept})
                effects.append(DraftSaved(kept))
        return Transition(new_state, tuple(effects))

    def _turn_content(self, step: Step, action: SubmitTurn
                      ) -> tuple[str | None, dict[str, Any] | None]:
        if action.name == HURT:
            return None, _parts(action.fields, step, HURT_PARTS, HURT_REQUIRED)
        if action.name == APOLOGY:
            return None, _parts(action.fields, step, APOLOGY_PARTS, APOLOGY_REQUIRED)
        if action.name in TEXT_TURNS:
            return _text(action.body, step, action.name, required=True), None
        # response: a free choice; every one of them is a full answer.
        fields = action.fields if isinstance(action.fields, dict) else {}
        choice = fields.get("choice")
        if choice not in CHOICES:
            raise MendError("invalid", "Choose 'accept', 'more_time' or 'more_of'.")
        if set(fields) - {"choice", "more"}:
            raise MendError("invalid", "A response has a 'choice' and, for 'more_of', 'more'.")
        if choice == "more_of":
            return None, {"choice": choice,
                          "more": _text(fields.get("more"), step, "more", required=True)}
        if fields.get("more") not in (None, ""):
            raise MendError("invalid", "'more' goes with 'I need more of …' only.")
        return None, {"choice": choice}

    def _commitment(self, state: SessionState, step: Step, turn: Turn, now: datetime
                    ) -> CoupleRecord:
        days = int(_setting(step, "commitment_days", DEFAULT_COMMITMENT_DAYS))
        data = {"text": turn.fields["change"], "due_on": (now + timedelta(days=days)).date()
                .isoformat(), "source": "apology"}
        return CoupleRecord(id=turn.id, kind="commitment", data=data, status="open",
                            created_at=now, updated_at=now, session_id=state.id,
                            step_id=step.id, user_id=turn.user_id, private_to=None)

    def _roles_turn(self, state: SessionState, step: Step, action: SubmitTurn,
                    data: dict[str, Any], now: datetime) -> Transition:
        if data["phase"] != ROLES:
            raise MendError("conflict", "You have already agreed who is apologising.")
        offer = data.get("offer")
        fields = action.fields if isinstance(action.fields, dict) else {}
        if action.name == "offer":
            if offer is not None:
                raise MendError("conflict", "There is already an offer waiting for an answer.")
            role = fields.get("role")
            if role not in (APOLOGISING, HURT) or set(fields) != {"role"}:
                raise MendError("invalid", "Offer a role: 'apologising' or 'hurt'.")
            data.update(offer={"by": action.user_id, "role": role, "at": iso(now)},
                        declined=None)
            content = {"role": role}
        elif offer is None:
            raise MendError("conflict", "There is no offer to answer.")
        elif action.name == "withdraw":
            if offer["by"] != action.user_id:
                raise MendError("forbidden", "Only the person who offered can withdraw it.")
            data["offer"] = None
            content = None
        elif offer["by"] == action.user_id:
            raise MendError("not_your_turn", "Your partner answers your offer.")
        elif action.name == "decline":
            # "Not now" is a full answer to an offer: nobody is made to hear, or give, an
            # apology before they are ready. Either may offer again, or both move on.
            data.update(offer=None, declined={"by": action.user_id, "at": iso(now)})
            content = None
        else:  # accept
            other = action.user_id
            roles = ({APOLOGISING: offer["by"], HURT: other} if offer["role"] == APOLOGISING
                     else {HURT: offer["by"], APOLOGISING: other})
            data.update(offer=None, roles=roles, phase=HURT_PHASE)
            content = None
        turn = Turn(action.turn_id, action.user_id, step.id, action.client_id, action.name,
                    None, content, now)
        new_state = replace(state, turns=state.turns + (turn,),
                            step_states={**state.step_states, step.id: data},
                            version=state.version + 1)
        return Transition(new_state, (TurnRecorded(turn), StepStateSaved(step.id, data)))

    def check_ready(self, state: SessionState, step: Step) -> None:
        data = self.data(state, step)
        if data["phase"] == ROLES and data.get("declined") and not data.get("offer"):
            return  # an offer answered "not now": the couple may leave the step
        if data["phase"] != DONE:
            raise MendError("conflict", "The apology isn't complete yet; it can move on once "
                            "the hurt partner has answered.")

    # --- what each viewer sees ---------------------------------------------------------

    def _said(self, state: SessionState, step: Step, name: str) -> dict[str, Any] | None:
        turn = self.last_turn(state, step, name)
        if turn is None:
            return None
        said = dict(turn.fields) if turn.fields is not None else {}
        if turn.body is not None:
            said["body"] = turn.body
        return {**said, "by": turn.user_id, "at": iso(turn.at)}

    def may_read_apology(self, state: SessionState, step: Step, viewer: Participant) -> bool:
        """The parts go to their author and to the hurt partner, never to anyone else."""
        roles = state.step_state(step.id).get("roles") or {}
        return viewer.role == PARTNER and viewer.user_id in roles.values()

    def shared(self, state: SessionState, step: Step, viewer: Participant) -> dict[str, Any]:
        data = self.data(state, step)
        roles = data.get("roles")
        apology = self._said(state, step, APOLOGY)
        return {
            "phase": data["phase"],
            # Each part's limit, so the browser counts against the server's number.
            "max_length": _max_length(step),
            "offer": data.get("offer"),
            "declined": data.get("declined"),
            "roles": roles,
            "my_role": self.role_of(state, step, viewer.user_id),
            "hurt": self._said(state, step, HURT),
            "mirror": self._said(state, step, MIRROR),
            "apology_sent": apology is not None,
            "apology": apology if self.may_read_apology(state, step, viewer) else None,
            "reflect": self._said(state, step, REFLECT),
            "response": self._said(state, step, "response"),
        }

    def project(self, state: SessionState, step: Step, status: str, viewer: Participant,
                view: dict[str, Any]) -> None:
        if status == "locked":
            return
        view["apology"] = self.shared(state, step, viewer)
        if viewer.role == PARTNER:
            view["mine"] = {"draft": draft_dict(state.drafts.get((step.id, viewer.user_id))),
                            "entry": None}
            other = state.other_partner(viewer.user_id)
            if other is not None:
                draft = state.drafts.get((step.id, other))
                writing = draft is not None and not is_blank(draft.body, draft.fields)
                view["partner_status"] = "writing" if writing else "not_started"

    def summarize(self, state: SessionState, step: Step, viewer: Participant
                  ) -> dict[str, Any] | None:
        shared = self.shared(state, step, viewer)
        if shared["roles"] is None:
            return None
        return {"id": step.id, "kind": step.kind, "title": step.title, "prompt": step.prompt,
                "revealed": True, "answers": [], "acks": [],
                "apology": {k: v for k, v in shared.items()
                            if k not in ("offer", "declined", "max_length")}}
