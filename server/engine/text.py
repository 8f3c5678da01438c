"""Text a person wrote: one normal form, no characters a database or a screen can't keep,
and one meaning of "empty".

* `normalise` returns the text in Unicode NFC (so "é" typed two ways is one answer) and
  refuses a NUL byte (SQLite would store it, PostgreSQL refuses it) and a lone surrogate
  (half of a UTF-16 pair: no UTF-8 database can store it) with `invalid`.
* `is_blank` is true for text that is empty once whitespace and invisible characters are
  trimmed: zero-width space, joiner and non-joiner, word joiner, byte-order mark, soft
  hyphen, direction marks, variation selectors, Hangul fillers and the like. Ten zero-width
  spaces are not an answer, not a name and not a note.
* `trim` takes whitespace and zero-width characters off both ends and keeps what is
  between (a zero-width joiner inside an emoji sequence is part of the emoji).

Names, answers, notes and reasons all go through these (server.engine.answers, the accounts
and moderation services); the edges (server.realtime.schemas, server.web.payloads) apply
them to every text field of every payload before a service sees it.
"""

from __future__ import annotations

import unicodedata

from server.engine.errors import MendError

# Unicode categories that draw nothing: separators (spaces, line and paragraph separators),
# controls (tab, newline…) and format characters (zero-width space/joiner/non-joiner, word
# joiner, BOM, soft hyphen, bidi marks and isolates, invisible operators, tags).
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
# Characters outside those categories that still draw nothing on their own.
_INVISIBLE_EXTRA = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180b\u180c\u180d\u180e\u180f"  # Mongolian variation selectors, vowel separator
    "\u2800"  # braille pattern blank
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))  # variation selectors 1-16
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))  # variation selectors 17-256
)
# What `trim` takes off the ends besides str.strip()'s whitespace.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u034f"


def _trimmed(char: str) -> bool:
    return char.isspace() or char in _ZERO_WIDTH


def _invisible(char: str) -> bool:
    return char in _INVISIBLE_EXTRA or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def storable(value: str) -> bool:
    """True when `value` holds neither a NUL byte nor a lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate fails to encode
        return False
    return True


def normalise(value: str, what: str = "The text") -> str:
    """`value` in NFC; MendError("invalid") when it holds a NUL byte or a lone surrogate."""
    if not storable(value):
        raise MendError(
            "invalid",
            f"{what} has a character that can't be stored (a NUL byte or half of an "
            "emoji pair). Retype it and try again.",
        )
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def is_blank(value: str | None) -> bool:
    """True for None, "" and text made only of whitespace and invisible characters."""
    # Stops at the first visible character: the first one, for almost any real answer.
    return not value or all(_invisible(char) for char in value)


def trim(value: str) -> str:
    """`value` without whitespace and zero-width characters at either end; "" when blank."""
    if is_blank(value):
        return ""
    start, end = 0, len(value)
    while start < end and _trimmed(value[start]):
        start += 1
    while end > start and _trimmed(value[end - 1]):
        end -= 1
    return value[start:end]


def clean(value: str, what: str = "The text") -> str:
    """`normalise`, and "" for blank text: what every text field of a payload becomes."""
    value = normalise(value, what)
    return "" if is_blank(value) else value
