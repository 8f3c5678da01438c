"""Load benchmark (not a test): rooms x clients x rate against a real `mend run`.

Starts its own server on a free port with a fresh data directory (SQLite by default, or
MEND_DATABASE_URL), creates one couple and session per room, connects both partners over
WebSocket, then has every client autosave drafts at a fixed rate. Each draft is a durable
write (committed before the ack). Reports ack latency percentiles, throughput, the reveal
latency (second submit -> both partners hold the revealed view), server CPU and memory.

    .venv/bin/python bench/load.py --rooms 50 --rate 2 --duration 30 --async-mode gevent

`--mode human` runs the human-pace mix instead (bench/human.py): couples working through
sessions with drafts, typing, submits and readies, swept over --couples.

    .venv/bin/python bench/load.py --mode human --couples 25,50,75,100,150,250 --duration 60

`--mode human --workers 2 --database-url postgresql://… --redis-url redis://…` runs it against
two workers on PostgreSQL + Redis behind nginx (bench/cluster.py, docs/benchmarks.md).

`--mode reconnect-flood` measures what one flooder who reconnects after every cut-off costs
everyone else: --rooms other couples draft at --rate for --duration seconds on a quiet
worker, then for as long again while one user floods drafts at 1,000 a second and connects
again at once whenever the server cuts it off (tests/live/test_fair_share.py's flooder, in
its own process). Same server, same couples: the other couples' draft ack percentiles with
and without the attack, and what the flooder got accepted.

    .venv/bin/python bench/load.py --mode reconnect-flood --rooms 10 --rate 2 --duration 20
"""

from __future__ import annotations

# ruff: noqa: E402 (the human mode must patch with gevent before the other imports)
import sys


def _mode(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--mode" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--mode="):
            return arg.split("=", 1)[1]
    return "drafts"


if __name__ == "__main__" and _mode(sys.argv[1:]) == "human":
    # Hundreds of clients as greenlets in one process: patch before sockets and threads are
    # imported. OS threads would queue behind the GIL and add its 5-ms switch interval to
    # the latencies being measured.
    from gevent import monkey

    monkey.patch_all()
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from human import main as human_main

    raise SystemExit(human_main(sys.argv[1:]))

import argparse
import json
import os
import platform
import random
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live.conftest import Inbox, MendServer, make_couple_session  # noqa: E402


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Room:
    def __init__(self, url: str):
        self.ana, self.ben, self.session_id = make_couple_session(url)
        self.socks = [self.ana.connect(), self.ben.connect()]
        self.inboxes = [Inbox(s) for s in self.socks]
        for sock in self.socks:
            assert sock.call("session:join", {"session_id": self.session_id}, timeout=30)["ok"]
        for sock in self.socks:
            assert sock.call("step:ready", {"session_id": self.session_id, "step_id": "welcome"},
                             timeout=30)["ok"]
        state = self.socks[0].call("session:join", {"session_id": self.session_id}, timeout=30)
        self.step_id = state["state"]["session"]["current_step_id"]

    def close(self):
        self.ana.close(), self.ben.close()


