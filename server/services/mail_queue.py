"""Outgoing e-mail leaves from one queue, after the answer.

A request that may send mail (a password-reset request, a sign-up with a taken address)
only puts a job here, the same job whether or not the address has an account; one worker
per process looks the address up, builds the link and talks to the SMTP server. So the
answer takes as long either way (nothing to enumerate by the clock), and a slow mail
server never holds a request.

The worker is a daemon thread reading a `queue.Queue`: under gevent or eventlet (which
`mend run` patches before anything is imported) both are green, a greenlet that waits on
the queue without holding the event loop; under the threading mode, a real thread. A job
put by a request runs once that request's greenlet next waits (writing its answer first).
Mail still queued when the process stops is not sent: the person asks again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("mend.mail")

# Jobs waiting beyond this are dropped (logged), for a known and an unknown address alike:
# a flood of requests can't grow the process without bound.
MAX_WAITING = 1000
WORKER_NAME = "mend-mail"


class MailQueue:
    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self._jobs: queue.Queue[Callable[[], object]] = queue.Queue(max_waiting)
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, job: Callable[[], object]) -> None:
        """Run `job()` on the worker, later; never waits and never raises."""
        self._start()
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            log.warning("mail queue full (%d waiting): a message was dropped",
                        self._jobs.maxsize)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Whether every job submitted so far has finished within `timeout` (for tests)."""
        done = threading.Event()

        def waiter() -> None:
            self._jobs.join()
            done.set()

        threading.Thread(target=waiter, name="mend-mail-idle", daemon=True).start()
        return done.wait(timeout)

    def _start(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                # Started before the first job is put: under gevent, start() switches to the
                # new greenlet, which then waits on the empty queue and switches back, so no
                # job runs inside the request that submitted it.
                self._worker = threading.Thread(target=self._run, name=WORKER_NAME,
                                                daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # never the asker's business: they got their answer
                log.exception("could not send an e-mail")
            finally:
                self._jobs.task_done()


# One per process: every app in it shares the worker (jobs carry their own database).
mail_queue = MailQueue()
