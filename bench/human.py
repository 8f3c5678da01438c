"""Human-pace load (`bench/load.py --mode human`): couples working through real sessions.

Each partner of N couples is a python-socketio client joined to the couple's session. Per
partner-minute it sends 12 draft autosaves (`entry:draft`), 6 typing signals
(`presence:typing`), and every 30 s an `entry:submit` (fresh client_id) and a `step:ready`.
A couple's 30-s cycle has a random phase; each partner adds its own jitter, so clients do not
move in lockstep:

    0-1.5 s    sync: continue past an info card / a revealed step; start over when finished
    2-23.5 s   six drafts (4 s apart); typing true/false/true at ~1.5, 9.5, 17.5 s
    24-25.5 s  submit
    27-28.5 s  ready, once this partner's view shows the reveal

Sends are open-loop (each event leaves at its time whether or not earlier acks came back),
so an overloaded server shows up as latency and timeouts, not as a slower client. Events
that the session's state makes pointless (a draft after one's own submit, a ready before the
reveal) are not sent and are counted as "skipped". A finished session is replaced with a
fresh one (`POST /sessions`; with the session arc, a finished session lets a new one start).

The server is a real `mend run` (gevent by default) started from --server-root (default:
this checkout) with --server-python, on SQLite in a temporary MEND_DATA_DIR. One server
serves the whole --couples sweep; couples are created once, and each step connects the first
N couples, runs --warmup + --duration seconds and reports the --duration part.

With --workers N (N > 1) the server is the production shape instead (bench/cluster.py): N
workers on --database-url (PostgreSQL) and --redis-url behind nginx, each person at its own
127/8 address so that ip_hash spreads them; CPU and RSS are summed over the workers and
given per worker, with nginx's, PostgreSQL's and Redis's CPU.

This module expects gevent's monkey patching (load.py applies it before importing this).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cluster
import gevent
import gevent.pool
import requests
import socketio

CYCLE = 30.0
EVENTS = ("entry:draft", "presence:typing", "entry:submit", "step:ready")
# Nominal events per partner-minute (the human-pace mix).
NOMINAL_PER_MIN = {"entry:draft": 12, "presence:typing": 6, "entry:submit": 2, "step:ready": 2}
ANSWERABLE = ("prompt", "closing")
TRACK = "understanding-our-trust"
ACK_TIMEOUT = 30.0
# websocket-client checks every received text frame's UTF-8 in pure Python: that was 71 %
# of the load generator's CPU at 500 couples (py-spy), more than the server it measures.
# The server's frames are JSON it encoded itself; json.loads still rejects bad text.
FAST_WEBSOCKET = {"skip_utf8_validation": True}


# ---------------------------------------------------------------- machine and process probes

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, idle_percent: float = 10.0, longest: float = 180.0) -> None:
    """Wait until the server has worked off what an overloaded step left queued (its CPU
    under `idle_percent` for a second), so the next measurement starts on an idle server."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        gevent.sleep(1.0)
        if (cpu_seconds(pid) - before) * 100 < idle_percent:
            return
    print(f"the server was still busy after {longest:.0f} s", file=sys.stderr)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (from /proc/stat), to estimate other people's load."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the server under test

