"""Changing one's mind, over real Socket.IO handlers and a real database (issue 16, item 6):
an answer replaced (`entry:submit` with a new client_id) or taken back (`entry:withdraw`)
until the partner submits, with the single reveal proven by forced interleavings; a session
cancelled by either partner (`DELETE /api/v1/sessions/<id>`), seen by everyone in it; and
two Starts on different tracks at once, each told of the other and able to join one."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from server.models import Draft, Entry, Reveal, Session
from server.services import sessions as session_service
from tests.conftest import unique_marker
from tests.integration.conftest import TRACK_ID
from tests.integration.test_counsellor_moderation import (  # noqa: F401 (fixtures)
    Seat,
    counsellors,
    error_code,
    invite_and_consent,
    join_as_counsellor,
    start_session,
)
from tests.integration.test_session_arc import current, walk_to
from tests.integration.test_session_loop import last_state, received_text

STEP = "what-trust-means"


def seen_by_b(live) -> str:
    """Everything B received over the socket plus what B's HTTP reads show now."""
    return (received_text(live.sock_b)
            + live.b.get(f"/sessions/{live.session_id}").get_data(as_text=True)
            + live.b.get(f"/sessions/{live.session_id}/summary").get_data(as_text=True)
            + live.b.get("/me").get_data(as_text=True))


def db_text(app, session_id: str) -> str:
    """Every entry and draft of the session as stored."""
    with app.extensions["mend"].database.session() as db:
        entries = db.execute(select(Entry.body, Entry.fields)
                             .where(Entry.session_id == session_id)).all()
        drafts = db.execute(select(Draft.body, Draft.fields)
                            .where(Draft.session_id == session_id)).all()
    return repr(entries) + repr(drafts)


# --- replacing an answer --------------------------------------------------------------------


def test_a_new_client_id_replaces_the_answer_and_the_partner_never_receives_the_old(partners):
    live = partners
    walk_to(live, STEP)
    live.sock_b.get_received()
    old, new = unique_marker("first-words"), unique_marker("second-words")
    first = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-edit-0001",
                      body=old)
    assert first["ok"]
    pushed = last_state(live.sock_b.get_received(), live.session_id)
    assert next(s for s in pushed["steps"] if s["id"] == STEP)["partner_status"] == "submitted"
    edited = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-edit-0002",
                       body=new)
    assert edited["ok"] and edited["entry"]["body"] == new
    assert current(live, live.sock_a, STEP)["mine"]["entry"]["body"] == new
    assert old not in db_text(live.app, live.session_id)  # replaced means gone
    # The same client_id again is still an idempotent retry of what it sent...
    again = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-edit-0002",
                      body=new)
    assert again == edited
    # ...and a late retry of the replaced one can't bring the old words back.
    stale = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-edit-0001",
                      body=old)
    assert stale["error"]["code"] == "conflict"
    assert live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-edit-0001",
                     body="b words")["ok"]
    revealed = current(live, live.sock_b, STEP)["revealed"]["entries"]
    assert [e["body"] for e in revealed] == [new, "b words"]
    seen = seen_by_b(live)
    assert old not in seen and new in seen


def test_after_the_partner_submitted_both_edit_and_withdraw_answer_conflict(partners):
    live = partners
    walk_to(live, STEP)
    live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-late-0001", body="a")
    live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-late-0001", body="b")
    late = unique_marker("too-late")
    edit = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-late-0002",
                     body=late)
    withdraw = live.emit(live.sock_a, "entry:withdraw", step_id=STEP)
    assert edit["error"]["code"] == withdraw["error"]["code"] == "conflict"
    assert "Ben has submitted too" in withdraw["error"]["message"]
    assert late not in seen_by_b(live) and late not in db_text(live.app, live.session_id)


# --- taking an answer back ------------------------------------------------------------------


def test_withdrawing_takes_the_answer_back_and_the_partner_sees_not_submitted(partners):
    live = partners
    walk_to(live, STEP)
    secret = unique_marker("taken-back")
    assert live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-back-0001",
                     body=secret)["ok"]
    live.sock_b.get_received()
    ack = live.emit(live.sock_a, "entry:withdraw", step_id=STEP)
    assert ack["ok"] and ack["draft"]["body"] == secret  # back in the author's own draft
    pushed = last_state(live.sock_b.get_received(), live.session_id)
    assert next(s for s in pushed["steps"] if s["id"] == STEP)["partner_status"] != "submitted"
    # B submits: nothing is revealed, A's answer is not in.
    assert live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-back-0001",
                     body="b words")["ok"]
    step = current(live, live.sock_b, STEP)
    assert step["status"] == "open" and step["revealed"] is None
    assert secret not in seen_by_b(live)
    # Taking back twice: nothing is submitted any more.
    assert live.emit(live.sock_a, "entry:withdraw", step_id=STEP)["error"]["code"] == "conflict"
    # A late retry of the withdrawn submit stays withdrawn.
    stale = live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-back-0001",
                      body=secret)
    assert stale["error"]["code"] == "conflict"
    again = unique_marker("sent-again")
    assert live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-back-0002",
                     body=again)["ok"]
    assert [e["body"] for e in current(live, live.sock_b, STEP)["revealed"]["entries"]] == [
        again, "b words"]
    assert secret not in seen_by_b(live)


