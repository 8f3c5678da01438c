"""What a valid answer looks like for each answer type a step can ask for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.engine import text
from server.engine.errors import MendError

# The hard ceiling for any text a person writes, whatever a track asks for.
MAX_TEXT_LENGTH = 20_000


# --- limits: every kind's, in one place ------------------------------------------------
#
# Text over a step's limit is refused whole with `too_large`, never shortened to fit: what
# the person wrote stays in their box, and nothing cut is stored. A step's limit comes from
# its content (`max_length`, or a kind's own key such as listening's `max_chars`), else the
# kind's default, and never exceeds MAX_TEXT_LENGTH. Kinds put the limit in the step's view
# so the browser counts against the same number (client/js/limits.js).


def text_limit(settings: Mapping[str, Any] | None, default: int, key: str = "max_length") -> int:
    """The longest text a step takes: `settings[key]` from its content, else `default`,
    never above MAX_TEXT_LENGTH."""
    value = (settings or {}).get(key)
    return min(int(default if value is None else value), MAX_TEXT_LENGTH)


def over_limit_message(length: int, limit: int, what: str = "That text") -> str:
    """The one sentence for text over its limit (the server's half of the client's message)."""
    return (f"{what} is {length:,} characters; the limit here is {limit:,}. Nothing was cut "
            "or saved: shorten it and send it again.")


def check_length(value: str, limit: int, what: str = "That text") -> str:
    """`value` unchanged when it fits; MendError('too_large') when it doesn't (never a
    shortened copy)."""
    if len(value) > limit:
        raise MendError("too_large", over_limit_message(len(value), limit, what))
    return value


def _text_limit(spec: Mapping[str, Any]) -> int:
    return text_limit(spec, MAX_TEXT_LENGTH)


def _check_text(body: Any, limit: int, *, allow_empty: bool) -> str:
    """The text to store: NFC, "" when blank (whitespace and invisible characters only)."""
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise MendError("invalid", "The answer must be text.")
    body = text.clean(body, "The answer")
    check_length(body, limit, "That answer")
    if not allow_empty and not body:
        raise MendError("invalid", "Write something before you submit, even a few words.")
    return body


def _check_scale(spec: Mapping[str, Any], fields: Any, *, allow_empty: bool) -> dict | None:
    value = fields.get("value") if isinstance(fields, dict) else None
    if value is None and allow_empty:
        return None
    low, high = spec["min"], spec["max"]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MendError("invalid", f"Choose a number from {low} to {high}.")
    return {"value": value}


def _check_choices(spec: Mapping[str, Any], fields: Any, *, allow_empty: bool) -> dict | None:
    chosen = fields.get("choices") if isinstance(fields, dict) else None
    if chosen is None and allow_empty:
        return None
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        raise MendError("invalid", "Choices must be a list of the options offered.")
    options = list(spec["options"])
    unknown = [c for c in chosen if c not in options]
    if unknown:
        raise MendError("invalid", "One of the choices is not an option for this step.")
    if len(set(chosen)) != len(chosen):
        raise MendError("invalid", "Each option can be chosen only once.")
    if not chosen and not allow_empty:
        raise MendError("invalid", "Choose at least one option before you submit.")
    if not spec.get("multiple", False) and len(chosen) > 1:
        raise MendError("invalid", "Choose just one option for this step.")
    exclusive = [c for c in chosen if c in spec.get("exclusive", ())]
    if exclusive and len(chosen) > 1:
        raise MendError("invalid", f"'{exclusive[0]}' can't be chosen together with other options.")
    # Keep the track's order so both partners' answers read the same way.
    return {"choices": [o for o in options if o in chosen]}


def validate_answer(
    spec: Mapping[str, Any], body: Any, fields: Any, *, draft: bool = False
) -> tuple[str | None, dict | None]:
    """Return the (body, fields) to store, or raise MendError('invalid' | 'too_large').

    Drafts may be empty or partial; submitted answers may not.
    """
    kind = spec["type"]
    if kind == "closing":
        return _validate_closing(spec, body, fields, draft=draft)
    if kind == "text":
        if fields not in (None, {}):
            raise MendError("invalid", "This step takes a written answer in 'body'.")
        return _check_text(body, _text_limit(spec), allow_empty=draft), None
    if body not in (None, ""):
        raise MendError("invalid", "This step takes its answer in 'fields', not 'body'.")
    if fields is not None and not isinstance(fields, dict):
        raise MendError("invalid", "'fields' must be an object.")
    if kind == "scale":
        return None, _check_scale(spec, fields, allow_empty=draft)
    if kind == "choices":
        return None, _check_choices(spec, fields, allow_empty=draft)
    raise MendError("invalid", f"This step asks for an answer of an unknown type {kind!r}.")


def _validate_closing(spec: Mapping[str, Any], body: Any, fields: Any, *, draft: bool
                      ) -> tuple[str | None, dict | None]:
    """A closing step: an optional short reflection (body) and a check-out scale (fields)."""
    if fields is not None and not isinstance(fields, dict):
        raise MendError("invalid", "'fields' must be an object.")
    reflection = _check_text(body, _text_limit(spec.get("reflection", {})), allow_empty=True)
    scale = _check_scale(spec["scale"], fields, allow_empty=draft)
    return reflection or None, scale


def is_blank(body: str | None, fields: Mapping[str, Any] | None) -> bool:
    """True when a draft holds nothing yet (so the partner still sees 'not started'):
    text counts as nothing when only whitespace and invisible characters are in it."""
    if isinstance(body, str) and not text.is_blank(body):
        return False
    if not fields:
        return True
    return all(v is None or v == [] or (isinstance(v, str) and text.is_blank(v))
               for v in fields.values())
