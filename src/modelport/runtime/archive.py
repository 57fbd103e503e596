"""Model directories as single-file artifacts: pack at registration, unpack once at load.

The registry stores one file per version (checksummed, swappable between stores), but Hugging
Face models are directories. A directory is packed into a deterministic zip (sorted names, fixed
timestamps: the same directory gives the same sha256), and at load the archive is unpacked into a
cache directory keyed by its sha256, atomically (extract to a temporary name, then rename), so
every later load, registration check or replica on the same disk reuses it.

Archives come from clients too (uploaded ``.zip``/``.tar.gz``), so extraction refuses absolute
paths, ``..``, links and device files, and caps the total unpacked size and the member count.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from modelport.errors import InvalidInput
from modelport.registry.store import sha256_file

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
MAX_MEMBERS = 100_000
MAX_UNPACKED_BYTES = 64 * 1024**3
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: files that mark the root of a Hugging Face / sentence-transformers model directory
MODEL_MARKERS = ("config.json", "modules.json", "config_sentence_transformers.json")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelport" / "unpacked"


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


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"archive has more than {MAX_MEMBERS} members")
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise InvalidInput("archive unpacks to more than the allowed size")
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
                shutil.copyfileobj(src, out, 1024 * 1024)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"archive has more than {MAX_MEMBERS} members")
        if sum(m.size for m in members) > MAX_UNPACKED_BYTES:
            raise InvalidInput("archive unpacks to more than the allowed size")
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


def unpack(archive: Path, cache_dir: Path | None = None, sha256: str | None = None) -> Path:
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
            _extract_zip(archive, tmp)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, tmp)
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
    """Refuse pickle-based weights (``.bin``/``.pt``/``.pkl``) unless pickle is allowed."""
    if allow_pickle or any(model_dir.rglob("*.safetensors")):
        return
    if any(p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt") for p in model_dir.rglob("*")):
        from modelport.errors import UnsafeArtifact

        raise UnsafeArtifact(
            "model weights are pickle files (.bin/.pt), which can run code when loaded; convert them "
            "to safetensors or set MODELPORT_ALLOW_PICKLE=true"
        )
