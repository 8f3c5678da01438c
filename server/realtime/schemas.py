"""Each client event's payload, declared once: `check` runs before the event's handler
(server.realtime.handlers.event) and raises MendError("invalid" | "too_large") for a
malformed one. Events nobody declared, and frames that can't be read as an event
(server.realtime.frames), are answered `invalid` by the catch-all registered here.

What the declarations hold (docs/protocol.md; client/js sends exactly these):

* ids (`session_id`, `step_id`, `user_id`, …): 1 to 64 printable characters, no spaces;
* `client_id`: 8 to 64 of them (eight spaces are not an id);
* text a person wrote (`body`, `reason`): at most 20,000 characters (`too_large`), NFC, no
  NUL or lone surrogate (`invalid`), and "" when it is blank once whitespace and invisible
  characters are trimmed, so ten zero-width spaces are no answer (server.engine.text);
* `fields`: the answer's free-form part, checked by its step kind; here bounded (6 levels,
  500 values) and every string in it cleaned like text;
* no other keys: a misspelt field is an error, not silently ignored.

`check` cleans the payload in place: the handler sees the normalised text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_login import current_user

from server.engine import MendError
from server.engine.shapes import MAX_TEXT, Bool, Id, Int, Json, Obj, Text
from server.extensions import socketio
from server.realtime import limits
from server.realtime.frames import MALFORMED

log = logging.getLogger("mend.realtime")

ID = Id()
CLIENT_ID = Id(8, 64, "Each submit needs a client_id of 8 to 64 letters, digits or dashes, "
                      "without spaces.")
NAME = Id(1, 32, "Say which one with a short name, like the ones in docs/protocol.md.")
WORDS = Text(MAX_TEXT)
FIELDS = Json(max_depth=6, max_nodes=500)
MINUTES = Int(0, 100_000)


def _session(**fields: Any) -> Obj:
    return Obj({"session_id": ID, **fields})


EVENTS: dict[str, Obj] = {
    "session:join": _session(),
    "session:leave": _session(),
    "entry:draft": _session(**{"step_id": ID, "body?": WORDS.or_null(),
                               "fields?": FIELDS.or_null()}),
    "entry:submit": _session(**{"step_id": ID, "client_id": CLIENT_ID,
                                "body?": WORDS.or_null(), "fields?": FIELDS.or_null(),
                                "skip?": Bool().or_null()}),
    # Take a submitted answer back until the partner submits (a new entry:submit replaces it).
    "entry:withdraw": _session(step_id=ID),
    "step:ready": _session(step_id=ID),
    "turn:submit": _session(**{"step_id": ID, "client_id": CLIENT_ID, "kind": NAME,
                               "body?": WORDS.or_null(), "fields?": FIELDS.or_null()}),
    "step:acknowledge": _session(step_id=ID, ack=NAME),
    # A step's own controls send their step_id along with every request (client/js/kinds).
    "session:pause": _session(**{"step_id?": ID.or_null(), "minutes?": MINUTES.or_null(),
                                 "reason?": WORDS.or_null()}),
    "session:resume": _session(**{"step_id?": ID.or_null()}),
    "presence:typing": _session(**{"step_id?": ID.or_null(), "typing": Bool()}),
    # The private check that opens every session (server.engine.check).
    "check:submit": _session(client_id=CLIENT_ID, fields=FIELDS),
    "check:stop": _session(),
    # The counsellor's controls.
    "step:advance": _session(**{"step_id": ID, "to_step_id?": ID.or_null()}),
    "step:revisit": _session(**{"step_id?": ID.or_null()}),
    "reveal:hold": _session(step_id=ID),
    "reveal:release": _session(step_id=ID),
    "reveal:preview": _session(step_id=ID),
    "floor:grant": _session(**{"step_id": ID, "user_id?": ID.or_null()}),
    "card:add": _session(kind=NAME, body=WORDS),
    "session:end": _session(),
    "note:add": _session(**{"client_id": CLIENT_ID, "body": WORDS, "user_id?": ID.or_null()}),
    "checkin:private": _session(client_id=CLIENT_ID, body=WORDS),
}


def check(event: str, payload: dict[str, Any]) -> None:
    """Raise MendError("invalid" | "too_large") unless `payload` fits `event`'s schema;
    otherwise replace its values, in place, with their cleaned form."""
    shape = EVENTS.get(event)
    if shape is None:  # a handler registered without a declaration: a bug, said loudly
        raise LookupError(f"no payload schema declared for the event {event!r}")
    payload.update(shape.clean(payload))


UNKNOWN = MendError("invalid", "Mend does not know that event. Check the name against "
                               "docs/protocol.md.")
UNREADABLE = MendError("invalid", "That message could not be read: send one JSON object "
                                  "(nested at most 32 levels) with an event name.")


@socketio.on("*")
def unknown_event(event: Any, *_args: Any) -> dict:
    """Every event without a handler, and every frame that could not be read as an event.
    The payload is never logged (it may hold someone's words), nor the name it came with."""
    try:
        if not current_user.is_authenticated:
            raise MendError("unauthenticated", "Your log-in has ended. Please log in again.")
        limits.admit(request.sid, current_user.id)
        raise UNREADABLE if event is MALFORMED else UNKNOWN
    except MendError as error:
        log.info("%s refused: %s", "unreadable frame" if event is MALFORMED else
                 "unknown event", error.code)
        return error.to_dict()