def test_withdraw_payloads_are_checked(partners):
    live = partners
    walk_to(live, STEP)
    assert live.emit(live.sock_a, "entry:withdraw")["error"]["code"] == "invalid"
    assert live.emit(live.sock_a, "entry:withdraw", step_id=STEP,
                     body="x")["error"]["code"] == "invalid"
    assert live.emit(live.sock_a, "entry:withdraw", step_id="welcome")["error"]["code"] \
        == "conflict"


# --- one reveal, with edit/withdraw racing the partner's submit forced -------------------------


@pytest.mark.parametrize("change", ["edit", "withdraw"])
@pytest.mark.parametrize("first", ["a", "b"])
def test_a_change_racing_the_partners_submit_never_makes_two_reveals_or_shows_old_words(
        partners, monkeypatch, change, first):
    """A's edit (or withdraw) and B's submit, each forced to wait after loading the session
    until the other has loaded too (test_session_arc's interleaving). With the session row
    lock the second can't load before the first commits: whichever wins, there is at most
    one reveal, and it never shows A's replaced or withdrawn words. `first`: who is let
    through the door first (the other starts once the first is deciding)."""
    live = partners
    walk_to(live, STEP)
    old, new = unique_marker("old-a"), unique_marker("new-a")
    assert live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-race-0001",
                     body=old)["ok"]
    live.sock_b.get_received()
    ctx = live.app.extensions["mend"]
    loaded = {"a": threading.Event(), "b": threading.Event()}
    go_first = threading.Event()
    who = threading.local()
    real_load = session_service.load_state

    def load_then_wait(*args, **kwargs):
        state = real_load(*args, **kwargs)
        name = getattr(who, "name", None)
        if name is not None:
            loaded[name].set()
            loaded["b" if name == "a" else "a"].wait(timeout=1.0)
        return state

    monkeypatch.setattr(session_service, "load_state", load_then_wait)
    outcomes: dict = {}

    def act(name: str) -> None:
        who.name = name
        if name != first:
            go_first.wait(timeout=5)
        try:
            with ctx.database.session() as db:
                if name == "b":
                    outcomes[name] = session_service.submit_entry(
                        db, ctx.library, live.b.user["id"], live.session_id, STEP,
                        "b-race-0001", "b answer")
                elif change == "edit":
                    outcomes[name] = session_service.submit_entry(
                        db, ctx.library, live.a.user["id"], live.session_id, STEP,
                        "a-race-0002", new)
                else:
                    outcomes[name] = session_service.withdraw_entry(
                        db, ctx.library, live.a.user["id"], live.session_id, STEP)
        except Exception as error:  # recorded: the assertions below say what happened
            outcomes[name] = error

    threads = {n: threading.Thread(target=act, args=(n,)) for n in ("a", "b")}
    threads[first].start()
    loaded[first].wait(timeout=5)
    go_first.set()
    threads["b" if first == "a" else "a"].start()
    for t in threads.values():
        t.join(timeout=30)
    monkeypatch.setattr(session_service, "load_state", real_load)

    assert not isinstance(outcomes["b"], Exception), outcomes  # B's submit always lands
    a_won = not isinstance(outcomes["a"], Exception)
    if not a_won:
        assert getattr(outcomes["a"], "code", None) == "conflict", outcomes
    assert a_won == (first == "a")
    with ctx.database.session() as db:
        reveals = db.scalar(select(func.count()).select_from(Reveal)
                            .where(Reveal.session_id == live.session_id))
    step = current(live, live.sock_b, STEP)
    if change == "withdraw" and a_won:
        assert reveals == 0 and step["revealed"] is None
    else:
        assert reveals == 1
        bodies = [e["body"] for e in step["revealed"]["entries"]]
        assert bodies == [new if a_won else old, "b answer"]
    seen = seen_by_b(live)
    if a_won:
        assert old not in seen  # replaced or withdrawn before B's submit: never shown
    if change == "edit" and not a_won:
        assert new not in seen and new not in db_text(live.app, live.session_id)


