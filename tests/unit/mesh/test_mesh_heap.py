"""settle_heap: the start-up heap is frozen out of later collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mesh.heap import settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_objects_alive_at_start_up_are_left_out_of_later_collections() -> None:
    survivor = [object() for _ in range(10)]
    settle_heap()
    assert gc.get_freeze_count() > len(survivor)
    assert gc.is_tracked(survivor)
    # A full collection now visits only what was created since: the start-up objects are
    # in the permanent generation, not in any of the three the collector walks.
    assert not any(obj is survivor for obj in gc.get_objects())


@pytest.mark.usefixtures("restored_gc")
def test_the_young_generation_is_collected_less_often() -> None:
    settle_heap()
    assert gc.get_threshold()[0] >= 10_000
