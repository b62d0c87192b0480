"""serve freezes what startup built, so the collector's full passes skip it (bench/bench_load.py: the pauses)."""

from __future__ import annotations

import gc

from bot.runtime import freeze_startup_heap


def test_freezing_moves_the_startup_objects_out_of_the_collected_generations() -> None:
    built_at_startup = [{"course": i} for i in range(10_000)]
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(built_at_startup)
        tracked = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(o) in tracked for o in built_at_startup[:100])  # no longer walked by a full collection
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
