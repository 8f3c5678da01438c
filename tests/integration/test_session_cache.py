"""Each worker keeps the sessions it loaded (services.sessions: `load_state`'s cache, checked
against the version the lock reads), and after a submit, a reveal or a ready it keeps what
it just committed. Whatever a worker decides from must be exactly what a fresh read of the
database gives, after every action of a whole session, and another worker's changes (its
own Database, so its own cache) must be seen by the next action here.
"""

from __future__ import annotations

import random

import pytest

from server.config import Config
from server.content import load_library
from server.db import Database, upgrade
from server.engine import MendError
from server.engine.visibility import view_for
from server.services import sessions as service
from tests.integration.conftest import couple_in_session

TRACK_ID = "understanding-our-trust"
COMPARED = ("version", "status", "current_index", "participants", "entries", "drafts",
            "reveals", "ready", "step_states", "turns", "notes", "audit", "records",
            "session_data", "paused_until", "finished_at")


@pytest.fixture
def workers(database_url, data_dir):
    """Two workers on one database: each its own engine, pool and cache."""
    upgrade(database_url)
    library = load_library(Config.from_env({"MEND_DATA_DIR": str(data_dir)}).content_dir)
    one, two = Database(database_url), Database(database_url)
    yield library, one, two
    one.dispose()
    two.dispose()


def fresh(database: Database, library, session_id: str):
    """The session as the database holds it now, read in full (the cache emptied first)."""
    with database.session() as db:
        service._cache_of(db).clear()
        return service.load_state(db, library, session_id)


def served(database: Database, library, session_id: str):
    """What this worker's next action decides from (its cache, when the version matches)."""
    with database.session() as db:
        return service.load_state(db, library, session_id, service._lock(db, session_id))


def assert_same(state, truth) -> None:
    for name in COMPARED:
        assert getattr(state, name) == getattr(truth, name), name


def answer(step: dict, n: int) -> dict:
    spec = step.get("answer") or {}
    kind = spec.get("type", "text")
    text = f"answer {n}: what I notice when I think about this"
    if kind == "scale":
        return {"body": None, "fields": {"value": spec["min"]}}
    if kind == "choices":
        exclusive = set(spec.get("exclusive") or [])
        options = [o for o in spec["options"] if o not in exclusive] or spec["options"]
        return {"body": None, "fields": {"choices": options[:1]}}
    if kind == "closing":
        return {"body": text, "fields": {"value": spec["scale"]["min"]}}
    return {"body": text}


def test_what_a_worker_serves_from_its_cache_is_what_the_database_holds(workers):
    library, one, two = workers
    with one.session() as db:
        a, b, couple_id, session_id = couple_in_session(db, library, TRACK_ID)
    chance = random.Random(7)
    hits = 0
    actions = 0

    def act(user_id: str, call, *args) -> None:
        """Run one action on a worker picked at random, then check both workers."""
        nonlocal hits, actions
        worker = chance.choice((one, two))
        with worker.session() as db:
            call(db, library, user_id, session_id, *args)
        actions += 1
        truth = fresh(two if worker is one else one, library, session_id)
        with worker.session() as db:
            cached = service._cache_of(db).get(session_id)
        if cached is not None and cached.version == truth.version:
            hits += 1
        for database in (one, two):
            assert_same(served(database, library, session_id), truth)

    for n in range(40):
        state = fresh(one, library, session_id)
        if state.status != "active":
            break
        view = view_for(state, a.id, frozenset())
        step = next(s for s in view["steps"] if s["id"] == view["session"]["current_step_id"])
        if step["kind"] in ("prompt", "closing"):
            for who in (a.id, b.id):
                payload = answer(step, n)
                act(who, service.save_draft, step["id"], payload["body"], payload.get("fields"))
            for who in (a.id, b.id):
                payload = answer(step, n)
                act(who, service.submit_entry, step["id"], f"{who}-{n}", payload["body"],
                    payload.get("fields"))
        for who in (a.id, b.id):
            try:
                act(who, service.mark_ready, step["id"])
            except MendError as error:  # e.g. a step that is not for readying
                pytest.fail(f"{step['kind']} step {step['id']}: {error.code}")
    assert fresh(one, library, session_id).status != "active", "the session never ended"
    # The cache was really in use: most actions left the acting worker's cache current.
    assert actions > 40 and hits > actions // 2, (hits, actions)
