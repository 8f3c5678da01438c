"""GET /api/v1/help: crisis and domestic-violence resources for one country.

No log-in, no session: the client asks without cookies, and this handler touches neither
the database nor the user's session, so asking for help leaves no trace in the shared
session (only the ordinary web-server log line every request leaves).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from server.context import mend
from server.services.help import HelpResources, load_help_resources

bp = Blueprint("help", __name__, url_prefix="/api/v1")

EXTENSION = "mend.help"


@bp.record_once
def _load(state) -> None:
    # Read and check the file while the app is built, so a bad MEND_HELP_RESOURCES stops
    # `mend run` at start-up (HelpResourcesError is a ConfigError) rather than at the first
    # person who asks for help.
    app = state.app
    app.extensions[EXTENSION] = load_help_resources(app.extensions["mend"].config
                                                    .help_resources_path)


def help_resources() -> HelpResources:
    resources = current_app.extensions.get(EXTENSION)
    if resources is None:  # registered on an app built without the factory
        resources = load_help_resources(mend().config.help_resources_path)
        current_app.extensions[EXTENSION] = resources
    return resources


@bp.get("/help")
def get_help():
    resources = help_resources()
    country = resources.country_for(request.args.get("country"))
    response = jsonify({
        "ok": True,
        "country": country.code,
        "countries": resources.country_list(),
        "resources": [r.to_dict() for r in country.resources],
    })
    # Not kept in the browser's cache either: the device should hold no record of it.
    response.headers["Cache-Control"] = "no-store"
    return response
