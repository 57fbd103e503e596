"""The serving process's garbage-collector tuning (:func:`modelport.app.settle_heap`)."""

from __future__ import annotations

import gc

from modelport.app import settle_heap
from modelport.settings import Settings


def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        settle_heap(12_345)
        assert gc.get_threshold() == (12_345, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_default_threshold_is_above_cpythons() -> None:
    assert Settings().gc_threshold > 700
