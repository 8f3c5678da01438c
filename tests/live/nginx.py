"""nginx (Debian's package) in front of `mend run` workers, and the plumbing around it.

* `Nginx` runs deploy/nginx.conf itself, as the current user with its own prefix in a temp
  directory: only the ports, the certificate (a self-signed one made here) and the log path
  are swapped.
* `Relay` is a TCP relay: in front of PostgreSQL it is a database host the test can cut;
  in front of nginx, bound to a source address of its own (127.0.N.1: all of 127/8 is this
  machine), it is a person on their own computer, so nginx's `ip_hash` places different
  people on different workers.
* `Person` is tests.live.conftest.Browserless through such a relay, over HTTPS, with a
  Socket.IO client that reconnects by itself like the browser client does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from contextlib import suppress
from pathlib import Path

import requests
import socketio

from tests.live.conftest import Browserless, free_port

ROOT = Path(__file__).resolve().parents[2]
SITE_CONF = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


class Relay:
    """Forwards TCP connections from its own port to `target`, optionally from a chosen
    source address. `cut()` drops every connection and refuses new ones; `start()` opens
    the same port again."""

    def __init__(self, target: tuple[str, int], source: str | None = None) -> None:
        self.target = target
        self.source = source
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Relay:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(
                    self.target, timeout=5,
                    source_address=(self.source, 0) if self.source else None)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            with suppress(OSError):  # wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for conn in self.open:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.open = []


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60)
    return cert, key


class Nginx:
    """deploy/nginx.conf, run in `prefix` on a free port, with `workers` as its upstream.
    `worker_processes` and `worker_connections` go to nginx's main configuration (the
    benchmark, bench/cluster.py, needs thousands of connections)."""

    def __init__(self, prefix: Path, worker_ports: list[int], worker_connections: int = 1024,
                 worker_processes: int | str = 1) -> None:
        self.prefix = prefix
        self.worker_connections = worker_connections
        self.worker_processes = worker_processes
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.worker_ports = worker_ports
        self.port = free_port()
        self.cert, self.key = self_signed_certificate(prefix)
        self.access_log = prefix / "access.log"
        self.process: subprocess.Popen | None = None

    def site(self) -> str:
        """The deployment's file, with this machine's ports, certificate and log."""
        text = SITE_CONF.read_text()
        upstream = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n"
                           for port in self.worker_ports)
        swaps = [
            (r"(?m)^    server 127\.0\.0\.1:800\d [^\n]*\n(?:    server 127\.0\.0\.1:800\d "
             r"[^\n]*\n)*", upstream),
            (r"listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
            (r"listen 80;", f"listen 127.0.0.1:{free_port()};"),
            (r"ssl_certificate     \S+;", f"ssl_certificate     {self.cert};"),
            (r"ssl_certificate_key \S+;", f"ssl_certificate_key {self.key};"),
            (r"access_log \S+ mend;", f"access_log {self.access_log} mend;"),
        ]
        for pattern, replacement in swaps:
            text, count = re.subn(pattern, replacement.replace("\\", "\\\\"), text)
            assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
        return text

    def main_conf(self) -> str:
        temp = "\n".join(f"    {name}_temp_path {self.prefix / name};"
                         for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return (
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"daemon off;\nworker_processes {self.worker_processes};\n"
            f"worker_rlimit_nofile {max(1024, 2 * self.worker_connections)};\n"
            f"pid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.prefix / 'error.log'} info;\n"
            f"events {{ worker_connections {self.worker_connections}; }}\n"
            f"http {{\n{temp}\n    include {self.prefix / 'mend.conf'};\n}}\n")

    def start(self) -> Nginx:
        (self.prefix / "mend.conf").write_text(self.site())
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.main_conf())
        command = [nginx_binary(), "-p", str(self.prefix), "-c", str(conf),
                   "-e", str(self.prefix / "error.log")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.error_log()
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen in 15 s:\n{self.error_log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def upstream_of(self, marker: str) -> int:
        """The worker port that answered the request whose path holds `marker`."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.access_log.exists():
                for line in self.access_log.read_text().splitlines():
                    if marker in line:
                        return int(re.search(r"upstream=[\d.]+:(\d+)", line).group(1))
            time.sleep(0.05)
        raise AssertionError(f"nginx logged no request for {marker}")


def addresses_per_worker(nginx: Nginx) -> dict[int, str]:
    """A source address that nginx's ip_hash sends to each worker, found by asking."""
    found: dict[int, str] = {}
    for n in range(1, 60):
        address = f"127.0.{n}.1"
        relay = Relay(("127.0.0.1", nginx.port), source=address).start()
        try:
            marker = f"probe-{n}-{time.monotonic_ns()}"
            requests.get(f"{relay.url}/healthz?{marker}", verify=str(nginx.cert), timeout=10)
            found.setdefault(nginx.upstream_of(marker), address)
        finally:
            relay.cut()
        if len(found) == len(nginx.worker_ports):
            return found
    raise AssertionError(f"ip_hash sent every address to the same worker: {found}")


class Person(Browserless):
    """Someone at their own address, reaching Mend through nginx over HTTPS."""

    def __init__(self, nginx: Nginx, address: str, name: str) -> None:
        self.relay = Relay(("127.0.0.1", nginx.port), source=address).start()
        super().__init__(self.relay.url, name)
        self.http.verify = str(nginx.cert)
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`

    def connect(self, base_url: str | None = None, **options) -> socketio.Client:
        sock = socketio.Client(reconnection=True, reconnection_delay=0.2,
                               reconnection_delay_max=1, ssl_verify=False)
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        sock.connect(base_url or self.base_url, headers={"Cookie": cookie},
                     transports=["websocket"], wait_timeout=10, **options)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        super().close()
        self.relay.cut()


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
