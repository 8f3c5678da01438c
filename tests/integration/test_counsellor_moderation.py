"""The counsellor, live, over real handlers and a real database (SQLite and PostgreSQL):
two partners, the counsellor they invited, a granted counsellor nobody invited, and one
whose role was revoked after joining.

Every packet each of them receives is recorded (pushes, acks, HTTP bodies), so the privacy
tests read like the promise: a planted string reaches exactly the people allowed to read it.

Sessions start past the private check that opens every session (tests/conftest.py), except
in the tests marked `real_check`, where the partners answer it over their sockets.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select, update

from server.models import CounsellorInvite, Reveal
from server.models.base import utcnow
from server.services import accounts
from tests.checking import CHECK_FILE, clear_answers, concerning_answers
from tests.conftest import unique_marker
from tests.integration.conftest import Person
from tests.integration.test_session_loop import last_state

TRACK = "setting-boundaries-together"
FIRST_JOINT = "agreements-not-walls"  # the step after the welcome
HELD_STEP = "room-of-my-own"  # a prompt: both answers shown side by side
FLAG_MESSAGE = "Check in with each partner privately"
CHECK_SETTINGS = yaml.safe_load(CHECK_FILE.read_text(encoding="utf-8"))["settings"]
# What both partners read on a session that stopped early, whatever stopped it.
STOPPED = {"title": CHECK_SETTINGS["stopped_title"], "text": CHECK_SETTINGS["stopped_text"]}

CONTROLS = ("step:advance", "step:revisit", "reveal:hold", "reveal:release", "reveal:preview",
            "floor:grant", "card:add", "session:end", "note:add")


# --- people and what they received ---------------------------------------------------------


@dataclass
class Seat:
    """One person at (or near) the session: their HTTP client, their current socket, and
    every packet either of them has received, in order."""

    name: str
    person: Person
    app: Flask
    session_id: str
    sock: Any = None
    log: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.person.user["id"]

    def connect(self) -> Seat:
        if self.sock is not None:
            self.pushes()
        self.sock = self.person.socket(self.app)
        assert self.sock.is_connected()
        return self

    def disconnect(self) -> None:
        self.pushes()
        self.sock.disconnect()

    def emit(self, event: str, **payload) -> dict:
        ack = self.sock.emit(event, {"session_id": self.session_id, **payload}, callback=True)
        self.log.append((f"ack {event}", ack))
        return ack

    def ok(self, event: str, **payload) -> dict:
        ack = self.emit(event, **payload)
        assert ack["ok"], (self.name, event, payload, ack)
        return ack

    def pushes(self) -> list[dict]:
        """What the server pushed since the last call (recorded)."""
        if self.sock is None or not self.sock.is_connected():
            return []
        packets = self.sock.get_received()
        for packet in packets:
            self.log.append((packet["name"], packet["args"][0] if packet["args"] else None))
        return packets

    def _http(self, label: str, response):
        self.log.append((label, response.get_data(as_text=True)))
        return response

    def get(self, path: str):
        return self._http(f"GET {path}", self.person.get(path))

    def post(self, path: str, json_body: dict | None = None):
        return self._http(f"POST {path}", self.person.post(path, json_body))

    def delete(self, path: str):
        response = self.person.client.delete(f"/api/v1{path}", json={},
                                             headers=self.person.csrf())
        return self._http(f"DELETE {path}", response)

    def fresh(self) -> dict:
        response = self.get(f"/sessions/{self.session_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["state"]

    def version(self) -> int:
        return self.fresh()["session"]["version"]

    def received(self) -> str:
        """Everything recorded so far, as one searchable string."""
        self.pushes()
        return json.dumps(self.log, default=str)

    def entries_holding(self, text: str) -> list[tuple[str, Any]]:
        self.pushes()
        return [(label, item) for label, item in self.log if text in json.dumps(item, default=str)]


def error_code(response) -> str:
    body = response.get_json()
    assert body["ok"] is False and body["error"]["message"], body
    return body["error"]["code"]


def grant(app: Flask, person: Person) -> None:
    """What `mend counsellor grant EMAIL` does."""
    with app.extensions["mend"].database.session() as db:
        accounts.grant_counsellor(db, person.email)


def revoke(app: Flask, person: Person) -> None:
    """What `mend counsellor revoke EMAIL` does (the server is told nothing)."""
    ctx = app.extensions["mend"]
    with ctx.database.session() as db:
        accounts.revoke_counsellor(db, person.email, library=ctx.library)


def step_of(state: dict, step_id: str) -> dict:
    return next(s for s in state["steps"] if s["id"] == step_id)


def walk(value: Any):
    """Every dict inside a JSON-like value (HTTP bodies are parsed when they are JSON)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk(item)


def reveal_count(app: Flask, session_id: str) -> int:
    with app.extensions["mend"].database.session() as db:
        return db.scalar(select(func.count()).select_from(Reveal)
                         .where(Reveal.session_id == session_id))


# --- the room: a couple, their counsellor, and two counsellors who must not get in ----------


