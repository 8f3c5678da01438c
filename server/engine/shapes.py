"""Declared payload shapes: a few field types, one checker, and a JSON reader with a depth cap.

The edges declare each client event's payload (server.realtime.schemas) and each endpoint's
request body (server.web.payloads) once, with these; `Obj.clean` checks a decoded payload
against its declaration and returns it cleaned (text in NFC, blank text as "", see
server.engine.text), or raises MendError("invalid" | "too_large") naming the field.
`parse_json` reads JSON text no deeper than a cap, without recursing on hostile input.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from server.engine import text as texts
from server.engine.errors import MendError

# No payload Mend accepts nests deeper than a handful of levels (a boundary list is four:
# payload > fields > items > item); 32 leaves room and stops hostile nesting early.
MAX_DEPTH = 32
# The longest text anyone may write anywhere (server.engine.answers.MAX_TEXT_LENGTH).
MAX_TEXT = 20_000
MAX_INT_DIGITS = 30

_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _depth_of(raw: str) -> int:
    """How deeply `raw` nests arrays and objects, without parsing it (strings skipped)."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(raw):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal) > MAX_INT_DIGITS:
        raise ValueError("number too long")
    return int(literal)


def parse_json(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON text; ValueError for anything that is not JSON, nests deeper than
    `max_depth`, or holds NaN, Infinity or a number too long to be one a person typed."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw).decode("utf-8")  # UnicodeDecodeError is a ValueError
    # Cheap first: text with few brackets cannot nest deeply, whatever it says.
    if raw.count("[") + raw.count("{") > max_depth and _depth_of(raw) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except RecursionError as exc:  # belt and braces: the scan above should stop these
        raise ValueError("JSON nested too deeply") from exc


def _label(key: str) -> str:
    """A field name safe to repeat in a message (a hostile key is not echoed)."""
    if len(key) <= 40 and key.isprintable():
        return f"'{key}'"
    return "a field"


class Shape(ABC):
    """One field's declaration. `clean` returns the value to use or raises MendError."""

    nullable = False

    @abstractmethod
    def clean(self, value: Any, name: str) -> Any:
        """The value to use, or MendError("invalid" | "too_large")."""

    def or_null(self) -> Shape:
        return _Nullable(self)


class _Nullable(Shape):
    nullable = True

    def __init__(self, inner: Shape) -> None:
        self.inner = inner

    def clean(self, value: Any, name: str) -> Any:
        return None if value is None else self.inner.clean(value, name)


class Id(Shape):
    """An id or a slug: 1..max_length printable characters, no spaces or invisible ones."""

    def __init__(self, min_length: int = 1, max_length: int = 64, message: str = "") -> None:
        self.min_length, self.max_length, self.message = min_length, max_length, message

    def clean(self, value: Any, name: str) -> str:
        if (not isinstance(value, str) or not self.min_length <= len(value) <= self.max_length
                or not value.isprintable() or " " in value):
            raise MendError("invalid", self.message or (
                f"{_label(name)} must be an id of {self.min_length} to {self.max_length} "
                "letters, digits or dashes."))
        return value


class Token(Shape):
    """A short string used as given (an e-mail, a password, a code, a choice): at most
    max_length characters, nothing a database can't store; never rewritten."""

    def __init__(self, max_length: int, message: str = "", choices: tuple[str, ...] = ()
                 ) -> None:
        self.max_length, self.message, self.choices = max_length, message, choices

    def clean(self, value: Any, name: str) -> str:
        if (not isinstance(value, str) or len(value) > self.max_length
                or not texts.storable(value) or (self.choices and value not in self.choices)):
            raise MendError("invalid", self.message or (
                f"{_label(name)} must be one of {', '.join(self.choices)}." if self.choices
                else f"{_label(name)} must be text of at most {self.max_length} characters."))
        return value


class Text(Shape):
    """Words a person wrote: NFC, blank as "", at most max_length characters (too_large);
    `required` refuses blank text."""

    def __init__(self, max_length: int = MAX_TEXT, required: str = "") -> None:
        self.max_length, self.required = max_length, required

    def clean(self, value: Any, name: str) -> str:
        if not isinstance(value, str):
            raise MendError("invalid", f"{_label(name)} must be text.")
        value = texts.clean(value, "The text")
        if self.required and not value:
            raise MendError("invalid", self.required)
        if len(value) > self.max_length:
            raise MendError(
                "too_large",
                f"That text is {len(value):,} characters; the limit is {self.max_length:,}. "
                "Nothing was lost: shorten it and try again.")
        return value


class Int(Shape):
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def clean(self, value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) \
                or not self.low <= value <= self.high:
            raise MendError("invalid", f"{_label(name)} must be a whole number from "
                                       f"{self.low:,} to {self.high:,}.")
        return value


class Bool(Shape):
    def clean(self, value: Any, name: str) -> bool:
        if not isinstance(value, bool):
            raise MendError("invalid", f"{_label(name)} must be true or false.")
        return value


class Json(Shape):
    """Free-form JSON whose meaning a step kind checks (an answer's `fields`): bounded in
    depth, size and text; with `words`, every string in it is cleaned like Text."""

    def __init__(self, max_depth: int = 6, max_nodes: int = 500, max_text: int = MAX_TEXT,
                 words: bool = True, message: str = "") -> None:
        self.max_depth, self.max_nodes, self.max_text = max_depth, max_nodes, max_text
        self.words, self.message = words, message

    def clean(self, value: Any, name: str) -> Any:
        budget = [self.max_nodes]
        return self._walk(value, name, 0, budget)

    def _walk(self, value: Any, name: str, depth: int, budget: list[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise MendError("too_large", f"{_label(name)} holds too many values.")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) >= 10 ** MAX_INT_DIGITS:
                raise MendError("invalid", f"{_label(name)} holds a number out of range.")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise MendError("invalid", f"{_label(name)} holds a number out of range.")
            return value
        if isinstance(value, str):
            if len(value) > self.max_text:
                raise MendError(
                    "too_large",
                    f"That text is {len(value):,} characters; the limit is "
                    f"{self.max_text:,}. Nothing was lost: shorten it and try again.")
            if self.words:
                return texts.clean(value, "The text")
            texts.normalise(value)  # refuses NUL and lone surrogates; the value stays as sent
            return value
        if depth >= self.max_depth:
            raise MendError("invalid", f"{_label(name)} is nested too deeply.")
        if isinstance(value, list):
            return [self._walk(item, name, depth + 1, budget) for item in value]
        if isinstance(value, dict):
            cleaned = {}
            for key, item in value.items():
                if not isinstance(key, str) or len(key) > 200 or not texts.storable(key):
                    raise MendError("invalid", f"{_label(name)} has a key that is not valid.")
                cleaned[key] = self._walk(item, name, depth + 1, budget)
            return cleaned
        raise MendError("invalid", self.message or f"{_label(name)} must be JSON.")


class Obj(Shape):
    """An object with declared keys: "name" is required, "name?" may be left out. Unknown
    keys are refused unless `open` (then they pass through a storable-text check)."""

    def __init__(self, fields: Mapping[str, Shape], open: bool = False,
                 message: str = "") -> None:
        self.required = {k for k in fields if not k.endswith("?")}
        self.fields = {k.rstrip("?"): v for k, v in fields.items()}
        self.open = open
        self.message = message
        self._rest = Json(max_depth=MAX_DEPTH, max_nodes=10_000, words=False)

    def clean(self, value: Any, name: str = "payload") -> dict:
        if not isinstance(value, dict):
            raise MendError("invalid", self.message or f"{_label(name)} must be a JSON object.")
        cleaned: dict = {}
        for key, shape in self.fields.items():
            if key not in value:
                if key in self.required:
                    raise MendError("invalid", f"'{key}' is required.")
                continue
            item = value[key]
            if item is None and not shape.nullable:
                raise MendError("invalid", f"'{key}' can't be null.")
            cleaned[key] = shape.clean(item, key)
        for key in value:
            if key in self.fields:
                continue
            if not self.open:
                raise MendError("invalid", f"{_label(key) if isinstance(key, str) else 'A field'}"
                                           " is not a field this accepts.")
            cleaned[key] = self._rest.clean({key: value[key]}, "payload")[key]
        return cleaned
