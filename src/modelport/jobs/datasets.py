"""Datasets: CSV/Parquet uploads streamed to the artifact store, and sklearn's bundled sets.

An upload is copied to a temp file under the size limit (hashing as it goes), read once by
pyarrow to infer its schema and row count (a file pyarrow cannot read is a 400, never a
stored dataset), then put in the store under ``datasets/<id>/``. ``builtin:<name>`` names
scikit-learn's bundled datasets, with the label in a column named ``target``.

Every stored dataset has an owner (see :mod:`modelport.jobs.ownership`); the read and delete
methods take a ``viewer`` (None: unrestricted, for admins and job bodies) and answer 404 for
a dataset the viewer does not own, exactly as for an unknown id. Builtins are visible to all.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from modelport.errors import Conflict, InvalidInput, NotFound
from modelport.jobs.ownership import visible
from modelport.jobs.tables import DatasetRow, JobRow
from modelport.registry.store import ArtifactStore, copy_hashing, file_digest
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory

Format = Literal["csv", "parquet"]
BUILTIN_PREFIX = "builtin:"
BUILTINS = ("iris", "breast_cancer", "diabetes", "wine", "digits")
TARGET = "target"


class Column(BaseModel):
    name: str
    type: str


class DatasetInfo(BaseModel):
    id: str
    name: str
    format: Format
    size_bytes: int
    num_rows: int
    columns: list[Column]
    created_at: datetime | None = None
    job_id: str | None = None
    owner: str | None = Field(default=None, description="the owning user's id (none for builtins)")
    builtin: bool = False

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _columns(schema: Any) -> list[Column]:
    return [Column(name=f.name, type=str(f.type)) for f in schema]


def _info(row: DatasetRow) -> DatasetInfo:
    return DatasetInfo(id=row.id, name=row.name, format=row.format,
                       size_bytes=row.size_bytes, num_rows=row.num_rows,
                       columns=[Column.model_validate(c) for c in row.columns],
                       created_at=aware(row.created_at), job_id=row.job_id, owner=row.owner)


def detect_format(path: Path, filename: str) -> Format:
    suffix = Path(filename).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == b"PAR1" else "csv"


def inspect_file(path: Path, fmt: Format) -> tuple[int, list[Column]]:
    """Row count and schema, read by pyarrow (streaming for CSV); unreadable files are 400s."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            pf = pq.ParquetFile(path)
            rows, columns = int(pf.metadata.num_rows), _columns(pf.schema_arrow)
        else:
            reader = pacsv.open_csv(path)
            rows = sum(batch.num_rows for batch in reader)
            columns = _columns(reader.schema)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable {fmt} file: {str(exc).splitlines()[0][:200]}") from None
    if not columns:
        raise InvalidInput("the dataset has no columns")
    if rows == 0:
        raise InvalidInput("the dataset has no rows")
    return rows, columns


def read_file(path: Path, fmt: Format) -> Any:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    return pq.read_table(path) if fmt == "parquet" else pacsv.read_csv(path)


def write_file(table: Any, path: Path, fmt: Format) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)


@functools.cache
def builtin_table(name: str) -> Any:
    """One of sklearn's bundled datasets as an Arrow table with a ``target`` column."""
    import pyarrow as pa
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    bunch = loader()
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or [
        f"x{i}" for i in range(bunch.data.shape[1])
    ]
    arrays = {n: pa.array(bunch.data[:, i]) for i, n in enumerate(names)}
    arrays[TARGET] = pa.array(bunch.target)
    return pa.table(arrays)


def builtin_info(ref: str) -> DatasetInfo:
    name = ref.removeprefix(BUILTIN_PREFIX)
    if name not in BUILTINS:
        raise NotFound(f"no builtin dataset {ref[:64]!r}; available: "
                       f"{', '.join(BUILTIN_PREFIX + b for b in BUILTINS)}")
    table = builtin_table(name)
    return DatasetInfo(id=ref, name=name, format="csv", size_bytes=int(table.nbytes),
                       num_rows=table.num_rows, columns=_columns(table.schema), builtin=True)


def numeric(column: Column) -> bool:
    return column.type.startswith(("int", "uint", "float", "double", "halffloat", "bool", "decimal"))


def to_matrix(table: Any, columns: list[str]) -> np.ndarray:
    """Feature columns as one float64 matrix; missing values and text are the client's to fix."""
    try:
        matrix = np.column_stack(
            [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in columns]
        )
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"feature columns must be numeric: {str(exc)[:200]}") from None
    if not np.isfinite(matrix).all():
        raise InvalidInput("feature columns contain missing or non-finite values")
    return matrix


