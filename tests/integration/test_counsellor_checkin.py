"""The counsellor's symmetric check-in (issue 15), live over real handlers and a real
database: `checkin:private` reaches each partner with their own copy of the same words,
what it changes in one partner's packets is byte-identical to what it changes in the
other's once ids are normalised, and a message to one partner never reaches the other
(and, while a safety flag is up, is refused).

The room is the one of test_counsellor_moderation: Ana and Ben, Dora their counsellor,
Uma (granted, never invited) and Rita (joined, then her role was revoked)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from server.models import Session as SessionRow
from server.models import SessionNote
from tests.conftest import unique_marker
from tests.integration.test_counsellor_moderation import (  # noqa: F401  (fixtures)
    Room,
    Seat,
    counsellors,
    room,
    start_session,
)
from tests.integration.test_session_loop import last_state

ABSENT = "<absent>"


@pytest.fixture
def r(room: Room) -> Room:  # noqa: F811  (the room fixture, imported above)
    return room


def copies_in_db(r: Room, body: str) -> list[Any]:
    """The stored copies holding `body` (id, session_id, recipient_id, at), read through a
    session of its own: what is committed, not what one unit of work sees."""
    n = SessionNote
    with r.app.extensions["mend"].database.session() as db:
        return list(db.execute(select(n.id, n.session_id, n.recipient_id, n.at)
                               .where(n.body == body).order_by(n.recipient_id)).all())


def raise_flag(r: Room) -> None:
    """What the private check leaves when someone's answers were not all clear (who is
    never said): `session_data["check"]["flag"]`, written as server.engine.check keeps it,
    with a new version so that no cached copy of the session passes for this one."""
    with r.app.extensions["mend"].database.session() as db:
        row = db.get(SessionRow, r.session_id)
        data = dict(row.session_data or {})
        data["check"] = {**(data.get("check") or {}), "flag": True}
        db.execute(update(SessionRow).where(SessionRow.id == r.session_id)
                   .values(session_data=data, version=row.version + 1))
        db.commit()


def changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where `after` differs from `before`: (path, before, after), lists item by item."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += changes(before.get(key, ABSENT), after.get(key, ABSENT), f"{path}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        found = []
        for i in range(max(len(before), len(after))):
            found += changes(before[i] if i < len(before) else ABSENT,
                             after[i] if i < len(after) else ABSENT, f"{path}[{i}]")
        return found
    return [] if before == after else [(path, before, after)]


def normalised(found: list, seat: Seat, other: Seat, counsellor: Seat,
               copy: dict) -> str:
    """The changes as JSON text, with who they are replaced by what they are to this
    viewer; a version counts by how much it moved (each viewer's count is their own)."""
    moved = [(p, "moved", a - b) if p == ".session.version" else (p, b, a)
             for p, b, a in found]
    text = json.dumps(moved, sort_keys=True)
    for value, what in ((copy["id"], "<my copy>"), (copy["client_id"], "<my copy's client id>"),
                        (seat.id, "<me>"), (other.id, "<my partner>"),
                        (counsellor.id, "<counsellor>"), (seat.name, "<my name>"),
                        (other.name, "<partner's name>")):
        text = text.replace(value, what)
    return text


def test_a_check_in_reaches_each_partner_once_with_their_own_copy(r):
    words = f"How is today going for you? {unique_marker('checkin')}"
    r.drain()
    ack = r.dr.ok("checkin:private", client_id="dr-checkin-0001", body=words)

    # Stored before the ack: one copy per partner, the same words, the same moment.
    stored = copies_in_db(r, words)
    assert sorted(n.recipient_id for n in stored) == sorted([r.a.id, r.b.id])
    assert len({n.at for n in stored}) == 1 and len({n.session_id for n in stored}) == 1
    sent = ack["checkin"]
    assert sent["client_id"] == "dr-checkin-0001" and sent["body"] == words
    assert sorted(n["id"] for n in sent["notes"]) == sorted(n.id for n in stored)

    copy_of = {}
    for seat in (r.a, r.b):
        pushed = [p for p in seat.pushes() if p["name"] == "session:state"]
        assert len(pushed) == 1, (seat.name, pushed)
        mine = [n for n in pushed[0]["args"][0]["notes"] if n["body"] == words]
        assert len(mine) == 1 and mine[0]["to_user_id"] == seat.id, (seat.name, mine)
        assert mine[0]["private"] is False and mine[0]["from_user_id"] == r.dr.id
        copy_of[seat.name] = mine[0]
    # Neither partner ever receives the other's copy, in any packet.
    for seat, other in ((r.a, r.b), (r.b, r.a)):
        received = seat.received()
        assert copy_of[other.name]["id"] not in received
        assert copy_of[other.name]["client_id"] not in received
        assert received.count(words) == 1  # one push, one copy
    # The counsellor has both; outsiders nothing.
    dora = last_state(r.dr.pushes(), r.session_id)
    assert sorted(n["to_user_id"] for n in dora["notes"] if n["body"] == words) == \
        sorted([r.a.id, r.b.id])
    for seat in (r.uma, r.rita):
        assert words not in seat.received()

    # One Activity line for everyone, naming no one, holding no words.
    trails = [seat.fresh()["audit"] for seat in r.three]
    assert trails[0] == trails[1] == trails[2]
    line = trails[0][-1]
    assert (line["action"], line["actor_id"], line["target_user_id"], line["step_id"]) == (
        "checked_in", r.dr.id, None, None)
    assert words not in json.dumps(trails)

    # The same client_id again (a retry after a lost ack): the first check-in, nothing new.
    r.drain()
    again = r.dr.ok("checkin:private", client_id="dr-checkin-0001", body="Other words.")
    assert again["checkin"] == sent
    assert len(copies_in_db(r, words)) == 2 and copies_in_db(r, "Other words.") == []
    for seat in r.everyone:
        assert last_state(seat.pushes(), r.session_id) is None, seat.name
    assert [e["action"] for e in r.a.fresh()["audit"]].count("checked_in") == 1


def test_what_a_check_in_changes_is_byte_identical_for_both_partners(r):
    """Whole views differ by their history (who invited the counsellor, who agreed), so
    the test compares what the check-in changed in each partner's packets."""
    words = f"Checking in with you both. {unique_marker('same')}"
    before = {seat.name: seat.fresh() for seat in (r.a, r.b)}
    r.drain()
    r.dr.ok("checkin:private", client_id="dr-checkin-same1", body=words)
    texts, names = {}, {}
    for seat, other in ((r.a, r.b), (r.b, r.a)):
        packets = seat.pushes()
        names[seat.name] = [p["name"] for p in packets]
        after = last_state(packets, r.session_id)
        assert after == seat.fresh()
        copy = next(n for n in after["notes"] if n["body"] == words)
        found = changes(before[seat.name], after)
        assert {p.split("[")[0] for p, _b, _a in found} == {".session.version", ".notes",
                                                             ".audit"}, found
        texts[seat.name] = normalised(found, seat, other, r.dr, copy)
    assert names["Ana"] == names["Ben"] == ["session:state"]
    assert texts["Ana"] == texts["Ben"], (texts["Ana"], texts["Ben"])
    assert r.a.id not in texts["Ana"] and r.b.id not in texts["Ben"]


def test_a_message_to_one_partner_never_reaches_the_other_and_waits_while_a_flag_is_up(r):
    planted = unique_marker("only-ana")
    r.dr.ok("note:add", client_id="dr-msg-ana-001", body=planted, user_id=r.a.id)
    assert planted in r.a.received() and planted in r.dr.received()
    for seat in (r.b, r.uma, r.rita):
        assert planted not in seat.received(), seat.name
    for seat in (r.a, r.b):
        seat.get(f"/sessions/{r.session_id}")
        seat.get(f"/sessions/{r.session_id}/summary?format=json")
    assert planted not in r.b.received()

    raise_flag(r)
    r.drain()
    version = r.a.version()
    withheld = unique_marker("withheld")
    for seat in (r.a, r.b):
        ack = r.dr.emit("note:add", client_id=f"dr-flag-{seat.name}", body=withheld,
                        user_id=seat.id)
        assert ack["ok"] is False and ack["error"]["code"] == "conflict", ack
        assert "each partner" in ack["error"]["message"]
    assert r.a.version() == version and copies_in_db(r, withheld) == []
    for seat in r.everyone:
        assert withheld not in seat.received(), seat.name
    # A note for herself, and the check-in, still go.
    r.dr.ok("note:add", client_id="dr-own-note-01", body="Ask both the same thing.")
    words = f"How are you both? {unique_marker('flag')}"
    r.dr.ok("checkin:private", client_id="dr-checkin-flag1", body=words)
    for seat in (r.a, r.b):
        mine = [n for n in seat.fresh()["notes"] if n["body"] == words]
        assert [n["to_user_id"] for n in mine] == [seat.id]


def test_a_check_in_reaches_both_after_the_session_ended_and_is_the_counsellors_alone(r):
    for seat in r.outsiders:
        ack = seat.emit("checkin:private", client_id=f"{seat.name}-checkin-1",
                        body="Not mine to send.")
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (seat.name, ack)
    assert copies_in_db(r, "Not mine to send.") == []
    for bad, code in (({"body": "  \u200b "}, "invalid"), ({"body": "x" * 4001}, "too_large"),
                      ({"body": "Hi", "user_id": r.a.id}, "invalid"),
                      ({"body": "Hi", "client_id": "short"}, "invalid")):
        payload = {"client_id": "dr-bad-checkin", **bad}
        ack = r.dr.emit("checkin:private", **payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (bad, ack)

    r.dr.ok("session:end")
    assert r.a.fresh()["session"]["status"] == "ended"
    r.drain()
    words = f"Thinking of you both after today. {unique_marker('ended')}"
    r.dr.ok("checkin:private", client_id="dr-checkin-ended", body=words)
    for seat in (r.a, r.b):
        pushed = last_state(seat.pushes(), r.session_id)
        assert [n["to_user_id"] for n in pushed["notes"] if n["body"] == words] == [seat.id]

    # Once the couple removes her, she can no longer reach them.
    assert r.a.delete(f"/sessions/{r.session_id}/counsellor").status_code == 200
    ack = r.dr.emit("checkin:private", client_id="dr-checkin-gone", body="Still there?")
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden", ack


@pytest.mark.real_check
def test_a_concerning_check_answer_leads_only_to_a_check_in_with_each(r):
    """The real private check (server.engine.check), open when the room sits down: Ana's
    answers are not all clear. Dora is told to check in with each partner, never who; a
    message to either partner is refused, the check-in reaches both, before and after Ana
    stops for today; Ben's packets never change because of the flag."""
    from tests.checking import clear_answers, concerning_answers

    r.drain()
    assert r.dr.fresh()["check"] == {"open": True, "flag": False, "message": None}
    r.a.ok("check:submit", client_id="ana-check-0001",
           fields={"answers": concerning_answers()})
    seen = r.dr.fresh()["check"]
    assert seen == {"open": True, "flag": True,
                    "message": "Check in with each partner privately"}
    assert r.a.name not in json.dumps(seen) and r.a.id not in json.dumps(seen)
    for seat in (r.a, r.b):
        ack = r.dr.emit("note:add", client_id=f"dr-point-{seat.name}", body="Just you?",
                        user_id=seat.id)
        assert ack["ok"] is False and ack["error"]["code"] == "conflict", ack
    assert copies_in_db(r, "Just you?") == []

    words = f"Checking in with each of you. {unique_marker('real')}"
    r.dr.ok("checkin:private", client_id="dr-checkin-real1", body=words)
    for seat in (r.a, r.b):
        assert [n["to_user_id"] for n in seat.fresh()["notes"] if n["body"] == words] == \
            [seat.id]
    r.b.ok("check:submit", client_id="ben-check-0001", fields={"answers": clear_answers()})
    r.a.ok("check:stop")
    assert r.b.fresh()["session"]["status"] == "ended"
    assert r.dr.fresh()["check"]["flag"] is True  # the flag stays with the counsellor
    assert r.dr.emit("note:add", client_id="dr-point-after", body="Just you?",
                     user_id=r.a.id)["error"]["code"] == "conflict"
    after = f"After today, to each of you. {unique_marker('after')}"
    r.dr.ok("checkin:private", client_id="dr-checkin-real2", body=after)
    for seat in (r.a, r.b):
        assert [n["to_user_id"] for n in seat.fresh()["notes"] if n["body"] == after] == \
            [seat.id]
    # Nothing of the flag, or of Ana's answers, reached Ben or the outsiders.
    for seat in (r.b, r.uma, r.rita):
        received = seat.received()
        assert "Check in with each partner privately" not in received, seat.name
        assert '"flag": true' not in received and '"flag":true' not in received, seat.name
