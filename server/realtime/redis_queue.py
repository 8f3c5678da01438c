"""The Redis message queue between workers, and what a worker does when it was cut off.

Redis pub/sub keeps nothing: a push another worker published while this worker's listener
was disconnected (Redis restarted, the network blipped) never arrives here. So when the
listener subscribes again after losing its connection, this worker tells each of its own
sockets `resync`, and the clients catch up as after a reconnect (`session:join`, whose ack
is the whole view, and a fresh home). The hint goes to this worker's sockets only, never
through Redis: every worker's listener reconnects on its own and tells its own sockets.

It also carries "this user's log-ins ended" (server.realtime.logins): a `close_room` of the
user's room with an END_LOGINS field, which every worker's listener — this one's too —
answers by dropping that user's sockets and pushing its host id onto the request's reply
list; the request waits for as many answers as Redis counted listeners.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from socketio import RedisManager

# Flask-SocketIO's channel when it builds the manager itself: workers of an older release
# and the docs' `redis-cli pubsub numsub flask-socketio` check stay right.
CHANNEL = "flask-socketio"
RESYNC_EVENT = "resync"
END_LOGINS = "mend_end_logins"
# Not any worker's host id: every listener handles the message, the sender's own included.
END_LOGINS_HOST = "mend-end-logins"
REPLY_TTL = 60  # seconds a reply list outlives an answer nobody waits for any more


class ResyncRedisManager(RedisManager):
    """python-socketio's RedisManager, telling this worker's sockets to resync after its
    listener got its Redis connection back."""

    def _redis_listen_with_retries(self) -> Iterator[dict]:  # pragma: no cover (live tests)
        # python-socketio's loop (socketio/redis_manager.py), with one addition: after a
        # lost connection is subscribed again, `_resubscribed`.
        retry_sleep = 1
        lost = False
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                retry_sleep = 1
                if lost:
                    lost = False
                    self._resubscribed()
                yield from self.pubsub.listen()
            except Exception as exc:
                self._get_logger().error(
                    f"Cannot receive from redis... retrying in {retry_sleep} secs",
                    extra={"redis_exception": str(exc)})
                lost = True
                time.sleep(retry_sleep)  # monkey-patched under gevent and eventlet
                retry_sleep = min(retry_sleep * 2, 60)

    def _resubscribed(self) -> None:
        """Pushes may have been lost meanwhile: every socket on this worker catches up."""
        self._get_logger().warning("listening on redis again: telling this worker's "
                                   "sockets to resync")
        try:
            # ignore_queue: this worker's sockets only (the base manager's local emit).
            self.emit(RESYNC_EVENT, {}, namespace="/", ignore_queue=True)
        except Exception:
            self._get_logger().exception("could not tell the sockets to resync")


    def end_logins(self, user_id: str, timeout: float) -> int:
        """Have every worker drop `user_id`'s sockets; wait until each listener says it did
        (at most `timeout` seconds). Returns how many answered."""
        reply = f"mend:logins-ended:{uuid.uuid4().hex}"
        message = {"method": "close_room", "room": f"user:{user_id}", "namespace": "/",
                   "host_id": END_LOGINS_HOST,
                   END_LOGINS: {"user_id": user_id, "reply": reply}}
        listeners = self._publish(message) or 0
        answered = 0
        deadline = time.monotonic() + timeout
        try:
            while answered < listeners:
                left = deadline - time.monotonic()
                if left <= 0 or not self.redis.blpop([reply], timeout=max(left, 0.01)):
                    break
                answered += 1
        except Exception as exc:
            self._get_logger().warning("could not hear the workers drop a user's sockets: %s",
                                       exc)
        if answered < listeners:
            self._get_logger().warning(
                "%d of %d workers confirmed dropping a logged-out user's sockets within %.1f s"
                " (their guards close them within seconds)", answered, listeners, timeout)
        return answered

    def _handle_close_room(self, message: dict) -> None:
        ended = message.get(END_LOGINS)
        if not isinstance(ended, dict):
            return super()._handle_close_room(message)
        from server.realtime.logins import drop_here

        try:
            drop_here(self.server, str(ended.get("user_id")))
        finally:
            reply = ended.get("reply")
            if isinstance(reply, str) and reply.startswith("mend:logins-ended:"):
                with self.redis.pipeline() as pipe:
                    pipe.rpush(reply, self.host_id)
                    pipe.expire(reply, REPLY_TTL)
                    pipe.execute()


def make_client_manager(redis_url: str | None) -> ResyncRedisManager | None:
    """The message queue when workers share Redis (MEND_REDIS_URL); None for one worker."""
    return ResyncRedisManager(redis_url, channel=CHANNEL) if redis_url else None
