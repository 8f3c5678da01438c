"""Commitments, check-ins and appreciations over real sockets and a real database: a
commitment made in one session is reviewed in the couple's next session; the check-ins API
reads revealed check-ins only, for the couple's partners only; and after every action the
last pushed view equals a fresh load (resync equals pushes)."""

from __future__ import annotations

import pytest

from server.content import TrackLibrary
from server.engine.tracks import Step, Track
from tests.integration.test_session_loop import last_state

TRACK_ID = "weekly-test"
TRACK = Track(id=TRACK_ID, title="Weekly", summary="For tests.", version=1, steps=(
    Step(id="last-time", kind="commitment", title="Last time's commitments",
         prompt="How did it go?", settings={"mode": "review"}),
    Step(id="checkin", kind="checkin", title="Check-in", prompt="How are you both?"),
    Step(id="thanks", kind="appreciation", title="Appreciation", prompt="What did you value?"),
    Step(id="promise", kind="commitment", title="This week", prompt="One small thing?",
         settings={"days": 7}),
    Step(id="bye", kind="info", title="Bye", body="Until next time."),
))


@pytest.fixture
def weekly(app):
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: TRACK})
    yield
    ctx.library = original


class Pair:
    """Both partners in one session, checking after each action that what was pushed to
    each equals what a fresh load returns."""

    def __init__(self, app, couple):
        self.couple = couple
        created = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                              "track_id": TRACK_ID})
        assert created.status_code == 201, created.get_json()
        self.sid = created.get_json()["session"]["id"]
        self.socks = {"a": couple.a.socket(app), "b": couple.b.socket(app)}
        self.people = {"a": couple.a, "b": couple.b}
        self.held = {}
        for sock in self.socks.values():
            ack = sock.emit("session:join", {"session_id": self.sid}, callback=True)
            assert ack["ok"], ack
        # Start from what a load returns once both are in (presence settled).
        for name, sock in self.socks.items():
            sock.get_received()
            self.held[name] = self.people[name].get(f"/sessions/{self.sid}").get_json()["state"]

    def act(self, who: str, event: str, ok: bool = True, **payload) -> dict:
        ack = self.socks[who].emit(event, {"session_id": self.sid, **payload}, callback=True)
        assert ack["ok"] is ok, (event, payload, ack)
        for name, sock in self.socks.items():
            pushed = last_state(sock.get_received(), self.sid)
            if pushed is not None:
                self.held[name] = pushed
            fresh = self.people[name].get(f"/sessions/{self.sid}").get_json()["state"]
            assert self.held[name] == fresh, f"after {who} {event} {payload}, {name} is stale"
        return ack

    def step(self, who: str, step_id: str) -> dict:
        return next(s for s in self.held[who]["steps"] if s["id"] == step_id)

    def both_ready(self, step_id: str) -> None:
        self.act("a", "step:ready", step_id=step_id)
        self.act("b", "step:ready", step_id=step_id)

    def close(self) -> None:
        for sock in self.socks.values():
            if sock.is_connected():
                sock.disconnect()


CHECKIN_A = {"ratings": {"trust": 4, "closeness": 5, "mood": 6}, "high": "HIGH-A-PRIVATE",
             "low": "A rough Tuesday", "support": "listening"}
CHECKIN_B = {"ratings": {"trust": 7, "closeness": 6, "mood": 8}, "support": "advice"}


def first_session(app, couple) -> Pair:
    s = Pair(app, couple)
    review = s.step("a", "last-time")
    assert review["review"] == {"items": [], "agreements": [], "skipped": False,
                                "talk_step": None}
    s.both_ready("last-time")  # nothing to look back on: continue at once
    s.act("a", "entry:submit", step_id="checkin", client_id="ck-a-000001", fields=CHECKIN_A)
    assert "HIGH-A-PRIVATE" not in str(s.held["b"])
    s.act("b", "entry:submit", step_id="checkin", client_id="ck-b-000001", fields=CHECKIN_B)
    assert "HIGH-A-PRIVATE" in str(s.held["b"])
    s.both_ready("checkin")
    s.act("a", "entry:submit", step_id="thanks", client_id="th-a-000001", skip=True)
    s.act("b", "entry:submit", step_id="thanks", client_id="th-b-000001",
          body="You made dinner when I was late.")
    s.both_ready("thanks")
    s.act("a", "entry:submit", step_id="promise", client_id="pr-a-000001",
          body="COMMIT-A I'll text when I'm running late.")
    assert s.held["b"]["commitments"] == []
    assert "COMMIT-A" not in str(s.held["b"])
    s.act("b", "entry:submit", step_id="promise", client_id="pr-b-000001",
          body="I'll put my phone away at dinner.")
    for who in ("a", "b"):
        shown = s.held[who]["commitments"]
        assert [(c["source"], c["status"]) for c in shown] == [("commitment", "open")] * 2
    s.both_ready("promise")
    s.both_ready("bye")
    assert s.held["a"]["session"]["status"] == "finished"
    s.close()
    return s


