"""Password hashing away from the event loop.

A password hash costs about a fifth of a second of CPU on purpose (werkzeug's scrypt). Under
gevent or eventlet, every client shares one OS thread: a hash computed there stops everyone
else for that long, and a few people guessing passwords would stall the whole server. So
under either, the hash runs in a real OS thread (hashlib releases the GIL while it works), at
most HASHING_THREADS at a time, and at a lower CPU priority than the event loop (on Linux,
where a thread's niceness is its own): a burst of log-ins waits its turn instead of taking
cores from everyone else. Under plain threads (Flask's development server, the tests) each
request already has its own OS thread and the hash runs where it is called.

Which of these applies is decided by what is monkey-patched in this process, not by which
libraries happen to be importable.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from werkzeug.security import check_password_hash, generate_password_hash

T = TypeVar("T")

# Leave a core for the event loop; at least one thread.
HASHING_THREADS = max(1, (os.cpu_count() or 2) - 1)


def hash_password(password: str) -> str:
    """A salted hash of `password` to store (werkzeug's format)."""
    return off_the_loop(generate_password_hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`."""
    return off_the_loop(check_password_hash, password_hash, password)


def off_the_loop(fn: Callable[..., T], *args) -> T:
    """Run a CPU-heavy call in an OS thread when an event loop shares this one."""
    return _runner()(fn, *args)


def _direct(fn: Callable[..., T], *args) -> T:
    return fn(*args)


HASHING_NICENESS = 10
_pool_thread = threading.local()


def _at_low_priority(fn: Callable[..., T], *args) -> T:
    """Run in a pool thread, made nicer than the event loop the first time it gets here."""
    if not getattr(_pool_thread, "niced", False):
        _pool_thread.niced = True
        with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
    return fn(*args)


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("socket")


def _eventlet_patched() -> bool:
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return patcher.is_monkey_patched("socket")


_lock = threading.Lock()
_made: dict[str, Callable] = {}  # "<pid>" -> runner (a fork gets its own pool)


def _runner() -> Callable:
    key = str(os.getpid())
    runner = _made.get(key)
    if runner is None:
        with _lock:
            runner = _made.get(key)
            if runner is None:
                runner = _made[key] = _make_runner()
    return runner


def _make_runner() -> Callable:
    if _gevent_patched():
        from gevent.threadpool import ThreadPool

        pool = ThreadPool(HASHING_THREADS)

        def in_gevent_pool(fn: Callable[..., T], *args) -> T:
            return pool.apply(_at_low_priority, (fn, *args))

        return in_gevent_pool
    if _eventlet_patched():
        from eventlet import tpool
        from eventlet.semaphore import Semaphore

        turns = Semaphore(HASHING_THREADS)

        def in_eventlet_pool(fn: Callable[..., T], *args) -> T:
            with turns:
                return tpool.execute(_at_low_priority, fn, *args)

        return in_eventlet_pool
    return _direct
