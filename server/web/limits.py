"""HTTP rate limits (Flask-Limiter): log-in, sign-up, invite codes, per account and address."""

from __future__ import annotations

from flask import Flask


def install(app: Flask) -> None:
    """Attach the limits to their endpoints."""
