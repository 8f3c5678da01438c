"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask

from server.config import Config
from server.content import load_library
from server.context import Mend
from server.db import Database
from server.extensions import csrf, login_manager, socketio
from server.realtime.presence import Presence

log = logging.getLogger("mend")


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
    app.extensions["mend"] = Mend(
        config=config,
        database=Database(config.database_url),
        library=load_library(config.content_dir),
        presence=Presence(),
    )

    login_manager.init_app(app)
    csrf.init_app(app)

    from server.web import register_web

    register_web(app)

    from server.realtime import handlers  # noqa: F401  (registers the event handlers)

    socketio.init_app(
        app,
        async_mode=config.async_mode,
        message_queue=config.redis_url,
        max_http_buffer_size=config.max_frame_bytes,
        # Same-origin only (the default), stated so nobody loosens it by accident.
        cors_allowed_origins=None,
        logger=False,
        engineio_logger=False,
    )
    return app
