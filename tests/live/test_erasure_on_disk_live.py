"""Gone means gone, on a real `mend run` (gevent and eventlet, SQLite): after DELETE /me
no file in the data directory holds a word Ana wrote, while the server is still running
with its pool, its background loops and its log open.

The in-process test (tests/integration/test_erasure_on_disk.py) covers every kind of
words; this one checks the same promise holds under the real server's async mode, where
the WAL checkpoint runs inside a worker (cooperative retries) and other connections of the
pool are in use, and that the server's own log holds none of her words either.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import unique_marker
from tests.integration.test_erasure_on_disk import halves
from tests.live.conftest import Inbox, make_couple_session


def files_holding(data_dir: Path, words: dict[str, bytes]) -> dict[str, list[str]]:
    """{file name: [word keys]} for every file under the data directory, raw bytes; a word
    counts when either half is there (a page boundary can split it, never both halves)."""
    found = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        keys = [k for k, w in words.items() if any(part in data for part in halves(w))]
        if keys:
            found[path.name] = keys
    return found


def call(sock, event: str, session_id: str, **payload) -> dict:
    ack = sock.call(event, {"session_id": session_id, **payload}, timeout=15)
    assert ack["ok"], (event, ack)
    return ack


def test_after_erasure_the_running_servers_files_hold_none_of_her_words(server, data_dir):
    ana, ben, session_id = make_couple_session(server.url)
    m = {k: unique_marker(k) for k in ("answer", "draft", "reason", "b_answer")}
    sock_a, sock_b = ana.connect(), ben.connect()
    inbox_b = Inbox(sock_b)
    try:
        for sock in (sock_a, sock_b):
            call(sock, "session:join", session_id)
        for sock in (sock_a, sock_b):
            call(sock, "step:ready", session_id, step_id="welcome")
        call(sock_a, "entry:submit", session_id, step_id="what-trust-means",
             client_id=f"live-a-{session_id[:8]}", body=m["answer"])
        call(sock_b, "entry:submit", session_id, step_id="what-trust-means",
             client_id=f"live-b-{session_id[:8]}", body=m["b_answer"])
        inbox_b.wait_for(lambda s: any(st["id"] == "what-trust-means"
                                       and st["status"] == "revealed" for st in s["steps"]))
        for sock in (sock_a, sock_b):
            call(sock, "step:ready", session_id, step_id="what-trust-means")
        for sock, who in ((sock_a, "a"), (sock_b, "b")):
            call(sock, "entry:submit", session_id, step_id="feeling-secure-now",
                 client_id=f"live-{who}2-{session_id[:8]}", fields={"value": 6})
        for sock in (sock_a, sock_b):
            call(sock, "step:ready", session_id, step_id="feeling-secure-now")
        for n in range(3):  # a draft saved again and again: many WAL frames
            call(sock_a, "entry:draft", session_id, step_id="what-helps-trust-be-kept",
                 body=f"{m['draft']} take {n}")
        call(sock_a, "session:pause", session_id, reason=m["reason"])
        words = {k: v.encode() for k, v in m.items() if not k.startswith("b_")}
        words["email"] = ana.email.encode()
        assert set(files_holding(data_dir, words).get("mend.sqlite3-wal", [])) >= {
            "answer", "draft", "reason"}, "the words should be in the WAL before"

        response = ana.http.delete(f"{server.url}/api/v1/me",
                                   json={"password": ana.password},
                                   headers=ana._csrf(), timeout=15)
        assert response.status_code == 200, response.text

        assert server.process.poll() is None  # still running, its files still open
        assert files_holding(data_dir, words) == {}, server.log()
        assert "write-ahead log busy" not in server.log()
        # Ben's answer is still there to be found: the search works.
        assert files_holding(data_dir, {"b": m["b_answer"].encode()})
    finally:
        ana.close()
        ben.close()
