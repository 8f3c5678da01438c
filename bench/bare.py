"""The floor: a bare Flask-SocketIO server doing one durable write per event, nothing else.

Same stack as `mend run` (Flask-SocketIO, the same async mode, gevent-websocket's handler
under gevent, TCP_NODELAY on the listener), and for every `write` event one INSERT into a
SQLite database in WAL mode and a COMMIT before the ack. No log-in, no rate limits, no
session logic: what the framework and a durable write cost. `bench/human.py --floor` runs
it beside Mend in the same sitting and reports Mend's throughput as a share of this one's.

    python bench/bare.py --port 8765 --db /tmp/bare.db --async-mode gevent
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--async-mode", default="gevent", choices=["gevent", "eventlet"])
    args = parser.parse_args(argv)

    if args.async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    else:
        import eventlet

        eventlet.monkey_patch()

    import socket
    import sqlite3
    import time

    from flask import Flask
    from flask_socketio import SocketIO

    db = sqlite3.connect(args.db, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # Mend's setting for SQLite in WAL mode
    db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sid TEXT, "
               "body TEXT, at REAL)")

    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=args.async_mode, cors_allowed_origins="*")

    @socketio.on("write")
    def write(payload):
        # One greenlet at a time on the one connection: BEGIN IMMEDIATE … COMMIT, as a
        # durable write that is acknowledged only once committed.
        body = payload.get("body") if isinstance(payload, dict) else None
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT INTO events (sid, body, at) VALUES (?, ?, ?)",
                       (str(payload.get("sid")), str(body), time.time()))
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return "ok"

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(1024)
    if args.async_mode == "gevent":
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        pywsgi.WSGIServer(listener, app, handler_class=WebSocketHandler, log=None).serve_forever()
    else:
        import eventlet.wsgi

        eventlet.wsgi.server(listener, app, log_output=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
