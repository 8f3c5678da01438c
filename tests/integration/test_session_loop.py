"""The core loop over real Socket.IO handlers: private answers, one reveal, moving on."""

from __future__ import annotations

import json
import threading

from server.extensions import socketio
from tests.conftest import unique_marker


def received_text(sock) -> str:
    """Everything a socket has been sent so far, as one searchable string."""
    return json.dumps(sock.get_received(), default=str)


def last_state(packets: list[dict], session_id: str) -> dict | None:
    states = [p["args"][0] for p in packets if p["name"] == "session:state"
              and p["args"][0]["session"]["id"] == session_id]
    return states[-1] if states else None


def pass_welcome(live) -> str:
    """Both partners continue past the opening info card; returns the first prompt's id."""
    for sock in (live.sock_a, live.sock_b):
        assert live.emit(sock, "step:ready", step_id="welcome")["ok"]
    return live.current_step(live.sock_a)


def test_logged_out_handshake_is_refused(app):
    sock = socketio.test_client(app, flask_test_client=app.test_client())
    assert not sock.is_connected()


def test_partner_sees_nothing_before_both_submit(partners):
    live = partners
    step = pass_welcome(live)
    live.sock_a.get_received(), live.sock_b.get_received()
    draft_a, answer_a = unique_marker("draft-a"), unique_marker("answer-a")
    answer_b = unique_marker("answer-b")

    assert live.emit(live.sock_a, "entry:draft", step_id=step, body=draft_a)["ok"]
    ack = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-client-0001",
                    body=answer_a)
    assert ack["ok"] and ack["entry"]["body"] == answer_a

    seen_by_b = received_text(live.sock_b)
    http_b = live.b.get(f"/sessions/{live.session_id}").get_data(as_text=True)
    me_b = live.b.get("/me").get_data(as_text=True)
    for marker in (draft_a, answer_a):
        assert marker not in seen_by_b and marker not in http_b and marker not in me_b
    assert '"partner_status": "submitted"' in seen_by_b

    assert live.emit(live.sock_b, "entry:submit", step_id=step, client_id="b-client-0001",
                     body=answer_b)["ok"]
    # The reveal reaches both at once, in each one's own view; A's draft never reaches B.
    for sock in (live.sock_a, live.sock_b):
        packets = sock.get_received()
        state = last_state(packets, live.session_id)
        current = next(s for s in state["steps"] if s["id"] == step)
        assert current["status"] == "revealed"
        assert [e["body"] for e in current["revealed"]["entries"]] == [answer_a, answer_b]
        if sock is live.sock_b:
            assert draft_a not in json.dumps(packets)


def test_drafts_autosave_and_come_back_after_a_reconnect(partners, app):
    live = partners
    step = pass_welcome(live)
    words = unique_marker("draft")
    ack = live.emit(live.sock_a, "entry:draft", step_id=step, body=words)
    assert ack["ok"] and ack["saved_at"].endswith("Z")
    live.sock_a.disconnect()
    again = live.a.socket(app)
    state = again.emit("session:join", {"session_id": live.session_id}, callback=True)["state"]
    mine = next(s for s in state["steps"] if s["id"] == step)["mine"]
    assert mine["draft"]["body"] == words and mine["entry"] is None
    assert words not in received_text(live.sock_b)
    again.disconnect()


def test_partner_status_goes_from_not_started_to_writing_to_submitted(partners):
    live = partners
    step = pass_welcome(live)

    def status_seen_by_b():
        state = live.emit(live.sock_b, "session:join")["state"]
        return next(s for s in state["steps"] if s["id"] == step)["partner_status"]

    assert status_seen_by_b() == "not_started"
    live.emit(live.sock_a, "entry:draft", step_id=step, body="a few words")
    assert status_seen_by_b() == "writing"
    live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-client-0002",
              body="done")
    assert status_seen_by_b() == "submitted"