@dataclass
class Room:
    app: Flask
    session_id: str
    a: Seat
    b: Seat
    dr: Seat  # the counsellor the couple invited: Dora
    uma: Seat  # a granted counsellor nobody invited
    rita: Seat  # granted, invited, joined, then her role was revoked

    @property
    def three(self) -> tuple[Seat, Seat, Seat]:
        return self.a, self.b, self.dr

    @property
    def everyone(self) -> tuple[Seat, ...]:
        return self.a, self.b, self.dr, self.uma, self.rita

    @property
    def outsiders(self) -> tuple[Seat, ...]:
        """Everyone who must be refused a counsellor control."""
        return self.a, self.b, self.uma, self.rita

    def drain(self) -> None:
        for seat in self.everyone:
            seat.pushes()


def invite_and_consent(inviter: Seat, other: Seat) -> str:
    response = inviter.post(f"/sessions/{inviter.session_id}/counsellor-invite")
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["invite_code"]
    consent = other.post(f"/sessions/{other.session_id}/counsellor-consent")
    assert consent.status_code == 200, consent.get_json()
    return code


def join_as_counsellor(seat: Seat, code: str) -> None:
    response = seat.post("/counsellor/join", {"invite_code": code})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["session"]["id"] == seat.session_id
    seat.connect()
    seat.ok("session:join")


@pytest.fixture
def start_session(app, couple):
    def start(track_id: str = TRACK) -> tuple[Seat, Seat]:
        response = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                               "track_id": track_id})
        assert response.status_code == 201, response.get_json()
        session_id = response.get_json()["session"]["id"]
        a = Seat("Ana", couple.a, app, session_id).connect()
        b = Seat("Ben", couple.b, app, session_id).connect()
        a.ok("session:join"), b.ok("session:join")
        return a, b

    return start


@pytest.fixture
def counsellors(app, signup):
    """Three accounts an administrator granted the counsellor role."""
    people = {name: signup(name, role="counsellor") for name in ("Dora", "Uma", "Rita")}
    for person in people.values():
        grant(app, person)
    return people


@pytest.fixture
def room(app, start_session, counsellors) -> Room:
    a, b = start_session()
    sid = a.session_id
    dr, uma, rita = (Seat(name, counsellors[name], app, sid) for name in ("Dora", "Uma", "Rita"))
    # Rita comes first, then an administrator revokes her role: she leaves the session.
    join_as_counsellor(rita, invite_and_consent(a, b))
    revoke(app, rita.person)
    # The couple invites Dora (Ben asks this time, Ana agrees).
    join_as_counsellor(dr, invite_and_consent(b, a))
    uma.connect()
    room = Room(app, sid, a, b, dr, uma, rita)
    room.drain()
    yield room
    for seat in room.everyone:
        if seat.sock is not None and seat.sock.is_connected():
            seat.sock.disconnect()


# --- joining: both partners agree, the code is single-use and expires ----------------------


def test_a_counsellor_joins_only_after_both_partners_agreed_with_a_single_use_code(
        app, start_session, counsellors, signup):
    a, b = start_session()
    sid = a.session_id
    dr, uma = (Seat(n, counsellors[n], app, sid) for n in ("Dora", "Uma"))
    cleo = Seat("Cleo", signup("Cleo"), app, sid)  # a partner's account, in no couple

    invite = a.post(f"/sessions/{sid}/counsellor-invite")
    assert invite.status_code == 201
    body = invite.get_json()
    code = body["invite_code"]
    assert code in body["link"] and body["expires_at"].endswith("Z")
    waiting = b.fresh()["counsellor"]["invite"]
    assert waiting["consents"] == [a.id] and waiting["waiting_for"] == [b.id]

    early = dr.post("/counsellor/join", {"invite_code": code})
    assert early.status_code == 403 and error_code(early) == "forbidden"
    assert b.fresh()["counsellor"]["present"] is None

    assert b.post(f"/sessions/{sid}/counsellor-consent").status_code == 200
    for outsider in (cleo, a):  # partners' accounts are never counsellors
        refused = outsider.post("/counsellor/join", {"invite_code": code})
        assert refused.status_code == 403 and error_code(refused) == "forbidden"

    a.pushes(), b.pushes()
    joined = dr.post("/counsellor/join", {"invite_code": code})
    assert joined.status_code == 200 and joined.get_json()["session"]["id"] == sid
    # Both partners are told, in the session, that the counsellor can see submitted answers,
    # never drafts or their answers to the private check, and is never told who a flag is about.
    for seat in (a, b):
        pushed = last_state(seat.pushes(), sid)
        assert pushed["counsellor"]["present"]["user_id"] == dr.id
        notice = pushed["counsellor"]["notice"]
        assert "Dora" in notice and "never see drafts" in notice
        assert "answers to the private check" in notice and "never who" in notice
    assert [p["role"] for p in a.fresh()["participants"]] == ["partner", "partner", "counsellor"]

    # The code is single-use: another counsellor gets a conflict; Dora's retry is harmless.
    second = uma.post("/counsellor/join", {"invite_code": code})
    assert second.status_code == 409 and error_code(second) == "conflict"
    retry = dr.post("/counsellor/join", {"invite_code": code})
    assert retry.status_code == 200 and retry.get_json()["session"]["id"] == sid
    assert [p["user_id"] for p in a.fresh()["participants"]].count(dr.id) == 1
    unknown = uma.post("/counsellor/join", {"invite_code": "NOSUCHCODE"})
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"


