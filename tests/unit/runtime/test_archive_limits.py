"""Archive limits: unpacked under the server's home, removed when refused, a size cap tied to
the upload limit (counted as written), a compression-ratio guard, and every pickle-capable
weight file refused without MODELPORT_ALLOW_PICKLE, whatever else the archive holds."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.runtime.archive import PICKLE_WEIGHTS, archive_options, check_weights_safe, unpack_checked
from tests.conftest import build_test_settings


def zip_of(path: Path, files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_options_place_archives_under_home_and_tie_the_cap_to_uploads(tmp_path: Path) -> None:
    settings = build_test_settings(tmp_path / "home", max_upload_bytes=10_000)
    options = archive_options(settings)
    assert options["cache_dir"] == str(tmp_path / "home" / "unpacked")
    assert options["max_unpacked_bytes"] == 40_000
    archive = zip_of(tmp_path / "m.zip", {"config.json": b"{}", "model.safetensors": b"x" * 100})
    out = unpack_checked(archive, options)
    assert out.is_relative_to(tmp_path / "home" / "unpacked") and (out / "model.safetensors").exists()


def test_a_zip_bomb_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    bomb = zip_of(tmp_path / "bomb.zip", {"config.json": b"{}", "weights.safetensors": b"\0" * 20_000_000})
    assert bomb.stat().st_size < 100_000
    cache = tmp_path / "unpacked"
    with pytest.raises(InvalidInput, match="compression bomb"):
        unpack_checked(bomb, {"cache_dir": str(cache)})
    with pytest.raises(InvalidInput, match="allowed"):  # over the cap, whatever the ratio
        unpack_checked(zip_of(tmp_path / "big.zip", {"a.safetensors": b"x" * 5000}, zipfile.ZIP_STORED),
                       {"cache_dir": str(cache), "max_unpacked_bytes": 4000})
    assert not cache.exists() or not any(cache.iterdir())


def test_a_tar_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.tar"
    with tarfile.open(path, "w") as tf:
        info = tarfile.TarInfo("a.safetensors")
        info.size = 5000
        tf.addfile(info, io.BytesIO(b"y" * 5000))
    with pytest.raises(InvalidInput):
        unpack_checked(path, {"cache_dir": str(tmp_path / "c"), "max_unpacked_bytes": 4000})


@pytest.mark.parametrize("weights", ["pytorch_model.bin", "model.pt", "sub/w.pth", "x.pkl", "y.ckpt",
                                     "z.pickle", "w.joblib"])
def test_pickle_weights_are_refused_next_to_safetensors_and_removed(tmp_path: Path, weights: str) -> None:
    archive = zip_of(tmp_path / "m.zip", {"config.json": b"{}", "model.safetensors": b"",
                                          weights: b"\x80\x04payload"})
    cache = tmp_path / "unpacked"
    with pytest.raises(UnsafeArtifact, match="pickle"):
        unpack_checked(archive, {"cache_dir": str(cache)})
    assert not any(cache.iterdir()), "the refused archive is not left unpacked"
    allowed = unpack_checked(archive, {"cache_dir": str(cache), "allow_pickle": True})
    assert (allowed / weights).exists()


def test_an_uploaded_directory_is_checked_but_never_removed(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"")
    (model / "training_args.bin").write_bytes(b"pickle")
    with pytest.raises(UnsafeArtifact):
        unpack_checked(model, {"cache_dir": str(tmp_path / "unpacked")})
    assert (model / "training_args.bin").exists()
    assert ".bin" in PICKLE_WEIGHTS
    check_weights_safe(model, allow_pickle=True)
