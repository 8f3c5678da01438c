"""Who is connected to which session, in this process.

Presence is not session state (nothing is lost when it is): it lives in memory and is
rebuilt as clients reconnect. Running several workers needs it in Redis (the scale-out
issue); the interface stays the same.
"""

from __future__ import annotations

import threading
from collections import defaultdict


class Presence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[str, set[str]]] = {}  # sid -> (user, sessions)
        self._typing: dict[str, set[str]] = defaultdict(set)  # session -> users
        # Coalesced broadcasts (typing): when each session's last went, and which sessions
        # have one waiting to go.
        self._last_sent: dict[str, float] = {}
        self._pending: set[str] = set()

    def connect(self, sid: str, user_id: str) -> None:
        with self._lock:
            self._sockets[sid] = (user_id, set())

    def join(self, sid: str, session_id: str) -> None:
        with self._lock:
            if sid in self._sockets:
                self._sockets[sid][1].add(session_id)

    def leave(self, sid: str, session_id: str) -> None:
        with self._lock:
            if sid in self._sockets:
                self._sockets[sid][1].discard(session_id)
                self._forget_if_empty({session_id})

    def disconnect(self, sid: str) -> tuple[str | None, set[str]]:
        """Forget a socket; returns its user and the sessions it was in."""
        with self._lock:
            user_id, sessions = self._sockets.pop(sid, (None, set()))
            if user_id is not None and not self._user_in_any(user_id, sessions):
                for session_id in sessions:
                    self._typing[session_id].discard(user_id)
            self._forget_if_empty(sessions)
            return user_id, sessions

    def _forget_if_empty(self, sessions: set[str]) -> None:
        """Drop what is kept per session once nobody on this worker is in it."""
        occupied = set().union(*(s for _u, s in self._sockets.values())) & sessions
        for session_id in sessions - occupied:
            if not self._typing.get(session_id):
                self._typing.pop(session_id, None)
            if session_id not in self._pending:
                self._last_sent.pop(session_id, None)

    def _user_in_any(self, user_id: str, sessions: set[str]) -> bool:
        return any(u == user_id and s & sessions for u, s in self._sockets.values())

    def online(self, session_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(u for u, s in self._sockets.values() if session_id in s)

    def set_typing(self, session_id: str, user_id: str, typing: bool) -> bool:
        """Record whether a user is typing; True when that changed anything."""
        with self._lock:
            users = self._typing[session_id]
            if (user_id in users) == typing:
                return False
            if typing:
                users.add(user_id)
            else:
                users.discard(user_id)
            return True

    def claim_broadcast(self, session_id: str, now: float, interval: float) -> float | None:
        """When a coalesced broadcast to a session may go: 0.0 now; else the delay after
        which a trailing one goes (the caller schedules it, then calls `sent`); None when
        one is already waiting, and it will carry the latest state."""
        with self._lock:
            if session_id in self._pending:
                return None
            last = self._last_sent.get(session_id)
            if last is None or now - last >= interval:
                self._last_sent[session_id] = now
                return 0.0
            self._pending.add(session_id)
            return last + interval - now

    def sent(self, session_id: str, now: float) -> None:
        """The waiting broadcast to a session went out."""
        with self._lock:
            self._pending.discard(session_id)
            self._last_sent[session_id] = now
            self._forget_if_empty({session_id})

    def typing(self, session_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._typing.get(session_id, ()))

    def sids_of(self, user_id: str) -> list[str]:
        with self._lock:
            return [sid for sid, (u, _s) in self._sockets.items() if u == user_id]

    def in_session(self, sid: str, session_id: str) -> bool:
        with self._lock:
            return sid in self._sockets and session_id in self._sockets[sid][1]