def test_an_expired_counsellor_invite_admits_nobody(app, start_session, counsellors):
    a, b = start_session()
    dr = Seat("Dora", counsellors["Dora"], app, a.session_id)
    code = invite_and_consent(a, b)
    with app.extensions["mend"].database.session() as db:
        db.execute(update(CounsellorInvite).where(CounsellorInvite.code == code)
                   .values(expires_at=utcnow().replace(year=2020)))
        db.commit()
    expired = dr.post("/counsellor/join", {"invite_code": code})
    assert expired.status_code == 403 and error_code(expired) == "forbidden"
    assert "expired" in expired.get_json()["error"]["message"]
    assert a.fresh()["counsellor"]["present"] is None
    # A new invite (which asks the other partner again) lets Dora in.
    join_as_counsellor(dr, invite_and_consent(b, a))
    assert a.fresh()["counsellor"]["present"]["user_id"] == dr.id


def test_an_account_that_only_asked_for_the_role_cannot_join(app, start_session, signup):
    a, b = start_session()
    asked = Seat("Ivo", signup("Ivo", role="counsellor"), app, a.session_id)
    refused = asked.post("/counsellor/join", {"invite_code": invite_and_consent(a, b)})
    assert refused.status_code == 403 and error_code(refused) == "forbidden"


@pytest.mark.parametrize("remover", ["a", "b"])
def test_either_partner_removes_the_counsellor_who_then_loses_all_access(room, remover):
    r = room
    r.dr.ok("reveal:hold", step_id=HELD_STEP)
    r.drain()
    partner = r.a if remover == "a" else r.b
    assert partner.delete(f"/sessions/{r.session_id}/counsellor").status_code == 200

    removed = [p["args"][0] for p in r.dr.pushes() if p["name"] == "session:removed"]
    assert removed and removed[-1]["session_id"] == r.session_id and removed[-1]["message"]
    for seat in (r.a, r.b):
        state = last_state(seat.pushes(), r.session_id)
        assert state["counsellor"]["present"] is None
        assert [p["role"] for p in state["participants"]] == ["partner", "partner"]
        assert state["moderation"]["held"] == []  # nothing Dora put in force outlives her
        assert state["audit"][-1]["action"] == "counsellor_removed"
        assert state["audit"][-1]["actor_id"] == partner.id
        assert state["audit"][-1]["target_user_id"] == r.dr.id

    version = r.a.version()
    for event, payload in control_payloads(r, "welcome").items():
        ack = r.dr.emit(event, **payload)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)
    assert r.a.version() == version
    assert r.dr.emit("session:join")["error"]["code"] == "not_found"
    response = r.dr.get(f"/sessions/{r.session_id}")
    assert response.status_code == 404 and error_code(response) == "not_found"
    summary = r.dr.get(f"/sessions/{r.session_id}/summary")
    assert summary.status_code == 404
    assert r.dr.get("/counsellor/sessions").get_json()["sessions"] == []
    assert all(s["id"] != r.session_id for s in r.dr.get("/me").get_json()["sessions"])

    # The partners carry on; nothing more reaches the removed counsellor.
    r.dr.pushes()
    words, draft = unique_marker("after-removal"), unique_marker("draft-after-removal")
    for step in ("welcome", FIRST_JOINT):
        for seat in (r.a, r.b):
            seat.ok("step:ready", step_id=step)
    r.a.ok("entry:draft", step_id=HELD_STEP, body=draft)
    r.a.ok("session:pause", minutes=20, reason=words)
    after = r.dr.pushes()
    assert [p for p in after if p["name"] in ("session:state", "presence")] == []
    assert words not in r.dr.received() and draft not in r.dr.received()


# --- every control: the seated counsellor's alone, and each one pushes fresh views ---------


def control_payloads(r: Room, step_id: str) -> dict[str, dict]:
    """A well-formed payload for every control, on the given (current) step."""
    return {
        "step:advance": {"step_id": step_id},
        "step:revisit": {"step_id": None},
        "reveal:hold": {"step_id": HELD_STEP},
        "reveal:release": {"step_id": HELD_STEP},
        "reveal:preview": {"step_id": HELD_STEP},
        "floor:grant": {"step_id": step_id, "user_id": r.a.id},
        "card:add": {"kind": "reframe", "body": "A reframe nobody may add."},
        "session:end": {},
        "note:add": {"client_id": "outsider-note-01", "body": "A note nobody may add."},
    }


