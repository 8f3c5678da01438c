"""Pushes from the server: per-viewer session views, presence, and the home (`me:state`).

Anything private is computed per viewer and sent to that viewer's personal room
`user:<id>`; the shared room `session:<id>` carries presence only. A counsellor's sockets
are also in `watch:<id>` for each session they take part in (read once at connect, kept
up to date as they join or are removed), so their dashboard hears arrivals and leaves in
sessions they haven't opened; it carries the same `presence` payload, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from server.context import mend
from server.engine.session import COUNSELLOR
from server.engine.visibility import view_for
from server.extensions import socketio
from server.realtime.presence import Presence
from server.services import accounts, watching
from server.services import sessions as session_service
from server.services.sessions import Outcome


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


def watch_room(session_id: str) -> str:
    return f"watch:{session_id}"


REMOVED_MESSAGE = "The couple has ended your access to this session."


def publish(outcome: Outcome) -> None:
    """Send each participant their own view of the session after a change."""
    if not (outcome.changed or outcome.left or outcome.home_changed):
        # Nothing anyone sees changed (a draft's private words, a retry): nothing to send,
        # and who is in the room is checked again on the next change. Presence.online
        # walks every socket on this worker, so this matters for the commonest event.
        return
    online = mend().presence.online(outcome.state.id)
    # Anyone in the session room who is no longer a participant (a counsellor the couple
    # removed, or whose role an administrator revoked from another process) leaves it.
    gone = set(outcome.left) | (online - set(outcome.participants))
    for user_id in gone:
        _drop_from_session(user_id, outcome.state.id)
    if gone:
        online = mend().presence.online(outcome.state.id)
        broadcast_presence(outcome.state.id)
    if gone or outcome.home_changed:
        # A counsellor joined (or, after a removal, the session's remaining one is put back).
        _watch(outcome)
    if outcome.changed:
        for user_id in outcome.audience:
            view = view_for(outcome.state, user_id, online)
            socketio.emit("session:state", view, to=user_room(user_id))
    if outcome.home_changed:
        push_home(outcome.audience)
    if outcome.changed:
        _agreement_changed(outcome)


# Session turns that make or change an agreement: a boundary item agreed, or an agreement
# answered in the review at the start of a session.
AGREEMENT_TURNS = ("agree", "agreement")


def _agreement_changed(outcome: Outcome) -> None:
    """The partners' homes (open on another device, say) hear of an agreement made or
    changed in a session, as they do of one changed on a home."""
    turn = outcome.result.get("turn") if isinstance(outcome.result, dict) else None
    if not isinstance(turn, dict) or turn.get("kind") not in AGREEMENT_TURNS:
        return
    step = outcome.state.track.step(turn.get("step_id"))
    if turn["kind"] == "agree" and (step is None or step.kind != "boundary"):
        return
    fields = turn.get("fields") or {}
    push_agreements(outcome.state.partner_ids, fields.get("agreement_id") or turn["id"])


def watch_sessions(sid: str, user_id: str) -> None:
    """A counsellor's new socket hears presence from every session they take part in."""
    with mend().database.session() as db:
        session_ids = watching.counsellor_session_ids(db, user_id)
    for session_id in session_ids:
        socketio.server.enter_room(sid, watch_room(session_id), namespace="/")


def _watch(outcome: Outcome) -> None:
    """The session's counsellors' sockets on this worker watch it (one who joined over
    HTTP is on this worker when the load balancer keeps a client on one; elsewhere, their
    socket's next connect reads it)."""
    presence = mend().presence
    for who in outcome.state.participants:
        if who.role == COUNSELLOR:
            for sid in presence.sids_of(who.user_id):
                socketio.server.enter_room(sid, watch_room(outcome.state.id), namespace="/")


def push_home(user_ids: Iterable[str]) -> None:
    """Send each user their `GET /me` payload: a session started or finished, a partner
    joined. A partner's home shows the new session at once instead of on the next poll."""
    ctx = mend()
    with ctx.database.session() as db:
        payloads = []
        for user_id in dict.fromkeys(user_ids):
            account = accounts.get_account(db, user_id)
            if account is None:
                continue
            home = session_service.home_of(db, ctx.library, user_id)
            payloads.append((user_id, {"user": account.to_dict(), **home}))
    for user_id, payload in payloads:
        socketio.emit("me:state", payload, to=user_room(user_id))


def broadcast_presence(session_id: str, *, coalesce: bool = False) -> None:
    """Send who is online and typing to the session room.

    Someone arriving or leaving goes out at once. With `coalesce` (typing), a session gets
    at most one broadcast per presence_interval: the first at once, later ones folded into
    one that leaves when the interval is over and carries the state as it is then.
    """
    ctx = mend()
    presence, interval = ctx.presence, ctx.config.presence_interval
    if coalesce and interval > 0:
        delay = presence.claim_broadcast(session_id, time.monotonic(), interval)
        if delay is None:
            return
        if delay > 0:
            socketio.start_background_task(_broadcast_later, presence, session_id, delay)
            return
    _emit_presence(presence, session_id, watchers=not coalesce)


def _broadcast_later(presence: Presence, session_id: str, delay: float) -> None:
    socketio.sleep(delay)
    presence.sent(session_id, time.monotonic())
    _emit_presence(presence, session_id, watchers=False)


def _emit_presence(presence: Presence, session_id: str, *, watchers: bool) -> None:
    """To the session room; with `watchers` (someone arrived or left, not typing) to the
    counsellors' dashboards too: one emit, so a socket in both rooms gets it once."""
    rooms = [session_room(session_id), watch_room(session_id)] if watchers else \
        session_room(session_id)
    socketio.emit(
        "presence",
        {
            "session_id": session_id,
            "online": sorted(presence.online(session_id)),
            "typing": sorted(presence.typing(session_id)),
        },
        to=rooms,
    )


def _drop_from_session(user_id: str, session_id: str) -> None:
    """Someone lost access (a counsellor removed): no more presence from the session room
    on this worker's sockets, and their screen is told why."""
    presence = mend().presence
    for sid in presence.sids_of(user_id):
        socketio.server.leave_room(sid, session_room(session_id), namespace="/")
        presence.leave(sid, session_id)
    presence.set_typing(session_id, user_id, False)
    presence.forget(session_id, user_id)  # every worker's entries, when presence is shared
    # Nor presence on their dashboard, whichever worker holds their sockets: the room is
    # closed on every worker (a session has one counsellor; `publish` puts back any other).
    socketio.close_room(watch_room(session_id), namespace="/")
    socketio.emit("session:removed", {"session_id": session_id, "message": REMOVED_MESSAGE},
                  to=user_room(user_id))


def push_agreements(user_ids: Iterable[str], agreement_id: str) -> None:
    """Tell each partner's open pages that the couple's agreements changed: the home loads
    GET /couples/<id>/agreements again (the words never travel in this push)."""
    for user_id in dict.fromkeys(user_ids):
        socketio.emit("agreements:changed", {"agreement_id": agreement_id},
                      to=user_room(user_id))
