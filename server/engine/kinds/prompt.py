"""`prompt`: each partner answers privately (text, a scale or choices); both are revealed
together once both are in."""

from __future__ import annotations

from server.engine.kinds import register
from server.engine.kinds.answered import AnsweredKind


@register
class Prompt(AnsweredKind):
    name = "prompt"