def script(r: Room) -> list[tuple[str, Seat, str, dict]]:
    """A session run by its counsellor, every control at least once, with the partners'
    own moves in between: (description, who, event, payload). Both partners passed the
    session's private check when it started."""
    return [
        ("counsellor advances past the welcome", r.dr, "step:advance", {"step_id": "welcome"}),
        ("counsellor holds the next prompt's reveal", r.dr, "reveal:hold",
         {"step_id": HELD_STEP}),
        ("counsellor advances to the prompt", r.dr, "step:advance",
         {"step_id": FIRST_JOINT}),
        ("counsellor gives a the floor", r.dr, "floor:grant",
         {"step_id": HELD_STEP, "user_id": r.a.id}),
        ("a answers", r.a, "entry:submit",
         {"step_id": HELD_STEP, "client_id": "a-room-0001", "body": "a's room"}),
        ("counsellor opens the floor", r.dr, "floor:grant", {"step_id": HELD_STEP,
                                                             "user_id": None}),
        ("b answers (held: nothing shown)", r.b, "entry:submit",
         {"step_id": HELD_STEP, "client_id": "b-room-0001", "body": "b's room"}),
        ("counsellor previews the held answers", r.dr, "reveal:preview",
         {"step_id": HELD_STEP}),
        ("counsellor releases the reveal", r.dr, "reveal:release", {"step_id": HELD_STEP}),
        ("counsellor brings a finished step back", r.dr, "step:revisit",
         {"step_id": "agreements-not-walls"}),
        ("counsellor closes the revisit", r.dr, "step:revisit", {"step_id": None}),
        ("counsellor shows a reframe card", r.dr, "card:add",
         {"kind": "reframe", "body": "Try 'I need' rather than 'you never'."}),
        ("counsellor inserts a prompt", r.dr, "card:add",
         {"kind": "prompt", "body": "What would a good week look like?"}),
        ("counsellor pauses", r.dr, "session:pause", {"minutes": 20}),
        ("counsellor resumes", r.dr, "session:resume", {}),
        ("counsellor writes a private note", r.dr, "note:add",
         {"client_id": "dr-note-00001", "body": "Ben seems tense."}),
        ("counsellor messages a", r.dr, "note:add",
         {"client_id": "dr-msg-000001", "body": "Take your time, Ana.", "user_id": r.a.id}),
        ("counsellor chooses the next exercise", r.dr, "step:advance",
         {"step_id": HELD_STEP, "to_step_id": "talking-one-through"}),
        ("counsellor gives b the floor to speak", r.dr, "floor:grant",
         {"step_id": "talking-one-through", "user_id": r.b.id}),
        ("counsellor ends the session", r.dr, "session:end", {}),
    ]


def test_every_control_pushes_each_of_the_three_a_view_equal_to_a_fresh_load(room):
    """Zulip's rule for the counsellor's events: after each, the last push to each of the
    three equals their fresh GET and their session:join (a resync after a gap)."""
    r = room
    held = {seat.name: seat.fresh() for seat in r.three}
    r.drain()
    covered = set()
    for description, who, event, payload in script(r):
        ack = who.ok(event, **payload)
        if who is r.dr:
            covered.add(event)
        for seat in r.three:
            pushed = last_state(seat.pushes(), r.session_id)
            assert pushed is not None, f"after '{description}', {seat.name} got no push"
            assert pushed["session"]["version"] > held[seat.name]["session"]["version"]
            held[seat.name] = pushed
            assert pushed == seat.fresh(), f"after '{description}', {seat.name}'s view is stale"
            # A resync (session:join, as after a gap) gives the same view, changing nothing.
            assert seat.ok("session:join")["state"] == pushed, (description, seat.name)
        assert all(last_state(seat.pushes(), r.session_id) is None for seat in r.three)
        if event == "reveal:preview":
            assert [e["body"] for e in ack["entries"]] == ["a's room", "b's room"]
    assert covered >= set(CONTROLS) | {"session:pause", "session:resume"}
    # The counsellor's end is the same neutral early stop as any other: credited to nobody,
    # the same words for all three, no Activity line for it.
    for seat in r.three:
        final = held[seat.name]
        assert final["session"]["status"] == "ended"
        assert final["session"]["stopped"] == STOPPED
        assert "ended_by" not in final["moderation"]
        assert final["audit"][-1]["action"] == "floor_given"
        assert step_of(final, HELD_STEP)["revealed"]["entries"][1]["body"] == "b's room"


