"""Agreements after the session that made them, over real HTTP, sockets and database: made
on a boundary step, listed for both partners, set aside, brought back, withdrawn and kept
by either partner (the other told in a sentence and by a push), due for review on their
revisit date, and private to the couple. Also: a boundary flag reaches only the author of
the words it is about (a planted marker searched in everything the other partner got)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from server.content import TrackLibrary
from server.engine.tracks import Step, Track, freeze
from server.models import CoupleRecord
from server.services import agreements
from tests.integration.test_opening_review import Pair

TRACK_ID = "agreements-test"
FLAG_MARKER = "FLAGMARKER-5d0c"
TRACK = Track(id=TRACK_ID, title="Agreements", summary="For tests.", version=1, steps=(
    Step(id="lists", kind="boundary", title="Needs and offers", prompt="List a few.",
         settings=freeze({"revisit_days": 10, "flags": [
             {"id": "monitoring", "phrases": ["your passwords"],
              "message": f"{FLAG_MARKER} a gentle note for the writer only."}]})),
    Step(id="bye", kind="info", title="Bye", body="Until next time."),
))


@pytest.fixture
def agreement_track(app):
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: TRACK})
    yield
    ctx.library = original


def make_agreements(app, couple) -> tuple[Pair, dict[str, str]]:
    """A session in which B agrees to A's two items; returns the pair and item text -> id."""
    s = Pair(app, couple, TRACK_ID)
    s.act("a", "entry:submit", step_id="lists", client_id="ag-a-0001",
          fields={"items": [{"need": "a text when you're running late"},
                            {"offer": "cook on Fridays"}]})
    s.act("b", "entry:submit", step_id="lists", client_id="ag-b-0001",
          fields={"items": [{"need": "an evening to myself each week"}]})
    items = {i["text"]: i["id"] for i in s.step("b", "lists")["items"]}
    for n, text in enumerate(["I need a text when you're running late", "I'll cook on Fridays"]):
        s.act("b", "turn:submit", step_id="lists", client_id=f"ag-mv-b-{n}", kind="agree",
              fields={"item": items[text]})
    s.act("a", "turn:submit", step_id="lists", client_id="ag-mv-a-0", kind="park",
          fields={"item": items["I need an evening to myself each week"]})
    return s, items


def listed(person, couple_id) -> dict:
    response = person.get(f"/couples/{couple_id}/agreements")
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def by_text(payload) -> dict[str, dict]:
    return {a["text"]: a for a in payload["agreements"]}


def events(sock, name: str) -> list:
    return [p["args"][0] for p in sock.get_received() if p["name"] == name]


LATE = "I need a text when you're running late"
COOK = "I'll cook on Fridays"


def test_agreements_live_on_and_either_partner_can_change_them(app, couple, agreement_track):
    # A home open on another device hears of each agreement made in the session (two
    # agreed; the parked item makes none).
    home_a = couple.a.socket(app)
    home_a.get_received()
    s, _ = make_agreements(app, couple)
    assert len(events(home_a, "agreements:changed")) == 2
    home_a.disconnect()
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]
    today = datetime.utcnow().date()
    for person in (couple.a, couple.b):
        mine = by_text(listed(person, couple.couple_id))
        assert set(mine) == {LATE, COOK}  # the parked item is no agreement
        assert mine[LATE]["status"] == "active" and mine[LATE]["proposed_by"] == a_id
        assert mine[LATE]["revisit_on"] == (today + timedelta(days=10)).isoformat()
    late_id = by_text(listed(couple.a, couple.couple_id))[LATE]["id"]
    cook_id = by_text(listed(couple.a, couple.couple_id))[COOK]["id"]

    # B sets one aside: both read it so, and A (not B) is told in a sentence and a push.
    for sock in s.socks.values():
        sock.get_received()
    done = couple.b.post(f"/agreements/{late_id}/set-aside")
    assert done.status_code == 200 and done.get_json()["agreement"]["status"] == "set_aside"
    assert events(s.socks["a"], "agreements:changed") == [{"agreement_id": late_id}]
    assert events(s.socks["b"], "agreements:changed") == [{"agreement_id": late_id}]
    seen_a, seen_b = listed(couple.a, couple.couple_id), listed(couple.b, couple.couple_id)
    assert by_text(seen_a)[LATE]["status"] == by_text(seen_b)[LATE]["status"] == "set_aside"
    assert [n["text"] for n in seen_a["notices"]] == [f"Ben set aside the agreement “{LATE}”."]
    assert seen_b["notices"] == []
    assert by_text(seen_a)[LATE]["changed"]["by"] == b_id

    # A retry of the same move changes nothing and pushes nothing.
    again = couple.b.post(f"/agreements/{late_id}/set-aside")
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert events(s.socks["a"], "agreements:changed") == []

    # A brings it back (a fresh revisit date), then withdraws the other one.
    back = couple.a.post(f"/agreements/{late_id}/reinstate").get_json()["agreement"]
    assert back["status"] == "active"
    assert back["revisit_on"] == (today + timedelta(days=10)).isoformat()
    gone = couple.a.post(f"/agreements/{cook_id}/withdraw")
    assert gone.get_json()["agreement"]["status"] == "withdrawn"
    notices_b = [n["text"] for n in listed(couple.b, couple.couple_id)["notices"]]
    assert f"Ana withdrew the agreement “{COOK}”." in notices_b
    assert f"Ana brought back the agreement “{LATE}”." in notices_b

    # A withdrawn agreement is final: nothing brings it back.
    for move in ("reinstate", "set-aside", "keep"):
        refused = couple.b.post(f"/agreements/{cook_id}/{move}")
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "conflict"
    assert couple.b.post(f"/agreements/{cook_id}/withdraw").get_json()["changed"] is False
    s.close()


