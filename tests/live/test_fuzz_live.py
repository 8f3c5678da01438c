"""Malformed input against a real `mend run`, over the network (issue 8).

One partner's socket throws malformed events and hand-written frames (not JSON, nested
1,000 and 100,000 deep, NaN, reserved event names, extra arguments), and HTTP bodies that
are not JSON, nest 100,000 deep or carry a NUL or a lone surrogate. Every one gets its
answer in the contract's shape (an ack always comes back; never `internal`, never a 500),
a refusal stores nothing, nothing unstorable is ever stored, and meanwhile the other
partner's drafts are acknowledged as usual (none slower than 2 s, the median under 250 ms).
A frame over the transport's 300,000-byte cap closes that one connection, nobody else's.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from server.db import make_engine
from tests.conftest import require
from tests.integration.test_fuzz_inputs import VALUES, variants
from tests.integration.test_input_contract import (
    KNOWN_CODES,
    LONE_SURROGATE,
    NUL,
    deep,
    row_counts,
    unstorable_values,
)
from tests.live.conftest import MendServer, make_couple_session

pytestmark = pytest.mark.live

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")
LIVE_FUZZ = settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.data_too_large])
# The fair share (issue 8) is tested in test_fair_share.py; here it would only answer
# rate_limited to a test that sends as fast as it can.
NO_BUDGETS = {"MEND_EVENT_RATE": "0", "MEND_USER_EVENT_RATE": "0",
              "MEND_REFUSALS_BEFORE_DISCONNECT": "0"}


@pytest.fixture(params=[("gevent", "sqlite"), ("eventlet", "sqlite"), ("gevent", "postgres")],
                ids=lambda p: "-".join(p))
def served(request, data_dir):
    """A running server and an engine on its database."""
    mode, database = request.param
    env = dict(NO_BUDGETS)
    if database == "postgres":
        require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
        engine = make_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        env["MEND_DATABASE_URL"] = POSTGRES_URL
    server = MendServer(data_dir, mode, env_extra=env).start()
    url = POSTGRES_URL if database == "postgres" else \
        f"sqlite:///{next(data_dir.glob('*.sqlite3'))}"
    engine = make_engine(url)
    yield server, engine
    engine.dispose()
    server.stop()


class Bystander:
    """The other partner, saving a draft every 50 ms on a thread of their own."""

    def __init__(self, sock, session_id: str, step_id: str):
        self.sock, self.session_id, self.step_id = sock, session_id, step_id
        self.latencies: list[float] = []
        self.failures: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Bystander:
        # One draft first, so the rows are there: from then on the bystander only updates
        # them, and the fuzzing's row counts see nothing of it.
        self._save(0)
        assert self.failures == [], self.failures
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _save(self, n: int) -> None:
        started = time.monotonic()
        try:
            ack = self.sock.call("entry:draft", {
                "session_id": self.session_id, "step_id": self.step_id,
                "body": f"still writing {n}"}, timeout=10)
        except Exception as exc:  # no ack within 10 s
            self.failures.append(repr(exc))
            return
        self.latencies.append(time.monotonic() - started)
        if not ack.get("ok"):
            self.failures.append(ack)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            self._save(n)
            self._stop.wait(0.05)


def raw_call(sock, body: str, timeout: float = 10) -> dict:
    """Send `2<id><body>` as written and wait for its ack."""
    arrived = threading.Event()
    answer: list = []

    def on_ack(*args):
        answer.extend(args)
        arrived.set()

    ack_id = sock._generate_ack_id("/", on_ack)
    sock.eio.send(f"2{ack_id}{body}")
    assert arrived.wait(timeout), f"no ack for {body[:60]!r}"
    return answer[0] if answer else None


def check_answer(ack) -> None:
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] in KNOWN_CODES, ack


def test_malformed_input_over_the_network_is_answered_while_others_are_served(served):
    server, engine = served
    ana, ben, session_id = make_couple_session(server.url)
    sock_a, sock_b = ana.connect(), ben.connect()
    for sock in (sock_a, sock_b):
        assert sock.call("session:join", {"session_id": session_id}, timeout=10)["ok"]
        assert sock.call("step:ready", {"session_id": session_id, "step_id": "welcome"},
                         timeout=10)["ok"]
    step = sock_a.call("session:join", {"session_id": session_id},
                       timeout=10)["state"]["session"]["current_step_id"]
    base = {"session_id": session_id, "step_id": step, "body": "words", "fields": None}

    @LIVE_FUZZ
    @given(event=st.sampled_from(["entry:draft", "entry:submit", "turn:submit",
                                  "session:pause", "note:add", "no:such:event"]),
           payload=variants(base, VALUES), extra=st.lists(VALUES, max_size=1))
    def events(event, payload, extra):
        before = row_counts(engine)
        ack = sock_a.call(event, (payload, *extra) if extra else payload, timeout=10)
        check_answer(ack)
        if not ack["ok"]:
            assert row_counts(engine) == before, (event, ack)

    @LIVE_FUZZ
    @given(body=st.one_of(
        st.integers(min_value=33, max_value=5_000).map(deep),
        st.text(min_size=1, max_size=30).filter(lambda s: not s[0].isdigit()
                                                 and s[0] not in "-/"),
        st.sampled_from(['["entry:draft",NaN]', '["disconnect"]', '["connect",{}]', "[]",
                         '{"a":1}', '["entry:draft",{"session_id":1e999}]'])))
    def frames(body):
        ack = raw_call(sock_a, body)
        check_answer(ack)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid", (body[:40], ack)

    with Bystander(sock_b, session_id, step) as bystander:
        events()
        frames()
        # The probed cases, once each.
        for body in ('["entry:draft",' + deep(1_000) + "]", deep(100_000)):
            ack = raw_call(sock_a, body)
            assert ack["ok"] is False and ack["error"]["code"] == "invalid"
        http_cases(server.url, ana, engine)
        # A frame over the transport's cap closes that connection only.
        extra = ana.connect()
        before = row_counts(engine)
        extra.eio.send('2["entry:draft",{"body":"' + "x" * 310_000 + '"}]')
        deadline = time.monotonic() + 10
        while extra.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not extra.connected
        assert row_counts(engine) == before
        assert sock_a.call("entry:draft", {**base, "body": "after all that"},
                           timeout=10)["ok"]
        time.sleep(0.3)  # a few more of the bystander's drafts after the last probe

    assert bystander.failures == []
    assert len(bystander.latencies) >= 10
    # Served as usual: no stall (the issue saw none answered for 20 s), on a busy CI machine.
    slowest = sorted(bystander.latencies)[-5:]
    assert max(bystander.latencies) < 2.0, slowest
    assert sorted(bystander.latencies)[len(bystander.latencies) // 2] < 0.25, slowest
    assert unstorable_values(engine) == []
    log = server.log()
    assert "unhandled error" not in log and " failed\n" not in log, log[-3000:]


def http_cases(base_url: str, person, engine) -> None:
    headers = {**person._csrf(), "Content-Type": "application/json"}
    before = row_counts(engine)
    for path, method in (("/couples/join", "POST"), ("/sessions", "POST"),
                         ("/auth/login", "POST"), ("/me", "DELETE")):
        for body in (deep(100_000), deep(1_000), b"\xff\xfe\x00", "not json", "[1,2]",
                     json.dumps({"invite_code": LONE_SURROGATE}),
                     json.dumps({"invite_code": NUL}),
                     json.dumps({"email": NUL, "password": LONE_SURROGATE}),
                     json.dumps({"password": LONE_SURROGATE})):
            response = person.http.request(method, f"{base_url}/api/v1{path}", data=body,
                                           headers=headers, timeout=10)
            assert response.status_code in (400, 429), (path, body[:30], response.text)
            answer = response.json()
            assert answer["ok"] is False and answer["error"]["code"] in ("invalid",
                                                                         "rate_limited")
    assert row_counts(engine) == before
    assert requests.get(f"{base_url}/healthz", timeout=5).ok