def test_every_control_is_forbidden_to_partners_and_uninvited_or_revoked_counsellors(room):
    """Before the counsellor takes each step of the script, the two partners, a granted
    counsellor nobody invited and the revoked one try the very same payload: forbidden,
    nothing changes, nothing is pushed to anyone."""
    r = room
    tried = set()
    for description, who, event, payload in script(r):
        if who is r.dr and event in CONTROLS:
            version = r.a.version()
            r.drain()
            for outsider in r.outsiders:
                attempt = dict(payload)
                if event == "note:add":
                    attempt["client_id"] = f"{outsider.name}-{payload['client_id']}"[:60]
                ack = outsider.emit(event, **attempt)
                assert ack["ok"] is False and ack["error"]["code"] == "forbidden", \
                    (outsider.name, description, ack)
                assert "entries" not in ack
                tried.add(event)
            assert r.a.version() == version, description
            for seat in r.everyone:
                assert last_state(seat.pushes(), r.session_id) is None, (description, seat.name)
        who.ok(event, **payload)
    assert tried == set(CONTROLS)
    # The same for a session that does not exist: nothing tells an outsider which ids do.
    for outsider in r.outsiders:
        ack = outsider.sock.emit("reveal:hold", {"session_id": "no-such-session",
                                                 "step_id": HELD_STEP}, callback=True)
        assert ack["error"]["code"] == "forbidden"


def test_the_audit_trail_names_every_control_and_read_with_who_and_when(room):
    r = room
    for _description, who, event, payload in script(r):
        who.ok(event, **payload)
    assert r.dr.get(f"/sessions/{r.session_id}/summary").status_code == 200
    state = r.b.fresh()
    audit = state["audit"]
    by_dora = [e for e in audit if e["actor_id"] == r.dr.id]
    assert all(e["actor_name"] == "Dora" and e["actor_role"] == "counsellor" for e in by_dora)
    assert all(e["at"].endswith("Z") for e in audit)
    actions = [e["action"] for e in by_dora]
    for expected in ("counsellor_joined", "opened", "step_advanced", "reveal_held",
                     "floor_given", "floor_opened", "answers_previewed", "reveal_released",
                     "answers_shown", "step_revisited", "revisit_closed", "card_shown",
                     "prompt_added", "session_paused", "session_resumed", "note_written",
                     "message_sent", "read_summary"):
        assert expected in actions, expected
    assert actions.count("step_advanced") == 3
    # The order the counsellor acted in (reads and consent around them).
    controls = [a for a in actions if a not in ("opened", "read_summary", "counsellor_joined",
                                                "answers_shown")]
    assert controls == ["step_advanced", "reveal_held", "step_advanced",
                        "floor_given", "floor_opened", "answers_previewed", "reveal_released",
                        "step_revisited", "revisit_closed", "card_shown", "prompt_added",
                        "session_paused", "session_resumed", "note_written", "message_sent",
                        "step_advanced", "floor_given"]
    # Her end of the session is the neutral early stop: no line says who ended it.
    assert not [e for e in audit if e["action"] == "session_ended"]
    by_step = {(e["action"], e["step_id"]) for e in by_dora}
    assert ("answers_previewed", HELD_STEP) in by_step and ("answers_shown", HELD_STEP) in by_step
    message = next(e for e in by_dora if e["action"] == "message_sent")
    assert message["target_user_id"] == r.a.id
    # Consent and the revoked counsellor are on the record too; the partners see it all.
    everyone = [(e["actor_id"], e["action"]) for e in audit]
    assert (r.a.id, "counsellor_invited") in everyone and (r.b.id, "counsellor_consented") in \
        everyone and (r.b.id, "counsellor_invited") in everyone
    assert (None, "counsellor_access_revoked") in everyone
    assert r.a.fresh()["audit"] == audit
    for entry in audit:
        assert set(entry) == {"actor_id", "actor_name", "actor_role", "action", "step_id",
                              "target_user_id", "at"}


# --- planted words reach only the people allowed to read them -------------------------------


