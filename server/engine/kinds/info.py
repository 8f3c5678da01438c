"""`info`: a card to read together. No answers; the step moves on when both continue."""

from __future__ import annotations

from server.engine.kinds import StepKind, register


@register
class Info(StepKind):
    name = "info"
