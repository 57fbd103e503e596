"""Registry on SQLite and on real PostgreSQL: versions, aliases, resolution, deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelport.bootstrap import build_services
from modelport.errors import Conflict, InvalidInput, ModelNotFound, VersionNotFound
from tests.conftest import write_fake_artifact


@pytest.fixture
async def svc(any_database_url: str | None, make_settings: Any, fake_flavors: None):
    services = build_services(make_settings(registry_cache_ttl_s=0, database_url=any_database_url))
    await services.start()
    yield services
    await services.close()


async def test_versions_aliases_and_resolution(svc, tmp_path: Path) -> None:
    art = write_fake_artifact(tmp_path, n_features=3)
    v1 = await svc.models.register_file("sum", "test-sum", art)
    v2 = await svc.models.register_file("sum", "test-sum", art, description="second")
    assert (v1.version, v2.version) == (1, 2)
    assert (await svc.registry.resolve("sum")).version == 2  # no production alias: latest
    await svc.models.set_alias("sum", "production", 1)
    assert (await svc.registry.resolve("sum")).version == 1
    assert (await svc.registry.resolve("sum", "latest")).version == 2
    assert (await svc.registry.resolve("sum", "2")).version == 2
    model = await svc.registry.get_model("sum")
    assert model.aliases == {"production": 1, "latest": 2}
    assert v1.signature.inputs[0].shape == [-1, 3]
    with pytest.raises(VersionNotFound):
        await svc.registry.resolve("sum", "staging")
    with pytest.raises(VersionNotFound):
        await svc.registry.resolve("sum", "9")
    with pytest.raises(ModelNotFound):
        await svc.registry.resolve("nope")


async def test_delete_refused_while_aliased(svc, tmp_path: Path) -> None:
    art = write_fake_artifact(tmp_path)
    await svc.models.register_file("sum", "test-sum", art, aliases=["production"])
    await svc.models.register_file("sum", "test-sum", art)
    with pytest.raises(Conflict):
        await svc.models.delete_version("sum", 1)
    await svc.models.delete_version("sum", 2)
    assert [v.version for v in (await svc.registry.get_model("sum")).versions] == [1]
    await svc.models.delete_alias("sum", "production")
    await svc.models.delete_version("sum", 1)
    with pytest.raises(ModelNotFound):
        await svc.registry.get_model("sum")


@pytest.mark.parametrize("name", ["../etc", "/abs", "a/b", "..", ".hidden", "", "x" * 200, "a..b"])
async def test_bad_names_refused(svc, tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput):
        await svc.models.register_file(name, "test-sum", write_fake_artifact(tmp_path))


async def test_latest_alias_cannot_be_moved(svc, tmp_path: Path) -> None:
    await svc.models.register_file("sum", "test-sum", write_fake_artifact(tmp_path))
    with pytest.raises(InvalidInput):
        await svc.models.set_alias("sum", "latest", 1)
