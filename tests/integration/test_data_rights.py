"""Data rights, over the real handlers and a real database (SQLite and PostgreSQL).

A couple works through "Setting boundaries together" with a counsellor: every kind of
words Mend keeps is planted with a unique marker (revealed answers, boundary items and
counter-proposals, agreements, listening turns, an unrevealed closing answer, a draft, a
break reason, the counsellor's private note and her messages to each partner). Then:

* each person's export holds their own words and what was revealed to them, and never
  the other partner's unrevealed answer, draft or break reason, nor a counsellor's note or
  her message to the other partner; answers to the private check that opens the session
  are in nobody's export (not even their author's): the export says they are not kept;
* erasing an account with the wrong password changes nothing in the database;
* erasing it with the right one: the account can't log in, its e-mail can sign up anew,
  the partner's view and summary show the answers as removed and contain none of the
  erased person's words, and no row of any table still holds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from server.models import Base, User
from server.services import accounts
from server.services.data_rights import ERASED_NAME, REMOVED_TEXT
from tests.checking import clear_answers, concerning_answers
from tests.conftest import unique_marker
from tests.integration.conftest import Person

# The scene answers the private check that opens its session itself, over the sockets.
pytestmark = pytest.mark.real_check

TRACK = "setting-boundaries-together"
CHECK_QUESTIONS = set(clear_answers())


@dataclass
class Seat:
    """One person in the session: their browser, their socket, and what it received."""

    person: Person
    app: Flask
    session_id: str = ""
    sock: Any = None
    received: list = field(default_factory=list)
    count: int = 0

    @property
    def id(self) -> str:
        return self.person.user["id"]

    def connect(self) -> Seat:
        self.sock = self.person.socket(self.app)
        assert self.sock.is_connected()
        return self

    def ok(self, event: str, **payload) -> dict:
        ack = self.sock.emit(event, {"session_id": self.session_id, **payload}, callback=True)
        assert ack["ok"], (event, payload, ack)
        return ack

    def turn(self, step_id: str, kind: str, **payload) -> dict:
        self.count += 1
        return self.ok("turn:submit", step_id=step_id, kind=kind,
                       client_id=f"turn-{self.id[:8]}-{self.count:04d}", **payload)

    def submit(self, step_id: str, **payload) -> dict:
        self.count += 1
        return self.ok("entry:submit", step_id=step_id,
                       client_id=f"entry-{self.id[:8]}-{self.count:04d}", **payload)["entry"]

    def pushes(self) -> list:
        if self.sock is not None and self.sock.is_connected():
            self.received += self.sock.get_received()
        return self.received

    def export(self) -> dict:
        response = self.person.get("/me/export")
        assert response.status_code == 200, response.get_json()
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()

    def erase(self, password: str):
        return self.person.client.delete("/api/v1/me", json={"password": password},
                                         headers=self.person.csrf())


@dataclass
class Scene:
    app: Flask
    session_id: str
    a: Seat  # Ana, whose account is erased in the erasure tests
    b: Seat  # Ben, her partner
    dr: Seat  # Dora, their counsellor
    m: dict[str, str]  # every planted marker, by name
    ids: dict[str, str]  # entry ids the other side must never receive

    def a_words(self) -> list[str]:
        return [v for k, v in self.m.items() if k.startswith("a_")]


def grant(app: Flask, person: Person) -> None:
    with app.extensions["mend"].database.session() as db:
        accounts.grant_counsellor(db, person.email)


def table_dump(app: Flask) -> str:
    """Every row of every table, as one string: what a disk holds after an erasure."""
    rows = {}
    with app.extensions["mend"].database.session() as db:
        for table in Base.metadata.sorted_tables:
            rows[table.name] = [dict(r._mapping) for r in db.execute(table.select())]
        rows["alembic_version"] = [list(r) for r in db.execute(
            text("SELECT version_num FROM alembic_version"))]
    return json.dumps(rows, default=str, sort_keys=True)


@pytest.fixture
def scene(app, signup) -> Scene:
    m = {name: unique_marker(name) for name in (
        "a_name", "a_room", "a_need", "a_offer", "a_counter", "a_note", "a_mirror",
        "a_validate", "a_empathise", "a_closing", "a_reason",
        "b_name", "b_room", "b_need", "b_counter", "b_share", "b_closing_draft",
        "dr_private", "dr_to_a", "dr_to_b")}
    ana, ben = signup(m["a_name"]), signup(m["b_name"])
    dora = signup("Dora", role="counsellor")
    grant(app, dora)
    code = ana.post("/couples").get_json()["invite_code"]
    couple_id = ben.post("/couples/join", {"invite_code": code}).get_json()["couple"]["id"]
    started = ana.post("/sessions", {"couple_id": couple_id, "track_id": TRACK})
    assert started.status_code == 201, started.get_json()
    sid = started.get_json()["session"]["id"]
    a, b, dr = (Seat(p, app, sid) for p in (ana, ben, dora))
    a.connect().ok("session:join")
    b.connect().ok("session:join")
    ids = {}

    def both_ready(step_id: str) -> None:
        a.ok("step:ready", step_id=step_id)
        b.ok("step:ready", step_id=step_id)

    # The counsellor: Ana invites, Ben agrees, Dora joins.
    invite = ana.post(f"/sessions/{sid}/counsellor-invite")
    assert invite.status_code == 201, invite.get_json()
    assert ben.post(f"/sessions/{sid}/counsellor-consent").status_code == 200
    joined = dora.post("/counsellor/join", {"invite_code": invite.get_json()["invite_code"]})
    assert joined.status_code == 200, joined.get_json()
    dr.connect().ok("session:join")

    # The private check that opens the session: each answers it on their own socket.
    for seat, key in ((a, "a_check"), (b, "b_check")):
        ids[key] = unique_marker(key)[:60]
        seat.ok("check:submit", client_id=ids[key], fields={"answers": clear_answers()})
    both_ready("welcome")
    both_ready("agreements-not-walls")
    a.submit("room-of-my-own", body=m["a_room"])
    b.submit("room-of-my-own", body=m["b_room"])
    both_ready("room-of-my-own")

    # Boundaries: each lists an item; each counters the other's; both agree.
    a.submit("needs-and-offers", fields={"items": [{"need": m["a_need"],
                                                    "offer": m["a_offer"]}]})
    b.submit("needs-and-offers", fields={"items": [{"need": m["b_need"]}]})
    b.turn("needs-and-offers", "counter", body=None,
           fields={"item": f"{a.id}-1", "need": m["b_counter"]})
    a.turn("needs-and-offers", "agree", fields={"item": f"{a.id}-1"})
    a.turn("needs-and-offers", "counter", body=m["a_note"],
           fields={"item": f"{b.id}-1", "need": m["a_counter"]})
    b.turn("needs-and-offers", "agree", fields={"item": f"{b.id}-1"})
    both_ready("needs-and-offers")

    # Listening: Ben speaks, Ana listens (one round; the step is optional).
    b.turn("talking-one-through", "speak_first")
    a.turn("talking-one-through", "ready")
    b.turn("talking-one-through", "share", body=m["b_share"])
    a.turn("talking-one-through", "mirror", body=m["a_mirror"])
    b.turn("talking-one-through", "confirm")
    a.turn("talking-one-through", "validate", body=m["a_validate"])
    a.turn("talking-one-through", "empathise", body=m["a_empathise"])
    b.turn("talking-one-through", "heard", fields={"heard": "yes"})
    both_ready("talking-one-through")

    # The closing, under way: Ana's answer is in (not revealed), Ben has a draft, and Ana
    # has called a break with a reason only she may read.
    ids["a_closing"] = a.submit("closing", body=m["a_closing"], fields={"value": 7})["id"]
    b.ok("entry:draft", step_id="closing", body=m["b_closing_draft"], fields={"value": 3})
    a.ok("session:pause", reason=m["a_reason"])

    # Dora's private note, and a private message to each partner.
    for key, to in (("dr_private", None), ("dr_to_a", a.id), ("dr_to_b", b.id)):
        dr.count += 1
        dr.ok("note:add", client_id=f"note-{dr.count:04d}-{key}", body=m[key], user_id=to)
    for seat in (a, b, dr):
        seat.pushes()
    yield Scene(app, sid, a, b, dr, m, ids)
    for seat in (a, b, dr):
        if seat.sock is not None and seat.sock.is_connected():
            seat.sock.disconnect()


def session_part(export: dict, session_id: str) -> dict:
    return next(s for s in export["sessions"] if s["session"]["id"] == session_id)


def check_answers_in(value: Any) -> list[dict]:
    """Every dict anywhere in an export keyed by a question of the private check."""
    found = []
    if isinstance(value, dict):
        if CHECK_QUESTIONS & set(value):
            found.append(value)
        for item in value.values():
            found += check_answers_in(item)
    elif isinstance(value, list):
        for item in value:
            found += check_answers_in(item)
    return found


def says_check_answers_are_not_kept(exported: dict) -> bool:
    return any("private check" in line and "deleted" in line for line in exported["not_kept"])


# --- export ------------------------------------------------------------------------------


def test_an_export_holds_my_words_and_what_was_revealed_to_me_and_nothing_private_of_others(
        scene):
    m = scene.m
    exported = scene.a.export()
    whole = json.dumps(exported)
    assert exported["account"]["email"] == scene.a.person.email
    assert "password" not in whole and "pbkdf2" not in whole and "scrypt" not in whole
    # Mine: every answer, revealed or not, every turn; and what Ben revealed to me.
    for key in ("a_name", "a_room", "a_need", "a_offer", "a_counter", "a_note", "a_mirror",
                "a_validate", "a_empathise", "a_closing", "a_reason", "b_room", "b_need",
                "b_counter", "b_share", "dr_to_a"):
        assert m[key] in whole, key
    part = session_part(exported, scene.session_id)
    mine = part["mine"]
    assert [e["body"] for e in mine["entries"] if e["step_id"] == "closing"] == [m["a_closing"]]
    # Not even my own answers to the private check: the export says they are not kept.
    assert says_check_answers_are_not_kept(exported)
    assert check_answers_in(exported) == []
    assert scene.ids["a_check"] not in whole and scene.ids["b_check"] not in whole
    assert scene.ids["a_check"] not in table_dump(scene.app)
    revealed = next(s for s in part["summary"]["steps"] if s["id"] == "room-of-my-own")
    assert {a["body"] for a in revealed["answers"]} == {m["a_room"], m["b_room"]}
    assert {"action": "counsellor_joined"}.items() <= next(
        e for e in part["audit"] if e["action"] == "counsellor_joined").items()
    assert [n["body"] for n in part["notes"]] == [m["dr_to_a"]]
    assert mine["break_reason"] == m["a_reason"]
    # Never: Ben's unrevealed draft; Dora's note, and her message to Ben.
    for key in ("b_closing_draft", "dr_private", "dr_to_b"):
        assert m[key] not in whole, key
    agreements = {r["text"] for r in exported["records"] if r["kind"] == "agreement"}
    # A counter-proposal's wording replaces the item's: each agreement is in those words.
    assert agreements == {f"I need {m['b_counter']}", f"I need {m['a_counter']}"}


def test_the_partners_export_holds_his_draft_but_never_her_unrevealed_answer_or_break_reason(
        scene):
    m = scene.m
    exported = scene.b.export()
    whole = json.dumps(exported)
    for key in ("b_closing_draft", "b_room", "a_room", "a_mirror", "dr_to_b"):
        assert m[key] in whole, key
    for key in ("a_closing", "a_reason", "dr_private", "dr_to_a"):
        assert m[key] not in whole, key
    assert scene.ids["a_closing"] not in whole
    assert says_check_answers_are_not_kept(exported) and check_answers_in(exported) == []
    assert scene.ids["a_check"] not in whole and scene.ids["b_check"] not in whole


def test_a_check_answer_waiting_for_the_partner_is_not_in_the_partners_export(app, couple):
    """While the private check is open, Ana's answer (here a concerning one) is kept for her
    screen until the check resolves: Ben's export has no trace of it."""
    started = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK})
    assert started.status_code == 201, started.get_json()
    a = Seat(couple.a, app, started.get_json()["session"]["id"]).connect()
    a.ok("session:join")
    pending = unique_marker("pending")[:60]
    a.ok("check:submit", client_id=pending, fields={"answers": concerning_answers()})
    assert a.ok("session:join")["state"]["check"]["mine"]["clear"] is False
    exported = Seat(couple.b, app).export()
    assert says_check_answers_are_not_kept(exported)
    assert check_answers_in(exported) == [] and pending not in json.dumps(exported)
    a.sock.disconnect()


