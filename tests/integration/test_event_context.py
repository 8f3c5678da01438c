"""Flask-SocketIO runs every socket event in a request context built from the socket's
handshake environ, and Flask matches that URL again each time. If nothing matched, werkzeug
raised (NotFound, or WebsocketMismatch for a WebSocket) and kept the exception, its
traceback and frames: cyclic garbage on every event, which the collector then freed in
pauses that set the p99 (docs/benchmarks.md). Both kinds of handshake must match a rule."""

from __future__ import annotations

import pytest
from flask import request
from werkzeug.test import EnvironBuilder

HANDSHAKES = {
    "websocket": {"Upgrade": "websocket", "Connection": "Upgrade"},
    "long-polling": {},
}


@pytest.mark.parametrize("transport", HANDSHAKES)
def test_a_socket_events_request_context_matches_a_route(app, transport):
    environ = EnvironBuilder(path="/socket.io/", query_string=f"EIO=4&transport={transport}",
                             headers=HANDSHAKES[transport]).get_environ()
    with app.request_context(environ):
        assert request.routing_exception is None
