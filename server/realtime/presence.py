"""Who is connected to which session, and who is typing.

Presence is not session state (nothing is lost when it is): it is rebuilt as clients
reconnect. One worker keeps it in memory (`Presence`). Several workers share it in Redis
(`RedisPresence`, chosen when MEND_REDIS_URL is set): each keeps its own sockets, and who is
online and typing in each session is in Redis with an expiry that the worker holding the
socket keeps refreshing, so the views' `online` flags are right whichever worker a partner
is on and a killed worker's entries are gone within seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import defaultdict

log = logging.getLogger("mend.presence")


class Presence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: dict[str, tuple[str, set[str]]] = {}  # sid -> (user, sessions)
        # Indexes of the same facts, so that no answer walks every socket on the worker
        # (online() ran for every visible change: 7.5 % of a server at 500 couples).
        self._members: dict[str, dict[str, int]] = {}  # session -> user -> sockets in it
        self._sids: dict[str, set[str]] = {}  # user -> sids
        self._typing: dict[str, set[str]] = defaultdict(set)  # session -> users
        # Coalesced broadcasts (typing): when each session's last went, and which sessions
        # have one waiting to go.
        self._last_sent: dict[str, float] = {}
        self._pending: set[str] = set()

    def connect(self, sid: str, user_id: str) -> None:
        with self._lock:
            self._sockets[sid] = (user_id, set())
            self._sids.setdefault(user_id, set()).add(sid)

    def _enter(self, sid: str, session_id: str) -> None:
        """A known socket is in a session (the lock is held)."""
        user_id, sessions = self._sockets[sid]
        if session_id not in sessions:
            sessions.add(session_id)
            members = self._members.setdefault(session_id, {})
            members[user_id] = members.get(user_id, 0) + 1

    def _exit(self, sid: str, session_id: str) -> None:
        """A known socket is no longer in a session (the lock is held)."""
        user_id, sessions = self._sockets[sid]
        if session_id in sessions:
            sessions.discard(session_id)
            members = self._members[session_id]
            members[user_id] -= 1
            if not members[user_id]:
                del members[user_id]
                if not members:
                    del self._members[session_id]

    def join(self, sid: str, session_id: str) -> None:
        with self._lock:
            if sid in self._sockets:
                self._enter(sid, session_id)

    def leave(self, sid: str, session_id: str) -> None:
        with self._lock:
            if sid in self._sockets:
                self._exit(sid, session_id)
                self._forget_if_empty({session_id})

    def disconnect(self, sid: str) -> tuple[str | None, set[str]]:
        """Forget a socket; returns its user and the sessions it was in."""
        with self._lock:
            if sid not in self._sockets:
                return None, set()
            user_id, sessions = self._sockets[sid]
            sessions = set(sessions)
            for session_id in sessions:
                self._exit(sid, session_id)
            del self._sockets[sid]
            sids = self._sids[user_id]
            sids.discard(sid)
            if not sids:
                del self._sids[user_id]
            if not self._user_in_any(user_id, sessions):
                for session_id in sessions:
                    self._typing[session_id].discard(user_id)
            self._forget_if_empty(sessions)
            return user_id, sessions

    def _forget_if_empty(self, sessions: set[str]) -> None:
        """Drop what is kept per session once nobody on this worker is in it."""
        for session_id in sessions:
            if session_id in self._members:
                continue
            if not self._typing.get(session_id):
                self._typing.pop(session_id, None)
            if session_id not in self._pending:
                self._last_sent.pop(session_id, None)

    def _user_in_any(self, user_id: str, sessions: set[str]) -> bool:
        return any(user_id in self._members.get(s, ()) for s in sessions)

    def online(self, session_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._members.get(session_id, ()))

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
            return list(self._sids.get(user_id, ()))

    def in_session(self, sid: str, session_id: str) -> bool:
        with self._lock:
            return sid in self._sockets and session_id in self._sockets[sid][1]

    # Shared presence (several workers): the in-memory kind has nothing to share.
    shared = False

    def heartbeat(self) -> tuple[set[str], list[tuple[str, str]]]:
        """Refresh what this worker holds in the shared store; returns the sessions whose
        presence changed under it (entries that expired) and (sid, session) pairs this
        worker must take out of a session room (someone removed elsewhere)."""
        return set(), []

    def forget(self, session_id: str, user_id: str) -> None:
        """Someone lost access to a session: they are no longer online or typing in it,
        whichever worker holds their sockets."""
        with self._lock:
            for sid in self._sids.get(user_id, ()):
                self._exit(sid, session_id)
            self._typing.get(session_id, set()).discard(user_id)
            self._forget_if_empty({session_id})


def make_presence(redis_url: str | None) -> Presence:
    """In memory for one worker; in Redis when the workers share one (MEND_REDIS_URL)."""
    return RedisPresence(redis_url) if redis_url else Presence()


# Redis keys, per session: `<session>:online`, a sorted set of "<worker>|<user>" scored by
# when the entry expires (Redis's clock, so workers' clocks don't matter); `<session>:typing`,
# the same for typing users ("<user>"); `<session>:gone:<user>`, set for a while after
# someone lost access so no worker puts them back.
PREFIX = "mend:presence:"
HEARTBEAT_SECONDS = 3.0
EXPIRY_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 2.0
# After Redis failed to answer, how long a worker answers from its own sockets before
# trying again (so an unreachable Redis costs one timeout, not one per event).
RETRY_SECONDS = 1.0


class RedisAway(Exception):
    """Redis failed a moment ago: not tried again yet."""

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""

# KEYS[1]: a sorted set. Its live members.
_LIVE = _NOW + """
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""

