"""The in-memory Presence keeps indexes (session → users, user → sockets) so that no answer
walks every socket. A random run of connects, joins, leaves, disconnects and removals must
give the same answers as the plain facts: which socket of which user is in which session."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.realtime.presence import Presence

SIDS = [f"sid{i}" for i in range(6)]
USERS = ["ana", "ben", "cleo"]
SESSIONS = ["s1", "s2", "s3"]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("connect"), st.sampled_from(SIDS), st.sampled_from(USERS)),
        st.tuples(st.just("join"), st.sampled_from(SIDS), st.sampled_from(SESSIONS)),
        st.tuples(st.just("leave"), st.sampled_from(SIDS), st.sampled_from(SESSIONS)),
        st.tuples(st.just("disconnect"), st.sampled_from(SIDS)),
        st.tuples(st.just("forget"), st.sampled_from(SESSIONS), st.sampled_from(USERS)),
        st.tuples(st.just("typing"), st.sampled_from(SESSIONS), st.sampled_from(USERS),
                  st.booleans()),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_indexed_answers_match_the_sockets(ops):
    presence = Presence()
    sockets: dict[str, tuple[str, set[str]]] = {}  # the plain facts
    typing: dict[str, set[str]] = {s: set() for s in SESSIONS}
    for op in ops:
        if op[0] == "connect":
            _, sid, user = op
            if sid in sockets:
                continue  # a sid is never reused while connected
            presence.connect(sid, user)
            sockets[sid] = (user, set())
        elif op[0] == "join":
            _, sid, session = op
            presence.join(sid, session)
            if sid in sockets:
                sockets[sid][1].add(session)
        elif op[0] == "leave":
            _, sid, session = op
            presence.leave(sid, session)
            if sid in sockets:
                sockets[sid][1].discard(session)
        elif op[0] == "disconnect":
            _, sid = op
            expected = sockets.pop(sid, (None, set()))
            user, sessions = presence.disconnect(sid)
            assert (user, sessions) == (expected[0], expected[1])
            if user is not None and not any(
                    u == user and s & sessions for u, s in sockets.values()):
                for session in sessions:
                    typing[session].discard(user)
        elif op[0] == "forget":
            _, session, user = op
            presence.forget(session, user)
            for u, sessions in sockets.values():
                if u == user:
                    sessions.discard(session)
            typing[session].discard(user)
        else:
            _, session, user, on = op
            changed = presence.set_typing(session, user, on)
            assert changed == ((user in typing[session]) != on)
            (typing[session].add if on else typing[session].discard)(user)

        for session in SESSIONS:
            assert presence.online(session) == {u for u, s in sockets.values() if session in s}
            assert presence.typing(session) == typing[session]
        for user in USERS:
            assert sorted(presence.sids_of(user)) == sorted(
                sid for sid, (u, _s) in sockets.items() if u == user)
        for sid in SIDS:
            for session in SESSIONS:
                assert presence.in_session(sid, session) == (
                    sid in sockets and session in sockets[sid][1])
