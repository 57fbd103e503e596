"""Model directories as single-file artifacts: pack at registration, unpack once at load.

The registry stores one file per version (checksummed, swappable between stores), but Hugging
Face models are directories. A directory is packed into a deterministic zip (sorted names, fixed
timestamps: the same directory gives the same sha256), and at load the archive is unpacked into a
cache directory keyed by its sha256, atomically (extract to a temporary name, then rename), so
every later load, registration check or replica on the same disk reuses it.

Archives come from clients too (uploaded ``.zip``/``.tar.gz``), so extraction refuses absolute
paths, ``..``, links and device files, and caps the member count, the total unpacked size
(``UNPACK_FACTOR`` times the upload limit, counted as bytes are written, not as declared) and
the compression ratio (``MAX_RATIO``: a zip bomb expands thousands of times, model weights
barely compress). Archives unpack under ``$MODELPORT_HOME/unpacked`` (never a directory shared
by every server on the host), and an archive refused after unpacking (pickle weights) is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.store import sha256_file
from modelport.settings import Settings

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
MAX_MEMBERS = 100_000
MAX_UNPACKED_BYTES = 64 * 1024**3
#: the unpacked size may be this many times the upload limit
UNPACK_FACTOR = 4
#: unpacked bytes per archive byte beyond which an archive is refused as a bomb
MAX_RATIO = 100
#: weight files that are pickles (or may be): loading one can run code
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: files that mark the root of a Hugging Face / sentence-transformers model directory
MODEL_MARKERS = ("config.json", "modules.json", "config_sentence_transformers.json")


def default_cache_dir() -> Path:
    """``$MODELPORT_HOME/unpacked`` (the server passes its own home through :func:`archive_options`)."""
    return Path(os.environ.get("MODELPORT_HOME", ".modelport")) / "unpacked"


def archive_options(settings: Settings) -> dict[str, Any]:
    """The runtime options that place and bound unpacked archives for this server."""
    return {"cache_dir": str(settings.home / "unpacked"),
            "max_unpacked_bytes": settings.server.max_upload_bytes * UNPACK_FACTOR}


def _check_totals(declared: int, archive: Path, limit: int) -> None:
    if declared > limit:
        raise InvalidInput(f"archive unpacks to more than the allowed {limit} bytes")
    if declared > MAX_RATIO * max(archive.stat().st_size, 1) and declared > 1024 * 1024:
        raise InvalidInput(f"archive expands more than {MAX_RATIO} times: refused as a compression bomb")


def _copy_capped(src: IO[bytes], out: IO[bytes], budget: list[int]) -> None:
    """Copy while counting against the remaining budget (declared sizes may lie)."""
    while chunk := src.read(1024 * 1024):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise InvalidInput("archive unpacks to more than the allowed size")
        out.write(chunk)


def pack_directory(src: Path, dest: Path) -> Path:
    """Zip ``src`` into ``dest`` deterministically; symlinked files (HF cache snapshots) are followed."""
    if not src.is_dir():
        raise InvalidInput(f"{src} is not a directory")
    files = sorted(p for p in src.rglob("*") if p.is_file() and not _hidden(p.relative_to(src)))
    if not files:
        raise InvalidInput(f"directory {src} holds no files")
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            with path.open("rb") as fh, zf.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(fh, out, 1024 * 1024)
    return dest


def _hidden(rel: Path) -> bool:
    """Skip VCS metadata and hidden files (``.git``, ``.cache``) that are not part of a model."""
    return any(part.startswith(".") for part in rel.parts)


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or ":" in name or "\\" in name:
        raise InvalidInput(f"archive member {name[:128]!r} escapes the archive")
    return path


def _extract_zip(archive: Path, dest: Path, limit: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"archive has more than {MAX_MEMBERS} members")
        _check_totals(sum(m.file_size for m in members), archive, limit)
        budget = [limit]
        for member in members:
            rel = _safe_name(member.filename)
            mode = (member.external_attr >> 16) & 0o170000
            if mode and mode not in (0o100000, 0o040000):  # only regular files and directories
                raise InvalidInput(f"archive member {member.filename[:128]!r} is a link or device")
            target = dest / rel
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, target.open("wb") as out:
                _copy_capped(src, out, budget)


def _extract_tar(archive: Path, dest: Path, limit: int) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()  # reads the whole (decompressed) stream once: bounded below
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"archive has more than {MAX_MEMBERS} members")
        _check_totals(sum(m.size for m in members), archive, limit)
        for member in members:
            _safe_name(member.name)
            if not (member.isfile() or member.isdir()):
                raise InvalidInput(f"archive member {member.name[:128]!r} is a link or device")
        tf.extractall(dest, filter="data")


def _model_root(path: Path) -> Path:
    """The directory holding the model files: the root, or its only sub-directory."""
    if any((path / marker).is_file() for marker in MODEL_MARKERS):
        return path
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return _model_root(entries[0])
    return path


def unpack(archive: Path, cache_dir: Path | None = None, sha256: str | None = None,
           max_bytes: int = MAX_UNPACKED_BYTES) -> Path:
    """Return a directory with the archive's contents (a directory is returned as is)."""
    if archive.is_dir():
        return _model_root(archive)
    digest = sha256 or sha256_file(archive)
    root = (cache_dir or default_cache_dir())
    final = root / digest
    if final.is_dir():
        return _model_root(final)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, tmp, max_bytes)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, tmp, max_bytes)
        else:
            raise InvalidInput("artifact is neither a model directory nor a .zip/.tar.gz archive of one")
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # a concurrent unpack of the same archive won the race otherwise
                raise
    except (tarfile.TarError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"artifact archive is corrupt: {type(exc).__name__}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _model_root(final)


def check_weights_safe(model_dir: Path, allow_pickle: bool) -> None:
    """Refuse any pickle-capable weight file (:data:`PICKLE_WEIGHTS`) unless pickle is allowed,
    whatever else the directory holds: a ``.safetensors`` file next to a ``pytorch_model.bin``
    does not stop a loader from picking the pickle."""
    if allow_pickle:
        return
    found = sorted(p.name for p in model_dir.rglob("*") if p.suffix.lower() in PICKLE_WEIGHTS and p.is_file())
    if found:
        raise UnsafeArtifact(
            f"the model holds pickle files ({', '.join(found[:3])}), which can run code when loaded; "
            "convert them to safetensors, remove them, or set MODELPORT_ALLOW_PICKLE=true"
        )


def unpack_checked(archive: Path, options: dict[str, Any]) -> Path:
    """Unpack ``archive`` per the runtime ``options`` and refuse pickle weights; a refused
    archive's unpacked copy is removed (an uploaded directory is never touched)."""
    cache = options.get("cache_dir")
    root = Path(cache) if cache else default_cache_dir()
    model_dir = unpack(archive, root, max_bytes=int(options.get("max_unpacked_bytes", MAX_UNPACKED_BYTES)))
    try:
        check_weights_safe(model_dir, bool(options.get("allow_pickle", False)))
    except UnsafeArtifact:
        if not archive.is_dir():
            with contextlib.suppress(ValueError):
                top = model_dir.resolve().relative_to(root.resolve()).parts[0]
                shutil.rmtree(root / top, ignore_errors=True)
        raise
    return model_dir