def test_a_commitment_made_in_one_session_is_reviewed_in_the_next(app, couple, weekly):
    first_session(app, couple)
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]

    s = Pair(app, couple)
    items = s.step("b", "last-time")["review"]["items"]
    owners = {i["record"]["user_id"]: i["record"] for i in items}
    assert set(owners) == {a_id, b_id}
    mine, theirs = owners[a_id], owners[b_id]
    assert mine["text"].startswith("COMMIT-A") and mine["status"] == "open"
    # not before each has said how theirs went (replying is optional)
    s.act("a", "step:ready", ok=False, step_id="last-time")
    # B may not answer for A; A may not acknowledge their own
    ack = s.act("b", "turn:submit", ok=False, step_id="last-time", client_id="rv-b-000000",
                kind="check", fields={"record_id": mine["id"], "status": "kept"})
    assert ack["error"]["code"] == "forbidden"
    s.act("a", "turn:submit", step_id="last-time", client_id="rv-a-000001", kind="check",
          body="Most days.", fields={"record_id": mine["id"], "status": "partly"})
    seen_by_b = s.step("b", "last-time")["review"]["items"]
    checked = next(i for i in seen_by_b if i["record"]["id"] == mine["id"])
    assert checked["check"]["status"] == "partly" and checked["check"]["note"] == "Most days."
    assert checked["record"]["checks"][0]["status"] == "partly"
    # the same client_id again returns the same turn and records nothing new
    again = s.act("a", "turn:submit", step_id="last-time", client_id="rv-a-000001",
                  kind="check", body="Most days.",
                  fields={"record_id": mine["id"], "status": "partly"})
    assert again["turn"]["kind"] == "check"
    s.act("b", "turn:submit", step_id="last-time", client_id="rv-b-000001", kind="ack",
          fields={"record_id": mine["id"], "ack": "thanks"})
    s.act("b", "turn:submit", step_id="last-time", client_id="rv-b-000002", kind="check",
          fields={"record_id": theirs["id"], "status": "kept"})
    s.act("a", "turn:submit", step_id="last-time", client_id="rv-a-000002", kind="ack",
          fields={"record_id": theirs["id"], "ack": "hear_you"})
    s.both_ready("last-time")
    assert s.held["a"]["session"]["current_step_id"] == "checkin"
    statuses = {c["user_id"]: c["status"] for c in s.held["a"]["commitments"]}
    assert statuses == {a_id: "partly", b_id: "kept"}
    summary = couple.b.get(f"/sessions/{s.sid}/summary").get_json()["summary"]
    review = next(p for p in summary["steps"] if p["id"] == "last-time")
    assert [i["ack"]["ack"] for i in review["review"]["items"]] == ["thanks", "hear_you"]
    markdown = couple.b.client.get(f"/api/v1/sessions/{s.sid}/summary?format=md").text
    assert "- Ana: COMMIT-A I'll text when I'm running late. — partly (reply: Thank you for " \
        "sharing)" in markdown
    assert "- Ben: I'll put my phone away at dinner. — kept" in markdown
    assert "Only your own answer" not in markdown
    s.close()


def test_the_check_ins_api_shows_revealed_check_ins_to_the_couple_only(
        app, couple, signup, weekly):
    first_session(app, couple)
    path = f"/couples/{couple.couple_id}/checkins"
    stranger = signup("Cy")
    assert stranger.get(path).status_code == 404
    assert couple.a.client.get("/api/v1/couples/nope/checkins").status_code == 404
    # Both share their numbers (each keeps them from the other unless they share them:
    # tests/integration/test_checkin_line.py).
    for person in (couple.a, couple.b):
        assert person.client.put(f"/api/v1{path}".replace("checkins", "checkin-line"),
                                 json={"shared": True}, headers=person.csrf()).status_code == 200

    s = Pair(app, couple)
    for record in s.step("a", "last-time")["review"]["items"]:
        owner = "a" if record["record"]["user_id"] == couple.a.user["id"] else "b"
        other = "b" if owner == "a" else "a"
        rid = record["record"]["id"]
        s.act(owner, "turn:submit", step_id="last-time", client_id=f"ck-{rid[:20]}",
              kind="check", fields={"record_id": rid, "status": "kept"})
        s.act(other, "turn:submit", step_id="last-time", client_id=f"ak-{rid[:20]}",
              kind="ack", fields={"record_id": rid, "ack": "thanks"})
    s.both_ready("last-time")
    s.act("a", "entry:submit", step_id="checkin", client_id="ck-a-000002",
          fields={**CHECKIN_A, "ratings": {"trust": 9, "closeness": 9, "mood": 9}})

    response = couple.b.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()["checkins"]
    assert [r["id"] for r in data["ratings"]] == ["trust", "closeness", "mood"]
    people = {p["user_id"]: p for p in data["people"]}
    assert set(people) == {couple.a.user["id"], couple.b.user["id"]}
    # A's second check-in is not revealed yet: only the first is drawn
    assert [p["ratings"]["trust"] for p in people[couple.a.user["id"]]["points"]] == [4]
    assert people[couple.a.user["id"]]["display_name"] == "Ana"
    text = str(data)
    assert "HIGH-A-PRIVATE" not in text and "listening" not in text
    assert "score" not in text and "streak" not in text

    s.act("b", "entry:submit", step_id="checkin", client_id="ck-b-000002", fields=CHECKIN_B)
    data = couple.a.get(path).get_json()["checkins"]
    people = {p["user_id"]: p for p in data["people"]}
    assert [p["ratings"]["trust"] for p in people[couple.a.user["id"]]["points"]] == [4, 9]
    assert [p["ratings"]["mood"] for p in people[couple.b.user["id"]]["points"]] == [8, 8]
    markdown = couple.a.client.get(f"/api/v1/sessions/{s.sid}/summary?format=md").text
    assert "- Trust: 9 of 10" in markdown and "High: HIGH-A-PRIVATE" in markdown
    assert "Would like: Advice" in markdown
    first, second = people[couple.a.user["id"]]["points"]
    assert first["session_id"] != second["session_id"] and first["at"] < second["at"]
    s.close()
