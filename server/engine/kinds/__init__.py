"""Step kinds, as a registry: one module per kind owns everything its steps do.

A kind says which actions it accepts from whom, how an action changes the session (pure,
clock passed in), when its step is complete, what it reveals to whom, and what each viewer
sees of it. Adding a kind is one module here (plus its content schema, client view and
tests); nothing else in the engine grows an `if kind == …`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from server.engine.errors import MendError
from server.engine.tracks import Step

REGISTRY: dict[str, StepKind] = {}


class StepKind:
    """The default behaviour: a step that takes no answer and has no actions of its own."""

    name: ClassVar[str] = ""
    takes_answer: ClassVar[bool] = False

    def action_handlers(self) -> Mapping[str, Callable]:
        """StepAction names this kind accepts -> handler(state, step, action, now)."""
        return {}

    def save_draft(self, state, step: Step, action, now: datetime):
        raise MendError("invalid", "This step doesn't take an answer.")

    def submit(self, state, step: Step, action, now: datetime):
        raise MendError("invalid", "This step doesn't take an answer.")

    def withdraw(self, state, step: Step, action, now: datetime):
        """`entry:withdraw` (WithdrawEntry): only kinds that take a private answer allow it."""
        raise MendError("invalid", "This step has no answer to take back.")

    def turn(self, state, step: Step, action, now: datetime):
        """A `turn:submit` on this step (SubmitTurn); kinds without turns refuse it."""
        raise MendError("invalid", "This step doesn't take turns.")

    def act(self, state, step: Step, action, now: datetime):
        handler = self.action_handlers().get(action.name)
        if handler is None:
            raise MendError("invalid", "That isn't something you can do on this step.")
        return handler(state, step, action, now)

    def check_ready(self, state, step: Step) -> None:
        """Raise MendError('conflict') while the step may not be left yet."""

    def tick(self, state, step: Step, now: datetime):
        """A Transition for whatever deadline of this step is due, or None."""
        return None

    def next_deadline(self, state, step: Step) -> datetime | None:
        return None

    def project(self, state, step: Step, status: str, viewer, view: dict[str, Any]) -> None:
        """Fill in what `viewer` (a Participant) may see of this step, in place."""

    def summarize(self, state, step: Step, viewer) -> dict[str, Any] | None:
        """This step's part of the viewer's summary, or None when it has nothing to show."""
        return None


def register(cls: type[StepKind]) -> type[StepKind]:
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"step kind {cls.name!r} is unnamed or registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def kind_of(step: Step) -> StepKind:
    try:
        return REGISTRY[step.kind]
    except KeyError:
        raise ValueError(f"step {step.id!r} has unknown kind {step.kind!r}") from None


def known_kinds() -> frozenset[str]:
    return frozenset(REGISTRY)


# Importing a kind's module registers it.
from server.engine.kinds import (  # noqa: E402, F401
    apology,
    appreciation,
    boundary,
    checkin,
    closing,
    commitment,
    info,
    listening,
    prompt,
    safety,
)