def test_the_counsellors_export_holds_her_notes_and_never_a_draft_or_an_unrevealed_answer(
        scene):
    m = scene.m
    exported = scene.dr.export()
    whole = json.dumps(exported)
    for key in ("dr_private", "dr_to_a", "dr_to_b", "a_room", "b_room"):
        assert m[key] in whole, key
    for key in ("a_closing", "b_closing_draft", "a_reason"):
        assert m[key] not in whole, key
    assert session_part(exported, scene.session_id)["mine"] is None


def test_an_export_needs_a_log_in(app):
    response = app.test_client().get("/api/v1/me/export")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


# --- erasure -----------------------------------------------------------------------------


def test_a_wrong_password_erases_nothing(scene):
    before = table_dump(scene.app)
    for password in ("not the password", ""):
        response = scene.a.erase(password)
        assert response.status_code in (400, 403), response.get_json()
        assert response.get_json()["error"]["code"] in ("forbidden", "invalid")
    response = scene.a.erase("not the password")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert table_dump(scene.app) == before
    assert scene.a.person.get("/me").status_code == 200


def test_an_erased_account_is_gone_and_its_email_is_free(scene, app):
    a = scene.a
    response = a.erase(a.person.password)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"ok": True}
    # This browser is logged out, the socket closed, and the password works nowhere.
    assert a.person.get("/me").status_code == 401
    assert not a.sock.is_connected()
    client = app.test_client()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    login = client.post("/api/v1/auth/login", headers={"X-CSRFToken": token},
                        json={"email": a.person.email, "password": a.person.password})
    assert login.status_code == 401
    # The address signs up again, as a new account.
    signup = client.post("/api/v1/auth/signup", headers={"X-CSRFToken": token},
                         json={"email": a.person.email, "password": "a new password",
                               "display_name": "Ana again"})
    assert signup.status_code in (201, 202), signup.get_json()
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    again = client.post("/api/v1/auth/login", headers={"X-CSRFToken": token},
                        json={"email": a.person.email, "password": "a new password"})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["user"]["id"] != a.id