def drive(sock, session_id, step_id, rate, stop_at, latencies, errors, lock):
    interval = 1.0 / rate
    n = 0
    # Real people don't type in lockstep: spread the clients' first saves over one interval.
    next_at = time.monotonic() + random.uniform(0, interval)
    time.sleep(max(0.0, next_at - time.monotonic()))
    while time.monotonic() < stop_at:
        n += 1
        started = time.perf_counter()
        try:
            ack = sock.call("entry:draft", {"session_id": session_id, "step_id": step_id,
                                            "body": f"draft number {n} " * 8}, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                (latencies if ack.get("ok") else errors).append(elapsed)
        except Exception:  # a timeout counts as an error, and the run goes on
            with lock:
                errors.append(float("nan"))
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="drafts",
                        choices=["drafts", "human", "reconnect-flood"],
                        help="drafts: fixed-rate autosaves (below); human: see bench/human.py;"
                             " reconnect-flood: other couples' drafts with and without a "
                             "reconnecting flooder")
    parser.add_argument("--rooms", type=int, default=25)
    parser.add_argument("--rate", type=float, default=2.0, help="drafts per second per client")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--async-mode", default="gevent", choices=["gevent", "eventlet"])
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    if args.mode == "reconnect-flood":
        return reconnect_flood(args)

    with tempfile.TemporaryDirectory() as tmp:
        server = MendServer(Path(tmp), args.async_mode).start()
        pid = server.process.pid
        try:
            time.sleep(0.5)
            idle_rss = rss_kb(pid)
            rooms = [Room(server.url) for _ in range(args.rooms)]
            time.sleep(1)
            connected_rss = rss_kb(pid)
            clients = 2 * len(rooms)

            latencies: list[float] = []
            errors: list[float] = []
            lock = threading.Lock()
            cpu_before = cpu_seconds(pid)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            stop_at = started + args.duration
            threads = [
                threading.Thread(target=drive, args=(sock, room.session_id, room.step_id,
                                                     args.rate, stop_at, latencies, errors, lock))
                for room in rooms for sock in room.socks
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            cpu_used = cpu_seconds(pid) - cpu_before
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            own_cpu = (own_after.ru_utime - own_before.ru_utime
                       + own_after.ru_stime - own_before.ru_stime)
            loaded_rss = rss_kb(pid)

            reveal_ms = []
            for room in rooms:
                for i, sock in enumerate(room.socks):
                    assert sock.call("entry:submit", {
                        "session_id": room.session_id, "step_id": room.step_id,
                        "client_id": f"bench-{room.session_id[:8]}-{i}", "body": "an answer",
                    }, timeout=30)["ok"]
                    if i == 0:
                        second_sent = time.perf_counter()
                for inbox in room.inboxes:
                    inbox.wait_for(lambda s, r=room: next(
                        st for st in s["steps"] if st["id"] == r.step_id)["status"] == "revealed",
                        timeout=30)
                reveal_ms.append((time.perf_counter() - second_sent) * 1000)
            for room in rooms:
                room.close()
        finally:
            server.stop()

    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.platform()}",
        "async_mode": args.async_mode,
        "database": os.environ.get("MEND_DATABASE_URL", "sqlite (WAL)").split("@")[-1],
        "rooms": args.rooms, "clients": clients, "rate_per_client": args.rate,
        "duration_s": round(elapsed, 1),
        "acks": len(latencies), "errors": len(errors),
        "throughput_per_s": round(len(latencies) / elapsed, 1),
        "draft_ack_ms": {p: round(percentile(latencies, q), 1)
                         for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "draft_ack_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "reveal_ms": {"p50": round(percentile(reveal_ms, 50), 1),
                      "max": round(max(reveal_ms), 1)},
        "server_cpu_percent": round(100 * cpu_used / elapsed, 1),
        # The load generator shares the machine's two cores; past ~90% it, not the server,
        # sets the latency.
        "load_generator_cpu_percent": round(100 * own_cpu / elapsed, 1),
        "server_rss_mb": {"idle": round(idle_rss / 1024, 1),
                          "connected": round(connected_rss / 1024, 1),
                          "after_load": round(loaded_rss / 1024, 1)},
        "rss_per_connection_kb": round((connected_rss - idle_rss) / clients, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if not errors else 1


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {platform.platform()}")


def draft_phase(rooms: list[Room], rate: float, seconds: float) -> dict:
    """Every client of `rooms` drafts at `rate` for `seconds`: the acks' percentiles."""
    latencies: list[float] = []
    errors: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=drive, args=(sock, room.session_id, room.step_id, rate,
                                                    stop_at, latencies, errors, lock))
               for room in rooms for sock in room.socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"acks": len(latencies), "errors": len(errors),
            "draft_ack_ms": {p: round(percentile(latencies, q), 1)
                             for p, q in (("p50", 50), ("p95", 95), ("p99", 99),
                                          ("max", 100))}}


def reconnect_flood(args) -> int:
    from tests.live.test_fair_share import ReconnectFlood

    with tempfile.TemporaryDirectory() as tmp:
        # HTTP limits off (one address signs up every couple); the socket budgets stay.
        server = MendServer(Path(tmp), args.async_mode,
                            env_extra={"MEND_RATE_LIMITS": "all=off"}).start()
        pid = server.process.pid
        try:
            rooms = [Room(server.url) for _ in range(args.rooms)]
            flooders = Room(server.url)
            cookie = "; ".join(f"{c.name}={c.value}" for c in flooders.ana.http.cookies)
            cpu_before = cpu_seconds(pid)
            quiet = draft_phase(rooms, args.rate, args.duration)
            cpu_quiet = cpu_seconds(pid) - cpu_before
            flood = ReconnectFlood(server.url, cookie, flooders.session_id,
                                   flooders.step_id, seconds=args.duration + 2)
            cpu_before = cpu_seconds(pid)
            attacked = draft_phase(rooms, args.rate, args.duration)
            cpu_attacked = cpu_seconds(pid) - cpu_before
            flooder = flood.result()
            for room in [*rooms, flooders]:
                room.close()
        finally:
            server.stop()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "async_mode": args.async_mode,
        "database": os.environ.get("MEND_DATABASE_URL", "sqlite (WAL)").split("@")[-1],
        "other_couples": args.rooms, "rate_per_client": args.rate,
        "phase_s": args.duration,
        "without_attack": {**quiet, "server_cpu_percent":
                           round(100 * cpu_quiet / args.duration, 1)},
        "with_attack": {**attacked, "server_cpu_percent":
                        round(100 * cpu_attacked / args.duration, 1)},
        "flooder": flooder,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
