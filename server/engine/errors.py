"""The one error type: a contract code plus a sentence a person can read."""

from __future__ import annotations

ERROR_CODES = frozenset(
    {
        "unauthenticated",
        "forbidden",
        "not_found",
        "invalid",
        "conflict",
        "not_your_turn",
        "paused",
        "too_large",
        "rate_limited",
    }
)


class MendError(Exception):
    """Raised by the engine and services; the edges turn it into the contract's error shape."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}
