"""Zulip's rule: a client that applied every push holds exactly what a fresh load returns.

After each action below, the last `session:state` pushed to each partner must equal
`GET /api/v1/sessions/<id>` for that partner. A new action joins the list to be covered.

The one designed exception: editing a draft that already has words changes nobody else's
view, so it bumps no version and pushes nothing; the author's ack (`saved_at`) confirms it
and a fresh load carries the newer text in `mine.draft`.
"""

from __future__ import annotations

import copy

from tests.integration.test_session_loop import last_state


def _actions(live):
    first_prompt = live.step_ids()[1]
    return [
        ("a continues past the info card", live.sock_a, "step:ready", {"step_id": "welcome"}),
        ("b continues past the info card", live.sock_b, "step:ready", {"step_id": "welcome"}),
        ("a starts a draft", live.sock_a, "entry:draft",
         {"step_id": first_prompt, "body": "first words"}),
        ("a edits the draft", live.sock_a, "entry:draft",
         {"step_id": first_prompt, "body": "first words, and more"}),
        ("b starts a draft", live.sock_b, "entry:draft",
         {"step_id": first_prompt, "body": "other words"}),
        ("b clears the draft", live.sock_b, "entry:draft", {"step_id": first_prompt, "body": ""}),
        ("a submits", live.sock_a, "entry:submit",
         {"step_id": first_prompt, "client_id": "resync-a-01", "body": "a's first answer"}),
        ("a replaces the answer", live.sock_a, "entry:submit",
         {"step_id": first_prompt, "client_id": "resync-a-02", "body": "a's second answer"}),
        ("a takes the answer back", live.sock_a, "entry:withdraw", {"step_id": first_prompt}),
        ("a submits again", live.sock_a, "entry:submit",
         {"step_id": first_prompt, "client_id": "resync-a-03", "body": "a's answer"}),
        ("b submits and the step is revealed", live.sock_b, "entry:submit",
         {"step_id": first_prompt, "client_id": "resync-b-01", "body": "b's answer"}),
        ("a is ready", live.sock_a, "step:ready", {"step_id": first_prompt}),
        ("b is ready and the session moves on", live.sock_b, "step:ready",
         {"step_id": first_prompt}),
    ]


def test_last_pushed_view_equals_a_fresh_load_after_every_action(partners):
    live = partners
    held = {"a": live.state, "b": live.emit(live.sock_b, "session:join")["state"]}
    people = {"a": (live.a, live.sock_a), "b": (live.b, live.sock_b)}
    for sock in (live.sock_a, live.sock_b):
        sock.get_received()
    for description, sock, event, payload in _actions(live):
        ack = live.emit(sock, event, **payload)
        assert ack["ok"], (description, ack)
        for name, (person, person_sock) in people.items():
            pushed = last_state(person_sock.get_received(), live.session_id)
            if pushed is not None:
                assert pushed["session"]["version"] > held[name]["session"]["version"]
                held[name] = pushed
            fresh = person.get(f"/sessions/{live.session_id}").get_json()["state"]
            if description == "a edits the draft" and name == "a":
                fresh = _with_draft_of(fresh, held[name])
                assert pushed is None
            assert held[name] == fresh, f"after '{description}', {name}'s view is stale"


def _with_draft_of(fresh: dict, held: dict) -> dict:
    """The fresh view with the held view's draft (checking the fresh one is the newest)."""
    fresh = copy.deepcopy(fresh)
    for fresh_step, held_step in zip(fresh["steps"], held["steps"], strict=True):
        if fresh_step["mine"] and fresh_step["mine"]["draft"]:
            assert fresh_step["mine"]["draft"]["body"] == "first words, and more"
            fresh_step["mine"]["draft"] = held_step["mine"]["draft"]
    return fresh