@pytest.mark.real_check
def test_planted_words_reach_only_the_people_allowed_to_read_them(room):
    r = room
    m = {name: unique_marker(name) for name in (
        "draft-a", "draft-b", "answer-a", "answer-b", "draft-a2", "draft-b2", "unrevealed-b",
        "note", "message-a")}
    check_a, check_b = unique_marker("ca")[:60], unique_marker("cb")[:60]

    # The session's private check is open. Ana answers it first: her own screen has her
    # answers after a reload; once Ben's answer passes the check, nobody's screen has any.
    r.a.ok("check:submit", client_id=check_a, fields={"answers": clear_answers()})
    assert r.a.fresh()["check"]["mine"]["answers"] == clear_answers()
    r.b.ok("check:submit", client_id=check_b, fields={"answers": clear_answers()})
    for seat in (r.a, r.b):
        assert seat.fresh()["check"] == {"open": False}
    r.dr.ok("reveal:hold", step_id=HELD_STEP)
    for step in ("welcome", FIRST_JOINT):
        for seat in (r.a, r.b):
            seat.ok("step:ready", step_id=step)

    r.a.ok("entry:draft", step_id=HELD_STEP, body=m["draft-a"])
    r.b.ok("entry:draft", step_id=HELD_STEP, body=m["draft-b"])
    r.a.ok("entry:submit", step_id=HELD_STEP, client_id="a-held-0001", body=m["answer-a"])
    r.b.ok("entry:submit", step_id=HELD_STEP, client_id="b-held-0001", body=m["answer-b"])
    # Held: nobody sees the other's answer (the counsellor neither), nobody moves on.
    for seat in (r.b, r.dr, r.uma, r.rita):
        assert m["answer-a"] not in seat.received(), seat.name
    for seat in (r.a, r.dr, r.uma, r.rita):
        assert m["answer-b"] not in seat.received(), seat.name
    for seat in (r.a, r.b):
        ack = seat.emit("step:ready", step_id=HELD_STEP)
        assert not ack["ok"] and ack["error"]["code"] == "conflict", ack
    dora_state = r.dr.fresh()
    assert step_of(dora_state, HELD_STEP)["submitted"] == [r.a.id, r.b.id]
    assert step_of(dora_state, HELD_STEP)["held"] is True

    preview = r.dr.ok("reveal:preview", step_id=HELD_STEP)
    assert [e["body"] for e in preview["entries"]] == [m["answer-a"], m["answer-b"]]
    # The preview ack is the only place the counsellor has read a held answer.
    assert r.dr.entries_holding(m["answer-b"]) == [("ack reveal:preview", preview)]
    assert r.dr.entries_holding(m["answer-a"]) == [("ack reveal:preview", preview)]
    assert m["answer-b"] not in r.a.received() and m["answer-a"] not in r.b.received()
    r.dr.ok("reveal:release", step_id=HELD_STEP)
    for seat in r.three:
        shown = step_of(last_state(seat.pushes(), r.session_id), HELD_STEP)
        assert [e["body"] for e in shown["revealed"]["entries"]] == [m["answer-a"],
                                                                     m["answer-b"]]

    # A prompt from the counsellor: Ben answers, Ana only drafts, so it is never shown.
    r.dr.ok("card:add", kind="prompt", body="What would a good week look like?")
    for seat in (r.a, r.b):
        seat.ok("step:ready", step_id=HELD_STEP)
    inserted = r.a.fresh()["session"]["current_step_id"]
    assert inserted.startswith("counsellor-")
    r.b.ok("entry:draft", step_id=inserted, body=m["draft-b2"])
    r.b.ok("entry:submit", step_id=inserted, client_id="b-inserted-01", body=m["unrevealed-b"])
    r.a.ok("entry:draft", step_id=inserted, body=m["draft-a2"])

    note = r.dr.ok("note:add", client_id="dr-note-00001", body=m["note"])
    assert note["note"]["private"] is True and note["note"]["body"] == m["note"]
    message = r.dr.ok("note:add", client_id="dr-msg-000001", body=m["message-a"],
                      user_id=r.a.id)
    assert message["note"]["to_user_id"] == r.a.id

    # Everything each can fetch over HTTP goes into what they received.
    sid = r.session_id
    for seat in r.everyone:
        seat.get(f"/sessions/{sid}")
        for fmt in ("json", "md"):
            seat.get(f"/sessions/{sid}/summary?format={fmt}")
        seat.get("/me")
        seat.get("/counsellor/sessions")
    for seat in (r.uma, r.rita):
        assert seat.emit("session:join")["error"]["code"] == "not_found"
        assert seat.get(f"/sessions/{sid}").status_code == 404
    assert r.uma.get("/counsellor/sessions").get_json()["sessions"] == []
    [row] = r.dr.get("/counsellor/sessions").get_json()["sessions"]
    assert row["session"]["id"] == sid and row["step"]["submitted"] == [r.b.id]

    seen = {seat.name: seat.received() for seat in r.everyone}

    def only(text: str, *names: str) -> None:
        for name, received in seen.items():
            if name in names:
                assert text in received, f"{name} never received {text[:20]}…"
            else:
                assert text not in received, f"{text[:20]}… reached {name}"

    only(m["note"], "Dora")
    dora_summary = json.dumps([item for label, item in r.dr.log if "summary" in label])
    assert m["note"] in dora_summary  # the counsellor's own summary keeps her notes
    only(m["message-a"], "Dora", "Ana")
    only(m["draft-a"], "Ana")
    only(m["draft-a2"], "Ana")
    only(m["draft-b"], "Ben")
    only(m["draft-b2"], "Ben")
    only(m["unrevealed-b"], "Ben")
    # The check's answers are not kept: not even their client ids come back, to anyone.
    only(check_a)
    only(check_b)
    # Ana's check answers (shown on her screen while she waited for Ben) are in no one
    # else's packets, in any shape; Ben's answer passed the check, so his are in none.
    for seat in r.everyone:
        answered = [d for _label, item in seat.log for d in walk(item) if "safe_at_home" in d]
        assert bool(answered) == (seat is r.a), seat.name
    only(m["answer-a"], "Ana", "Ben", "Dora")
    only(m["answer-b"], "Ana", "Ben", "Dora")
    # The counsellor never receives anyone's check answers, in any shape.
    for _label, item in r.dr.log:
        for d in walk(item):
            assert not isinstance(d.get("answers"), dict), d
    # Partners' summaries carry no notes, and no message but (at most) the reader's own.
    for seat in (r.a, r.b):
        for label, item in seat.log:
            if "summary" in label:
                assert m["note"] not in item and m["message-a"] not in item
    # The audit trail, in every view anyone received, holds no planted words.
    trails = [d["audit"] for seat in r.everyone for _label, item in seat.log
              for d in walk(item) if isinstance(d.get("audit"), list)]
    assert trails and any(trails)
    text = json.dumps(trails)
    for marker in (*m.values(), check_a, check_b):
        assert marker not in text
    assert "safe_at_home" not in text


