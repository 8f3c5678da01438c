"""The `mend` console script: run, db upgrade, db scrub, content check, demo, account
reset-password, counsellor grant/revoke/list."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path

from server.config import Config, ConfigError

DEMO_PASSWORD = "mend-demo-pass"
DEMO_PARTNERS = (
    ("alex@demo.mend.local", "Alex"),
    ("sam@demo.mend.local", "Sam"),
)
# The track the README's screenshot shows.
DEMO_TRACK = "understanding-our-trust"


def _patch_for(async_mode: str) -> None:
    # Must run before Flask, SQLAlchemy or any socket is imported.
    if async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif async_mode == "eventlet":
        try:
            import eventlet
        except ImportError:
            raise SystemExit("mend: MEND_ASYNC_MODE=eventlet needs eventlet, which is an extra: "
                             "pip install 'mend[eventlet]'.") from None
        eventlet.monkey_patch()
    # psycopg2 talks to PostgreSQL from C, where monkey-patching doesn't reach: without a
    # wait callback every round trip would block every other greenlet of the worker; and
    # the callback bounds each wait, so a server that never answers is `unavailable`
    # after the worker's timeouts (server/postgres.py), in every async mode.
    from server.postgres import install_wait_callback

    install_wait_callback(async_mode)


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        print(f"mend: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as error:  # e.g. the secret key can't be written in a read-only directory
        where = Path(error.filename).parent if error.filename else "the data directory"
        print(f"mend: The data directory {where} can't be written ({error.strerror}): make it "
              f"writable by the user running Mend, or set MEND_DATA_DIR to a directory it "
              f"can write.", file=sys.stderr)
        raise SystemExit(1) from None


class SecretsRedacted(logging.Formatter):
    """Log lines as usual, minus what a database error may quote from the data: PostgreSQL's
    DETAIL line names a duplicate key's value (an e-mail), and a statement's parameters
    (hidden by the engine already) never reach the log either way."""

    HIDDEN = ("DETAIL:", "[parameters:")

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(line for line in super().format(record).splitlines()
                         if not line.lstrip().startswith(self.HIDDEN))


def _start_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(SecretsRedacted("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # python-socketio and python-engineio log errors only (their packet logging is off in
    # create_app); set here, they add no handler of their own and go through this one.
    for name in ("socketio.server", "engineio.server"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _prepare_database(config: Config) -> bool:
    """Migrate, then check the database can be reached and written; False (after one
    sentence on stderr saying what to fix) when it can't."""
    from sqlalchemy.exc import DBAPIError

    from server.db import check_database, explain_database_error, protect_data_dir, upgrade

    protect_data_dir(config.data_dir)
    try:
        upgrade(config.database_url)
        check_database(config.database_url)
    except (DBAPIError, OSError) as error:
        print(f"mend: {explain_database_error(config.database_url, error)}", file=sys.stderr)
        return False
    return True


def cmd_run(args: argparse.Namespace) -> int:
    config = _config()
    _patch_for(config.async_mode)
    from server.app import create_app
    from server.extensions import socketio

    _start_logging()
    if not _prepare_database(config):
        return 1
    app = create_app(config)
    _settle_garbage_collector()
    shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    where = "SQLite in " + str(config.data_dir) if config.database_url.startswith("sqlite") \
        else "the configured database"
    print(f"Mend is running on http://{shown_host}:{args.port}/ "
          f"({config.async_mode}, {where}). Press Ctrl+C to stop.", flush=True)
    # The threading server: Ctrl+C arrives as the usual exception.
    with contextlib.suppress(KeyboardInterrupt):
        serve(app, socketio, config.async_mode, args.host, args.port)
    # Close the pool: SQLite folds its WAL back into the database file and removes it as
    # the last connection closes (not left to finalizers: gc.freeze keeps them alive).
    app.extensions["mend"].database.dispose()
    print("Mend stopped.", flush=True)
    return 0


# Full collections wait for this many second-generation ones (Python: 10).
FULL_COLLECTION_THRESHOLD = 1000


