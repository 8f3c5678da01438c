"""Each partner's check-in line (issue 16): their numbers are kept from the other partner
unless they share them, and only they can change that. Over real sockets, HTTP and a real
database, with planted numbers searched in everything the partner receives: pushes, loads,
summaries (JSON and Markdown), the chart's data, home and the data export."""

from __future__ import annotations

import json
import re

import pytest

from server.content import TrackLibrary
from server.engine.tracks import Step, Track
from tests.integration.test_session_loop import last_state

TRACK_ID = "line-test"
# A 1–999 scale, so each planted number is a marker no timestamp or count will match.
TRACK = Track(id=TRACK_ID, title="Lines", summary="For tests.", version=1, steps=(
    Step(id="checkin", kind="checkin", title="Check-in", prompt="How are you both?",
         settings={"ratings": [{"id": "trust", "label": "Trust"}], "max": 999}),
    Step(id="bye", kind="info", title="Bye", body="Until next time."),
))
ANA, BEN = 731, 352


@pytest.fixture
def lines(app):
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: TRACK})
    yield
    ctx.library = original


def everything(person, sock, sid: str, couple_id: str) -> str:
    """All this partner has received on the socket, and every read they can make."""
    packets = json.dumps(sock.get_received(), default=str)
    reads = [f"/sessions/{sid}", f"/sessions/{sid}/summary", f"/couples/{couple_id}/checkins",
             "/me", "/me/export"]
    texts = [packets] + [person.client.get(f"/api/v1{path}").get_data(as_text=True)
                         for path in reads]
    texts.append(person.client.get(f"/api/v1/sessions/{sid}/summary?format=md").get_data(
        as_text=True))
    return "\n".join(texts)


def planted(number: int) -> list[str]:
    # As JSON ("trust": 731, spaced or not), as the summary's Markdown ("Trust: 731 of 999").
    return [rf'"trust":\s*{number}\b', rf"\b{number} of 999\b", rf"Trust: {number}\b"]


def found(mark: str, text: str) -> bool:
    return re.search(mark, text) is not None


def test_a_kept_line_never_reaches_the_partner_and_its_owner_can_share_it(
        app, couple, signup, lines):
    a, b = couple.a, couple.b
    created = a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert created.status_code == 201, created.get_json()
    sid = created.get_json()["session"]["id"]
    socks = {"a": a.socket(app), "b": b.socket(app)}
    for sock in socks.values():
        assert sock.emit("session:join", {"session_id": sid}, callback=True)["ok"]

    def submit(who, sock, number, high):
        ack = sock.emit("entry:submit", {
            "session_id": sid, "step_id": "checkin", "client_id": f"ck-{who}-00000001",
            "fields": {"ratings": {"trust": number}, "high": high, "support": "listening"}},
            callback=True)
        assert ack["ok"], ack

    submit("a", socks["a"], ANA, "HIGH-OF-ANA")
    submit("b", socks["b"], BEN, "HIGH-OF-BEN")

    # Revealed: each sees the other's high and wish, never the other's numbers.
    seen_by_ben = everything(b, socks["b"], sid, couple.couple_id)
    assert "HIGH-OF-ANA" in seen_by_ben
    for mark in planted(ANA):
        assert not found(mark, seen_by_ben), mark
    seen_by_ana = everything(a, socks["a"], sid, couple.couple_id)
    assert all(found(mark, seen_by_ana) for mark in planted(ANA))  # her own, everywhere
    for mark in planted(BEN):
        assert not found(mark, seen_by_ana), mark
    state = b.get(f"/sessions/{sid}").get_json()["state"]
    step = next(s for s in state["steps"] if s["id"] == "checkin")
    assert step["line"] == {"shared": False, "couple_id": couple.couple_id}
    ana_entry = next(e for e in step["revealed"]["entries"] if e["user_id"] == a.user["id"])
    assert ana_entry["numbers_kept"] is True and "ratings" not in ana_entry["fields"]
    chart = b.get(f"/couples/{couple.couple_id}/checkins").get_json()["checkins"]
    people = {p["user_id"]: p for p in chart["people"]}
    assert people[a.user["id"]]["points"] == [] and people[a.user["id"]]["numbers_kept"]
    assert people[b.user["id"]]["numbers_kept"] is False and chart["line"] == {"shared": False}

    # Ben can't share Ana's numbers: the call changes only his own line.
    path = f"/couples/{couple.couple_id}/checkin-line"
    assert b.client.put(f"/api/v1{path}", json={"shared": True},
                        headers=b.csrf()).status_code == 200
    seen = everything(b, socks["b"], sid, couple.couple_id)
    assert not any(found(mark, seen) for mark in planted(ANA))
    seen = everything(a, socks["a"], sid, couple.couple_id)
    assert all(found(mark, seen) for mark in planted(BEN))

    # Ana shares: Ben's open screen is sent the new view at once (a newer version, equal to
    # a fresh load), and every read shows her numbers, in the chart and summary too.
    before = b.get(f"/sessions/{sid}").get_json()["state"]["session"]["version"]
    shared = a.client.put(f"/api/v1{path}", json={"shared": True}, headers=a.csrf())
    assert shared.status_code == 200 and shared.get_json()["line"] == {"shared": True}
    pushed = last_state(socks["b"].get_received(), sid)
    assert pushed is not None and found(planted(ANA)[0], json.dumps(pushed))
    assert pushed["session"]["version"] > before  # a client drops a push it already has
    assert pushed == b.get(f"/sessions/{sid}").get_json()["state"]
    seen = everything(b, socks["b"], sid, couple.couple_id)
    assert all(found(mark, seen) for mark in planted(ANA))
    # ... and takes it back: pushed without them, and gone again everywhere.
    assert a.client.put(f"/api/v1{path}", json={"shared": False},
                        headers=a.csrf()).status_code == 200
    pushed = last_state(socks["b"].get_received(), sid)
    assert pushed is not None and not found(planted(ANA)[0], json.dumps(pushed))
    mine = last_state(socks["a"].get_received(), sid)
    assert next(s for s in mine["steps"] if s["id"] == "checkin")["line"]["shared"] is False
    seen = everything(b, socks["b"], sid, couple.couple_id)
    assert not any(found(mark, seen) for mark in planted(ANA))
    # The Markdown's times are in the zone the browser names, and it says which.
    md = b.client.get(f"/api/v1/sessions/{sid}/summary?format=md&tz=Pacific/Auckland").text
    assert "Times are in Pacific/Auckland." in md
    assert "Times are in UTC." in b.client.get(
        f"/api/v1/sessions/{sid}/summary?format=md&tz=Nowhere/Special").text
    for sock in socks.values():
        sock.disconnect()


def test_only_a_partner_sets_their_line_and_only_to_true_or_false(app, couple, signup):
    path = f"/api/v1/couples/{couple.couple_id}/checkin-line"
    stranger = signup("Cy")
    assert stranger.client.put(path, json={"shared": True},
                               headers=stranger.csrf()).status_code == 404
    assert couple.a.client.put(path, json={"shared": "yes"},
                               headers=couple.a.csrf()).status_code == 400
    assert app.test_client().put(path, json={"shared": True}).status_code in (400, 401, 403)