# --- cancelling ------------------------------------------------------------------------------


def cancel(person, session_id: str):
    return person.client.delete(f"/api/v1/sessions/{session_id}", headers=person.csrf())


def test_either_partner_cancels_and_both_read_cancelled_everywhere(partners):
    live = partners
    walk_to(live, STEP)
    unshown = unique_marker("never-shown")
    draft = unique_marker("b-draft")
    assert live.emit(live.sock_a, "entry:submit", step_id=STEP, client_id="a-cancel-001",
                     body=unshown)["ok"]
    assert live.emit(live.sock_b, "entry:draft", step_id=STEP, body=draft)["ok"]
    live.sock_a.get_received(), live.sock_b.get_received()

    response = cancel(live.b, live.session_id)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["session"]["status"] == "cancelled"
    # Ana's open screen is told at once, in a sentence; her home too.
    packets = live.sock_a.get_received()
    pushed = last_state(packets, live.session_id)
    assert pushed["session"]["status"] == "cancelled"
    assert pushed["session"]["cancelled"]["text"].startswith("Ben cancelled this session.")
    homes = [p["args"][0] for p in packets if p["name"] == "me:state"]
    assert homes and next(s for s in homes[-1]["sessions"]
                          if s["id"] == live.session_id)["status"] == "cancelled"
    for person in (live.a, live.b):
        assert person.get(f"/sessions/{live.session_id}").get_json()["state"]["session"][
            "status"] == "cancelled"
        summary = person.get(f"/sessions/{live.session_id}/summary").get_json()["summary"]
        assert summary["session"]["status"] == "cancelled"
        listed = next(s for s in person.get("/me").get_json()["sessions"]
                      if s["id"] == live.session_id)
        assert listed["status"] == "cancelled" and listed["finished_at"]
    # What was never shown is never revealed, and is deleted.
    assert unshown not in seen_by_b(live)
    assert unshown not in db_text(live.app, live.session_id)
    assert draft not in db_text(live.app, live.session_id)
    # Nothing more happens in it; cancelling again says so.
    again = cancel(live.a, live.session_id)
    assert again.status_code == 409 and error_code(again) == "conflict"
    late = live.emit(live.sock_b, "entry:submit", step_id=STEP, client_id="b-cancel-001",
                     body="late")
    assert late["error"]["code"] == "conflict"


def test_a_cancelled_track_can_be_started_again(partners):
    live = partners
    assert cancel(live.a, live.session_id).status_code == 200
    couple_id = live.a.get("/me").get_json()["couples"][0]["id"]
    again = live.b.post("/sessions", {"couple_id": couple_id, "track_id": TRACK_ID})
    assert again.status_code == 201 and again.get_json()["session"]["id"] != live.session_id


def test_strangers_and_the_counsellor_cannot_cancel_but_the_counsellor_sees_it(
        app, start_session, counsellors, signup):  # noqa: F811 (fixtures)
    a, b = start_session()
    dora = Seat("Dora", counsellors["Dora"], app, a.session_id)
    join_as_counsellor(dora, invite_and_consent(a, b))
    stranger = signup("Sol")
    assert cancel(stranger, a.session_id).status_code == 404
    refused = dora.delete(f"/sessions/{a.session_id}")
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    dora.pushes()
    assert a.delete(f"/sessions/{a.session_id}").status_code == 200
    pushed = last_state(dora.pushes(), a.session_id)
    assert pushed["session"]["status"] == "cancelled"
    assert pushed["session"]["cancelled"]["text"].startswith("Ana cancelled this session.")
    assert dora.fresh()["session"]["status"] == "cancelled"
    with app.extensions["mend"].database.session() as db:
        assert db.get(Session, a.session_id).status == "cancelled"


# --- two Starts on different tracks at once ------------------------------------------------

OTHER_TRACK = "small-steps-of-appreciation"


