"""The session arc over real handlers and a real database (SQLite and PostgreSQL): one
session per couple and track, skips, acknowledgements, summaries, the live home, time,
pinned tracks, and the single reveal proven with a forced interleaving."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from server.content import TrackLibrary
from server.engine.tracks import Step, Track
from server.models import Reveal, Session
from server.models.base import utcnow
from server.services import sessions as session_service
from tests.conftest import unique_marker
from tests.integration.conftest import TRACK_ID
from tests.integration.test_session_loop import last_state, received_text

OPTIONAL_STEP = "where-my-fears-come-from"


def answer_for(step: dict, text: str) -> dict:
    """A valid submit payload for any answered step, carrying `text` where words fit."""
    spec = step["answer"]
    if spec["type"] == "text":
        return {"body": text}
    if spec["type"] == "scale":
        return {"fields": {"value": spec["min"]}}
    if spec["type"] == "choices":
        return {"fields": {"choices": [spec["options"][0]]}}
    if spec["type"] == "closing":
        return {"body": text, "fields": {"value": spec["scale"]["max"]}}
    raise AssertionError(f"no payload for {spec['type']}")


def walk_to(live, target: str | None, texts: dict[str, str] | None = None) -> None:
    """Both partners answer and move on until `target` is the current step (None: the end)."""
    texts = texts or {}
    for step in live.state["steps"]:
        if step["id"] == target:
            return
        if step["answer"] is not None:
            for name, sock in (("a", live.sock_a), ("b", live.sock_b)):
                payload = answer_for(step, texts.get(f"{name}:{step['id']}", f"{name} words"))
                ack = live.emit(sock, "entry:submit", step_id=step["id"],
                                client_id=f"{name}-{step['id']}"[:60], **payload)
                assert ack["ok"], ack
        for sock in (live.sock_a, live.sock_b):
            assert live.emit(sock, "step:ready", step_id=step["id"])["ok"]
    assert target is None


def current(live, sock, step_id: str) -> dict:
    state = live.emit(sock, "session:join")["state"]
    return next(s for s in state["steps"] if s["id"] == step_id)


# --- one session per couple and track -----------------------------------------------------


def test_start_when_one_is_under_way_opens_that_one(couple):
    body = {"couple_id": couple.couple_id, "track_id": TRACK_ID}
    first = couple.a.post("/sessions", body)
    again = couple.b.post("/sessions", body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["session"]["id"] == first.get_json()["session"]["id"]
    assert again.get_json()["session"]["created_by"]["display_name"] == "Ana"


def test_both_pressing_start_at_once_land_in_one_session(app, couple):
    """Many concurrent Starts (threads, each with its own HTTP client and cookie): one
    session exists afterwards, and every answer names it."""
    body = {"couple_id": couple.couple_id, "track_id": TRACK_ID}
    people = [couple.a, couple.b] * 4
    headers = [p.csrf() for p in people]
    barrier = threading.Barrier(len(people))
    answers: list = [None] * len(people)

    def start(i: int) -> None:
        client = people[i].client.application.test_client()
        client.set_cookie("session", people[i].client.get_cookie("session").value)
        barrier.wait(timeout=10)
        answers[i] = client.post("/api/v1/sessions", json=body, headers=headers[i])

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(r is not None and r.status_code in (200, 201) for r in answers), \
        [r.get_json() if r is not None else None for r in answers]
    assert sorted(r.status_code for r in answers).count(201) == 1
    assert len({r.get_json()["session"]["id"] for r in answers}) == 1
    with app.extensions["mend"].database.session() as db:
        count = db.scalar(select(func.count()).select_from(Session)
                          .where(Session.couple_id == couple.couple_id))
    assert count == 1


def test_a_finished_session_lets_the_couple_start_the_track_again(partners):
    live = partners
    walk_to(live, None)
    again = live.a.post("/sessions", {"couple_id": live.state["session"]["id"] and
                                      live.a.get("/me").get_json()["couples"][0]["id"],
                                      "track_id": TRACK_ID})
    assert again.status_code == 201
    assert again.get_json()["session"]["id"] != live.session_id


# --- the live home ---------------------------------------------------------------------------


def test_the_partners_home_shows_a_new_session_at_once(app, couple):
    sock_b = couple.b.socket(app)
    sock_b.get_received()
    started = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    pushes = [p["args"][0] for p in sock_b.get_received() if p["name"] == "me:state"]
    assert pushes, "B's home got no me:state push"
    session = pushes[-1]["sessions"][0]
    assert session["id"] == started.get_json()["session"]["id"]
    assert session["created_by"]["display_name"] == "Ana"
    assert pushes[-1]["user"]["id"] == couple.b.user["id"]
    # Pressing Start again opens the same session and pushes nothing new.
    couple.b.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert not [p for p in sock_b.get_received() if p["name"] == "me:state"]


def test_the_inviter_sees_the_partner_join_at_once(app, signup):
    ana, ben = signup("Ana"), signup("Ben")
    sock_a = ana.socket(app)
    created = ana.post("/couples").get_json()
    sock_a.get_received()
    ben.post("/couples/join", {"invite_code": created["invite_code"]})
    pushes = [p["args"][0] for p in sock_a.get_received() if p["name"] == "me:state"]
    assert pushes and pushes[-1]["couples"][0]["status"] == "complete"


def test_finishing_marks_the_track_done_on_both_homes(partners):
    live = partners
    walk_to(live, None)
    for person, sock in ((live.a, live.sock_a), (live.b, live.sock_b)):
        pushes = [p["args"][0] for p in sock.get_received() if p["name"] == "me:state"]
        assert pushes and TRACK_ID in pushes[-1]["tracks_done"]
        me = person.get("/me").get_json()
        assert TRACK_ID in me["tracks_done"] and me["suggested_track_id"] != TRACK_ID
        assert me["sessions"][0]["status"] == "finished" and me["sessions"][0]["finished_at"]


# --- skip and acknowledge -------------------------------------------------------------------


def test_an_optional_step_can_be_skipped_and_the_reveal_says_so(partners):
    live = partners
    walk_to(live, OPTIONAL_STEP)
    words = unique_marker("shared")
    skip = live.emit(live.sock_a, "entry:submit", step_id=OPTIONAL_STEP,
                     client_id="a-skip-0001", skip=True)
    assert skip["ok"] and skip["entry"]["skipped"] and skip["entry"]["body"] is None
    again = live.emit(live.sock_a, "entry:submit", step_id=OPTIONAL_STEP,
                      client_id="a-skip-0001", skip=True)
    assert again["ok"], again
    assert again["entry"]["id"] == skip["entry"]["id"]  # a retry creates nothing
    assert live.emit(live.sock_b, "entry:submit", step_id=OPTIONAL_STEP,
                     client_id="b-answer-0001", body=words)["ok"]
    step = current(live, live.sock_b, OPTIONAL_STEP)
    by_user = {e["user_id"]: e for e in step["revealed"]["entries"]}
    assert by_user[live.a.user["id"]]["skipped"] is True
    assert by_user[live.a.user["id"]]["body"] is None
    assert by_user[live.b.user["id"]]["body"] == words


def test_a_required_step_cannot_be_skipped(partners):
    live = partners
    walk_to(live, "what-trust-means")
    ack = live.emit(live.sock_a, "entry:submit", step_id="what-trust-means",
                    client_id="a-skip-0002", skip=True)
    assert ack["error"]["code"] == "invalid"
    assert current(live, live.sock_a, "what-trust-means")["mine"]["entry"] is None


def test_acknowledgements_reach_the_partner_after_the_reveal_only(partners):
    live = partners
    walk_to(live, "what-trust-means")
    live.emit(live.sock_a, "entry:submit", step_id="what-trust-means", client_id="a-ack-0001",
              body="a words")
    early = live.emit(live.sock_a, "step:acknowledge", step_id="what-trust-means", ack="thanks")
    assert early["error"]["code"] == "conflict"
    live.emit(live.sock_b, "entry:submit", step_id="what-trust-means", client_id="b-ack-0001",
              body="b words")
    live.sock_b.get_received()
    bad = live.emit(live.sock_a, "step:acknowledge", step_id="what-trust-means", ack="meh")
    assert bad["error"]["code"] == "invalid"
    assert live.emit(live.sock_a, "step:acknowledge", step_id="what-trust-means",
                     ack="hear_you")["ok"]
    pushed = last_state(live.sock_b.get_received(), live.session_id)
    step = next(s for s in pushed["steps"] if s["id"] == "what-trust-means")
    assert [(a["user_id"], a["ack"]) for a in step["acks"]] == [(live.a.user["id"], "hear_you")]


# --- summaries -------------------------------------------------------------------------------


def test_the_summary_shows_each_viewer_only_what_was_revealed(partners):
    live = partners
    revealed_a, revealed_b = unique_marker("revealed-a"), unique_marker("revealed-b")
    walk_to(live, "what-helps-me-feel-secure" if any(
        s["id"] == "what-helps-me-feel-secure" for s in live.state["steps"]) else None,
        {"a:what-trust-means": revealed_a, "b:what-trust-means": revealed_b})
    step = live.emit(live.sock_a, "session:join")["state"]["session"]["current_step_id"]
    pending_a, draft_b = unique_marker("pending-a"), unique_marker("draft-b")
    live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-pending-01",
              **answer_for(current(live, live.sock_a, step), pending_a))
    live.emit(live.sock_b, "entry:draft", step_id=step, body=draft_b)

    for fmt in ("json", "md"):
        for_b = live.b.get(f"/sessions/{live.session_id}/summary?format={fmt}")
        for_a = live.a.get(f"/sessions/{live.session_id}/summary?format={fmt}")
        assert for_b.status_code == 200 and for_a.status_code == 200
        text_b, text_a = for_b.get_data(as_text=True), for_a.get_data(as_text=True)
        assert revealed_a in text_b and revealed_b in text_b and revealed_a in text_a
        assert pending_a not in text_b, "B's summary holds A's unrevealed answer"
        assert pending_a in text_a  # A keeps their own answer
        assert draft_b not in text_a and draft_b not in text_b, "a draft reached a summary"
    assert live.a.get(f"/sessions/{live.session_id}/summary?format=pdf").status_code == 400


def test_a_stranger_gets_no_summary(partners, signup):
    stranger = signup("Cleo")
    response = stranger.get(f"/sessions/{partners.session_id}/summary")
    assert response.status_code == 404


# --- time --------------------------------------------------------------------------------------


def test_a_due_deadline_is_applied_by_the_sweep_and_pushed(partners):
    from server.realtime.scheduler import sweep_once

    live = partners
    database = live.app.extensions["mend"].database
    past = utcnow().replace(microsecond=0)
    with database.session() as db:
        db.execute(update(Session).where(Session.id == live.session_id)
                   .values(paused_until=past, next_deadline_at=past))
        db.commit()
    live.sock_b.get_received()
    with live.app.app_context():
        assert sweep_once() == 1
        assert sweep_once() == 0  # nothing due any more: a second sweep (or worker) is a no-op
    pushed = last_state(live.sock_b.get_received(), live.session_id)
    assert pushed is not None and pushed["session"]["paused_until"] is None
    with database.session() as db:
        row = db.get(Session, live.session_id)
        assert row.paused_until is None and row.next_deadline_at is None


def test_submitting_during_a_break_is_refused_and_drafts_keep_saving(partners):
    from datetime import timedelta

    live = partners
    step = "what-trust-means"
    walk_to(live, step)
    later = utcnow() + timedelta(minutes=20)
    with live.app.extensions["mend"].database.session() as db:
        db.execute(update(Session).where(Session.id == live.session_id)
                   .values(paused_until=later, next_deadline_at=later))
        db.commit()
    assert live.emit(live.sock_a, "entry:draft", step_id=step, body="still writing")["ok"]
    ack = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-pause-01", body="x")
    assert ack["error"]["code"] == "paused"


# --- pinned tracks ------------------------------------------------------------------------------


def test_editing_a_track_never_moves_a_session_under_way(partners):
    live = partners
    ctx = live.app.extensions["mend"]
    original = ctx.library.get(TRACK_ID)
    edited = Track(original.id, original.title, original.summary, original.version + 1,
                   (Step(id="brand-new", kind="info", title="A new first card", body="New."),)
                   + original.steps[1:])
    ctx.library = TrackLibrary({**ctx.library.tracks, TRACK_ID: edited})
    try:
        state = live.emit(live.sock_a, "session:join")["state"]
        assert [s["id"] for s in state["steps"]] == [s.id for s in original.steps]
        assert state["session"]["track"]["version"] == original.version
        assert live.emit(live.sock_a, "step:ready", step_id="welcome")["ok"]
    finally:
        ctx.library = TrackLibrary({**ctx.library.tracks, TRACK_ID: original})


# --- exactly one reveal, with the race forced -------------------------------------------------


def test_two_submits_forced_to_interleave_make_exactly_one_reveal(partners, monkeypatch):
    """Each submit, once it has loaded the session, waits for the other to load too before
    deciding. With the session row lock the second cannot load until the first commits, so
    its wait times out and it sees the first answer: one reveal. Without the lock both load
    before either writes, neither sees the other, and there is no reveal at all."""
    live = partners
    walk_to(live, "what-trust-means")
    ctx = live.app.extensions["mend"]
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

    def submit(name: str, person) -> None:
        who.name = name
        try:
            with ctx.database.session() as db:
                outcomes[name] = session_service.submit_entry(
                    db, ctx.library, person.user["id"], live.session_id, "what-trust-means",
                    f"{name}-race-0001", f"{name} answer")
        except Exception as error:  # recorded: the assertion below shows what happened
            outcomes[name] = error

    threads = [threading.Thread(target=submit, args=(n, p))
               for n, p in (("a", live.a), ("b", live.b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    monkeypatch.setattr(session_service, "load_state", real_load)
    assert all(not isinstance(o, Exception) for o in outcomes.values()), outcomes
    revealed = [o for o in outcomes.values() if "what-trust-means" in o.state.reveals]
    assert len(revealed) == 1, "expected exactly one submit to make the reveal"
    with ctx.database.session() as db:
        assert db.scalar(select(func.count()).select_from(Reveal)
                         .where(Reveal.session_id == live.session_id)) == 1
    step = current(live, live.sock_b, "what-trust-means")
    assert step["status"] == "revealed" and len(step["revealed"]["entries"]) == 2


# --- resync equals pushes, for the new events ----------------------------------------------


@pytest.mark.parametrize("event", ["skip", "acknowledge"])
def test_after_new_events_the_last_push_equals_a_fresh_load(partners, event):
    live = partners
    walk_to(live, OPTIONAL_STEP)
    for sock in (live.sock_a, live.sock_b):
        sock.get_received()
    if event == "skip":
        actions = [(live.sock_a, "entry:submit",
                    {"step_id": OPTIONAL_STEP, "client_id": "a-resync-skip", "skip": True})]
    else:
        actions = [
            (live.sock_a, "entry:submit",
             {"step_id": OPTIONAL_STEP, "client_id": "a-resync-ans", "body": "a"}),
            (live.sock_b, "entry:submit",
             {"step_id": OPTIONAL_STEP, "client_id": "b-resync-ans", "body": "b"}),
            (live.sock_b, "step:acknowledge", {"step_id": OPTIONAL_STEP, "ack": "thanks"}),
        ]
    for sock, name, payload in actions:
        assert live.emit(sock, name, **payload)["ok"]
    for person, sock in ((live.a, live.sock_a), (live.b, live.sock_b)):
        pushed = last_state(sock.get_received(), live.session_id)
        fresh = person.get(f"/sessions/{live.session_id}").get_json()["state"]
        assert pushed == fresh


def test_nothing_new_leaks_through_home_pushes(partners):
    live = partners
    secret = unique_marker("home-secret")
    walk_to(live, "what-trust-means")
    live.sock_b.get_received()
    live.emit(live.sock_a, "entry:submit", step_id="what-trust-means", client_id="a-home-01",
              body=secret)
    live.a.post("/sessions", {"couple_id": live.a.get("/me").get_json()["couples"][0]["id"],
                              "track_id": "small-steps-of-appreciation"})
    assert secret not in received_text(live.sock_b)