# KEYS: per session, its online key then its typing key. ARGV[1]: the expiry in seconds;
# then per session: its tombstone prefix, n, n members "<worker>|<user>", m, m typing users.
# Drops expired entries and gives this worker's a fresh expiry, except for anyone removed
# from the session (a tombstone). Returns per session {1 when something had expired, else 0,
# then the members not put back because of a tombstone}.
_HEARTBEAT = _NOW + """
local ttl = tonumber(ARGV[1])
local until_ = now + ttl
local keep = math.ceil(ttl) + 1
local at = 2
local out = {}
for s = 1, #KEYS / 2 do
  local online, typing = KEYS[2 * s - 1], KEYS[2 * s]
  local gone = ARGV[at]
  local expired = redis.call('ZREMRANGEBYSCORE', online, '-inf', now)
    + redis.call('ZREMRANGEBYSCORE', typing, '-inf', now)
  local result = {expired > 0 and 1 or 0}
  local n = tonumber(ARGV[at + 1])
  at = at + 2
  for i = at, at + n - 1 do
    local member = ARGV[i]
    local user = string.sub(member, string.find(member, '|', 1, true) + 1)
    if redis.call('EXISTS', gone .. user) == 1 then
      table.insert(result, member)
    else
      redis.call('ZADD', online, until_, member)
    end
  end
  at = at + n
  local m = tonumber(ARGV[at])
  for i = at + 1, at + m do
    if redis.call('EXISTS', gone .. ARGV[i]) == 0 then
      redis.call('ZADD', typing, 'XX', until_, ARGV[i])
    end
  end
  at = at + m + 1
  redis.call('EXPIRE', online, keep)
  redis.call('EXPIRE', typing, keep)
  out[s] = result
end
return out
"""

# KEYS[1]: online, KEYS[2]: tombstone; ARGV: expiry, member. Someone joins (allowed: the
# service just let them in), so any tombstone goes.
_JOIN = _NOW + """
redis.call('DEL', KEYS[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 1)
return 1
"""

