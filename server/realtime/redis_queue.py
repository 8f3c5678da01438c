"""The Redis message queue between workers, and what a worker does when it was cut off.

Redis pub/sub keeps nothing: a push another worker published while this worker's listener
was disconnected (Redis restarted, the network blipped) never arrives here. So when the
listener subscribes again after losing its connection, this worker tells each of its own
sockets `resync`, and the clients catch up as after a reconnect (`session:join`, whose ack
is the whole view, and a fresh home). The hint goes to this worker's sockets only, never
through Redis: every worker's listener reconnects on its own and tells its own sockets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from socketio import RedisManager

# Flask-SocketIO's channel when it builds the manager itself: workers of an older release
# and the docs' `redis-cli pubsub numsub flask-socketio` check stay right.
CHANNEL = "flask-socketio"
RESYNC_EVENT = "resync"


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


def make_client_manager(redis_url: str | None) -> ResyncRedisManager | None:
    """The message queue when workers share Redis (MEND_REDIS_URL); None for one worker."""
    return ResyncRedisManager(redis_url, channel=CHANNEL) if redis_url else None
