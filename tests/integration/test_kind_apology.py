"""The apology step over real sockets and a real database: roles agreed, the hurt partner
first, the mirror, private drafts, the one-way reveal, reflection and a free answer; the
commitment it leaves; planted markers searched in every packet; retries under one
client_id; both summaries (json and md); a break in the middle; every push equal to a
fresh load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from server.content import TrackLibrary, load_library
from tests.conftest import unique_marker
from tests.integration.test_session_loop import last_state

ROOT = Path(__file__).resolve().parents[2]
TRACK_ID = "apology-test-track"
TRACK_YAML = """
id: apology-test-track
title: Saying sorry
summary: A test track with one apology step.
version: 1
steps:
  - id: check
    kind: safety
    title: A private check
    settings:
      questions:
        - id: carry_on
          text: Would you like to carry on together today?
          options:
            - {id: "yes", label: "Yes"}
            - {id: not_today, label: "Not today", clear: false, help: false}
  - id: sorry
    kind: apology
    title: An apology
    prompt: About what happened on Friday.
    settings:
      max_length: 600
      commitment_days: 3
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""


@pytest.fixture
def apology_library(app, tmp_path):
    """The app's library plus the test track, through the real loader (schema and hints)."""
    content = tmp_path / "content"
    for part in ("schema", "rules"):
        shutil.copytree(ROOT / "content" / part, content / part)
    (content / "tracks").mkdir()
    (content / "tracks" / f"{TRACK_ID}.yaml").write_text(TRACK_YAML)
    track = load_library(content).get(TRACK_ID)
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: track})
    yield ctx.library
    ctx.library = original


class Live:
    """Two partners on sockets; after every event, each one's last push equals a fresh load,
    and every packet and response body is kept to search for markers."""

    def __init__(self, app, couple):
        response = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                               "track_id": TRACK_ID})
        assert response.status_code == 201, response.get_json()
        self.session_id = response.get_json()["session"]["id"]
        self.people = {"a": couple.a, "b": couple.b}
        self.ids = {who: p.user["id"] for who, p in self.people.items()}
        self.socks = {who: p.socket(app) for who, p in self.people.items()}
        self.seen = {"a": [], "b": []}
        self.held: dict = {}
        for who, sock in self.socks.items():
            ack = sock.emit("session:join", {"session_id": self.session_id}, callback=True)
            assert ack["ok"]
            self.held[who] = ack["state"]
            sock.get_received()
        # The apology starts only after both partners' private checks are clear.
        for who in ("a", "b"):
            assert self.emit(who, "entry:submit", step_id="check", client_id=f"check-{who}-0001",
                             fields={"answers": {"carry_on": "yes"}})["ok"]
        for who in ("a", "b"):
            assert self.emit(who, "step:ready", step_id="check")["ok"]
        assert self.held["a"]["session"]["current_step_id"] == "sorry"

    def emit(self, who, event, **payload):
        ack = self.socks[who].emit(event, {"session_id": self.session_id, **payload},
                                   callback=True)
        self.seen[who].append(json.dumps(ack))
        for name, person in self.people.items():
            packets = self.socks[name].get_received()
            self.seen[name].append(json.dumps(packets))
            pushed = last_state(packets, self.session_id)
            if pushed is not None:
                assert pushed["session"]["version"] > self.held[name]["session"]["version"]
                self.held[name] = pushed
            fresh = person.get(f"/sessions/{self.session_id}").get_json()["state"]
            self.seen[name].append(json.dumps(fresh))
            if event == "entry:draft" and name == who and pushed is None:
                # Editing words already drafted is pushed to nobody (the designed
                # exception); the author's copy catches up from the load.
                self.held[name] = fresh
            assert self.held[name] == fresh, f"{name}'s view is stale after {event} {payload}"
        return ack

    def turn(self, who, kind, client_id, body=None, fields=None):
        return self.emit(who, "turn:submit", step_id="sorry", client_id=client_id, kind=kind,
                         body=body, fields=fields)

    def ap(self, who) -> dict:
        return next(s for s in self.held[who]["steps"] if s["id"] == "sorry")["apology"]

    def everything_seen_by(self, who) -> str:
        return "\n".join(self.seen[who])

    def close(self):
        for sock in self.socks.values():
            if sock.is_connected():
                sock.disconnect()


@pytest.fixture
def live(app, couple, apology_library):
    session = Live(app, couple)
    yield session
    session.close()


