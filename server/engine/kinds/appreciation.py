"""`appreciation`: each partner names something specific they valued in the other; both are
revealed together. Skippable unless the track says `settings.required: true` — an
appreciation asked for under pressure is worth little.

Also home to `TextAnswered`, the shape shared with `commitment`: a text answer whose spec
may be left out of content (a default limit applies), so the view always carries one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from server.engine.answers import validate_answer
from server.engine.errors import MendError
from server.engine.kinds import register
from server.engine.kinds.answered import AnsweredKind
from server.engine.tracks import Step, plain

DEFAULT_MAX_LENGTH = 1000


def settings_of(step: Step) -> Mapping[str, Any]:
    return step.settings or {}


class TextAnswered(AnsweredKind):
    """An answered kind whose answer is text, with a default spec when content gives none."""

    default_max_length: int = DEFAULT_MAX_LENGTH

    def answer_spec(self, step: Step) -> dict[str, Any]:
        if step.answer is not None:
            return plain(step.answer)
        return {"type": "text", "max_length": self.default_max_length}

    def is_optional(self, step: Step) -> bool:
        return step.optional

    def validate(self, step: Step, body: Any, fields: Any, *, draft: bool):
        return validate_answer(self.answer_spec(step), body, fields, draft=draft)

    def submit(self, state, step: Step, action, now):
        if action.skip and not self.is_optional(step):
            raise MendError("invalid", "This step needs an answer; it can't be skipped.")
        if action.skip and not step.optional:
            # The base class reads step.optional; this kind's default decides instead.
            step = replace(step, optional=True)
        return super().submit(state, step, action, now)

    def project(self, state, step, status, viewer, view) -> None:
        super().project(state, step, status, viewer, view)
        view["answer"] = self.answer_spec(step)
        view["optional"] = self.is_optional(step)

    def summarize(self, state, step, viewer):
        part = super().summarize(state, step, viewer)
        if part is not None:
            part["answer"] = self.answer_spec(step)
        return part


@register
class Appreciation(TextAnswered):
    name = "appreciation"

    def is_optional(self, step: Step) -> bool:
        return step.optional or not settings_of(step).get("required", False)
