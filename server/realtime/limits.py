"""A fair share for every client: the event budget each socket and user spends.

`admit` runs before every client event's handler (server.realtime.handlers.event).
"""

from __future__ import annotations


def admit(sid: str, user_id: str) -> None:
    """Raise MendError("rate_limited") when this socket or user is over budget."""
