"""The `mend` console script: run, db upgrade, content check, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from server.config import Config, ConfigError

DEMO_PASSWORD = "mend-demo-pass"
DEMO_PARTNERS = (
    ("alex@demo.mend.local", "Alex"),
    ("sam@demo.mend.local", "Sam"),
)


def _patch_for(async_mode: str) -> None:
    # Must run before Flask, SQLAlchemy or any socket is imported.
    if async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        print(f"mend: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    config = _config()
    _patch_for(config.async_mode)
    from server.app import create_app
    from server.db import upgrade
    from server.extensions import socketio

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(config.database_url)
    app = create_app(config)
    shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    where = "SQLite in " + str(config.data_dir) if config.database_url.startswith("sqlite") \
        else "the configured database"
    print(f"Mend is running on http://{shown_host}:{args.port}/ "
          f"({config.async_mode}, {where}). Press Ctrl+C to stop.", flush=True)
    serve(app, socketio, config.async_mode, args.host, args.port)
    return 0


def _listener(host: str, port: int):
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux. Without it an event followed by its ack (two
    # small writes) meets Nagle's algorithm and the client's delayed ACK: +40 ms per reply.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def serve(app, socketio, async_mode: str, host: str, port: int) -> None:
    """Serve the app with the configured async server (Flask-SocketIO's run, minus Nagle)."""
    if async_mode == "gevent":
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        # gevent-websocket's handler, as Flask-SocketIO uses: plain pywsgi with
        # simple-websocket writes an HTTP response after a WebSocket closes, which browsers
        # report as "Invalid frame header".
        logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
        pywsgi.WSGIServer(
            _listener(host, port), app, handler_class=WebSocketHandler, log=None
        ).serve_forever()
    elif async_mode == "eventlet":
        import eventlet.wsgi

        # eventlet caps concurrent connections at 1,024 unless told otherwise.
        eventlet.wsgi.server(_listener(host, port), app, log_output=False, max_size=10_000)
    else:
        socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from server.db import upgrade

    config = _config()
    upgrade(config.database_url)
    print("The database schema is up to date.")
    return 0


def cmd_content_check(_args: argparse.Namespace) -> int:
    from server.content import ContentError, load_library

    config = _config()
    try:
        library = load_library(config.content_dir)
    except ContentError as error:
        print(f"mend: content problem: {error}", file=sys.stderr)
        return 1
    for track in library:
        kinds = ", ".join(sorted({s.kind for s in track.steps}))
        print(f"ok  {track.id}: {len(track.steps)} steps ({kinds})")
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    """A couple with known credentials, so a newcomer can try both sides in two windows."""
    from server.content import load_library
    from server.db import Database, upgrade
    from server.engine import MendError
    from server.services import accounts, couples, sessions

    config = _config()
    upgrade(config.database_url)
    library = load_library(config.content_dir)
    database = Database(config.database_url)
    ids = []
    with database.session() as db:
        for email, name in DEMO_PARTNERS:
            try:
                account = accounts.sign_up(db, email=email, password=DEMO_PASSWORD,
                                           display_name=name)
            except MendError:
                account = accounts.authenticate(db, email=email, password=DEMO_PASSWORD)
            ids.append(account.id)
        existing = couples.couples_of(db, ids[0])
        couple = next((c for c in existing if {m.user_id for m in c.members} == set(ids)), None)
        if couple is None:
            made = couples.create_couple(db, ids[0])
            couple_id = couples.join_couple(db, ids[1], made["invite_code"])["id"]
        else:
            couple_id = couple.id
        track = next(iter(library))
        session = sessions.start_session(db, library, ids[0], couple_id, track.id)
    database.dispose()
    print("Demo couple ready. Open two browser windows (one private) and log in as:")
    for email, name in DEMO_PARTNERS:
        print(f"  {name:5} email {email}  password {DEMO_PASSWORD}")
    print(f"A session on '{track.title}' is waiting at /s/{session['id']}")
    print("Start the server with: mend run")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the server (applies migrations first)")
    run.add_argument("--host", default=os.environ.get("MEND_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("MEND_PORT", "5000")))
    run.set_defaults(func=cmd_run)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    content = sub.add_parser("content", help="content commands")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    content_sub.add_parser("check", help="validate the tracks").set_defaults(func=cmd_content_check)
    sub.add_parser("demo", help="create a demo couple").set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:  # e.g. a bad MEND_HELP_RESOURCES, found as the app is built
        print(f"mend: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