def test_a_whole_apology_over_sockets(live):
    draft_mark, part_mark = unique_marker("apology-draft"), unique_marker("apology-part")
    hurt_mark = unique_marker("hurt-draft")
    a, b = live.ids["a"], live.ids["b"]
    # Roles: Ana offers to apologise; Ben says yes.
    assert live.turn("a", "offer", "offer-0001", fields={"role": "apologising"})["ok"]
    assert live.ap("b")["offer"] == {**live.ap("b")["offer"], "by": a, "role": "apologising"}
    assert live.turn("a", "accept", "accept-001")["error"]["code"] == "not_your_turn"
    assert live.turn("b", "accept", "accept-002")["ok"]
    assert live.ap("a")["roles"] == {"apologising": a, "hurt": b}
    # The hurt partner speaks first; a draft of theirs stays theirs.
    assert live.emit("b", "entry:draft", step_id="sorry", fields={"felt": hurt_mark})["ok"]
    assert live.turn("a", "hurt", "hurt-a-001", fields={"felt": "x"})["error"]["code"] == (
        "not_your_turn")
    assert live.turn("b", "hurt", "hurt-b-001",
                     fields={"felt": "Invisible", "why": "It was our day",
                             "need": "To be asked"})["ok"]
    assert live.ap("a")["hurt"]["felt"] == "Invisible"
    # The mirror, then the apology in private parts.
    assert live.turn("a", "mirror", "mirror-001", body="You felt invisible on our day")["ok"]
    assert live.ap("b")["mirror"]["body"] == "You felt invisible on our day"
    assert live.emit("a", "entry:draft", step_id="sorry",
                     fields={"act": draft_mark, "responsibility": "mine, but"})["ok"]
    assert live.emit("a", "entry:draft", step_id="sorry",
                     fields={"act": f"{draft_mark} and more"})["ok"]
    assert live.ap("b")["apology"] is None and live.ap("b")["apology_sent"] is False
    parts = {"act": f"I forgot our anniversary {part_mark}", "impact": "You felt forgotten",
             "responsibility": "I didn't plan", "regret": "I'm sorry",
             "change": "I'll put our dates in my calendar tonight",
             "setup": "Work had swallowed me"}
    assert part_mark not in live.everything_seen_by("b")
    sent = live.turn("a", "apology", "apology-01", fields=parts)
    assert sent["ok"] and sent["turn"]["kind"] == "apology"
    assert live.ap("b")["apology"]["act"] == parts["act"]
    # A retry under the same client_id returns the same turn and records nothing more.
    again = live.turn("a", "apology", "apology-01", fields=parts)
    assert again["turn"]["id"] == sent["turn"]["id"]
    commitments = live.held["b"]["commitments"]
    assert [(c["text"], c["source"], c["user_id"], c["status"]) for c in commitments] == [
        (parts["change"], "apology", a, "open")]
    # Reflection, then a free answer: "more time" is a whole answer.
    assert live.turn("b", "reflect", "reflect-01", body="You own that you forgot")["ok"]
    assert live.emit("b", "step:ready", step_id="sorry")["error"]["code"] == "conflict"
    assert live.turn("b", "response", "respond-01", fields={"choice": "more_time"})["ok"]
    assert live.ap("a")["response"]["choice"] == "more_time" and live.ap("a")["phase"] == "done"
    for who in ("a", "b"):
        assert live.emit(who, "step:ready", step_id="sorry")["ok"]
    assert live.held["a"]["session"]["current_step_id"] == "after"
    # Drafts never reached the other partner, in any packet, push or load.
    assert draft_mark not in live.everything_seen_by("b")
    assert hurt_mark not in live.everything_seen_by("a")
    # Each summary shows the outcome, json and md.
    for who in ("a", "b"):
        person = live.people[who]
        summary = person.get(f"/sessions/{live.session_id}/summary").get_json()["summary"]
        step = next(s for s in summary["steps"] if s["id"] == "sorry")
        assert step["apology"]["response"]["choice"] == "more_time"
        assert step["apology"]["apology"]["change"] == parts["change"]
        md = person.client.get(f"/api/v1/sessions/{live.session_id}/summary?format=md")
        text = md.get_data(as_text=True)
        assert md.status_code == 200 and "An apology" in text
        assert "answered: I need more time" in text and parts["change"] in text
        assert draft_mark not in json.dumps(summary) + md.get_data(as_text=True)


def test_a_break_in_the_middle_of_the_apology_keeps_the_drafts(live):
    live.turn("b", "offer", "offer-b-001", fields={"role": "hurt"})
    live.turn("a", "accept", "accept-a-01")
    live.turn("b", "hurt", "hurt-b-0001", fields={"felt": "Scared"})
    live.turn("a", "mirror", "mirror-a-01", body="You were scared")
    paused = live.emit("b", "session:pause")
    assert paused["ok"], paused
    assert live.held["a"]["session"]["paused_until"] is not None
    # Drafts keep saving; moves wait for the break to end.
    assert live.emit("a", "entry:draft", step_id="sorry", fields={"act": "I yelled"})["ok"]
    parts = {"act": "I yelled", "impact": "You were scared", "responsibility": "It was me",
             "regret": "I'm sorry", "change": "I'll step away when I'm angry"}
    assert live.turn("a", "apology", "apology-p1", fields=parts)["error"]["code"] == "paused"
    for who in ("a", "b"):
        assert live.emit(who, "session:resume")["ok"]
    assert live.held["a"]["session"]["paused_until"] is None
    assert live.turn("a", "apology", "apology-p2", fields=parts)["ok"]
    assert live.ap("b")["apology"]["act"] == "I yelled"


def test_only_partners_in_the_session_can_move(live, signup, app):
    outsider = signup("Olga")
    sock = outsider.socket(app)
    ack = sock.emit("turn:submit", {"session_id": live.session_id, "step_id": "sorry",
                                    "client_id": "outsider-01", "kind": "offer",
                                    "fields": {"role": "apologising"}}, callback=True)
    assert not ack["ok"] and ack["error"]["code"] in ("forbidden", "not_found")
    sock.disconnect()
