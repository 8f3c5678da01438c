"""Fair share at the edges: guesses at passwords and invite codes run out, sign-ups from one
address are capped, a user's sockets are capped, a socket's events have a budget, and typing
signals reach the partner coalesced."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from server.web.limits import set_limits

WRONG = "not the password"


def wait_until(predicate, timeout: float = 10.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    raise AssertionError("the condition never came true")


def log_in(app, email: str, password: str, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    return client.post("/api/v1/auth/login", json={"email": email, "password": password},
                       headers={"X-CSRFToken": token})


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.get_json()
    body = response.get_json()
    assert body["ok"] is False and body["error"]["code"] == "rate_limited", body
    assert body["error"]["message"].startswith("Too many attempts")
    assert int(response.headers["Retry-After"]) >= 1


def test_two_hundred_wrong_passwords_run_out_and_the_right_one_works_after_the_window(
        app, signup):
    ana = signup("Ana")
    # The default is 10 log-ins a minute per account; an 8-second window keeps the test short.
    # (The address's own limit is tested below.)
    window = 8
    set_limits(app, {"login-account": f"10 per {window} seconds", "login-address": "off"})
    started = time.monotonic()
    # All at once, as a guesser would: each is counted before it is checked, so no burst
    # slips through while the first guesses are still being hashed.
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: log_in(app, ana.email, WRONG), range(200)))
    assert time.monotonic() - started < window - 1, "the guesses took more than one window"
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {401: 10, 429: 190}, statuses
    assert_rate_limited(answers[-1] if answers[-1].status_code == 429
                        else next(r for r in answers if r.status_code == 429))
    # While limited even the right password is refused: a guesser learns nothing from it.
    assert_rate_limited(log_in(app, ana.email, ana.password))
    # Once the window has passed, Ana logs in as usual.
    wait_until(lambda: log_in(app, ana.email, ana.password).status_code == 200,
               timeout=window + 5, every=0.25)
    assert time.monotonic() - started >= window - 1


def test_one_address_trying_many_accounts_runs_out(app):
    answers = [log_in(app, f"nobody-{uuid.uuid4().hex[:8]}@example.test", WRONG)
               for _ in range(22)]
    statuses = [r.status_code for r in answers]
    assert 429 not in statuses[:20] and set(statuses[20:]) == {429}, statuses
    assert_rate_limited(answers[-1])


def test_one_account_tried_from_many_addresses_runs_out_and_others_still_log_in(app, signup):
    ana, ben = signup("Ana"), signup("Ben")
    statuses = [log_in(app, ana.email, WRONG, f"203.0.113.{i}").status_code
                for i in range(1, 12)]
    # 10 log-ins a minute per account (Ana's own log-in at sign-up among them).
    refused = statuses.index(429)
    assert 8 <= refused <= 10 and set(statuses[refused:]) == {429}, statuses
    assert log_in(app, ben.email, ben.password, "203.0.113.1").status_code == 200


def test_invite_code_guesses_run_out_across_lookups_and_joins(app, signup):
    cat = signup("Cat")

    def guess(i: int):
        code = f"ZZZZ{i:04d}".replace("0", "Z").replace("1", "Y")
        if i % 2:
            return cat.get(f"/invites/{code}")
        return cat.post("/couples/join", {"invite_code": code})

    answers = [guess(i) for i in range(12)]
    statuses = [r.status_code for r in answers]
    assert 429 not in statuses[:10] and set(statuses[10:]) == {429}, statuses
    assert_rate_limited(answers[-1])


def test_sign_ups_from_one_address_are_capped(app):
    client = app.test_client()

    def sign_up(i: int):
        token = client.get("/api/v1/csrf").get_json()["csrf_token"]
        return client.post("/api/v1/auth/signup",
                           json={"email": f"new-{i}-{uuid.uuid4().hex[:6]}@example.test",
                                 "password": "correct horse", "display_name": f"New {i}"},
                           headers={"X-CSRFToken": token})

    statuses = [sign_up(i).status_code for i in range(11)]
    assert 429 not in statuses[:10] and statuses[10] == 429, statuses


def test_a_user_holds_a_capped_number_of_sockets_and_others_are_not_affected(app, couple):
    cap = app.extensions["mend"].config.max_sockets_per_user
    sockets = [couple.a.socket(app) for _ in range(cap)]
    assert all(s.is_connected() for s in sockets)
    one_more = couple.a.socket(app)
    assert not one_more.is_connected()
    # Ben's own sockets are counted apart from Ana's.
    ben = couple.b.socket(app)
    assert ben.is_connected()
    # Closing one of Ana's frees its place.
    sockets.pop().disconnect()
    again = couple.a.socket(app)
    assert again.is_connected()
    for sock in [*sockets, again, ben]:
        sock.disconnect()


def test_a_socket_over_its_budget_is_refused_then_disconnected_and_its_partner_is_not(
        partners):
    live = partners
    config = live.app.extensions["mend"].config
    step = live.step_ids()[0]
    codes = []
    for _ in range(config.event_burst + config.refusals_before_disconnect + 50):
        if not live.sock_a.is_connected():
            break
        ack = live.emit(live.sock_a, "presence:typing", step_id=step, typing=True)
        codes.append("ok" if ack and ack.get("ok") else (ack or {}).get("error", {}).get("code"))
    # The first events spend the burst; then rate_limited; then the connection is closed.
    assert codes[0] == "ok" and "rate_limited" in codes, codes[:5]
    wait_until(lambda: not live.sock_a.is_connected(), timeout=5)
    assert codes.count("rate_limited") >= config.refusals_before_disconnect - 1
    assert live.sock_b.is_connected()
    assert live.emit(live.sock_b, "session:join")["ok"]


def test_a_burst_of_typing_signals_reaches_the_partner_coalesced(partners):
    live = partners
    step = live.step_ids()[0]
    live.sock_b.get_received()
    started = time.monotonic()
    for i in range(40):
        ack = live.emit(live.sock_a, "presence:typing", step_id=step, typing=i % 2 == 0)
        assert ack["ok"], ack
    sent_for = time.monotonic() - started
    # The last signal said "not typing": that state always reaches the partner.
    received = []

    def settled():
        received.extend(p["args"][0] for p in live.sock_b.get_received()
                        if p["name"] == "presence")
        return received and received[-1]["typing"] == []

    wait_until(settled, timeout=5, every=0.05)
    interval = live.app.extensions["mend"].config.presence_interval
    assert len(received) <= 2 + sent_for / interval, (len(received), sent_for)
    # A signal that changes nothing sends nothing: neither at once (the interval since the
    # last broadcast is over, so one would go at once) nor when the next interval ends.
    settled_at = time.monotonic()
    wait_until(lambda: time.monotonic() - settled_at > interval, every=0.02)
    assert live.emit(live.sock_a, "presence:typing", step_id=step, typing=False)["ok"]
    asked_at = time.monotonic()
    wait_until(lambda: time.monotonic() - asked_at > 2 * interval, every=0.02)
    assert [p for p in live.sock_b.get_received() if p["name"] == "presence"] == []
