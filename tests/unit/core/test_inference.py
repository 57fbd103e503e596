"""The core inference path: an edge's resolved version is the one that runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import InferenceRequest
from tests.fixtures.tracking import register_sum, serve


async def test_the_version_the_edge_resolved_runs_even_if_the_alias_moved(
        make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    async with serve(make_settings(cache_enabled=False)) as (services, client):
        await register_sum(services, tmp_path, offset=0.0)
        await register_sum(services, tmp_path, offset=100.0, aliases=[])
        resolved = await services.inference.resolve("sum", "production")  # what the edge read
        r = await client.put("/api/v1/models/sum/aliases/production", json={"version": 2})
        assert r.status_code == 200

        def request(**extra: Any) -> InferenceRequest:
            return InferenceRequest(model="sum", version="production",
                                    inputs={"input": np.array([[1.0, 2.0, 3.0]])}, **extra)

        pinned = await services.inference.infer(request(resolved=resolved))
        assert pinned.version == 1 and pinned.outputs["predictions"].tolist() == [6.0]
        assert pinned.alias == "production"
        moved = await services.inference.infer(request())
        assert moved.version == 2 and moved.outputs["predictions"].tolist() == [106.0]
