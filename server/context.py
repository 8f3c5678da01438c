"""What the edges need from the app: config, the database, the track library, presence."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from server.config import Config
from server.content import TrackLibrary
from server.db import Database
from server.realtime.presence import Presence


@dataclass
class Mend:
    config: Config
    database: Database
    library: TrackLibrary
    presence: Presence


def mend() -> Mend:
    return current_app.extensions["mend"]