def test_the_same_client_id_returns_the_same_entry_and_creates_nothing(partners):
    live = partners
    step = pass_welcome(live)
    first = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="retry-0001",
                      body="once")
    version = live.emit(live.sock_a, "session:join")["state"]["session"]["version"]
    live.sock_b.get_received()
    again = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="retry-0001",
                      body="once")
    assert again == first
    assert live.emit(live.sock_a, "session:join")["state"]["session"]["version"] == version
    assert live.sock_b.get_received() == []  # nothing changed, so nothing was pushed
    different = live.emit(live.sock_a, "entry:submit", step_id=step, client_id="retry-0001",
                          body="twice")
    assert different["error"]["code"] == "conflict"


def test_moving_on_needs_the_reveal_and_both_partners(partners):
    live = partners
    step = pass_welcome(live)
    live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-ready-001", body="a")
    early = live.emit(live.sock_a, "step:ready", step_id=step)
    assert early["error"]["code"] == "conflict"
    live.emit(live.sock_b, "entry:submit", step_id=step, client_id="b-ready-001", body="b")
    assert live.emit(live.sock_a, "step:ready", step_id=step)["ok"]
    assert live.current_step(live.sock_a) == step
    assert live.emit(live.sock_b, "step:ready", step_id=step)["ok"]
    state = live.emit(live.sock_a, "session:join")["state"]
    assert state["session"]["current_step_id"] != step
    finished = next(s for s in state["steps"] if s["id"] == step)
    assert finished["status"] == "done" and len(finished["revealed"]["entries"]) == 2


def test_scale_and_checklist_answers(partners):
    live = partners
    steps = {s["id"]: s for s in live.state["steps"]}
    pass_welcome(live)
    order = [s["id"] for s in live.state["steps"]]
    # walk to the first scale step, answering text steps on the way
    for step_id in order[1:]:
        spec = steps[step_id]["answer"]
        if spec is None:
            for sock in (live.sock_a, live.sock_b):
                live.emit(sock, "step:ready", step_id=step_id)
            continue
        if spec["type"] == "text":
            payloads = ({"body": "a"}, {"body": "b"})
        elif spec["type"] == "closing":  # a reflection and a check-out scale
            payloads = ({"body": "a", "fields": {"value": spec["scale"]["min"]}},
                        {"body": "", "fields": {"value": spec["scale"]["max"]}})
        elif spec["type"] == "scale":
            bad = live.emit(live.sock_a, "entry:submit", step_id=step_id,
                            client_id="bad-scale-01", fields={"value": spec["max"] + 1})
            assert bad["error"]["code"] == "invalid"
            payloads = ({"fields": {"value": spec["min"]}}, {"fields": {"value": spec["max"]}})
        else:
            bad = live.emit(live.sock_a, "entry:submit", step_id=step_id,
                            client_id="bad-choice-1", fields={"choices": ["not offered"]})
            assert bad["error"]["code"] == "invalid"
            payloads = ({"fields": {"choices": spec["options"][:2]}},
                        {"fields": {"choices": spec["options"][-1:]}})
        for n, (sock, payload) in enumerate(zip((live.sock_a, live.sock_b), payloads, strict=True)):
            ack = live.emit(sock, "entry:submit", step_id=step_id,
                            client_id=f"{step_id}-{n}"[:60].ljust(8, "x"), **payload)
            assert ack["ok"], ack
        for sock in (live.sock_a, live.sock_b):
            assert live.emit(sock, "step:ready", step_id=step_id)["ok"]
    state = live.emit(live.sock_a, "session:join")["state"]
    assert state["session"]["status"] == "finished"
    scale_step = next(s for s in state["steps"] if (s["answer"] or {}).get("type") == "scale")
    assert [e["fields"] for e in scale_step["revealed"]["entries"]] == [
        {"value": scale_step["answer"]["min"]}, {"value": scale_step["answer"]["max"]}]