def test_the_partners_history_shows_the_answers_as_removed_and_none_of_her_words(scene):
    a, b, m = scene.a, scene.b, scene.m
    b.pushes()
    password_hash = _password_hash(scene.app, a.id)
    assert a.erase(a.person.password).status_code == 200

    view = b.person.get(f"/sessions/{scene.session_id}").get_json()["state"]
    summary = b.person.get(f"/sessions/{scene.session_id}/summary").get_json()["summary"]
    markdown = b.person.get(f"/sessions/{scene.session_id}/summary?format=md"
                            ).get_data(as_text=True)
    pushed = [p["args"][0] for p in b.pushes() if p["name"] == "session:state"]
    assert pushed, "Ben's screen was not told"
    for shown in (view, summary, markdown, pushed[-1], b.export()):
        whole = json.dumps(shown)
        for word in scene.a_words():
            assert word not in whole
        for key in ("b_room", "b_need", "b_share"):  # his own words stay his
            assert m[key] in whole, key
    # The answers Ben read are there, shown as removed; the session ended where it stood.
    assert view["session"]["status"] == "ended"
    names = {p["user_id"]: p["display_name"] for p in view["participants"]}
    assert names[a.id] == ERASED_NAME
    room = next(s for s in view["steps"] if s["id"] == "room-of-my-own")
    assert {e["user_id"]: e["body"] for e in room["revealed"]["entries"]} == {
        a.id: REMOVED_TEXT, b.id: m["b_room"]}
    room = next(s for s in summary["steps"] if s["id"] == "room-of-my-own")
    assert [x["body"] for x in room["answers"]] == [REMOVED_TEXT, m["b_room"]]
    listening = next(s for s in view["steps"] if s["id"] == "talking-one-through")
    spoken = {t["kind"]: t["body"] for t in listening["listening"]["turns"]}
    assert spoken["share"] == m["b_share"] and spoken["mirror"] == REMOVED_TEXT
    assert REMOVED_TEXT in markdown
    # Nothing of hers is left anywhere on disk: no row of any table holds her words, her
    # name, her e-mail or her password hash.
    dump = table_dump(scene.app)
    for word in [*scene.a_words(), a.person.email, password_hash]:
        assert word not in dump
    assert m["b_closing_draft"] in dump and m["b_share"] in dump  # Ben's are untouched


