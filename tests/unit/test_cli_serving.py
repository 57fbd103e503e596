"""Serving knobs given at registration (CLI flags, upload ``config``) reach the batcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from modelport.app import create_app
from modelport.cli import app


def test_register_flags_become_the_serving_config(cli_artifact: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["models", "register", str(cli_artifact), "--name", "lr", "--max-batch-size", "8",
                            "--max-latency-ms", "2.5", "--max-queue", "100", "--workers", "0"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["models", "show", "lr"])
    config = json.loads(r.output)["versions"][0]["config"]
    assert config["max_batch_size"] == 8 and config["max_latency_ms"] == 2.5
    assert config["max_queue"] == 100 and config["workers"] == 0


def test_out_of_range_flag_is_refused(cli_artifact: Path) -> None:
    args = ["models", "register", str(cli_artifact), "--name", "lr", "--max-batch-size", "0"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "--max-batch-size" in r.output


async def test_upload_config_reaches_the_batcher(cli_artifact: Path, make_settings: Any,
                                                 admin_headers: dict[str, str]) -> None:
    application = create_app(make_settings())
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=admin_headers) as c:
            r = await c.post("/api/v1/models", data={
                "name": "lr", "flavor": "sklearn", "alias": "production",
                "config": json.dumps({"max_batch_size": 3, "max_latency_ms": 1, "max_queue": 7}),
            }, files={"file": ("lr.skops", cli_artifact.read_bytes())})
            assert r.status_code == 201, r.text
            r = await c.post("/api/v1/models/lr/predict", json={"features": [5.1, 3.5, 1.4, 0.2]})
            assert r.status_code == 200
        services = application.state.services
        loaded = await services.manager.get(await services.registry.resolve("lr"))
        cfg = loaded.batcher.config
        assert (cfg.max_batch_size, cfg.max_latency_ms, cfg.max_queue) == (3, 1, 7)