def _settle_garbage_collector() -> None:
    """Everything loaded at start (modules, the app, the content library) lives as long as
    the process: `gc.freeze` keeps the collector from walking it again on every full
    collection.

    A full collection walks every object of every open socket and session: 100-150 ms
    with 1,000 sockets (measured, gc.callbacks), during which no event is served, and it
    ran every few seconds while sockets connected, finding a few hundred objects each
    time. Per-event garbage dies young (see pages.socketio_path), so full collections are
    made 100 times rarer; Python's own rule (only after the old generation grew by a
    quarter) still holds. The young generations keep Python's thresholds: a larger first
    generation made each collection a longer pause."""
    import gc

    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)


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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(app, socketio, async_mode: str, host: str, port: int) -> None:
    """Serve the app with the configured async server (Flask-SocketIO's run, minus Nagle).

    Returns when Ctrl+C (SIGINT) or SIGTERM arrives. Under gevent and eventlet the signal
    only wakes the main greenlet: raising KeyboardInterrupt from the handler would land in
    whichever request happened to be running (a traceback, and a 500 for that client), and
    eventlet's own server would then wait for every open WebSocket to close.
    """
    if async_mode == "gevent":
        import gevent
        from gevent import pywsgi
        from gevent.event import Event
        from geventwebsocket.handler import WebSocketHandler

        # gevent-websocket's handler, as Flask-SocketIO uses: plain pywsgi with
        # simple-websocket writes an HTTP response after a WebSocket closes, which browsers
        # report as "Invalid frame header".
        logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
        # No access log (it would carry query strings); errors through logging, where the
        # formatter drops what a database error may quote.
        server = pywsgi.WSGIServer(
            _listener(host, port), app, handler_class=WebSocketHandler, log=None,
            error_log=logging.getLogger("mend.wsgi"),
        )
        stopping = Event()
        for signum in STOP_SIGNALS:
            gevent.signal_handler(signum, stopping.set)
        server.start()
        stopping.wait()
        server.close()  # stop accepting; open connections end with the process
    elif async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        stopping: list[int] = []
        for signum in STOP_SIGNALS:
            signal.signal(signum, lambda signum, _frame: stopping.append(signum))
        # eventlet caps concurrent connections at 1,024 unless told otherwise.
        # No access log; errors through logging (like gevent's), and never a traceback in
        # an answer to the client (eventlet's debug default).
        eventlet.spawn(eventlet.wsgi.server, _listener(host, port), app, log_output=False,
                       max_size=10_000, log=logging.getLogger("mend.wsgi"), debug=False)
        # A Python signal handler cannot wake eventlet's hub (it goes back to sleep in
        # epoll), so the main greenlet looks four times a second.
        while not stopping:
            eventlet.sleep(0.25)
    else:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    config = _config()
    if not _prepare_database(config):
        return 1
    print("The database schema is up to date.")
    return 0


