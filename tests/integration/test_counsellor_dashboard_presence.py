"""The counsellor's dashboard hears who comes online and who leaves, live, in the sessions
they take part in without having opened them (server/realtime/publish.py's `watch:` rooms);
partners get nothing new, and a counsellor the couple removed hears nothing more."""

from __future__ import annotations

import pytest

from tests.integration.test_counsellor_moderation import (  # noqa: F401  (fixtures)
    Seat,
    counsellors,
    invite_and_consent,
    start_session,
)


def presences(seat: Seat) -> list[dict]:
    """The `presence` events pushed to this seat since the last look."""
    return [p["args"][0] for p in seat.pushes() if p["name"] == "presence"]


@pytest.fixture
def watched(app, start_session, counsellors):  # noqa: F811
    """Ana and Ben in a session; Dora, their counsellor, on her dashboard (connected, the
    session not joined); Uma, a counsellor nobody invited, connected too."""
    a, b = start_session()
    dr, uma = (Seat(n, counsellors[n], app, a.session_id) for n in ("Dora", "Uma"))
    dr.connect(), uma.connect()  # the dashboard is open before she joins
    response = dr.post("/counsellor/join", {"invite_code": invite_and_consent(a, b)})
    assert response.status_code == 200, response.get_json()
    for seat in (a, b, dr, uma):
        seat.pushes()
    yield a, b, dr, uma
    for seat in (a, b, dr, uma):
        if seat.sock is not None and seat.sock.is_connected():
            seat.sock.disconnect()


def test_the_dashboard_hears_arrivals_and_leaves_not_typing_and_nothing_once_removed(watched):
    a, b, dr, uma = watched
    sid = a.session_id

    # Joined while her dashboard was open: she hears Ana leave and come back.
    a.disconnect()
    assert presences(dr) == [{"session_id": sid, "online": [b.id], "typing": []}]
    assert [p["online"] for p in presences(b)] == [[b.id]]  # Ben: the one he always got
    a.connect().ok("session:join")
    assert [p["online"] for p in presences(dr)] == [sorted([a.id, b.id])]
    assert [p["online"] for p in presences(b)] == [sorted([a.id, b.id])]

    # Typing is for the session's screen, not the dashboard.
    step = b.ok("session:join")["state"]["session"]["current_step_id"]
    a.pushes(), b.pushes(), dr.pushes()
    b.ok("presence:typing", step_id=step, typing=True)
    assert [p["typing"] for p in presences(a)] == [[b.id]]
    assert presences(dr) == []

    # A socket of hers opened later reads the sessions she watches when it connects.
    dr.disconnect()
    dr.connect()
    a.disconnect()
    assert [p["online"] for p in presences(dr)] == [[b.id]]
    a.connect().ok("session:join")
    assert [p["online"] for p in presences(dr)] == [sorted([a.id, b.id])]
    assert presences(uma) == []  # a counsellor of another couple hears nothing
    # With the session open too (both rooms), she gets each change once.
    dr.ok("session:join")
    dr.pushes()
    a.disconnect()
    assert [p["online"] for p in presences(dr)] == [sorted([b.id, dr.id])]
    a.connect().ok("session:join")
    assert [p["online"] for p in presences(dr)] == [sorted([a.id, b.id, dr.id])]

    # The couple removes her: Ana's leaving and coming back no longer reach her.
    assert a.delete(f"/sessions/{sid}/counsellor").status_code == 200
    assert [p["name"] for p in dr.pushes()].count("session:removed") == 1
    a.disconnect()
    a.connect().ok("session:join")
    assert [p["online"] for p in presences(b)][-1] == sorted([a.id, b.id])
    assert presences(dr) == []
    assert presences(uma) == []
