"""The serving process's garbage-collector tuning (:func:`modelport.app.settle_heap`)."""

from __future__ import annotations

import asyncio
import gc
import time
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


async def test_the_heap_is_frozen_again_once_the_background_preload_ends(
        make_settings: Any, restore_gc: tuple[int, int, int]) -> None:
    """What the preload imports and loads after start-up lives as long as the process too."""
    app = create_app(make_settings(demo_models=False, preload_before_ready=False), freeze_gc=True)
    async with app.router.lifespan_context(app):
        services = app.state.services
        assert services.preloading  # started, not yet run
        frozen = gc.get_freeze_count()
        kept: list[list[int]] = [[] for _ in range(10_000)]  # made after start-up's freeze, alive for good
        await services.preloaded()
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() < frozen + len(kept):
            assert time.monotonic() < deadline, "not frozen again after the preload"
            await asyncio.sleep(0.01)
