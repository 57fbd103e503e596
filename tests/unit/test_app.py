"""The serving process's garbage-collector tuning (:func:`modelport.app.settle_heap`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from modelport.app import create_app, settle_heap


@pytest.fixture
def restore_gc() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        yield before
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold(
        restore_gc: tuple[int, int, int]) -> None:
    settle_heap(12_345)
    assert gc.get_threshold() == (12_345, restore_gc[1], restore_gc[2])
    assert gc.get_freeze_count() > 0


async def test_the_serving_app_applies_the_configured_threshold_once_started(
        make_settings: Any, restore_gc: tuple[int, int, int]) -> None:
    app = create_app(make_settings(gc_threshold=4321, demo_models=False), freeze_gc=True)
    assert gc.get_threshold()[0] == restore_gc[0]  # nothing happens before start-up
    async with app.router.lifespan_context(app):
        assert gc.get_threshold()[0] == 4321
        assert gc.get_freeze_count() > 0


async def test_apps_built_without_freeze_gc_leave_the_collector_alone(
        make_settings: Any, restore_gc: tuple[int, int, int]) -> None:
    app = create_app(make_settings(gc_threshold=4321, demo_models=False))
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == restore_gc
        assert gc.get_freeze_count() == 0
