"""How Socket.IO frames are read: a depth-capped JSON decoder, and a frame that can't be an
event becomes one that the catch-all answers (server.realtime.schemas) instead of vanishing.

python-socketio decodes every packet with `Packet.decode` (`serializer=` picks the class,
server.extensions). Left alone, JSON nested 1,000 deep raises RecursionError there, a
frame whose data isn't `[name, ...]` raises in the dispatcher, and the client waits for an
ack that never comes. With `MendPacket`:

* the data is read by `server.engine.shapes.parse_json` (at most 32 levels, no NaN or
  Infinity, no 30-digit numbers); what it refuses becomes the event `MALFORMED`;
* an event frame whose data is not a list starting with a name, or names a reserved event
  (`connect`, `disconnect`: a client must not be able to fake them), also becomes
  `MALFORMED`, keeping its ack id, so the client gets `{ok: false, error: {code:
  "invalid"}}`.

`MALFORMED` is an object, not a string: no client can send it by name.

Framing that fails to decode at all — an engine.io packet with no valid type, a Socket.IO
packet python-socketio can't parse — used to raise inside the libraries: a traceback in the
log per frame, and at the engine.io level a connection left half-open. An engine.io packet
that doesn't decode now arrives as a message whose data is `UNREADABLE`, and the gate in
server.realtime.limits counts it (with Socket.IO's decoding errors) against the sender's
budget, logs one line per connection and closes the connection past a limit.
"""

from __future__ import annotations

import types
from typing import Any

import engineio.packet
import engineio.socket
import orjson
from socketio import packet

from server.engine.shapes import parse_json


class _Malformed:
    def __repr__(self) -> str:
        return "<malformed frame>"


MALFORMED: Any = _Malformed()


class _Unreadable:
    def __repr__(self) -> str:
        return "<unreadable frame>"


# An engine.io packet that could not be decoded: what `MendEioPacket` hands on as its data.
UNREADABLE: Any = _Unreadable()
_UNREADABLE: Any = object()
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*"})


class _CappedJson:
    """The `json` a packet uses: orjson's encoder, the depth-capped decoder. Decoding never
    raises: unreadable data comes back as a marker `MendPacket.decode` replaces."""

    @staticmethod
    def dumps(value: Any, **_kwargs: Any) -> str:
        # Every push is a whole view, encoded once per viewer: the standard library's
        # encoder was 5-6 % of a busy server. orjson writes compact UTF-8 (the separators
        # python-socketio asks for); a value JSON can't hold raises, as json.dumps does.
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(raw: str, **_kwargs: Any) -> Any:
        try:
            return parse_json(raw)
        except ValueError:
            return _UNREADABLE


class MendPacket(packet.Packet):
    json = _CappedJson
    # Mend sends JSON only. Left True, every packet sent walks its whole payload looking
    # for bytes (3 % of a busy server: the views are nested dicts). A client's binary
    # frames are still read as before (the packet type comes from the wire).
    uses_binary_events = False

    def decode(self, encoded_packet: Any) -> int:
        attachments = super().decode(encoded_packet)
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            data = self.data
            if not (isinstance(data, list) and data and isinstance(data[0], str)
                    and data[0] not in RESERVED_EVENTS):
                self.data = [MALFORMED]
        elif self.data is _UNREADABLE:
            # A connect with unreadable auth data connects without it (auth is the cookie);
            # an unreadable ack from a client carries nothing.
            self.data = [] if self.packet_type in (packet.ACK, packet.BINARY_ACK) else None
        return attachments


class MendEioPacket(engineio.packet.Packet):
    """engine.io's packet; one that doesn't decode becomes a MESSAGE carrying UNREADABLE
    instead of raising out of the connection's reading loop."""

    def decode(self, encoded_packet: Any) -> None:
        try:
            super().decode(encoded_packet)
            if 0 <= self.packet_type < len(engineio.packet.packet_names):
                return
        except (ValueError, TypeError, IndexError, UnicodeError):  # binascii.Error too
            pass
        self.packet_type = engineio.packet.MESSAGE
        self.binary = False
        self.data = UNREADABLE


def _install_eio_packet() -> None:
    """engine.io's server-side Socket reads `packet.Packet`: give it a module whose Packet
    is MendEioPacket (the client side, and everything else, keeps the original)."""
    if getattr(engineio.socket.packet, "Packet", None) is MendEioPacket:
        return
    shim = types.ModuleType(engineio.packet.__name__)
    shim.__dict__.update(vars(engineio.packet))
    shim.Packet = MendEioPacket
    engineio.socket.packet = shim


_install_eio_packet()