@pytest.mark.real_check
def test_a_concerning_check_answer_tells_the_counsellor_only_to_check_in_with_each_partner(
        room):
    r = room
    concerning = concerning_answers()
    [(question, option)] = [(q, o) for q, o in concerning.items() if clear_answers()[q] != o]
    assert r.dr.fresh()["check"] == {"open": True, "flag": False, "message": None}
    before = {seat.name: seat.fresh() for seat in (r.a, r.b)}
    r.drain()
    r.a.ok("check:submit", client_id="a-flag-0001", fields={"answers": concerning})

    # The counsellor's view carries the flag, and it names nobody.
    flagged = r.dr.fresh()
    assert flagged["check"] == {"open": True, "flag": True, "message": FLAG_MESSAGE}
    assert last_state(r.dr.pushes(), r.session_id)["check"] == flagged["check"]
    [row] = r.dr.get("/counsellor/sessions").get_json()["sessions"]
    assert row["flags"] == [{"message": FLAG_MESSAGE}]
    told = json.dumps([flagged["check"], row["flags"]])
    for partner in (r.a, r.b):
        assert partner.id not in told and partner.person.user["display_name"] not in told
        assert partner.person.email not in told
    # Nor can she point at a person: a message to one partner waits for a check-in to both.
    refused = r.dr.emit("note:add", client_id="dr-flag-msg-01", body="Are you alright?",
                        user_id=r.a.id)
    assert refused["ok"] is False and refused["error"]["code"] == "conflict", refused

    # Ben's screen does not change in any byte: no packet, the same view on a reload.
    assert r.b.pushes() == []
    assert r.b.fresh() == before["Ben"]
    # Ana sees only her own answer and the support it asks for, never the flag.
    after = r.a.fresh()
    assert after["check"]["mine"] == {"answers": concerning, "clear": False, "help": True}
    assert "flag" not in after["check"]
    for key in set(after) | set(before["Ana"]):
        if key not in ("check", "session"):
            assert after[key] == before["Ana"][key], key
    assert {**after["session"], "version": None} == {**before["Ana"]["session"], "version": None}
    for seat in (r.a, r.b, r.uma, r.rita):
        assert FLAG_MESSAGE not in seat.received(), seat.name
        shapes = [d for _label, item in seat.log for d in walk(item)]
        # (Rita saw the unflagged check while she was still the counsellor.)
        assert not [d for d in shapes if d.get("flag") or ("flag" in d and seat in (r.a, r.b))]
    for seat in (r.b, r.uma, r.rita):
        shapes = [d for _label, item in seat.log for d in walk(item)]
        assert not [d for d in shapes if d.get(question) == option], seat.name


@pytest.mark.real_check
def test_the_counsellor_cannot_move_the_session_on_before_both_passed_its_check(room):
    """Joint work waits for the private check, whoever tries to start it: while it is open
    (nobody has answered, or one partner has), the counsellor's step:advance is refused and
    nothing changes for the partners; once both answered clear, she moves the session on."""
    r = room
    r.drain()
    for answered_by in (None, r.a):
        if answered_by is not None:
            answered_by.ok("check:submit", client_id="a-check-advance",
                           fields={"answers": clear_answers()})
            r.drain()
        version = r.b.version()
        refused = r.dr.emit("step:advance", step_id="welcome")
        assert refused["ok"] is False and refused["error"]["code"] == "conflict", refused
        assert r.b.version() == version
        assert r.a.fresh()["session"]["current_step_id"] == "welcome"
        for seat in (r.a, r.b):
            assert last_state(seat.pushes(), r.session_id) is None
    r.b.ok("check:submit", client_id="b-check-advance", fields={"answers": clear_answers()})
    r.dr.ok("step:advance", step_id="welcome")
    assert r.b.fresh()["session"]["current_step_id"] == FIRST_JOINT


# --- a held reveal, and a counsellor who drops out ------------------------------------------


