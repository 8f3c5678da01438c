"""The application factory."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from server.config import Config
from server.content import load_library
from server.context import Mend
from server.db import Database, protect_data_dir
from server.extensions import csrf, login_manager, socketio
from server.realtime.presence import make_presence

log = logging.getLogger("mend")


class SessionCookie(SecureCookieSessionInterface):
    """The log-in cookie is `Secure` whenever the request came over HTTPS (or a proxy Mend
    trusts says so), or always/never when MEND_SECURE_COOKIES says."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from server.web.pages import secure_transport

        return secure_transport()

    def open_session(self, app: Flask, request):
        # A Socket.IO event after the handshake: Flask-SocketIO replaces this session with
        # the socket's own copy right after the request context opens (its
        # `saved_session`), so decoding and verifying the cookie again for every event
        # was wasted work (6 % of a busy server, py-spy at 500 couples).
        if "saved_session" in request.environ:
            return self.session_class()
        return super().open_session(app, request)


class NoStoreSocketIO:
    """Socket.IO's long-polling answers carry session views: no cache may keep them."""

    def __init__(self, wsgi_app, path: str = "/socket.io") -> None:
        self.wsgi_app = wsgi_app
        self.path = path

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.path):
            return self.wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            if not any(name.lower() == "cache-control" for name, _ in headers):
                headers = [*headers, ("Cache-Control", "no-store")]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(
        __name__,
        static_folder=str(config.client_dir),
        static_url_path="/static",
        template_folder=str(config.client_dir),
    )
    app.config.update(
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=256 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # A token per log-in session; it must not expire under someone mid-answer.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
    )
    app.json.sort_keys = False  # keep the contract's field order readable
    app.session_interface = SessionCookie()
    # Never a remember-me cookie today; if one is added, it is Secure when forced.
    app.config["REMEMBER_COOKIE_SECURE"] = config.secure_cookies is True
    protect_data_dir(config.data_dir)
    app.extensions["mend"] = Mend(
        config=config,
        database=Database(config.database_url,
                          connect_timeout=config.db_connect_timeout or None,
                          statement_timeout=config.db_statement_timeout or None),
        library=dataclasses.replace(load_library(config.content_dir),
                        recheck_after=timedelta(hours=config.recheck_hours)),
        presence=make_presence(config.redis_url),
    )

    login_manager.init_app(app)
    csrf.init_app(app)

    from server.web import data_api, register_web

    register_web(app)
    app.register_blueprint(data_api.bp)

    from server.realtime import handlers  # noqa: F401  (registers the event handlers)
    from server.realtime.redis_queue import make_client_manager

    socketio.init_app(
        app,
        async_mode=config.async_mode,
        # Several workers: pushes cross them through Redis; after its listener lost Redis a
        # worker tells its own sockets to resync (pushes sent meanwhile are gone).
        client_manager=make_client_manager(config.redis_url),
        max_http_buffer_size=config.max_frame_bytes,
        # Same-origin only (the default), stated so nobody loosens it by accident.
        cors_allowed_origins=None,
        # A socket's events run one after another in the greenlet that reads them, in the
        # order sent, instead of a new greenlet per event (6 % of a busy server spawning
        # them). Handlers don't wait on each other, and a flooder gets one at a time.
        async_handlers=False,
        # No packet logging: a logged frame would carry answers and names.
        logger=False,
        engineio_logger=False,
    )
    # Every frame pays its sender's budget from a connection's first (server.realtime.limits).
    from server.realtime import limits

    limits.install(app)
    # Outermost, so Socket.IO's handshake sees the same scheme and address as Flask does.
    app.wsgi_app = NoStoreSocketIO(app.wsgi_app)
    if config.trusted_proxies:
        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops)
    return app
