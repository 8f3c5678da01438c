"""`mend run` settles the collector before serving (server.cli): start-up objects frozen, and
full collections (100-150 ms pauses with 1,000 sockets, docs/benchmarks.md) made rare."""

from __future__ import annotations

import gc

from server.cli import FULL_COLLECTION_THRESHOLD, _settle_garbage_collector


def test_start_up_objects_are_frozen_and_full_collections_wait_longer():
    before = gc.get_threshold()
    try:
        _settle_garbage_collector()
        young, middle, full = gc.get_threshold()
        assert (young, middle) == before[:2]  # the young generations keep Python's
        assert full == FULL_COLLECTION_THRESHOLD >= 100 * 10
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
