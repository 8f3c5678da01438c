"""Durable-event throughput, Mend's against the floor's, in the same run (`human.py --floor`).

A ramp: C clients together offer R durable events per second (open loop, each client at
R/C with a random phase), R rising step by step; each step reports the ack latencies of the
events sent in its window and the server's CPU. A server's durable-event throughput is the
highest R it served in full (≥ 97 % acknowledged) with an ack p99 under the target.

* Mend: `entry:draft` from both partners of fresh couples on an open prompt (lock, load,
  decide, write, commit, ack: the cheapest durable action, and the commonest).
* The floor: `bench/bare.py`'s `write` (one SQLite WAL INSERT + COMMIT, ack) on the same
  async server, started after Mend stopped, on the same cores.

Expects gevent's monkey patching (human.py runs under it).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import gevent
import gevent.pool
import requests
import socketio
from human import FAST_WEBSOCKET

BODY = ("what I notice when I think about this " * 4)[:150]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def ramp(pid: int, senders: list, rates: list[int], step_s: float, target_p99: float,
         grace_s: float = 10.0) -> dict:
    """senders: callables `send(n, callback)` that emit one event and call `callback(ok)`
    from the ack. Returns the steps and the throughput (the highest rate that held)."""
    steps, best = [], 0
    for rate in rates:
        per_client = rate / len(senders)
        lat: list[float] = []
        errors = [0]
        codes: Counter = Counter()
        pending = [0]
        start = time.perf_counter() + 0.5
        warm_until = start + 2.0
        end = warm_until + step_s

        def client(send, per_client=per_client, lat=lat, errors=errors, codes=codes,
                   pending=pending, start=start, warm_until=warm_until, end=end) -> None:
            interval = 1.0 / per_client
            at = start + random.uniform(0, interval)
            n = 0
            while at < end:
                delay = at - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                sent = time.perf_counter()
                counted = sent >= warm_until
                n += 1
                if counted:
                    pending[0] += 1

                def done(ok, code=None, sent=sent, counted=counted) -> None:
                    if not counted:
                        return
                    pending[0] -= 1
                    if ok:
                        lat.append((time.perf_counter() - sent) * 1000)
                    else:
                        errors[0] += 1
                        codes[code or "error"] += 1

                try:
                    send(n, done)
                except Exception:
                    if counted:
                        pending[0] -= 1
                        errors[0] += 1
                        codes["send failed"] += 1
                at += interval

        greenlets = [gevent.spawn(client, s) for s in senders]
        gevent.sleep(max(0.0, warm_until - time.perf_counter()))
        cpu0, wall0 = _cpu_seconds(pid), time.perf_counter()
        gevent.sleep(max(0.0, end - time.perf_counter()))
        cpu, wall = _cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
        gevent.joinall(greenlets, timeout=5)
        grace_until = time.perf_counter() + grace_s
        while pending[0] > 0 and time.perf_counter() < grace_until:
            gevent.sleep(0.05)
        lost = pending[0]
        ok_per_s = len(lat) / wall
        step = {"offered_per_s": rate, "ok_per_s": round(ok_per_s, 1),
                "errors": errors[0], "error_codes": dict(codes), "timeouts": lost,
                "p50": round(_percentile(lat, 50), 1), "p99": round(_percentile(lat, 99), 1),
                "server_cpu_percent": round(100 * cpu / wall, 1),
                "cpu_ms_per_event": round(1000 * cpu / max(1, len(lat)), 2)}
        steps.append(step)
        print(f"  {rate}/s offered: {step}", file=sys.stderr)
        held = ok_per_s >= 0.97 * rate and not errors[0] and not lost \
            and step["p99"] < target_p99
        if held:
            best = rate
        else:
            break
        gevent.sleep(1.0)
    return {"steps": steps, "throughput_per_s": best}


# ---------------------------------------------------------------- Mend

def mend_senders(couples) -> list:
    """Both partners of each (fresh) couple, joined and moved past the welcome card to the
    first prompt; a sender per partner saving drafts to it."""
    from human import answerable, current_step

    people = [(c, p) for c in couples for p in (c.a, c.b)]
    gevent.pool.Pool(20).map(lambda cp: cp[1].connect(), people)
    gevent.pool.Pool(20).map(lambda cp: cp[1].join(cp[0].session_id), people)
    for _ in range(5):
        for couple, me in people:
            view = me.views[couple.session_id]
            step = current_step(view)
            if step and step["kind"] == "info" and me.user_id not in step.get("ready", []):
                ack = me.sock.call("step:ready", {"session_id": couple.session_id,
                                                  "step_id": step["id"]}, timeout=30)
                assert ack["ok"], ack
        for couple, me in people:
            me.join(couple.session_id)
        if all(answerable(me.views[c.session_id]) for c, me in people):
            break
    senders = []
    for couple, me in people:
        step = answerable(me.views[couple.session_id])
        assert step is not None and step["answer"]["type"] == "text", step

        def send(n, done, me=me, sid=couple.session_id, step_id=step["id"]) -> None:
            me.sock.emit("entry:draft", {"session_id": sid, "step_id": step_id,
                                         "body": f"{n} {BODY}"[:150]},
                         callback=lambda ack=None: done(*_ack_result(ack)))

        senders.append(send)
    return senders


def _ack_result(ack: object) -> tuple[bool, str | None]:
    """(ok, the error code when not): a rate-limited ramp says so instead of 'errors'."""
    if isinstance(ack, dict) and ack.get("ok"):
        return True, None
    error = ack.get("error") if isinstance(ack, dict) else None
    return False, (error or {}).get("code") if isinstance(error, dict) else "no ack data"


def close_people(couples) -> None:
    for c in couples:
        for p in (c.a, c.b):
            p.disconnect()


# ---------------------------------------------------------------- the floor

def run_bare(python: str, async_mode: str, clients: int, rates: list[int], step_s: float,
             target_p99: float, nice: int = 0) -> dict:
    from human import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mend-bare-") as tmp:
        process = subprocess.Popen(
            [python, str(Path(__file__).with_name("bare.py")), "--port", str(port),
             "--db", str(Path(tmp) / "bare.sqlite3"), "--async-mode", async_mode],
            stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "bare.log", "wb"))  # noqa: SIM115
        if nice:
            os.setpriority(os.PRIO_PROCESS, process.pid, nice)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("bare.py did not start: "
                                       + (Path(tmp) / "bare.log").read_text())
                gevent.sleep(0.1)
            socks = []
            for _ in range(clients):
                sock = socketio.Client(reconnection=False, websocket_extra_options=FAST_WEBSOCKET)
                sock.connect(url, transports=["websocket"], wait_timeout=30)
                socks.append(sock)
            senders = []
            for i, sock in enumerate(socks):
                def send(n, done, sock=sock, i=i) -> None:
                    sock.emit("write", {"sid": i, "body": f"{n} {BODY}"[:150]},
                              callback=lambda ack=None: done(isinstance(ack, dict)
                                                             and ack.get("ok")))

                senders.append(send)
            result = ramp(process.pid, senders, rates, step_s, target_p99)
            for sock in socks:
                sock.disconnect()
            return result
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
