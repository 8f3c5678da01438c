"""The counsellor's dashboard across two workers: Ana's arrivals and leaves on worker one
reach Dora's dashboard socket on worker two through Redis, and once the couple removed
Dora (a request worker one served) worker two's copy of her `watch:` room is closed too."""

from __future__ import annotations

import pytest

from tests.live.conftest import Inbox, make_couple_session
from tests.live.nginx import wait_until
from tests.live.test_counsellor_live import seat_counsellor

pytestmark = pytest.mark.live


def presences(inbox: Inbox) -> list[dict]:
    return [data for name, data in inbox.events if name == "presence"]


def test_presence_reaches_a_dashboard_on_another_worker_until_the_couple_removes_her(
        two_workers):
    one, two = two_workers
    ana, ben, session_id = make_couple_session(one.url)
    dora = seat_counsellor(one, ana, ben, session_id)
    # Dora's dashboard and Ben's screen are on worker two; Ana comes and goes on worker one.
    sock_d, sock_b = dora.connect(two.url), ben.connect(two.url)
    inbox_d, inbox_b = Inbox(sock_d), Inbox(sock_b)
    assert sock_b.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    both = sorted([ana.user["id"], ben.user["id"]])

    sock_a = ana.connect(one.url)
    assert sock_a.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    wait_until(lambda: [p["online"] for p in presences(inbox_d)][-1:] == [both], 10,
               "Dora's dashboard to hear Ana arrive")
    sock_a.disconnect()
    wait_until(lambda: [p["online"] for p in presences(inbox_d)][-1:] == [[ben.user["id"]]],
               10, "Dora's dashboard to hear Ana leave")

    assert ben.http.delete(f"{one.url}/api/v1/sessions/{session_id}/counsellor", json={},
                           headers=ben._csrf(), timeout=10).ok
    wait_until(lambda: any(name == "session:removed" for name, _ in inbox_d.events), 10,
               "Dora to be told she was removed")
    heard = len(presences(inbox_d))
    seen_by_ben = len(presences(inbox_b))
    sock_a = ana.connect(one.url)
    assert sock_a.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
    # Worker two handles Ana's arrival for Ben and for Dora's room in one message: once Ben
    # has it, Dora would have it too.
    wait_until(lambda: [p["online"] for p in presences(inbox_b)[seen_by_ben:]][-1:] == [both],
               10, "Ben to hear Ana come back")
    assert len(presences(inbox_d)) == heard
    ana.close(), ben.close(), dora.close()
