"""Ctrl+C (and SIGTERM) stop `mend run` quietly, with a browser's socket still open."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.live.conftest import MEND, Browserless, free_port

pytestmark = pytest.mark.live


def _start(data_dir, async_mode: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [MEND, "run", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "MEND_DATA_DIR": str(data_dir), "MEND_ASYNC_MODE": async_mode},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A terminal's Ctrl+C reaches a foreground program; a test runner may have been
        # started with SIGINT ignored, which children would inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"mend run did not answer: {process.communicate()}")


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_is_quiet_and_exits_zero(data_dir, async_mode, signum):
    process, url = _start(data_dir, async_mode)
    person = Browserless(url, "Ana").sign_up()
    try:
        sock = person.connect()
        assert sock.connected
        # A request in flight when the signal lands must not turn into a traceback either.
        process.send_signal(signum)
        started = time.monotonic()
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        person.close()
    assert process.returncode == 0, (out, err)
    assert out.rstrip().endswith("Mend stopped."), out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert time.monotonic() - started < 5  # not waiting for the open WebSocket to close