@dataclass
class Server:
    root: Path
    python: str
    async_mode: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    env_extra: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        # PYTHONPATH first: it wins over an editable install of another checkout.
        # Hundreds of people sign up from 127.0.0.1 at once: the HTTP limits meant for one
        # person guessing passwords would refuse them (older checkouts ignore the variable).
        return {"MEND_RATE_LIMITS": "all=off", **os.environ, "PYTHONPATH": str(self.root),
                "MEND_DATA_DIR": str(self.data_dir), "MEND_ASYNC_MODE": self.async_mode,
                **self.env_extra}

    def identify(self) -> dict[str, str]:
        """Which code the server really runs: the imported package's path and the commit."""
        where = subprocess.run([self.python, "-c", "import server; print(server.__file__)"],
                               env=self.env(), cwd=self.root, capture_output=True, text=True,
                               check=True).stdout.strip()
        commit = subprocess.run(["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(self.root), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return {"server_package": where, "commit": commit or "?",
                "uncommitted_changes": str(len(dirty.splitlines()))}

    def start(self, cheap_passwords: bool = False) -> Server:
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 (kept for the process)
        code = "import sys; from server.cli import main; sys.exit(main())"
        if cheap_passwords:
            # Setup only: a thousand sign-ups and log-ins at ~0.2 s of scrypt each take a
            # quarter of an hour on two cores. New hashes are one-round PBKDF2 (verification
            # reads the method from the hash); nothing measured hashes a password.
            code = ("import functools, werkzeug.security as w, server.services.hashing as h; "
                    "h.generate_password_hash = functools.partial(w.generate_password_hash, "
                    "method='pbkdf2:sha256:1'); " + code)
        self.process = subprocess.Popen(
            [self.python, "-c", code,
             "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env(), cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("mend run exited early:\n" + self.log())
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("mend run did not answer in 60 s:\n" + self.log())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-4000:]

    # The same questions bench/cluster.py's Cluster answers, for run_step.
    def worker_pids(self) -> list[int]:
        return [self.process.pid]

    def service_pids(self) -> dict[str, list[int]]:
        return {}

    def sockets_per_worker(self) -> dict[str, int] | None:
        return None

    def poll_dead(self) -> str | None:
        return None if self.process.poll() is None else "the server died:\n" + self.log()


# ---------------------------------------------------------------- recording

class Recorder:
    """Ack latencies and outcomes per event type, for events sent inside the window."""

    def __init__(self) -> None:
        self.window = (float("inf"), float("inf"))
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.sent: Counter = Counter()
        self.skipped: Counter = Counter()
        self.pending: dict[int, tuple[str, float]] = {}
        self.disconnects = 0
        # Readies acknowledged in the window from people whose partner's socket is on
        # another worker (--workers > 1), each sent once this person's view showed the
        # reveal: for the partner who submitted first, that reveal came from the other
        # worker (through Redis).
        self.cross_worker_readies = 0
        self.max_lateness = 0.0
        # Partner-visible latency: a submit sent in the window -> the first push that shows
        # it to the partner (their step view says "submitted", or the reveal includes it).
        self.submits: dict[tuple[str, str, str], float] = {}
        self.visible: list[float] = []
        self._seq = 0
        self._lock = threading.Lock()

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t < self.window[1]

    def skip(self, event: str) -> None:
        if self.in_window(time.perf_counter()):
            self.skipped[event] += 1

    def emit(self, sock: socketio.Client, event: str, data: dict, on_ok=None,
             cross_worker: bool = False) -> None:
        sent = time.perf_counter()
        counted = self.in_window(sent)
        with self._lock:
            self._seq += 1
            seq = self._seq
            if counted:
                self.sent[event] += 1
                self.pending[seq] = (event, sent)

        def callback(*args) -> None:
            elapsed = (time.perf_counter() - sent) * 1000
            ack = args[0] if args else {}
            with self._lock:
                if self.pending.pop(seq, None) is not None:
                    if isinstance(ack, dict) and ack.get("ok"):
                        self.lat[event].append(elapsed)
                        self.cross_worker_readies += cross_worker
                    else:
                        code = (ack.get("error") or {}).get("code", "?") \
                            if isinstance(ack, dict) else "?"
                        self.errors[event][code] += 1
            if on_ok and isinstance(ack, dict) and ack.get("ok"):
                on_ok(ack)

        try:
            sock.emit(event, data, callback=callback)
        except Exception:  # disconnected: the event never left
            with self._lock:
                if self.pending.pop(seq, None) is not None:
                    self.errors[event]["disconnected"] += 1

    def submitted(self, session_id: str, step_id: str, author: str) -> None:
        sent = time.perf_counter()
        if self.in_window(sent):
            with self._lock:
                self.submits[(session_id, step_id, author)] = sent

    def seen(self, session_id: str, state: dict, author: str) -> None:
        """`state` reached the author's partner: record each submit it shows first."""
        if not self.submits:
            return
        now = time.perf_counter()
        for step in state.get("steps", ()):
            shows = step.get("partner_status") in ("submitted", "revealed") or any(
                e.get("user_id") == author
                for e in (step.get("revealed") or {}).get("entries", ()))
            if shows:
                with self._lock:
                    sent = self.submits.pop((session_id, step["id"], author), None)
                if sent is not None:
                    self.visible.append((now - sent) * 1000)

    def close_pending(self) -> None:
        with self._lock:
            for event, _ in self.pending.values():
                self.errors[event]["timeout"] += 1
            self.pending.clear()


# ---------------------------------------------------------------- people

class Person:
    """One partner: an HTTP session (cookie) and, during a sweep step, one socket."""

    def __init__(self, url: str, name: str, source: str | None = None):
        self.url = url
        self.name = name
        self.source = source  # own address in 127/8 (behind nginx's ip_hash), or None
        self.partner_elsewhere = False  # the partner's socket is on another worker
        self.http = requests.Session()
        if source:
            cluster.bind_session(self.http, source)
        self.email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@bench.test"
        self.user_id = ""
        self.sock: socketio.Client | None = None
        self.views: dict[str, dict] = {}  # session id -> newest view
        self.partner_id = ""
        self.recorder: Recorder | None = None  # set during a sweep step
        self.joined: set[str] = set()  # sessions this socket joined (pushes alone don't)

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        token = self.http.get(f"{self.url}/api/v1/csrf", timeout=60).json()["csrf_token"]
        return self.http.post(f"{self.url}/api/v1{path}", json=body or {},
                              headers={"X-CSRFToken": token}, timeout=60)

    def sign_up(self) -> None:
        response = self.post("/auth/signup", {"email": self.email,
                                              "password": "correct horse battery",
                                              "display_name": self.name})
        assert response.status_code == 202, response.text  # sign-up logs nobody in
        response = self.post("/auth/login", {"email": self.email,
                                             "password": "correct horse battery"})
        assert response.status_code == 200, response.text
        self.user_id = response.json()["user"]["id"]

    def connect(self) -> None:
        options = {"websocket_extra_options": dict(FAST_WEBSOCKET)}
        if self.source:
            # websocket-client uses a given socket as it is: connected from our address
            # and already TLS-wrapped (cluster.bound_socket).
            options = {"ssl_verify": False, "websocket_extra_options": {
                **FAST_WEBSOCKET, "socket": cluster.bound_socket(self.url, self.source)}}
        sock = socketio.Client(reconnection=False, **options)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        sock.on("session:state", self._on_state)
        sock.connect(self.url, headers={"Cookie": cookie}, transports=["websocket"],
                     wait_timeout=60)
        self.sock = sock

    def _on_state(self, state: dict) -> None:
        if self.recorder is not None and self.partner_id:
            self.recorder.seen(state["session"]["id"], state, self.partner_id)
        self.keep(state)

    def keep(self, state: dict) -> None:
        sid = state["session"]["id"]
        held = self.views.get(sid)
        if held is None or state["session"]["version"] >= held["session"]["version"]:
            self.views[sid] = state

    def join(self, session_id: str) -> None:
        ack = self.sock.call("session:join", {"session_id": session_id}, timeout=ACK_TIMEOUT)
        assert ack["ok"], ack
        self.joined.add(session_id)
        self.keep(ack["state"])
        if pass_check(self.sock, ack["state"]):
            self.join(session_id)  # the view after the check, for the next step


    def disconnect(self) -> None:
        if self.sock is not None and self.sock.connected:
            self.sock.disconnect()
        self.sock = None


def clear_answers(check_step: dict) -> dict:
    """For each question of the private check the first clear option."""
    return {q["id"]: next(o["id"] for o in q["options"] if o.get("clear", True))
            for q in check_step["settings"]["questions"]}


def pass_check(sock, view: dict) -> bool:
    """Answer the private check that opens every session (clear), if it waits for this
    partner; True when an answer was sent. Not timed: it happens once per session."""
    check = view.get("check") or {}
    if not check.get("open") or check.get("mine") is not None or "step" not in check:
        return False
    sid = view["session"]["id"]
    ack = sock.call("check:submit", {"session_id": sid,
                                     "client_id": f"bench-check-{sid[:8]}-{check['round']}",
                                     "fields": {"answers": clear_answers(check["step"])}},
                    timeout=ACK_TIMEOUT)
    assert ack["ok"], ack
    return True


class Couple:
    def __init__(self, url: str, index: int, sources: tuple = (None, None)):
        self.a = Person(url, f"A{index}", sources[0])
        self.b = Person(url, f"B{index}", sources[1])
        self.session_id = ""
        self.lock = threading.Lock()
        self.sessions_started = 0

    def create(self) -> None:
        self.a.sign_up()
        self.b.sign_up()
        code = self.a.post("/couples").json()["invite_code"]
        self.couple_id = self.b.post("/couples/join", {"invite_code": code}).json()["couple"]["id"]
        self.start_session()

    def start_session(self) -> None:
        response = self.a.post("/sessions", {"couple_id": self.couple_id, "track_id": TRACK})
        assert response.status_code in (200, 201), response.text
        self.session_id = response.json()["session"]["id"]
        self.sessions_started += 1


# ---------------------------------------------------------------- what a partner sends

def current_step(view: dict) -> dict | None:
    sid = view["session"]["current_step_id"]
    return next((s for s in view["steps"] if s["id"] == sid), None)


def answerable(view: dict | None) -> dict | None:
    """The current step if this partner can still write to it, else None."""
    if view is None or view["session"]["status"] != "active":
        return None
    step = current_step(view)
    if step and step["kind"] in ANSWERABLE and step["status"] == "open" \
            and not (step.get("mine") or {}).get("entry"):
        return step
    return None


def answer_payload(step: dict, n: int) -> dict:
    """A valid draft/submit body for the step's answer spec (text ~150 characters)."""
    spec = step.get("answer") or {}
    kind = spec.get("type", "text")
    text = (f"draft {n}: what I notice when I think about this " * 4)[:150]
    if kind == "scale":
        return {"fields": {"value": random.randint(spec["min"], spec["max"])}}
    if kind == "choices":
        exclusive = set(spec.get("exclusive") or [])
        options = [o for o in spec["options"] if o not in exclusive] or spec["options"]
        return {"fields": {"choices": [random.choice(options)]}}
    if kind == "closing":
        scale = spec["scale"]
        return {"body": text, "fields": {"value": random.randint(scale["min"], scale["max"])}}
    return {"body": text}


def schedule(t0: float, end: float, phase: float) -> list[tuple[float, str, object]]:
    """One partner's timeline: (time, action, argument), sorted; cycles that began before t0
    are cut, so the offered load is at full rate from t0 on."""
    plan: list[tuple[float, str, object]] = []
    c = t0 + phase - CYCLE
    typing = False
    while c < end:
        plan.append((c + random.uniform(0, 1.5), "sync", None))
        jd, jt = random.uniform(0, 1.5), random.uniform(0, 1.5)
        for i in range(6):
            plan.append((c + 2 + jd + 4 * i, "entry:draft", i))
        for i in range(3):
            typing = not typing
            plan.append((c + 1.5 + jt + 8 * i, "presence:typing", typing))
        plan.append((c + 24 + random.uniform(0, 1.5), "entry:submit", None))
        plan.append((c + 27 + random.uniform(0, 1.5), "step:ready", c + CYCLE))
        c += CYCLE
    # The cut cycle's sync still happens (at the start), so a session left on an info card
    # or a reveal by the previous step moves on at once.
    plan.append((t0 + random.uniform(0, 1.0), "sync", None))
    return sorted((p for p in plan if t0 <= p[0] < end), key=lambda p: p[0])


def sync(couple: Couple, me: Person, rec: Recorder, http_lat: list[float]) -> None:
    """Move on from whatever the session shows: an info card or a reveal gets a ready; a
    finished session is replaced (once per couple) and joined."""
    view = me.views.get(couple.session_id)
    if view is not None and view["session"]["status"] != "active":
        with couple.lock:
            if couple.session_id == view["session"]["id"]:
                started = time.perf_counter()
                couple.start_session()
                http_lat.append((time.perf_counter() - started) * 1000)
    if couple.session_id not in me.joined:
        try:
            me.join(couple.session_id)
        except Exception:
            rec.skip("step:ready")
            return
    view = me.views[couple.session_id]
    step = current_step(view)
    if step is None or view["session"]["status"] != "active":
        return
    if (step["kind"] == "info" or step["status"] == "revealed") \
            and me.user_id not in step.get("ready", []):
        rec.emit(me.sock, "step:ready", {"session_id": couple.session_id, "step_id": step["id"]})


def ready_when_revealed(me: Person, sid: str, until: float, rec: Recorder) -> None:
    """A person presses "ready" once they have read the reveal: wait for it (until the next
    cycle starts), then ready, unless the state moved on meanwhile."""
    while True:
        view = me.views.get(sid)
        step = current_step(view) if view else None
        if step is not None and step["status"] == "revealed":
            break
        if time.perf_counter() >= until or step is None or step["kind"] not in ANSWERABLE:
            rec.skip("step:ready")
            return
        gevent.sleep(0.05)
    if me.user_id in step.get("ready", []) or me.sock is None:
        rec.skip("step:ready")
        return
    rec.emit(me.sock, "step:ready", {"session_id": sid, "step_id": step["id"]},
             cross_worker=me.partner_elsewhere)


def partner(couple: Couple, me: Person, plan, rec: Recorder, http_lat: list[float]) -> None:
    for at, action, arg in plan:
        delay = at - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        else:
            rec.max_lateness = max(rec.max_lateness, -delay)
        if me.sock is None or not me.sock.connected:
            if action != "sync":
                rec.skip(action)
                if rec.in_window(time.perf_counter()):
                    rec.errors[action]["disconnected"] += 1
            continue
        sid = couple.session_id
        if action == "sync":
            sync(couple, me, rec, http_lat)
            continue
        view = me.views.get(sid)
        if action == "step:ready":
            gevent.spawn(ready_when_revealed, me, sid, arg, rec)
            continue
        step = answerable(view)
        if step is None:
            rec.skip(action)
            continue
        base = {"session_id": sid, "step_id": step["id"]}
        if action == "entry:draft":
            rec.emit(me.sock, action, {**base, **answer_payload(step, arg)})
        elif action == "presence:typing":
            rec.emit(me.sock, action, {**base, "typing": arg})
        elif action == "entry:submit":
            rec.submitted(sid, step["id"], me.user_id)
            rec.emit(me.sock, action, {**base, "client_id": f"bench-{uuid.uuid4().hex}",
                                       **answer_payload(step, 99)})


# ---------------------------------------------------------------- one sweep step

def run_step(server, couples: list[Couple], args, profile_dir: Path | None) -> dict:
    """`server`: a Server, or a cluster.Cluster (several workers behind nginx): CPU and RSS
    are summed over its workers (and given per worker), its services' CPU is reported."""
    pids = server.worker_pids()
    pid = pids[0]  # py-spy profiles the first worker only
    people = [p for c in couples for p in (c.a, c.b)]
    load_before = loadavg()
    connect_started = time.perf_counter()
    pool = gevent.pool.Pool(20)
    for person in people:
        person.views.clear()
        person.joined.clear()
    pool.map(lambda p: p.connect(), people)
    pool.map(lambda pc: pc[0].join(pc[1].session_id),
             [(p, c) for c in couples for p in (c.a, c.b)])
    connect_s = time.perf_counter() - connect_started
    rec = Recorder()
    for couple in couples:
        couple.a.partner_id, couple.b.partner_id = couple.b.user_id, couple.a.user_id
        couple.a.recorder = couple.b.recorder = rec

    def dropped(*_) -> None:
        # The server dropping a client (e.g. an engine.io ping timeout), not our own close.
        if time.perf_counter() < rec.window[1]:
            rec.disconnects += 1

    for person in people:
        person.sock.on("disconnect", dropped)

    http_lat: list[float] = []
    t0 = time.perf_counter() + 1.0
    measure_from = t0 + args.warmup
    end = measure_from + args.duration
    rec.window = (measure_from, end)
    greenlets = []
    for couple in couples:
        phase = random.uniform(0, CYCLE)
        for me in (couple.a, couple.b):
            greenlets.append(gevent.spawn(partner, couple, me, schedule(t0, end, phase), rec,
                                          http_lat))

    gevent.sleep(max(0.0, measure_from - time.perf_counter()))
    sockets = server.sockets_per_worker()
    services = server.service_pids()
    rss0 = [rss_mb(p) for p in pids]
    rss_start = sum(rss0)
    cpu0 = [cpu_seconds(p) for p in pids]
    own0, busy0 = own_cpu_seconds(), machine_busy_seconds()
    services0 = {name: cluster.cpu_of(group) for name, group in services.items()}
    wall0 = time.perf_counter()
    spy = None
    if profile_dir is not None:
        spy = subprocess.Popen(
            [args.py_spy, "record", "--pid", str(pid), "--duration", str(int(args.duration)),
             "--rate", "100", "--format", "raw", "--nonblocking",
             "-o", str(profile_dir / f"profile-{len(couples)}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    rss_peak, rss_peaks = rss_start, list(rss0)
    while time.perf_counter() < end:
        gevent.sleep(min(1.0, max(0.0, end - time.perf_counter())))
        now = [rss_mb(p) for p in pids]
        rss_peak = max(rss_peak, sum(now))
        rss_peaks = [max(a, b) for a, b in zip(rss_peaks, now, strict=True)]
    wall = time.perf_counter() - wall0
    cpus = [cpu_seconds(p) - c for p, c in zip(pids, cpu0, strict=True)]
    cpu = sum(cpus)
    own = own_cpu_seconds() - own0
    busy = machine_busy_seconds() - busy0
    service_cpu = {}
    for name, before in services0.items():
        after = cluster.cpu_of(services[name])
        service_cpu[name] = sum(after[p] - before[p] for p in after if p in before)
    # Acks for events sent inside the window may still arrive: give them time.
    grace_until = time.perf_counter() + args.grace
    while rec.pending and time.perf_counter() < grace_until:
        gevent.sleep(0.1)
    rec.close_pending()
    gevent.killall(greenlets, block=True, timeout=5)
    if spy is not None:
        spy.wait(30)
    pool.map(lambda p: p.disconnect(), people)
    for person in people:
        person.recorder = None

    partner_minutes = len(people) * wall / 60
    events = {}
    for event in EVENTS:
        lat = rec.lat[event]
        events[event] = {
            "nominal_per_s": round(NOMINAL_PER_MIN[event] * partner_minutes / wall, 1),
            "sent_per_s": round(rec.sent[event] / wall, 1),
            "ok_per_s": round(len(lat) / wall, 1),
            "skipped": rec.skipped[event],
            "errors": dict(rec.errors[event]),
            **{name: round(percentile(lat, q), 1)
               for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        }
    visible = rec.visible
    return {
        "couples": len(couples), "clients": len(people),
        # A submit sent in the window -> the partner's first push showing it (ms); a submit
        # the partner never saw in time (disconnected, refused, after the window) isn't here.
        "partner_visible": {
            "count": len(visible), "unseen": len(rec.submits),
            **{name: round(percentile(visible, q), 1)
               for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))}},
        "loadavg_before": load_before,
        "connect_and_join_s": round(connect_s, 1),
        "window_s": round(wall, 1),
        "events": events,
        "all_ok_per_s": round(sum(len(v) for v in rec.lat.values()) / wall, 1),
        "sessions_started_http_ms_max": round(max(http_lat), 1) if http_lat else None,
        "sessions_restarted": len(http_lat),
        "disconnects": rec.disconnects,
        "server_cpu_percent": round(100 * cpu / wall, 1),
        # Server CPU per acknowledged event (drafts, typing, submits, readies alike).
        "cpu_ms_per_event": round(1000 * cpu / max(1, sum(len(v) for v in rec.lat.values())),
                                  2),
        "load_generator_cpu_percent": round(100 * own / wall, 1),
        # Whatever else ran on the machine (other people's work) in the window, in cores.
        "other_load_cores": round(max(0.0, busy - cpu - own - sum(service_cpu.values()))
                                  / wall, 2),
        "generator_max_lateness_ms": round(rec.max_lateness * 1000, 1),
        "server_rss_mb": {"start": round(rss_start, 1), "peak": round(rss_peak, 1)},
        **({} if sockets is None else {
            "workers": [{"port": port, "sockets": n, "cpu_percent": round(100 * c / wall, 1),
                         "rss_mb_peak": round(r, 1)}
                        for (port, n), c, r in zip(sockets.items(), cpus, rss_peaks,
                                                   strict=True)],
            "ready_after_reveal_ok_cross_worker": rec.cross_worker_readies,
            # nginx, PostgreSQL (every postgres process) and Redis in the window.
            "services_cpu_percent": {name: round(100 * c / wall, 1)
                                     for name, c in service_cpu.items()},
        }),
    }


# ---------------------------------------------------------------- output

def table(steps: list[dict]) -> str:
    rows = ["| couples | draft p50 / p95 / p99 / max (ms) | typing p50 / p99 | submit p50 / p99 "
            "| ready p50 / p99 | partner sees submit p50 / p99 | events/s ok (nominal) | errors "
            "| disconnects | server CPU "
            "| CPU ms/event | RSS MB | gen CPU | other load | loadavg |",
            "| ---: | --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: "
            "| ---: | ---: | --- |"]
    for s in steps:
        e = s["events"]
        nominal = sum(v["nominal_per_s"] for v in e.values())
        errors = Counter()
        for v in e.values():
            errors.update(v["errors"])
        d = e["entry:draft"]
        seen = s.get("partner_visible", {})
        rows.append(
            f"| {s['couples']} | {d['p50']} / {d['p95']} / {d['p99']} / {d['max']} "
            f"| {e['presence:typing']['p50']} / {e['presence:typing']['p99']} "
            f"| {e['entry:submit']['p50']} / {e['entry:submit']['p99']} "
            f"| {e['step:ready']['p50']} / {e['step:ready']['p99']} "
            f"| {seen.get('p50', '?')} / {seen.get('p99', '?')} "
            f"| {s['all_ok_per_s']} ({nominal:.1f}) "
            f"| {', '.join(f'{k} {v}' for k, v in errors.items()) or 0} | {s['disconnects']} "
            f"| {s['server_cpu_percent']}% | {s.get('cpu_ms_per_event', '?')} "
            f"| {s['server_rss_mb']['peak']} "
            f"| {s['load_generator_cpu_percent']}% | {s['other_load_cores']} "
            f"| {s['loadavg_before']} |")
    return "\n".join(rows)


def worker_table(steps: list[dict]) -> str:
    """Per worker: sockets held (nginx's connections to it, at the window's start), CPU,
    peak RSS; and the services' CPU."""
    rows = ["| couples | worker port | sockets | CPU | RSS MB peak |",
            "| ---: | ---: | ---: | ---: | ---: |"]
    for s in steps:
        for w in s["workers"]:
            rows.append(f"| {s['couples']} | {w['port']} | {w['sockets']} | "
                        f"{w['cpu_percent']}% | {w['rss_mb_peak']} |")
    names = list(steps[0]["services_cpu_percent"])
    rows += ["", "| couples | " + " | ".join(f"{n} CPU" for n in names)
             + " | readies across workers |", "| ---: |" + " ---: |" * (len(names) + 1)]
    for s in steps:
        rows.append(f"| {s['couples']} | "
                    + " | ".join(f"{v}%" for v in s["services_cpu_percent"].values())
                    + f" | {s['ready_after_reveal_ok_cross_worker']} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Human-pace load: " + __doc__.splitlines()[0])
    parser.add_argument("--mode", default="human")
    parser.add_argument("--couples", default="25,50,75,100,150,250",
                        help="comma-separated couple counts, run in order on one server")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds first")
    parser.add_argument("--grace", type=float, default=15.0,
                        help="seconds to wait for late acks after a step")
    parser.add_argument("--async-mode", default="gevent", choices=["gevent", "eventlet"])
    parser.add_argument("--server-root", default=str(Path(__file__).resolve().parent.parent),
                        help="checkout whose server runs (default: this one)")
    parser.add_argument("--server-python", default=sys.executable,
                        help="python for the server (its site-packages supply the libraries)")
    parser.add_argument("--target-p99", type=float, default=100.0)
    parser.add_argument("--stop-after-fail", type=int, default=0,
                        help="stop the sweep after this many steps over the target in a row "
                             "(0: run every step)")
    parser.add_argument("--profile-dir", help="py-spy each step's window into DIR (raw stacks; "
                                              "with --workers N, worker 1 only)")
    parser.add_argument("--py-spy", default="py-spy")
    parser.add_argument("--nice", type=int, default=0,
                        help="run the server and this load generator at this niceness "
                             "(negative needs root): on a machine shared with other work, "
                             "so the figures are the server's and not the neighbours'")
    parser.add_argument("--cheap-passwords", action="store_true",
                        help="the server hashes the bench's passwords with one PBKDF2 round "
                             "(setup time only: no password is hashed in a measured window)")
    parser.add_argument("--floor", action="store_true",
                        help="after the sweep, ramp durable events on Mend (drafts) and on "
                             "the bare server (bench/bare.py) and report the ratio")
    parser.add_argument("--floor-couples", type=int, default=20)
    parser.add_argument("--floor-rates", default="100,200,300,400,500,600,700,800,1000,1200")
    parser.add_argument("--floor-step", type=float, default=10.0,
                        help="measured seconds per ramp step")
    parser.add_argument("--workers", type=int, default=1,
                        help="N > 1: the production shape (bench/cluster.py): N `mend run` "
                             "workers on --database-url joined by --redis-url, behind "
                             "Debian's nginx with deploy/nginx.conf (HTTPS, ip_hash); each "
                             "bench person connects from its own 127/8 address. --py-spy "
                             "and --profile-dir then profile worker 1 only; --floor is "
                             "single-worker only")
    parser.add_argument("--database-url",
                        help="the workers' MEND_DATABASE_URL (default: SQLite in the "
                             "temporary data directory; --workers > 1 needs PostgreSQL)")
    parser.add_argument("--redis-url", help="the workers' MEND_REDIS_URL (default: none; "
                                            "--workers > 1 needs it)")
    parser.add_argument("--reset-database", action="store_true",
                        help="DROP SCHEMA public CASCADE in --database-url (PostgreSQL) "
                             "first: everything in that database is lost")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    if args.workers > 1 and not (args.database_url or "").startswith("postgresql"):
        parser.error("--workers > 1 needs --database-url postgresql://…")
    if args.workers > 1 and not args.redis_url:
        parser.error("--workers > 1 needs --redis-url (pushes between workers)")
    if args.reset_database and not (args.database_url or "").startswith("postgresql"):
        parser.error("--reset-database is for a PostgreSQL --database-url")
    if args.workers > 1 and args.floor:
        parser.error("--floor runs on one worker only")
    random.seed(args.seed)
    counts = [int(c) for c in args.couples.split(",")]
    profile_dir = Path(args.profile_dir) if args.profile_dir else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="mend-bench-") as tmp:
        env_extra = {}
        if args.database_url:
            env_extra["MEND_DATABASE_URL"] = args.database_url
        if args.redis_url:
            env_extra["MEND_REDIS_URL"] = args.redis_url
        workers = []
        for n in range(args.workers):
            data_dir = Path(tmp) / f"worker-{n + 1}" if args.workers > 1 else Path(tmp)
            data_dir.mkdir(exist_ok=True)
            workers.append(Server(Path(args.server_root).resolve(), args.server_python,
                                  args.async_mode, data_dir, env_extra=dict(env_extra)))
        identity = workers[0].identify()
        if args.workers > 1:
            server = cluster.Cluster(workers, args.database_url, args.redis_url,
                                     Path(tmp) / "nginx", 2 * max(counts))
        else:
            server = workers[0]
        if args.reset_database:
            cluster.reset_database(workers[0], args.database_url)
        try:
            server.start(args.cheap_passwords)
        except BaseException:
            server.stop()
            raise
        if args.nice:
            for pid in server.worker_pids() + server.service_pids().get("nginx", []):
                os.setpriority(os.PRIO_PROCESS, pid, args.nice)
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        print(f"server pid{'s' if args.workers > 1 else ''} "
              f"{', '.join(map(str, server.worker_pids()))} at {server.url}: {identity}",
              file=sys.stderr)
        steps: list[dict] = []
        try:
            made = time.perf_counter()
            extra = args.floor_couples if args.floor else 0
            total = max(counts) + extra
            sources = (server.source_addresses(2 * total, random.Random(args.seed))
                       if args.workers > 1 else [None] * (2 * total))
            couples = [Couple(server.url, i, (sources[2 * i], sources[2 * i + 1]))
                       for i in range(total)]
            split = None
            if args.workers > 1:
                for c in couples:
                    c.a.partner_elsewhere = c.b.partner_elsewhere = \
                        server.worker_of(c.a.source) != server.worker_of(c.b.source)
                split = sum(c.a.partner_elsewhere for c in couples)
                print(f"ip_hash: third octets per worker {server.third_octets}; "
                      f"{split} of {len(couples)} couples have partners on different workers",
                      file=sys.stderr)
            gevent.pool.Pool(8).map(lambda c: c.create(), couples)
            couples, floor_couples = couples[:max(counts)], couples[max(counts):]
            setup_s = time.perf_counter() - made
            print(f"{len(couples)} couples created in {setup_s:.0f} s", file=sys.stderr)
            # The generator's own full garbage collections (thousands of clients' objects)
            # paused every client at once and showed up as server latency: what exists now
            # lives for the whole run, so the collector stops walking it.
            gc.collect()
            gc.freeze()
            fails = 0
            for n in counts:
                for pid in server.worker_pids():  # an overloaded step's backlog first
                    settle(pid)
                step = run_step(server, couples[:n], args, profile_dir)
                steps.append(step)
                d = step["events"]["entry:draft"]
                print(f"{n} couples: draft p50 {d['p50']} p99 {d['p99']} max {d['max']} ms, "
                      f"server CPU {step['server_cpu_percent']}%, gen CPU "
                      f"{step['load_generator_cpu_percent']}%, other load "
                      f"{step['other_load_cores']} cores, errors "
                      f"{sum(sum(v['errors'].values()) for v in step['events'].values())}",
                      file=sys.stderr)
                over = not d["p99"] < args.target_p99
                fails = fails + 1 if over else 0
                if args.stop_after_fail and fails >= args.stop_after_fail and n != counts[-1]:
                    print("stopping the sweep: over the target", file=sys.stderr)
                    break
                dead = server.poll_dead()
                if dead:
                    raise RuntimeError(dead)
            floor = None
            if args.floor:
                import floor as floor_bench

                rates = [int(r) for r in args.floor_rates.split(",")]
                settle(server.process.pid)
                print("durable-event ramp on Mend (entry:draft):", file=sys.stderr)
                mend_ramp = floor_bench.ramp(server.process.pid,
                                             floor_bench.mend_senders(floor_couples), rates,
                                             args.floor_step, args.target_p99)
                floor_bench.close_people(floor_couples)
        finally:
            server.stop()
    if args.floor:
        print("durable-event ramp on the bare server (bench/bare.py):", file=sys.stderr)
        bare_ramp = floor_bench.run_bare(args.server_python, args.async_mode,
                                         2 * args.floor_couples, rates, args.floor_step,
                                         args.target_p99, args.nice)
        floor = {"clients": 2 * args.floor_couples, "step_s": args.floor_step,
                 "mend": mend_ramp, "bare": bare_ramp,
                 "ratio": round(mend_ramp["throughput_per_s"]
                                / max(1, bare_ramp["throughput_per_s"]), 2)}

    passing = [s["couples"] for s in steps if s["events"]["entry:draft"]["p99"] < args.target_p99
               and not any(s["events"]["entry:draft"]["errors"].values())]
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.platform()}",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **identity,
        "async_mode": args.async_mode,
        "database": args.database_url.split("@")[-1] if args.database_url else "sqlite (WAL)",
        "nice": args.nice,
        **({} if args.workers == 1 else {
            "workers": args.workers, "redis": args.redis_url.split("@")[-1],
            "front": "nginx (deploy/nginx.conf, HTTPS, ip_hash), each person from its own "
                     "127/8 address",
            "couples_with_partners_on_different_workers": split}),
        "cheap_passwords": args.cheap_passwords,
        "duration_s": args.duration, "warmup_s": args.warmup,
        "setup_s": round(setup_s, 1),
        "largest_couples_with_draft_p99_under_target": max(passing) if passing else None,
        "target_p99_ms": args.target_p99,
        "steps": steps,
        "floor": floor,
    }
    print(json.dumps(result, indent=2))
    print("\n" + table(steps))
    if args.workers > 1:
        print("\n" + worker_table(steps))
    if floor:
        print(f"\ndurable events/s held at p99 < {args.target_p99:g} ms: Mend "
              f"{floor['mend']['throughput_per_s']}, bare {floor['bare']['throughput_per_s']}"
              f", ratio {floor['ratio']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0