def cmd_db_scrub(_args: argparse.Namespace) -> int:
    """Remove erased accounts' words from the database's files (docs/deployment.md,
    "Erased words and the database's files"). Safe while Mend runs."""
    from server.db import Database
    from server.services.data_rights import scrub_database

    # Only the database is needed: a PostgreSQL superuser (`sudo -u postgres`) may run it
    # with MEND_DATABASE_URL alone, without the data directory or the secret key.
    url = os.environ.get("MEND_DATABASE_URL") or _config().database_url
    # A table's rewrite takes as long as it takes (the scrub bounds its lock waits itself).
    database = Database(url, statement_timeout=None)
    try:
        scrubbed = scrub_database(database.engine)
    finally:
        database.dispose()
    for line in scrubbed.done:
        print(f"Done: {line}.")
    for line in scrubbed.remains:  # the database's configuration, not a failure
        print(f"Remains: {line}.")
    for line in scrubbed.not_done:
        print(f"mend: not done: {line}.", file=sys.stderr)
    return 1 if scrubbed.not_done else 0


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
    """A couple with known credentials, so a newcomer can try both sides in two windows.

    Run again, it reuses the couple and the session under way on the demo track.
    """
    from server.content import load_library
    from server.db import Database, upgrade
    from server.engine import MendError
    from server.services import accounts, couples, sessions

    config = _config()
    upgrade(config.database_url)
    library = load_library(config.content_dir)
    track = library.get(DEMO_TRACK)
    if track is None:
        print(f"mend: the demo track '{DEMO_TRACK}' is not in {config.content_dir}",
              file=sys.stderr)
        return 1
    database = Database(config.database_url)
    ids = []
    try:
        with database.session() as db:
            for email, name in DEMO_PARTNERS:
                try:
                    account = accounts.sign_up(db, email=email, password=DEMO_PASSWORD,
                                               display_name=name)
                except MendError:
                    account = accounts.authenticate(db, email=email, password=DEMO_PASSWORD)
                ids.append(account.id)
            existing = couples.couples_of(db, ids[0])
            couple = next((c for c in existing if {m.user_id for m in c.members} == set(ids)),
                          None)
            if couple is None:
                made = couples.create_couple(db, ids[0])
                couple_id = couples.join_couple(db, ids[1], made["invite_code"])["id"]
            else:
                couple_id = couple.id
            under_way = next(
                (s for s in sessions.sessions_of(db, library, ids[0])
                 if s["couple_id"] == couple_id and s["track"]["id"] == track.id
                 and s["status"] == "active"),
                None,
            )
            session = under_way or sessions.start_session(db, library, ids[0], couple_id,
                                                          track.id)
    except MendError as error:
        print(f"mend: the demo couple could not be prepared: {error.message}\n"
              f"(If a demo password was changed, reset it with: "
              f"mend account reset-password EMAIL)", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print("Demo couple ready. Open two browser windows (one private) and log in as:")
    for email, name in DEMO_PARTNERS:
        print(f"  {name:5} email {email}  password {DEMO_PASSWORD}")
    state = "waiting" if under_way is None else "still under way"
    print(f"A session on '{track.title}' is {state} at /s/{session['id']}")
    print(f"Start the server with: {run_command()}")
    return 0


def run_command() -> str:
    """A `mend run` command line that works from here, with this data directory."""
    script = Path(sys.argv[0]).absolute() if sys.argv and sys.argv[0] else None
    on_path = shutil.which("mend")
    if script is not None and script.name == "mend" and script.is_file():
        if on_path and Path(on_path).absolute() == script:
            command = "mend run"
        else:
            command = f"{shlex.quote(str(script))} run"
    else:  # `python -m server.cli` or an embedding: the same interpreter, the same code
        command = f"{shlex.quote(sys.executable)} -m server.cli run"
    data_dir = os.environ.get("MEND_DATA_DIR")
    if data_dir:
        command = f"MEND_DATA_DIR={shlex.quote(data_dir)} {command}"
    return command


def _read_new_password(args: argparse.Namespace) -> str | None:
    if args.generate:
        from server.services.accounts import generate_password

        return generate_password()
    if args.stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print("mend: no terminal to ask on: pass --stdin (and pipe the password) or --generate",
              file=sys.stderr)
        return None
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        print("mend: the two passwords differ; nothing was changed.", file=sys.stderr)
        return None
    return first


def cmd_account_reset_password(args: argparse.Namespace) -> int:
    """Set a password by hand; every existing log-in of that account ends."""
    from server.db import Database, upgrade
    from server.engine import MendError
    from server.services import accounts

    config = _config()
    password = _read_new_password(args)
    if password is None:
        return 1
    upgrade(config.database_url)
    database = Database(config.database_url)
    try:
        with database.session() as db:
            account = accounts.set_password(db, email=args.email, password=password)
    except MendError as error:
        print(f"mend: {error.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if args.generate:
        print(f"New password for {account.email}: {password}")
    print(f"The password of {account.email} is changed; they were logged out everywhere.")
    return 0


def cmd_counsellor_grant(args: argparse.Namespace) -> int:
    """An administrator makes an account a counsellor."""
    from server.db import Database, upgrade
    from server.engine import MendError
    from server.services import accounts

    config = _config()
    upgrade(config.database_url)
    database = Database(config.database_url)
    try:
        with database.session() as db:
            account = accounts.grant_counsellor(db, args.email)
    except MendError as error:
        print(f"mend: {error.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"{account.email} is a counsellor now: a couple can invite them into a session.")
    return 0


def cmd_counsellor_revoke(args: argparse.Namespace) -> int:
    """An administrator takes the counsellor role away; they leave every session at once."""
    from server.content import ContentError, load_library
    from server.db import Database, upgrade
    from server.engine import MendError
    from server.services import accounts

    config = _config()
    try:
        library = load_library(config.content_dir)
    except ContentError as error:
        print(f"mend: content problem: {error}", file=sys.stderr)
        return 1
    upgrade(config.database_url)
    database = Database(config.database_url)
    try:
        with database.session() as db:
            account = accounts.revoke_counsellor(db, args.email, library=library)
    except MendError as error:
        print(f"mend: {error.message}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"{account.email} is no longer a counsellor and has left every session they had "
          f"joined.")
    return 0


def cmd_counsellor_list(_args: argparse.Namespace) -> int:
    """Granted counsellors, and the accounts that asked for the role and do not have it."""
    from server.db import Database, upgrade
    from server.services import accounts

    config = _config()
    upgrade(config.database_url)
    database = Database(config.database_url)
    try:
        with database.session() as db:
            granted, waiting = accounts.counsellor_accounts(db)
    finally:
        database.dispose()
    if not granted and not waiting:
        print("No counsellors, and nobody has asked to be one.")
        return 0
    print(f"Counsellors ({len(granted)}):" if granted else "Counsellors: none.")
    for account in granted:
        print(f"  {account.email}  {account.display_name}")
    if waiting:
        print(f"Not granted ({len(waiting)}; asked at sign-up, or revoked), "
              f"grant with: mend counsellor grant EMAIL")
        for account in waiting:
            print(f"  {account.email}  {account.display_name}")
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
    db_sub.add_parser("scrub", help="remove erased accounts' words from the database files"
                      ).set_defaults(func=cmd_db_scrub)
    content = sub.add_parser("content", help="content commands")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    content_sub.add_parser("check", help="validate the tracks").set_defaults(func=cmd_content_check)
    sub.add_parser("demo", help="create a demo couple").set_defaults(func=cmd_demo)
    account = sub.add_parser("account", help="account commands")
    account_sub = account.add_subparsers(dest="account_command", required=True)
    reset = account_sub.add_parser(
        "reset-password", help="set a new password (ends the account's log-ins)",
        description="Set a new password for EMAIL. Asks twice on a terminal; --stdin reads "
                    "one line from standard input; --generate makes one and prints it.")
    reset.add_argument("email")
    how = reset.add_mutually_exclusive_group()
    how.add_argument("--stdin", action="store_true", help="read the new password from stdin")
    how.add_argument("--generate", action="store_true", help="make a random one and print it")
    reset.set_defaults(func=cmd_account_reset_password)
    counsellor = sub.add_parser("counsellor", help="grant or revoke the counsellor role")
    counsellor_sub = counsellor.add_subparsers(dest="counsellor_command", required=True)
    grant = counsellor_sub.add_parser(
        "grant", help="make an account a counsellor",
        description="Make EMAIL's account a counsellor: a couple can then invite it into a "
                    "session. An account that is a partner in a couple cannot be one.")
    grant.add_argument("email")
    grant.set_defaults(func=cmd_counsellor_grant)
    revoke = counsellor_sub.add_parser(
        "revoke", help="take the counsellor role away",
        description="EMAIL's account stops being a counsellor and leaves every session it "
                    "had joined, at once.")
    revoke.add_argument("email")
    revoke.set_defaults(func=cmd_counsellor_revoke)
    counsellor_sub.add_parser(
        "list", help="counsellors, and accounts waiting for the role"
    ).set_defaults(func=cmd_counsellor_list)
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
