"""The production shape for `human.py --workers N`: N `mend run` workers on one database
(PostgreSQL) joined by Redis, behind Debian's nginx running deploy/nginx.conf (through
tests/live/nginx.py's `Nginx`, TLS with a self-signed certificate, ip_hash).

All bench clients run on this machine, and nginx's ip_hash keys on the first three octets
of the client's IPv4 address, so each bench person binds a source address of its own in
127/8 (all of it is loopback) for its HTTP requests and its WebSocket: no relay in between.
Which third octets ip_hash sends to which worker is found by asking nginx (a probe request
per address, read back from its access log); people are then dealt out evenly over the
workers in a shuffled order, so a couple's partners land on the same or on different
workers independently (about half the couples cross workers through Redis with two).

Expects gevent's monkey patching (human.py runs under it).
"""

from __future__ import annotations

import os
import random
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent

# The bench talks to nginx's self-signed certificate without checking it.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


# ---------------------------------------------------------------- one person's own address

class SourceAddressAdapter(HTTPAdapter):
    """requests' adapter whose connections leave from `source` (any port)."""

    def __init__(self, source: str, **kwargs) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def bind_session(http: requests.Session, source: str) -> None:
    """Every request of `http` leaves from `source`; nginx's certificate is not checked."""
    adapter = SourceAddressAdapter(source)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    http.verify = False
    http.trust_env = False  # no proxy, no REQUESTS_CA_BUNDLE


def bound_socket(url: str, source: str, timeout: float = 60) -> socket.socket:
    """A connected socket from `source` to `url`'s host, TLS-wrapped for https: for
    websocket-client's `socket=` option (engine.io's `websocket_extra_options`), which uses
    a given socket as it is (it neither connects nor wraps it)."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    port = parts.port or (443 if secure else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout,
                                    source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if secure:
        sock = _TLS.wrap_socket(sock, server_hostname=parts.hostname)
    return sock


# ---------------------------------------------------------------- process probes

def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def pids_named(name: str) -> list[int]:
    found = []
    for pid in _all_pids():
        try:
            if _comm(pid) == name:
                found.append(pid)
        except OSError:
            pass
    return found


def children(pid: int) -> list[int]:
    found = []
    for child in _all_pids():
        try:
            if int(_stat(child)[1]) == pid:
                found.append(child)
        except (OSError, IndexError, ValueError):
            pass
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each pid still alive."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = _stat(pid)
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return out


def established_by_local_port(ports: list[int]) -> dict[int, int]:
    """Established TCP connections (IPv4) whose local port is one of `ports`: on a worker's
    port, the connections nginx holds open to it (each WebSocket is one)."""
    wanted = {f"{port:04X}": port for port in ports}
    counts = dict.fromkeys(ports, 0)
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            port = wanted.get(fields[1].rsplit(":", 1)[1])
            if port is not None and fields[3] == "01":  # TCP_ESTABLISHED
                counts[port] += 1
    return counts


def reset_database(server, database_url: str) -> None:
    """DROP SCHEMA public CASCADE and create it again (everything in it is lost), with
    `server`'s (a human.Server) python and code."""
    code = ("import sys; from sqlalchemy import text; from server.db import make_engine; "
            "e = make_engine(sys.argv[1]); c = e.connect(); "
            "c.execute(text('DROP SCHEMA IF EXISTS public CASCADE')); "
            "c.execute(text('CREATE SCHEMA public')); c.commit()")
    subprocess.run([server.python, "-c", code, database_url], env=server.env(),
                   cwd=server.root, check=True)


# ---------------------------------------------------------------- the cluster