def test_an_agreement_is_due_for_review_on_its_revisit_date(app, couple, agreement_track):
    s, _ = make_agreements(app, couple)
    late = by_text(listed(couple.a, couple.couple_id))[LATE]
    revisit = datetime.fromisoformat(late["revisit_on"])
    database = app.extensions["mend"].database
    with database.session() as db:
        assert agreements.agreements_due_for_review(db, couple.couple_id,
                                                    revisit - timedelta(minutes=1)) == []
        due = agreements.agreements_due_for_review(db, couple.couple_id, revisit)
        assert [d["text"] for d in due] == [LATE, COOK]
        assert {d["status"] for d in due} == {"due_for_review"}
    # The date comes (moved here instead of waiting ten days): the home says so.
    with database.session() as db:
        record = db.get(CoupleRecord, late["id"])
        record.data = {**record.data, "revisit_on": datetime.utcnow().date().isoformat()}
        db.commit()
    assert by_text(listed(couple.b, couple.couple_id))[LATE]["status"] == "due_for_review"
    # Keeping it sets the next date as far again; it is no longer due.
    kept = couple.b.post(f"/agreements/{late['id']}/keep").get_json()["agreement"]
    assert kept["status"] == "active"
    assert kept["revisit_on"] == (datetime.utcnow().date() + timedelta(days=10)).isoformat()
    with database.session() as db:
        due = agreements.agreements_due_for_review(db, couple.couple_id, datetime.utcnow())
        assert due == []
        # a set-aside agreement is not due, whatever its date
        assert agreements.agreements_due_for_review(
            db, couple.couple_id, datetime.utcnow() + timedelta(days=400)) != []
    couple.a.post(f"/agreements/{late['id']}/set-aside")
    with database.session() as db:
        later = agreements.agreements_due_for_review(
            db, couple.couple_id, datetime.utcnow() + timedelta(days=400))
        assert [d["text"] for d in later] == [COOK]
    s.close()


def test_agreements_are_the_couples_alone(app, couple, signup, agreement_track):
    s, _ = make_agreements(app, couple)
    late_id = by_text(listed(couple.a, couple.couple_id))[LATE]["id"]
    stranger = signup("Cy")
    stranger.post("/couples")
    for response in (stranger.get(f"/couples/{couple.couple_id}/agreements"),
                     stranger.post(f"/agreements/{late_id}/withdraw"),
                     couple.a.post("/agreements/no-such-agreement/withdraw"),
                     couple.a.post(f"/agreements/{late_id}/tear-up")):
        assert response.status_code == 404
        assert response.get_json()["ok"] is False
        assert response.get_json()["error"]["code"] == "not_found"
    # No CSRF token: refused, nothing changes.
    bare = couple.a.client.post(f"/api/v1/agreements/{late_id}/withdraw", json={})
    assert bare.status_code == 403 and bare.get_json()["error"]["code"] == "forbidden"
    assert by_text(listed(couple.a, couple.couple_id))[LATE]["status"] == "active"
    # Logged out: unauthenticated.
    assert app.test_client().get(f"/api/v1/couples/{couple.couple_id}/agreements"
                                 ).status_code == 401
    s.close()


def test_agreements_are_in_the_export_with_their_changes(app, couple, agreement_track):
    s, _ = make_agreements(app, couple)
    late_id = by_text(listed(couple.a, couple.couple_id))[LATE]["id"]
    couple.b.post(f"/agreements/{late_id}/withdraw")
    exported = couple.a.get("/me/export").get_json()
    records = [r for r in exported.get("export", exported)["records"]
               if r["kind"] == "agreement"]
    late = next(r for r in records if r["id"] == late_id)
    assert late["status"] == "withdrawn" and late["text"] == LATE
    assert [c["move"] for c in late["changes"]] == ["withdraw"]
    s.close()


