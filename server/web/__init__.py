"""HTTP edge: the JSON API under /api/v1, authentication, and the pages that serve client/."""

from __future__ import annotations

from flask import Flask

from server.web import account_api, counsellor_api, errors, limits, lock_api, pages, payloads
from server.web.api import api
from server.web.auth import install_login
from server.web.help_api import bp as help_bp


def register_web(app: Flask) -> None:
    install_login(app)
    errors.install(app)
    payloads.install(app)
    limits.install(app)
    app.register_blueprint(api)
    app.register_blueprint(pages.bp)
    app.register_blueprint(help_bp)
    app.register_blueprint(account_api.bp)
    app.register_blueprint(counsellor_api.bp)
    app.register_blueprint(lock_api.bp)