class Cluster:
    """`servers` (human.Server objects, not started) on one database and Redis, with nginx
    in front. `url` is nginx's; `source_addresses(n)` gives n people their addresses."""

    def __init__(self, servers: list, database_url: str, redis_url: str | None,
                 prefix: Path, clients_hint: int) -> None:
        self.servers = servers
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.clients_hint = clients_hint
        self.nginx = None
        self.third_octets: dict[int, list[int]] = {}  # worker port -> octets ip_hash sends there
        shared = {"MEND_DATABASE_URL": database_url,
                  "MEND_SECRET_KEY": f"bench-secret-for-every-worker-{uuid.uuid4().hex}",
                  "MEND_TRUSTED_PROXIES": "1"}
        if redis_url:
            shared["MEND_REDIS_URL"] = redis_url
        for server in servers:
            server.env_extra.update(shared)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.nginx.port}"

    def upgrade(self) -> None:
        """`mend db upgrade` once, before the workers start (docs/deployment.md)."""
        first = self.servers[0]
        done = subprocess.run(
            [first.python, "-c", "import sys; from server.cli import main; sys.exit(main())",
             "db", "upgrade"], env=first.env(), cwd=first.root, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mend db upgrade failed:\n{done.stdout}{done.stderr}")

    def start(self, cheap_passwords: bool) -> Cluster:
        sys.path.insert(0, str(ROOT))
        from tests.live.nginx import Nginx, nginx_binary

        if nginx_binary() is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.upgrade()
        for server in self.servers:
            server.start(cheap_passwords)
        # Each WebSocket holds two nginx connections (client side, worker side).
        connections = max(1024, 4 * self.clients_hint + 256)
        self.nginx = Nginx(self.prefix, [s.port for s in self.servers],
                           worker_connections=connections, worker_processes="auto").start()
        self._probe()
        return self

    def _probe(self) -> None:
        """Which third octets (127.0.N.1) ip_hash sends to which worker, by asking: at
        least 8 per worker, or as many as 254 octets give."""
        ports = [s.port for s in self.servers]
        found: dict[int, list[int]] = {port: [] for port in ports}
        http = requests.Session()
        for n in range(1, 255):
            bind_session(http, f"127.0.{n}.1")
            marker = f"probe-{n}-{time.monotonic_ns()}"
            http.get(f"{self.url}/healthz?{marker}", timeout=30)
            found[self.nginx.upstream_of(marker)].append(n)
            if all(len(v) >= 8 for v in found.values()):
                break
        http.close()
        missing = [port for port, octets in found.items() if not octets]
        if missing:
            raise RuntimeError(f"ip_hash sent no probe address to the workers on {missing}")
        self.third_octets = found

    def source_addresses(self, count: int, rng: random.Random) -> list[str]:
        """`count` addresses, dealt evenly over the workers in a shuffled order."""
        ports = list(self.third_octets)
        order = [ports[i % len(ports)] for i in range(count)]
        rng.shuffle(order)
        used = dict.fromkeys(ports, 0)
        out = []
        for port in order:
            octets = self.third_octets[port]
            j = used[port]
            used[port] += 1
            out.append(f"127.0.{octets[j % len(octets)]}.{j // len(octets) % 254 + 1}")
        return out

    def worker_of(self, address: str) -> int:
        third = int(address.split(".")[2])
        return next(port for port, octets in self.third_octets.items() if third in octets)

    # --- what run_step samples

    def worker_pids(self) -> list[int]:
        return [s.process.pid for s in self.servers]

    def service_pids(self) -> dict[str, list[int]]:
        """nginx (master and its workers), every postgres process (other databases'
        backends too, if someone else uses this PostgreSQL) and redis-server."""
        pids = {"nginx": [self.nginx.process.pid, *children(self.nginx.process.pid)]}
        if self.database_url.startswith("postgresql"):
            pids["postgres"] = pids_named("postgres")
        if self.redis_url:
            pids["redis"] = pids_named("redis-server")
        return pids

    def sockets_per_worker(self) -> dict[str, int]:
        counts = established_by_local_port([s.port for s in self.servers])
        return {str(port): n for port, n in counts.items()}

    def poll_dead(self) -> str | None:
        for server in self.servers:
            if server.process.poll() is not None:
                return f"worker on port {server.port} died:\n{server.log()}"
        if self.nginx.process.poll() is not None:
            return f"nginx died:\n{self.nginx.error_log()[-4000:]}"
        return None

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for server in self.servers:
            server.stop()
