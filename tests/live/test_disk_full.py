"""A full disk under a real `mend run` on SQLite: writes are answered `unavailable` with the
sentence (HTTP 503 and socket acks), /healthz says 503, and everything works again once
there is room. The disk is real: a small tmpfs mounted for the test (the tests run as root
in CI; elsewhere the test skips when it can't mount)."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
import requests

from server.db import UNAVAILABLE_MESSAGE
from tests.conftest import require
from tests.live.conftest import Browserless, MendServer, make_couple_session

pytestmark = pytest.mark.live

UNAVAILABLE = {"ok": False, "error": {"code": "unavailable", "message": UNAVAILABLE_MESSAGE}}


@pytest.fixture
def small_disk(tmp_path: Path):
    """An 8-MB file system of its own (tmpfs), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs",
                           str(mount_point)], capture_output=True, text=True)
    require(done.returncode == 0, f"can't mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the file system is full; return it."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
        # What is left, byte by byte in smaller writes.
        for size in (4096, 512, 1):
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


def test_a_full_disk_answers_unavailable_and_healthz_says_so_until_there_is_room(
        small_disk, data_dir):
    # The database on the small disk; the server's log (kept in data_dir) off it.
    server = MendServer(data_dir, "gevent",
                        env_extra={"MEND_DATA_DIR": str(small_disk / "mend")}).start()
    try:
        ana, _ben, session_id = make_couple_session(server.url)
        sock = ana.connect()
        joined = sock.call("session:join", {"session_id": session_id}, timeout=10)
        step_id = joined["state"]["session"]["current_step_id"]
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"ok": True}

        filler = fill(small_disk)
        cleo = Browserless(server.url, "Cleo")
        signed_up = cleo.post("/auth/signup", {"email": cleo.email, "password": cleo.password,
                                               "display_name": "Cleo"})
        assert (signed_up.status_code, signed_up.json()) == (503, UNAVAILABLE), signed_up.text
        ready = sock.call("step:ready", {"session_id": session_id, "step_id": step_id},
                          timeout=10)
        assert ready == UNAVAILABLE, ready
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503, health.text
        assert health.json()["error"]["code"] == "unavailable"
        assert "disk is full" in health.json()["error"]["message"]
        log = server.log()
        assert "database or disk is full" in log and "Traceback" not in log, log

        filler.unlink()
        assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"ok": True}
        cleo.sign_up()
        ready = sock.call("step:ready", {"session_id": session_id, "step_id": step_id},
                          timeout=10)
        assert ready["ok"], ready
    finally:
        server.stop()