def test_the_counsellor_loses_the_erased_partners_messages_and_ben_keeps_his(scene):
    assert scene.a.erase(scene.a.person.password).status_code == 200
    dr_view = scene.dr.person.get(f"/sessions/{scene.session_id}").get_json()["state"]
    notes = {n["body"] for n in dr_view["notes"]}
    assert notes == {scene.m["dr_private"], scene.m["dr_to_b"]}


def test_an_erased_counsellor_leaves_and_her_notes_go(scene):
    dump_before = table_dump(scene.app)
    assert scene.m["dr_private"] in dump_before
    assert scene.dr.erase(scene.dr.person.password).status_code == 200
    view = scene.b.person.get(f"/sessions/{scene.session_id}").get_json()["state"]
    assert view["counsellor"]["present"] is None
    assert view["session"]["status"] == "active"  # the couple carries on
    assert view["notes"] == []
    assert {e["actor_name"] for e in view["audit"] if e["actor_id"] == scene.dr.id} == {
        ERASED_NAME}
    dump = table_dump(scene.app)
    for key in ("dr_private", "dr_to_a", "dr_to_b"):
        assert scene.m[key] not in dump
    assert scene.dr.person.email not in dump


def test_an_account_alone_in_a_couple_takes_the_couple_with_it(app, signup):
    solo = signup("Solo")
    code = solo.post("/couples").get_json()["invite_code"]
    assert solo.client.delete("/api/v1/me", json={"password": solo.password},
                              headers=solo.csrf()).status_code == 200
    dump = table_dump(app)
    assert code not in dump and solo.user["id"] in dump  # the id stays: nothing else
    other = signup("Other")
    joined = other.post("/couples/join", {"invite_code": code})
    assert joined.status_code in (404, 409), joined.get_json()


def _password_hash(app: Flask, user_id: str) -> str:
    with app.extensions["mend"].database.session() as db:
        return db.scalar(select(User.password_hash).where(User.id == user_id))


def test_a_removed_answer_says_so_and_the_couple_starts_nothing_new(scene):
    """The partner's screen gets `removed` (not an empty widget), and a couple with an
    erased partner can't start a session that could never reveal anything."""
    a, b = scene.a, scene.b
    assert a.erase(a.person.password).status_code == 200
    view = b.person.get(f"/sessions/{scene.session_id}").get_json()["state"]
    room = next(s for s in view["steps"] if s["id"] == "room-of-my-own")
    removed = {e["user_id"]: e["removed"] for e in room["revealed"]["entries"]}
    assert removed == {a.id: True, b.id: False}
    couple_id = b.person.get("/me").get_json()["couples"][0]["id"]
    started = b.person.post("/sessions", {"couple_id": couple_id, "track_id": "weekly-check-in"})
    assert started.status_code == 409, started.get_json()
    assert "deleted their account" in started.get_json()["error"]["message"]