# KEYS[1]: typing, KEYS[2]: tombstone; ARGV: expiry, user, 1/0. Returns 1 when whether the
# user is typing changed.
_TYPING = _NOW + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
local was = score and tonumber(score) > now
if ARGV[3] == '1' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 1)
  if was then return 0 end
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[2])
if was then return 1 end
return 0
"""

# KEYS[1]: online, KEYS[2]: typing, KEYS[3]: tombstone; ARGV: user, tombstone seconds.
_FORGET = """
local suffix = '|' .. ARGV[1]
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, -#suffix) == suffix then redis.call('ZREM', KEYS[1], member) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
return 1
"""


class RedisPresence(Presence):
    """Presence shared by several workers through Redis.

    Sockets stay in the worker that holds them (a sid means nothing elsewhere); who is
    online and typing in each session is in Redis, each entry expiring unless the worker
    that holds the socket refreshes it (`heartbeat`, every HEARTBEAT_SECONDS), so a killed
    worker's entries are gone within EXPIRY_SECONDS. When Redis can't be reached, answers
    come from this worker's own sockets (a warning logged) and the next heartbeat after it
    is back puts everything this worker holds back in.
    """

    shared = True

    def __init__(self, redis_url: str, *, expiry: float = EXPIRY_SECONDS) -> None:
        import redis

        super().__init__()
        self.worker = uuid.uuid4().hex[:12]
        self.expiry = expiry
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                           decode_responses=True)
        self._errors = (redis.RedisError, OSError, RedisAway)
        self._live = self._script(_LIVE)
        self._beat = self._script(_HEARTBEAT)
        self._join = self._script(_JOIN)
        self._typing_script = self._script(_TYPING)
        self._forget = self._script(_FORGET)
        self._warned = 0.0
        self._away_until = 0.0

    def _script(self, source: str):
        script = self._redis.register_script(source)

        def call(keys: list[str], args: list | None = None):
            self._check()
            return script(keys=keys, args=args or [])

        return call

    def _check(self) -> None:
        if time.monotonic() < self._away_until:
            raise RedisAway("Redis did not answer a moment ago")

    @staticmethod
    def _key(session_id: str, what: str) -> str:
        return f"{PREFIX}{session_id}:{what}"

    def _member(self, user_id: str) -> str:
        return f"{self.worker}|{user_id}"

    def _failed(self, doing: str, error: Exception) -> None:
        now = time.monotonic()
        if isinstance(error, RedisAway):
            return
        self._away_until = now + RETRY_SECONDS
        if now - self._warned > 10:  # once in a while, not once per event
            self._warned = now
            log.warning("presence in Redis unavailable (%s): %s; using this worker's own "
                        "sockets until it is back", doing, error)

    def _local_online(self, session_id: str) -> frozenset[str]:
        return super().online(session_id)

    def _user_here(self, user_id: str, session_id: str) -> bool:
        return user_id in self._members.get(session_id, ())

    def join(self, sid: str, session_id: str) -> None:
        with self._lock:
            if sid not in self._sockets:
                return
            user_id = self._sockets[sid][0]
            self._enter(sid, session_id)
        try:
            self._join(keys=[self._key(session_id, "online"),
                             self._key(session_id, f"gone:{user_id}")],
                       args=[self.expiry, self._member(user_id)])
        except self._errors as error:
            self._failed("join", error)

    def _left(self, user_id: str, sessions: set[str], *, typing_too: bool) -> None:
        """Take this worker's entries for a user out of sessions it no longer has them in."""
        gone = [s for s in sessions if not self._user_here(user_id, s)]
        if not gone:
            return
        try:
            self._check()
            with self._redis.pipeline(transaction=False) as pipe:
                for session_id in gone:
                    pipe.zrem(self._key(session_id, "online"), self._member(user_id))
                    if typing_too:
                        pipe.zrem(self._key(session_id, "typing"), user_id)
                pipe.execute()
        except self._errors as error:
            self._failed("leave", error)

    def leave(self, sid: str, session_id: str) -> None:
        with self._lock:
            user_id = self._sockets[sid][0] if sid in self._sockets else None
        super().leave(sid, session_id)
        if user_id is not None:
            self._left(user_id, {session_id}, typing_too=False)

    def disconnect(self, sid: str) -> tuple[str | None, set[str]]:
        user_id, sessions = super().disconnect(sid)
        if user_id is not None:
            self._left(user_id, sessions, typing_too=True)
        return user_id, sessions

    def online(self, session_id: str) -> frozenset[str]:
        try:
            members = self._live(keys=[self._key(session_id, "online")])
        except self._errors as error:
            self._failed("online", error)
            return self._local_online(session_id)
        return frozenset(m.partition("|")[2] for m in members)

    def typing(self, session_id: str) -> frozenset[str]:
        try:
            return frozenset(self._live(keys=[self._key(session_id, "typing")]))
        except self._errors as error:
            self._failed("typing", error)
            return super().typing(session_id)

    def set_typing(self, session_id: str, user_id: str, typing: bool) -> bool:
        # Kept here too: what this worker refreshes, and the answer while Redis is away.
        local = super().set_typing(session_id, user_id, typing)
        try:
            return bool(self._typing_script(
                keys=[self._key(session_id, "typing"),
                      self._key(session_id, f"gone:{user_id}")],
                args=[self.expiry, user_id, "1" if typing else "0"]))
        except self._errors as error:
            self._failed("typing", error)
            return local

    def forget(self, session_id: str, user_id: str) -> None:
        super().forget(session_id, user_id)
        try:
            self._forget(keys=[self._key(session_id, "online"), self._key(session_id, "typing"),
                               self._key(session_id, f"gone:{user_id}")],
                         args=[user_id, math.ceil(self.expiry * 3)])
        except self._errors as error:
            self._failed("forget", error)

    def heartbeat(self) -> tuple[set[str], list[tuple[str, str]]]:
        with self._lock:
            held = {session_id: set(users) for session_id, users in self._members.items()}
            typing = {s: set(users) for s, users in self._typing.items() if s in held}
        if not held:
            return set(), []
        order = list(held)
        keys: list[str] = []
        args: list[object] = [self.expiry]
        for session_id in order:
            keys += [self._key(session_id, "online"), self._key(session_id, "typing")]
            members = [self._member(u) for u in held[session_id]]
            users = sorted(typing.get(session_id, set()) & held[session_id])
            args += [self._key(session_id, "gone:"), len(members), *members,
                     len(users), *users]
        try:
            results = self._beat(keys=keys, args=args)
        except self._errors as error:
            self._failed("heartbeat", error)
            return set(), []
        changed: set[str] = set()
        drop: list[tuple[str, str]] = []
        for session_id, (expired, *removed) in zip(order, results, strict=True):
            if expired:
                changed.add(session_id)
            for member in removed:
                user_id = member.partition("|")[2]
                drop += [(sid, session_id) for sid in self.sids_of(user_id)
                         if self.in_session(sid, session_id)]
                super().forget(session_id, user_id)
        return changed, drop