def raised_flags(value) -> list:
    """Every flag raised on someone's words anywhere in a payload: `{id, message}` entries
    of a `flags` list (an item's, or `mine.flags`' per-item lists). The rules themselves
    (`settings.flags`, with phrases) are content every writer's editor needs, not a flag."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "flags" and isinstance(inner, list):
                flat = [f for x in inner for f in (x if isinstance(x, list) else [x])]
                found += [f for f in flat if isinstance(f, dict) and set(f) == {"id", "message"}]
            found += raised_flags(inner)
    elif isinstance(value, list):
        for inner in value:
            found += raised_flags(inner)
    return found


def test_a_flag_reaches_only_the_author_of_the_words(app, couple, agreement_track):
    """A's need trips the flag (a planted marker in its message); nothing B receives, on
    the socket or over HTTP, before or after the reveal or in the summary, carries a flag
    raised on A's words."""
    s = Pair(app, couple, TRACK_ID)
    got_b: list = []  # every packet B's socket receives from here on
    receive = s.socks["b"].get_received

    def recording(*args, **kwargs):
        packets = receive(*args, **kwargs)
        got_b.extend(packets)
        return packets

    s.socks["b"].get_received = recording
    s.act("a", "entry:draft", step_id="lists",
          fields={"items": [{"need": "to see your passwords"}]})
    assert FLAG_MARKER in json.dumps(s.step("a", "lists")["mine"]["flags"])
    s.act("a", "entry:submit", step_id="lists", client_id="fl-a-0001",
          fields={"items": [{"need": "to see your passwords"},
                            {"offer": "show you your passwords are safe with me"}]})
    # B offers the same words: an offer is never flagged, even with the phrase in it.
    s.act("b", "entry:submit", step_id="lists", client_id="fl-b-0001",
          fields={"items": [{"offer": "give you your passwords back"}]})
    mine = {i["text"]: i for i in s.step("a", "lists")["items"]}
    assert [bool(i["flags"]) for i in mine.values()] == [True, False, False]
    ids = [i["id"] for i in s.step("b", "lists")["items"]]
    for n, item_id in enumerate(ids[:2]):
        s.act("b", "turn:submit", step_id="lists", client_id=f"fl-mv-b-{n}", kind="park",
              fields={"item": item_id})
    s.act("a", "turn:submit", step_id="lists", client_id="fl-mv-a-0", kind="park",
          fields={"item": ids[2]})
    s.both_ready("lists")
    received_b = [got_b, s.people["b"].get(f"/sessions/{s.sid}").get_json(),
                  s.people["b"].get(f"/sessions/{s.sid}/summary").get_json(),
                  s.people["b"].get("/me").get_json()]
    assert len(got_b) > 5 and raised_flags(received_b) == []
    assert FLAG_MARKER not in s.people["b"].get(f"/sessions/{s.sid}/summary?format=md"
                                                ).get_data(True)
    # the same search finds A's flag in what A gets
    summary_a = s.people["a"].get(f"/sessions/{s.sid}/summary").get_json()
    assert [f["message"].split()[0] for f in raised_flags(summary_a)] == [FLAG_MARKER]
    s.close()


def test_the_move_log_keeps_no_words(app, couple, agreement_track):
    """A change records who, what and when: nothing new to erase beyond the agreement. A
    body with anything in it is refused (the contract's declared empty body)."""
    s, _ = make_agreements(app, couple)
    late_id = by_text(listed(couple.a, couple.couple_id))[LATE]["id"]
    wordy = couple.a.post(f"/agreements/{late_id}/set-aside", {"note": "NOTE-SHOULD-NOT-STAY"})
    assert wordy.status_code == 400 and wordy.get_json()["error"]["code"] == "invalid"
    assert couple.a.post(f"/agreements/{late_id}/set-aside").status_code == 200
    with app.extensions["mend"].database.session() as db:
        data = db.scalar(select(CoupleRecord.data).where(CoupleRecord.id == late_id))
    assert "NOTE-SHOULD-NOT-STAY" not in json.dumps(data)
    assert set(data["changes"][0]) == {"move", "by", "at"}
    s.close()


def test_an_erased_proposers_words_leave_the_agreements(app, couple, agreement_track):
    """A deletes the account: the agreements A proposed keep their status for B, never
    A's words; B's own words stay."""
    s, _ = make_agreements(app, couple)
    s.close()
    gone = couple.a.client.delete("/api/v1/me", json={"password": couple.a.password},
                                  headers=couple.a.csrf())
    assert gone.status_code == 200, gone.get_json()
    seen = listed(couple.b, couple.couple_id)
    payload = json.dumps(seen)
    assert "running late" not in payload and "cook on Fridays" not in payload
    assert [a["status"] for a in seen["agreements"]] == ["active", "active"]
