"""Each JSON endpoint's request body, declared once and checked before its view runs."""

from __future__ import annotations

from flask import Flask


def install(app: Flask) -> None:
    """Check every JSON body against its endpoint's declared schema before the view."""