def test_a_held_reveal_is_shown_once_when_released_however_often_it_is_released(room):
    r = room
    r.dr.ok("reveal:hold", step_id=HELD_STEP)
    r.dr.ok("step:advance", step_id="welcome")
    r.dr.ok("step:advance", step_id=FIRST_JOINT)
    for seat, name in ((r.a, "a"), (r.b, "b")):
        seat.ok("entry:submit", step_id=HELD_STEP, client_id=f"{name}-once-0001",
                body=f"{name} once")
    for seat in (r.a, r.b):
        assert step_of(seat.fresh(), HELD_STEP)["status"] == "open"
        assert seat.emit("reveal:preview", step_id=HELD_STEP)["error"]["code"] == "forbidden"
    assert reveal_count(r.app, r.session_id) == 0
    r.drain()
    barrier = threading.Barrier(2)
    second = r.dr.person.socket(r.app)
    acks = []

    def release(sock) -> None:
        barrier.wait(timeout=10)
        acks.append(sock.emit("reveal:release", {"session_id": r.session_id,
                                                 "step_id": HELD_STEP}, callback=True))

    threads = [threading.Thread(target=release, args=(s,)) for s in (r.dr.sock, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    second.disconnect()
    assert [a["ok"] for a in acks] == [True, True], acks
    assert reveal_count(r.app, r.session_id) == 1
    for seat in r.three:
        states = [p["args"][0] for p in seat.pushes() if p["name"] == "session:state"]
        assert len(states) == 1, seat.name  # one change: the reveal
        assert step_of(states[0], HELD_STEP)["status"] == "revealed"
    again = r.dr.ok("reveal:release", step_id=HELD_STEP)
    assert again == {"ok": True}
    assert all(last_state(seat.pushes(), r.session_id) is None for seat in r.three)
    shown = [e for e in r.a.fresh()["audit"] if e["action"] == "answers_shown"]
    assert len(shown) == 1 and shown[0]["step_id"] == HELD_STEP


def test_partners_carry_on_without_the_counsellor_but_not_past_a_hold(room):
    r = room
    r.dr.ok("reveal:hold", step_id=HELD_STEP)
    last_pushed_to_dora = r.dr.fresh()
    r.dr.disconnect()
    presence = [p["args"][0] for p in r.a.pushes() if p["name"] == "presence"]
    assert presence and r.dr.id not in presence[-1]["online"]

    for step in ("welcome", FIRST_JOINT):
        for seat in (r.a, r.b):
            seat.ok("step:ready", step_id=step)
    for seat, name in ((r.a, "a"), (r.b, "b")):
        seat.ok("entry:submit", step_id=HELD_STEP, client_id=f"{name}-offline-2",
                body=f"{name} offline")
    # The hold stays in force with the counsellor away.
    for seat in (r.a, r.b):
        state = seat.fresh()
        assert state["moderation"]["held"] == [HELD_STEP]
        assert step_of(state, HELD_STEP)["status"] == "open"
        assert step_of(state, HELD_STEP)["revealed"] is None
        assert seat.emit("step:ready", step_id=HELD_STEP)["error"]["code"] == "conflict"
    assert reveal_count(r.app, r.session_id) == 0

    # Back again: Dora finds the session exactly where it is.
    r.dr.connect()
    rejoined = r.dr.ok("session:join")["state"]
    assert rejoined["session"]["version"] > last_pushed_to_dora["session"]["version"]
    assert rejoined == r.dr.fresh()
    assert rejoined["session"]["current_step_id"] == HELD_STEP
    assert rejoined["moderation"]["held"] == [HELD_STEP]
    assert step_of(rejoined, HELD_STEP)["submitted"] == [r.a.id, r.b.id]
    # The same session as the partners': a view's version also counts that viewer's own
    # private changes (Ana's answer to the private check), so only the rest must agree.
    assert {**rejoined["session"], "version": None} == {**r.a.fresh()["session"],
                                                        "version": None}
    r.drain()
    r.dr.ok("reveal:release", step_id=HELD_STEP)
    for seat in r.three:
        pushed = last_state(seat.pushes(), r.session_id)
        assert step_of(pushed, HELD_STEP)["status"] == "revealed"
        assert pushed == seat.fresh()
    for seat in (r.a, r.b):
        seat.ok("step:ready", step_id=HELD_STEP)
    assert r.a.fresh()["session"]["current_step_id"] == "needs-and-offers"


def test_a_revoked_counsellors_open_socket_hears_nothing_more_from_the_session(room):
    """Rita's role was revoked (by `mend counsellor revoke`, from outside the server) while
    her socket was in the session. Once the session changes, nothing more reaches that
    socket (not who is online, not who is typing), she cannot show herself typing, and the
    partners' presence no longer counts her as there."""
    r = room
    for seat in (r.a, r.b):
        seat.ok("step:ready", step_id="welcome")
    typing = r.rita.emit("presence:typing", step_id=FIRST_JOINT, typing=True)
    r.a.ok("presence:typing", step_id=FIRST_JOINT, typing=True)
    r.b.disconnect()
    heard = [(p["name"], p["args"][0]) for p in r.rita.pushes()]
    presence = [p["args"][0] for p in r.a.pushes() if p["name"] == "presence"]
    problems = []
    if heard:
        problems.append(f"the revoked counsellor's socket still hears the session: {heard}")
    if typing["ok"]:
        problems.append("the revoked counsellor can still send typing into the session")
    if any(r.rita.id in p["online"] or r.rita.id in p["typing"] for p in presence):
        problems.append(f"the partners' presence still lists the revoked counsellor: {presence}")
    assert presence and not problems, "\n".join(problems)
