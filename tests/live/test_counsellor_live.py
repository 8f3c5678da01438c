"""The counsellor against a real `mend run` over the network: three python-socketio clients
(two partners and their counsellor) run a held reveal, and the counsellor's acknowledged
actions survive a kill -9. On SQLite, and on PostgreSQL when MEND_TEST_POSTGRES_URL is set;
the role is granted the way an administrator does it, with `mend counsellor grant`."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from sqlalchemy import text

from server.db import make_engine
from tests.conftest import require, unique_marker
from tests.live.conftest import MEND, Browserless, Inbox, MendServer, make_couple_session

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
TRACK = "setting-boundaries-together"
HELD_STEP = "room-of-my-own"


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request) -> dict:
    """What the server (and the `mend` command beside it) is told about its database."""
    if request.param == "sqlite":
        return {}
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return {"MEND_DATABASE_URL": POSTGRES_URL}


def mend_command(server: MendServer, *args: str) -> str:
    """`mend ARGS…` run by an administrator on the server's machine, beside the server."""
    env = {**os.environ, "MEND_DATA_DIR": str(server.data_dir), **server.env_extra}
    done = subprocess.run([MEND, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def call(sock, event: str, session_id: str, **payload) -> dict:
    ack = sock.call(event, {"session_id": session_id, **payload}, timeout=10)
    assert ack["ok"], (event, payload, ack)
    return ack


def step_of(state: dict, step_id: str) -> dict:
    return next(s for s in state["steps"] if s["id"] == step_id)


def seat_counsellor(server: MendServer, ana: Browserless, ben: Browserless, session_id: str
                    ) -> Browserless:
    """A granted counsellor whom Ana invites, Ben agrees to, and who joins with the code."""
    dora = Browserless(server.url, "Dora").sign_up()
    assert dora.email in mend_command(server, "counsellor", "grant", dora.email)
    invite = ana.post(f"/sessions/{session_id}/counsellor-invite")
    assert invite.status_code == 201, invite.text
    code = invite.json()["invite_code"]
    early = dora.post("/counsellor/join", {"invite_code": code})
    assert early.status_code == 403 and early.json()["error"]["code"] == "forbidden"
    assert ben.post(f"/sessions/{session_id}/counsellor-consent").ok
    joined = dora.post("/counsellor/join", {"invite_code": code})
    assert joined.status_code == 200, joined.text
    return dora


def reach_held_step(session_id: str, sock_a, sock_b) -> None:
    """Both partners move on through the welcome and an info card (make_couple_session
    passed the private check that opens the session)."""
    for sock in (sock_a, sock_b):
        call(sock, "step:ready", session_id, step_id="welcome")
    for step in ("agreements-not-walls",):
        for sock in (sock_a, sock_b):
            call(sock, "step:ready", session_id, step_id=step)


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_counsellor_holds_previews_and_releases_a_reveal_over_the_network(
        data_dir, database_env, async_mode):
    server = MendServer(data_dir, async_mode, env_extra=database_env).start()
    people = []
    try:
        ana, ben, session_id = make_couple_session(server.url, TRACK)
        dora = seat_counsellor(server, ana, ben, session_id)
        people = [ana, ben, dora]
        sock_a, sock_b, sock_c = ana.connect(), ben.connect(), dora.connect()
        inbox_a, inbox_b, inbox_c = Inbox(sock_a), Inbox(sock_b), Inbox(sock_c)
        for sock in (sock_a, sock_b):
            state = call(sock, "session:join", session_id)["state"]
            assert state["counsellor"]["present"]["user_id"] == dora.user["id"]
            assert "never see drafts" in state["counsellor"]["notice"]
        joined = call(sock_c, "session:join", session_id)["state"]
        assert joined["viewer"]["role"] == "counsellor"

        call(sock_c, "reveal:hold", session_id, step_id=HELD_STEP)
        reach_held_step(session_id, sock_a, sock_b)
        words_a, words_b = unique_marker("live-a"), unique_marker("live-b")
        draft_b = unique_marker("live-draft-b")
        call(sock_b, "entry:draft", session_id, step_id=HELD_STEP, body=draft_b)
        call(sock_a, "entry:submit", session_id, step_id=HELD_STEP, client_id="live-a-held-1",
             body=words_a)
        call(sock_b, "entry:submit", session_id, step_id=HELD_STEP, client_id="live-b-held-1",
             body=words_b)
        # The counsellor's dashboard and pushes learn who submitted, never what.
        inbox_c.wait_for(lambda s: step_of(s, HELD_STEP).get("submitted") == [
            ana.user["id"], ben.user["id"]])
        for inbox in (inbox_a, inbox_b):
            inbox.wait_for(lambda s: s["moderation"]["held"] == [HELD_STEP]
                           and step_of(s, HELD_STEP)["partner_status"] == "submitted")
        assert words_b not in repr(inbox_a.events) and words_a not in repr(inbox_b.events)
        assert words_a not in repr(inbox_c.events) and words_b not in repr(inbox_c.events)
        [row] = dora.get("/counsellor/sessions").json()["sessions"]
        assert row["session"]["id"] == session_id and row["step"]["held"] is True
        assert words_a not in json.dumps(row) and words_b not in json.dumps(row)
        refused = sock_a.call("reveal:release", {"session_id": session_id,
                                                 "step_id": HELD_STEP}, timeout=10)
        assert refused["error"]["code"] == "forbidden"

        preview = call(sock_c, "reveal:preview", session_id, step_id=HELD_STEP)
        assert [e["body"] for e in preview["entries"]] == [words_a, words_b]
        call(sock_c, "reveal:release", session_id, step_id=HELD_STEP)
        for inbox in (inbox_a, inbox_b, inbox_c):
            state = inbox.wait_for(lambda s: step_of(s, HELD_STEP)["status"] == "revealed")
            assert [e["body"] for e in step_of(state, HELD_STEP)["revealed"]["entries"]] == [
                words_a, words_b]

        note, message = unique_marker("live-note"), unique_marker("live-message")
        call(sock_c, "note:add", session_id, client_id="live-note-0001", body=note)
        sent = call(sock_c, "note:add", session_id, client_id="live-msg-00001", body=message,
                    user_id=ana.user["id"])
        assert sent["note"]["to_user_id"] == ana.user["id"]
        version = inbox_c.wait_for(
            lambda s: [n["body"] for n in s["notes"]] == [note, message])["session"]["version"]
        inbox_a.wait_for(lambda s: [n["body"] for n in s["notes"]] == [message])
        inbox_b.wait_for(lambda s: s["session"]["version"] >= version)
        for person, inbox, unseen in ((ana, inbox_a, (note, draft_b)),
                                      (ben, inbox_b, (note, message))):
            fetched = person.get(f"/sessions/{session_id}").text + person.get(
                f"/sessions/{session_id}/summary?format=md").text
            for leak in unseen:
                assert leak not in repr(inbox.events) and leak not in fetched
        assert draft_b not in repr(inbox_c.events)
        state = inbox_c.states()[-1]
        actions = [e["action"] for e in state["audit"]]
        for expected in ("counsellor_joined", "opened", "reveal_held", "answers_previewed",
                         "reveal_released", "answers_shown", "note_written", "message_sent"):
            assert expected in actions, expected
        assert all(w not in json.dumps(state["audit"]) for w in (words_a, words_b, note,
                                                                 message))
    finally:
        for person in people:
            person.close()
        server.stop()


def test_acknowledged_counsellor_actions_survive_kill_9_and_a_retried_note_adds_nothing(
        data_dir, database_env):
    first = MendServer(data_dir, "gevent", env_extra=database_env).start()
    try:
        ana, ben, session_id = make_couple_session(first.url, TRACK)
        dora = seat_counsellor(first, ana, ben, session_id)
        sock_c = dora.connect()
        call(sock_c, "session:join", session_id)
        call(sock_c, "reveal:hold", session_id, step_id=HELD_STEP)
        words = unique_marker("durable-note")
        note = {"client_id": "durable-note-01", "body": words}
        acked = call(sock_c, "note:add", session_id, **note)
        first.kill_9()
    finally:
        first.stop()
    dora.close()

    second = MendServer(data_dir, "gevent", port=first.port, env_extra=database_env).start()
    try:
        sock_c = dora.connect()  # the cookie still works: the secret key was kept
        state = call(sock_c, "session:join", session_id)["state"]
        assert state["moderation"]["held"] == [HELD_STEP]
        assert [(n["id"], n["body"]) for n in state["notes"]] == [(acked["note"]["id"], words)]
        # A client that never saw the ack sends the note again: the same note comes back.
        again = call(sock_c, "note:add", session_id, **note)
        assert again == acked
        state = call(sock_c, "session:join", session_id)["state"]
        assert len(state["notes"]) == 1
        actions = [e["action"] for e in state["audit"]]
        assert actions.count("note_written") == 1 and actions.count("reveal_held") == 1
        # The hold still binds the partners after the restart; the note reaches neither.
        sock_a, sock_b = ana.connect(), ben.connect()
        reach_held_step(session_id, sock_a, sock_b)
        for name, sock in (("a", sock_a), ("b", sock_b)):
            call(sock, "entry:submit", session_id, step_id=HELD_STEP,
                 client_id=f"after-kill-{name}", body=f"{name} after the restart")
        for person in (ana, ben):
            view = person.get(f"/sessions/{session_id}")
            assert step_of(view.json()["state"], HELD_STEP)["status"] == "open"
            assert words not in view.text
        refused = sock_a.call("step:ready", {"session_id": session_id, "step_id": HELD_STEP},
                              timeout=10)
        assert refused["error"]["code"] == "conflict"
    finally:
        for person in (ana, ben, dora):
            person.close()
        second.stop()