def test_bad_payloads_get_a_clear_error_and_store_nothing(partners):
    live = partners
    step = pass_welcome(live)
    cases = [
        ("entry:submit", "not an object", "invalid"),
        ("entry:submit", {"session_id": live.session_id, "step_id": step}, "invalid"),
        ("entry:submit", {"session_id": "nope", "step_id": step, "client_id": "abcdefgh",
                          "body": "x"}, "not_found"),
        ("entry:submit", {"session_id": live.session_id, "step_id": "nope",
                          "client_id": "abcdefgh", "body": "x"}, "not_found"),
        ("entry:submit", {"session_id": live.session_id, "step_id": step,
                          "client_id": "abcdefgh", "body": "x" * 20_001}, "too_large"),
        ("entry:submit", {"session_id": live.session_id, "step_id": step,
                          "client_id": "abcdefgh", "body": "   "}, "invalid"),
        ("entry:draft", {"session_id": live.session_id, "step_id": step, "body": 42},
         "invalid"),
        ("step:ready", {"session_id": live.session_id}, "invalid"),
        ("session:join", {}, "invalid"),
    ]
    for event, payload, code in cases:
        ack = live.sock_a.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
        assert ack["error"]["message"]
    state = live.emit(live.sock_a, "session:join")["state"]
    assert next(s for s in state["steps"] if s["id"] == step)["mine"]["entry"] is None


def test_an_outsider_can_neither_join_nor_act_nor_hear(partners, signup, app):
    live = partners
    step = pass_welcome(live)
    eve = signup("Eve").socket(app)
    assert eve.is_connected()
    for event, extra in (("session:join", {}), ("entry:draft", {"step_id": step, "body": "x"}),
                         ("entry:submit", {"step_id": step, "client_id": "eve-00001",
                                           "body": "x"}),
                         ("step:ready", {"step_id": step}),
                         ("presence:typing", {"step_id": step, "typing": True})):
        ack = eve.emit(event, {"session_id": live.session_id, **extra}, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] in ("not_found", "forbidden"), event
    secret_a, secret_b = unique_marker("a"), unique_marker("b")
    live.emit(live.sock_a, "entry:submit", step_id=step, client_id="a-out-0001", body=secret_a)
    live.emit(live.sock_b, "entry:submit", step_id=step, client_id="b-out-0001", body=secret_b)
    heard = received_text(eve)
    assert secret_a not in heard and secret_b not in heard
    eve.disconnect()


def test_two_simultaneous_submits_produce_exactly_one_reveal(partners):
    live = partners
    step = pass_welcome(live)
    live.sock_a.get_received(), live.sock_b.get_received()
    barrier = threading.Barrier(2)
    acks = {}

    def submit(name, sock):
        barrier.wait()
        acks[name] = live.emit(sock, "entry:submit", step_id=step,
                               client_id=f"{name}-simul-01", body=f"answer {name}")

    threads = [threading.Thread(target=submit, args=(n, s))
               for n, s in (("a", live.sock_a), ("b", live.sock_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert acks["a"]["ok"] and acks["b"]["ok"]
    state = live.emit(live.sock_a, "session:join")["state"]
    current = next(s for s in state["steps"] if s["id"] == step)
    assert current["status"] == "revealed" and len(current["revealed"]["entries"]) == 2
    from sqlalchemy import func, select

    from server.models import Reveal

    with live.app.extensions["mend"].database.session() as db:
        reveals = db.scalar(select(func.count()).select_from(Reveal)
                            .where(Reveal.session_id == live.session_id))
    assert reveals == 1


def test_presence_shows_who_is_online_and_typing(partners):
    live = partners
    step = pass_welcome(live)
    live.sock_b.get_received()
    live.emit(live.sock_a, "presence:typing", step_id=step, typing=True)
    presence = [p["args"][0] for p in live.sock_b.get_received() if p["name"] == "presence"]
    assert presence[-1]["typing"] == [live.a.user["id"]]
    assert set(presence[-1]["online"]) == {live.a.user["id"], live.b.user["id"]}
    live.sock_a.disconnect()
    presence = [p["args"][0] for p in live.sock_b.get_received() if p["name"] == "presence"]
    assert presence[-1]["online"] == [live.b.user["id"]] and presence[-1]["typing"] == []


def test_logging_out_closes_the_users_sockets(partners):
    live = partners
    assert live.sock_a.is_connected()
    live.a.post("/auth/logout")
    assert not live.sock_a.is_connected()
