"""A couple's next session opens by asking each how their commitments went: over real
sockets and a real database, with the shipped tracks and content/review-step.yaml."""

from __future__ import annotations

import pytest

from tests.checking import clear_answers
from tests.integration.test_session_loop import last_state

CHECKIN = {"ratings": {"trust": 6, "closeness": 6, "mood": 6}, "support": "listening"}


class Pair:
    """Both partners in one session of `track_id`; after each action the last pushed view
    must equal a fresh load."""

    def __init__(self, app, couple, track_id: str):
        created = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                              "track_id": track_id})
        assert created.status_code == 201, created.get_json()
        self.sid = created.get_json()["session"]["id"]
        self.people = {"a": couple.a, "b": couple.b}
        self.socks = {"a": couple.a.socket(app), "b": couple.b.socket(app)}
        self.held = {}
        for sock in self.socks.values():
            assert sock.emit("session:join", {"session_id": self.sid}, callback=True)["ok"]
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
            assert self.held[name] == fresh, f"after {who} {event}, {name} is stale"
        return ack

    def step_ids(self, who: str = "a") -> list[str]:
        return [s["id"] for s in self.held[who]["steps"]]

    def step(self, who: str, step_id: str) -> dict:
        return next(s for s in self.held[who]["steps"] if s["id"] == step_id)

    def both_ready(self, step_id: str) -> None:
        self.act("a", "step:ready", step_id=step_id)
        self.act("b", "step:ready", step_id=step_id)

    def answer_check(self, who: str) -> None:
        """This partner answers the session's private check, clear."""
        self.act(who, "check:submit", client_id=f"check-{who}-{self.sid[:12]}",
                 fields={"answers": clear_answers()})

    def close(self) -> None:
        for sock in self.socks.values():
            if sock.is_connected():
                sock.disconnect()


def make_commitments(app, couple, answer_check: bool = False) -> None:
    """Session 1 on weekly-check-in, as far as both commitments being revealed (in a test
    marked `real_check`, both partners first answer the session's private check)."""
    s = Pair(app, couple, "weekly-check-in")
    if answer_check:
        s.answer_check("a"), s.answer_check("b")
    # weekly-check-in has its own review step: no second one
    assert "last-time-commitments" not in s.step_ids()
    s.both_ready("welcome")
    s.both_ready("last-weeks-commitments")
    for who in ("a", "b"):
        s.act(who, "entry:submit", step_id="this-week", client_id=f"ck-{who}-0001",
              fields=CHECKIN)
    s.both_ready("this-week")
    s.act("a", "entry:submit", step_id="this-weeks-commitment", client_id="cm-a-0001",
          body="I'll text when I'm running late.")
    s.act("b", "entry:submit", step_id="this-weeks-commitment", client_id="cm-b-0001",
          body="I'll put my phone away at dinner.")
    assert [c["status"] for c in s.held["a"]["commitments"]] == ["open", "open"]
    s.close()


def test_the_next_session_of_any_track_opens_with_the_review(app, couple):
    make_commitments(app, couple)
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]

    s = Pair(app, couple, "understanding-our-trust")
    ids = s.step_ids()
    assert ids[:2] == ["last-time-commitments", "welcome"]
    assert s.held["b"]["session"]["current_step_id"] == "last-time-commitments"
    review = s.step("b", "last-time-commitments")
    assert review["kind"] == "commitment" and review["title"]
    items = {i["record"]["user_id"]: i["record"] for i in review["review"]["items"]}
    assert set(items) == {a_id, b_id}
    s.act("a", "step:ready", ok=False, step_id="last-time-commitments")
    s.act("a", "turn:submit", step_id="last-time-commitments", client_id="rv-a-0001",
          kind="check", fields={"record_id": items[a_id]["id"], "status": "kept"})
    s.act("b", "turn:submit", step_id="last-time-commitments", client_id="rv-b-0001",
          kind="ack", fields={"record_id": items[a_id]["id"], "ack": "thanks"})
    s.act("b", "turn:submit", step_id="last-time-commitments", client_id="rv-b-0002",
          kind="check", fields={"record_id": items[b_id]["id"], "status": "not_yet"})
    s.act("a", "turn:submit", step_id="last-time-commitments", client_id="rv-a-0002",
          kind="ack", fields={"record_id": items[b_id]["id"], "ack": "hear_you"})
    s.both_ready("last-time-commitments")
    assert s.held["a"]["session"]["current_step_id"] == "welcome"
    statuses = {c["user_id"]: c["status"] for c in s.held["b"]["commitments"]}
    assert statuses == {a_id: "kept", b_id: "not_yet"}
    s.close()

    # Every commitment answered: the session after that opens as the track is written.
    s = Pair(app, couple, "in-each-others-shoes")
    assert "last-time-commitments" not in s.step_ids()
    s.close()


def test_a_couple_without_open_commitments_gets_no_review(app, couple):
    s = Pair(app, couple, "understanding-our-trust")
    assert s.step_ids()[0] == "welcome"
    assert "last-time-commitments" not in s.step_ids()
    s.close()


@pytest.mark.real_check
def test_the_review_opens_the_track_and_waits_for_the_private_check_like_any_joint_step(
        app, couple):
    """The review is joint work. The tracks no longer carry a safety step of their own (this
    one had one): the session's private check comes first, so the review opens the track
    and nothing can be done on it until both partners passed the check."""
    make_commitments(app, couple, answer_check=True)
    a_id = couple.a.user["id"]
    s = Pair(app, couple, "setting-boundaries-together")
    ids = s.step_ids()
    assert ids[:2] == ["last-time-commitments", "welcome"]
    assert all(s.step("a", i)["kind"] != "safety" for i in ids)
    assert s.held["a"]["check"]["open"] is True
    items = {i["record"]["user_id"]: i["record"]
             for i in s.step("a", "last-time-commitments")["review"]["items"]}
    kept = {"record_id": items[a_id]["id"], "status": "kept"}
    refused = s.act("a", "turn:submit", ok=False, step_id="last-time-commitments",
                    client_id="rv-a-0001", kind="check", fields=kept)
    assert refused["error"]["code"] == "conflict"
    s.answer_check("a")
    refused = s.act("a", "turn:submit", ok=False, step_id="last-time-commitments",
                    client_id="rv-a-0001", kind="check", fields=kept)
    assert refused["error"]["code"] == "conflict"
    s.answer_check("b")
    assert s.held["a"]["check"] == {"open": False}
    assert s.held["a"]["session"]["current_step_id"] == "last-time-commitments"
    s.act("a", "turn:submit", step_id="last-time-commitments", client_id="rv-a-0001",
          kind="check", fields=kept)
    s.close()
