"""server.postgres: a PostgreSQL that accepts a connection and never answers is given up on
after the connect limit, in each async mode's wait callback (each in a process of its own:
the callback is process-wide, and gevent must patch before anything else is imported)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from contextlib import suppress

import pytest

pytest.importorskip("psycopg2")

SCRIPT = """
import sys, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "gevent":
    from gevent import monkey; monkey.patch_all()
elif mode == "eventlet":
    import eventlet; eventlet.monkey_patch()
import psycopg2
from server.postgres import connect_args, install_wait_callback
install_wait_callback(mode)
started = time.monotonic()
try:
    psycopg2.connect(host="127.0.0.1", port=port, dbname="mend", user="mend",
                     **connect_args(1.0, 1.0))
except psycopg2.OperationalError as error:
    print(f"{time.monotonic() - started:.2f} {error}")
else:
    print("connected?")
"""


@pytest.fixture
def silent_server():
    """Accepts connections, reads what they send, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    with suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize("mode", ["gevent", "eventlet", "threading"])
def test_a_connect_to_a_server_that_never_answers_gives_up_after_the_limit(silent_server,
                                                                          mode):
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(silent_server)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    took, _, message = done.stdout.strip().partition(" ")
    assert "timeout expired" in message, done.stdout
    assert 0.9 < float(took) < 3.0, done.stdout