def start_both_at_once(app, couple) -> dict[str, dict]:
    """Ana starts one track and Ben another at the same moment (threads, a barrier, each
    with their own HTTP client and cookie)."""
    people = {"a": (couple.a, TRACK_ID), "b": (couple.b, OTHER_TRACK)}
    headers = {name: person.csrf() for name, (person, _) in people.items()}
    barrier = threading.Barrier(2)
    answers: dict = {}

    def start(name: str) -> None:
        person, track_id = people[name]
        client = app.test_client()
        client.set_cookie("session", person.client.get_cookie("session").value)
        barrier.wait(timeout=10)
        answers[name] = client.post("/api/v1/sessions", headers=headers[name], json={
            "couple_id": couple.couple_id, "track_id": track_id})

    threads = [threading.Thread(target=start, args=(n,)) for n in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert {n: r.status_code for n, r in answers.items()} == {"a": 201, "b": 201}
    return {n: r.get_json()["session"] for n, r in answers.items()}


def test_two_starts_on_different_tracks_are_each_told_of_the_other(app, couple):
    sock_a, sock_b = couple.a.socket(app), couple.b.socket(app)
    sock_a.get_received(), sock_b.get_received()
    started = start_both_at_once(app, couple)
    for sock, theirs in ((sock_a, started["b"]), (sock_b, started["a"])):
        homes = [p["args"][0] for p in sock.get_received() if p["name"] == "me:state"]
        listed = {s["id"]: s for s in homes[-1]["sessions"]}
        # Told: the partner's session, on its track, started by them, under way.
        assert listed[theirs["id"]]["status"] == "active"
        assert listed[theirs["id"]]["track"]["id"] == theirs["track"]["id"]
        assert listed[theirs["id"]]["created_by"]["user_id"] == theirs["created_by"]["user_id"]
    for sock in (sock_a, sock_b):
        sock.disconnect()


def test_both_joining_the_others_session_at_once_leaves_one_session_for_both(
        app, couple, monkeypatch):
    """Each presses "Join" on the other's session at the same moment, forced to interleave
    (each waits after loading for the other to load). The rows are locked in one order, so
    one is decided first: its session is called off, and the second finds that and stays.
    Without the locks both would be called off and the couple would have none."""
    started = start_both_at_once(app, couple)
    ctx = app.extensions["mend"]
    loaded = {"a": threading.Event(), "b": threading.Event()}
    who = threading.local()
    real_load = session_service.load_state

    def load_then_wait(*args, **kwargs):
        state = real_load(*args, **kwargs)
        name = getattr(who, "name", None)
        if name is not None:
            loaded[name].set()
            loaded["b" if name == "a" else "a"].wait(timeout=1.0)
        return state

    monkeypatch.setattr(session_service, "load_state", load_then_wait)
    outcomes: dict = {}
    people = {"a": (couple.a, started["a"]["id"], started["b"]["id"]),
              "b": (couple.b, started["b"]["id"], started["a"]["id"])}

    def join_other(name: str) -> None:
        who.name = name
        person, mine, theirs = people[name]
        try:
            with ctx.database.session() as db:
                outcomes[name] = session_service.cancel_session(
                    db, ctx.library, person.user["id"], mine, theirs)
        except Exception as error:  # recorded: the assertions below say what happened
            outcomes[name] = error

    threads = [threading.Thread(target=join_other, args=(n,)) for n in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    monkeypatch.setattr(session_service, "load_state", real_load)
    refused = [n for n, o in outcomes.items() if isinstance(o, Exception)]
    assert len(refused) == 1, outcomes
    error = outcomes[refused[0]]
    assert getattr(error, "code", None) == "conflict", error
    assert "has just chosen to join you here" in error.message
    with ctx.database.session() as db:
        statuses = dict(db.execute(select(Session.id, Session.status).where(
            Session.couple_id == couple.couple_id)).all())
    assert sorted(statuses.values()) == ["active", "cancelled"]
    shared = next(sid for sid, status in statuses.items() if status == "active")
    for person in (couple.a, couple.b):
        assert person.get(f"/sessions/{shared}").status_code == 200


def test_joining_the_partners_session_over_http(app, couple):
    started = start_both_at_once(app, couple)
    response = couple.a.client.delete(
        f"/api/v1/sessions/{started['a']['id']}", headers=couple.a.csrf(),
        json={"join_session_id": started["b"]["id"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["session"]["status"] == "cancelled" and body["join"]["status"] == "active"
    assert body["join"]["id"] == started["b"]["id"]
    same = couple.a.client.delete(
        f"/api/v1/sessions/{started['b']['id']}", headers=couple.a.csrf(),
        json={"join_session_id": started["b"]["id"]})
    assert same.status_code == 400 and error_code(same) == "invalid"


def test_the_markdown_summary_of_a_cancelled_session_says_so(partners):
    live = partners
    assert cancel(live.a, live.session_id).status_code == 200
    text = live.b.client.get(f"/api/v1/sessions/{live.session_id}/summary?format=md") \
        .get_data(as_text=True)
    assert "Cancelled. Started " in text and "; cancelled " in text
    assert "Under way" not in text and "finished" not in text.lower()