class DatasetService:
    def __init__(self, sessions: SessionFactory, store: ArtifactStore, *, tmp_dir: Path,
                 max_upload_bytes: int) -> None:
        self.sessions = sessions
        self.store = store
        self.tmp_dir = tmp_dir
        self.max_upload_bytes = max_upload_bytes

    async def upload(self, stream: BinaryIO, filename: str, name: str | None = None, *,
                     owner: str | None = None) -> DatasetInfo:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.tmp_dir) as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as out:
                await asyncio.to_thread(copy_hashing, stream, out, self.max_upload_bytes)
            fmt = detect_format(path, filename)
            return await self._add(path, fmt, name or Path(filename).name or "dataset", owner=owner)

    async def save_table(self, table: Any, name: str, fmt: Format, job_id: str, *,
                         owner: str | None = None) -> DatasetInfo:
        """Store a job's output table (owned by the job's owner); a job that runs twice keeps one."""
        if (existing := await self.find_by_job(job_id)) is not None:
            return existing
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.tmp_dir) as tmp:
            path = Path(tmp) / f"out.{fmt}"
            await asyncio.to_thread(write_file, table, path, fmt)
            try:
                return await self._add(path, fmt, name, job_id=job_id, owner=owner)
            except IntegrityError:
                found = await self.find_by_job(job_id)
                if found is None:
                    raise
                return found

    async def _add(self, path: Path, fmt: Format, name: str, job_id: str | None = None,
                   owner: str | None = None) -> DatasetInfo:
        rows, columns = await asyncio.to_thread(inspect_file, path, fmt)
        sha256, size = await asyncio.to_thread(file_digest, path)
        dataset_id = uuid.uuid4().hex
        key = f"datasets/{dataset_id}/data.{fmt}"
        await asyncio.to_thread(self.store.put_file, key, path)
        row = DatasetRow(id=dataset_id, name=name[:256], format=fmt, artifact_key=key, sha256=sha256,
                         size_bytes=size, num_rows=rows, columns=[c.model_dump() for c in columns],
                         job_id=job_id, owner=owner, created_at=utcnow())
        try:
            async with self.sessions() as session:
                session.add(row)
                await session.commit()
        except IntegrityError:
            self.store.delete(key)
            raise
        return _info(row)

    async def get(self, ref: str, *, viewer: str | None = None) -> DatasetInfo:
        """A builtin, or a stored dataset ``viewer`` may see (someone else's is a 404 like unknown)."""
        if ref.startswith(BUILTIN_PREFIX):
            return await asyncio.to_thread(builtin_info, ref)
        async with self.sessions() as session:
            row = await session.get(DatasetRow, ref[:64])
        if row is None or not visible(row.owner, viewer):
            raise NotFound(f"dataset {ref[:64]!r} not found")
        return _info(row)

    async def find_by_job(self, job_id: str) -> DatasetInfo | None:
        async with self.sessions() as session:
            row = (await session.execute(select(DatasetRow).where(DatasetRow.job_id == job_id))).scalar()
        return _info(row) if row else None

    async def list_datasets(self, *, owner: str | None = None, limit: int = 50,
                            offset: int = 0) -> tuple[list[DatasetInfo], int]:
        """Stored datasets, newest first: ``owner``'s only, or every one when None."""
        where = [] if owner is None else [DatasetRow.owner == owner]
        async with self.sessions() as session:
            total = (await session.execute(
                select(func.count()).select_from(DatasetRow).where(*where))).scalar() or 0
            rows = (await session.execute(
                select(DatasetRow).where(*where).order_by(DatasetRow.created_at.desc(), DatasetRow.id)
                .limit(limit).offset(offset)
            )).scalars().all()
        return [_info(r) for r in rows], int(total)

    def builtins(self) -> list[str]:
        return [BUILTIN_PREFIX + b for b in BUILTINS]

    async def local_path(self, ref: str, *, viewer: str | None = None) -> tuple[DatasetInfo, Path]:
        info = await self.get(ref, viewer=viewer)
        if info.builtin:
            raise InvalidInput("builtin datasets are not stored files; download an uploaded dataset")
        async with self.sessions() as session:
            row = await session.get(DatasetRow, info.id)
        assert row is not None
        return info, await asyncio.to_thread(self.store.local_path, row.artifact_key)

    async def delete(self, ref: str, *, viewer: str | None = None) -> None:
        info = await self.get(ref, viewer=viewer)
        if info.builtin:
            raise InvalidInput("builtin datasets cannot be deleted")
        async with self.sessions() as session:
            active = (await session.execute(
                select(JobRow.id).where(JobRow.state.in_(("queued", "running")))
            )).scalars().all()
            users: list[JobRow] = []
            for job_id in active:
                job = await session.get(JobRow, job_id)
                if job is not None and job.params.get("dataset") == info.id:
                    users.append(job)
            if users:  # name only the jobs the caller may see; count the others
                shown = [j.id for j in users if visible(j.owner, viewer)][:5]
                raise Conflict(f"dataset {info.id} is used by {len(users)} active job(s)"
                               + (f": {', '.join(shown)}" if shown else ""))
            row = await session.get(DatasetRow, info.id)
            assert row is not None
            key = row.artifact_key
            await session.execute(delete(DatasetRow).where(DatasetRow.id == info.id))
            await session.commit()
        self.store.delete(key)

    async def load_table(self, ref: str) -> Any:
        """The dataset as an Arrow table (blocking reads run in a thread)."""
        if ref.startswith(BUILTIN_PREFIX):
            builtin_info(ref)
            return await asyncio.to_thread(builtin_table, ref.removeprefix(BUILTIN_PREFIX))
        info, path = await self.local_path(ref)
        return await asyncio.to_thread(read_file, path, info.format)
