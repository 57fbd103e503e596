"""The write-behind prediction log: an in-memory buffer, a background writer, a spill file.

The request path calls :meth:`PredictionRecorder.record`, a list append: it never awaits the
database nor encodes anything. A background task wakes every ``flush_interval`` (or when a
batch is full), encodes the buffered records (a slice per pass of the event loop) and
bulk-inserts them. If the insert fails, the rows go to an append-only JSONL spill file and the
writer backs off; once an insert succeeds again the spill files are replayed. Shutdown flushes
the buffer (to the database, or to the spill file) before the process exits, so a row is lost
only when both the database and the disk refuse it: that is counted as ``dropped`` and logged
at CRITICAL level.

With a journal (``MODELPORT_LOG_JOURNAL``, on by default) ``record`` also encodes the row and
appends it to a local file before the response is sent (:mod:`modelport.tracking.journal`):
a killed process loses no answered prediction; start-up replays what it left, once.

The server is one Python process, so every microsecond the writer spends holding the GIL is
taken from request handling: records become plain tuples (:func:`~modelport.tracking.records.encode_batch`)
and go to the database in a few driver-level statements per batch (:mod:`modelport.tracking.bulk`),
never through SQLAlchemy's per-row insert machinery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from modelport.observability.metrics import Metrics
from modelport.tracking.bulk import bulk_insert
from modelport.tracking.deadletter import DeadLetters
from modelport.tracking.journal import Journal
from modelport.tracking.records import COLUMNS, PredictionRecord, Row, encode_batch, encode_row
from modelport.tracking.refusal import is_row_refusal
from modelport.tracking.spill import SpillStore
from modelport.tracking.storable import make_storable

log = logging.getLogger(__name__)
MAX_LINKS = 32
#: records encoded per pass of the event loop (about 0.3 ms of work)
ENCODE_SLICE = 32
_TS = COLUMNS.index("ts")


class PredictionRecorder:
    def __init__(self, engine: AsyncEngine, metrics: Metrics, spill: SpillStore, *,
                 enabled: bool = True, flush_interval: float = 0.5, buffer_max: int = 100_000,
                 batch_size: int = 2000, write_timeout: float = 10.0, retry_max: float = 30.0,
                 tracer: Tracer | None = None, dead_letters: DeadLetters | None = None,
                 journal: Journal | None = None) -> None:
        self.engine = engine
        self.journal = journal
        self.dead_letters = dead_letters or DeadLetters(spill.directory.parent / "deadletter")
        self.metrics = metrics
        self.spill = spill
        self.enabled = enabled
        self.flush_interval = flush_interval
        self.buffer_max = buffer_max
        self.batch_size = batch_size
        self.write_timeout = write_timeout
        self.retry_max = retry_max
        self.tracer = tracer or trace.NoOpTracer()
        #: records, or rows already encoded (and journaled) when there is a journal
        self._buffer: list[PredictionRecord | Row] = []
        self._syncer: asyncio.Task[None] | None = None
        self._links: list[SpanContext] = []  # journaled rows' record spans (a row has none)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._overflow: asyncio.Task[None] | None = None
        self._closing = False
        self._db_up = True
        self._backoff = 0.0
        self._retry_at = 0.0
        self._insert_rows = bulk_insert(engine)

    # ------------------------------------------------------------- request path
    def record(self, record: PredictionRecord) -> None:
        """Buffer one record (its text made storable first); never blocks, never raises.

        With a journal the record is encoded and written to it here, before the caller
        answers (see :mod:`modelport.tracking.journal`); without one this is a list append.
        """
        if not self.enabled:
            return
        buffer = self._buffer
        if self.journal is None:
            buffer.append(make_storable(record))
        else:
            buffer.append(self._journal(record))
        if len(buffer) >= self.batch_size:
            self._wake.set()
            if len(buffer) >= self.buffer_max and self._overflow is None and not self._closing:
                self._overflow = asyncio.get_running_loop().create_task(self._spill_overflow())

    def _journal(self, record: PredictionRecord) -> Row:
        assert self.journal is not None
        row = encode_row(make_storable(record), self._insert_rows.stamp)
        if record.span is not None and len(self._links) < MAX_LINKS:
            self._links.append(record.span)
        try:
            self.journal.append(row)
        except OSError as exc:  # the row still has the buffer (and the spill file after it)
            self.metrics.log_rows.labels("unjournaled").inc()
            log.error("prediction log: journal write failed (%s); request %s is in memory only",
                      exc, row[0])
        return row

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._closing = False
            if self.journal is not None:
                await self.replay_journal()
                self._syncer = asyncio.get_running_loop().create_task(self._sync(), name="journal-fsync")
            self._task = asyncio.get_running_loop().create_task(self._run(), name="prediction-log")

    async def replay_journal(self) -> None:
        """Move what a killed process left in the journal to the database (else the spill
        file), once: each segment is removed when its rows are stored."""
        assert self.journal is not None
        for path in await asyncio.to_thread(self.journal.leftovers):
            try:
                with path.open("rb") as f:
                    rows = [row for chunk in SpillStore.read_chunks(f, self.batch_size) for row in chunk]
            except OSError as exc:
                await self._quarantine(path, exc)
                continue
            if rows:
                rows = self._restamp(rows)
                if not await self._write(rows) and not await self._spill(rows):
                    continue  # neither database nor disk: keep the segment for the next start
                self.metrics.log_rows.labels("journal_replayed").inc(len(rows))
                log.warning("prediction log: replayed %d row(s) from journal segment %s",
                            len(rows), path.name)
            await asyncio.to_thread(Journal.discard, path)

    async def _sync(self) -> None:
        assert self.journal is not None
        while not self._closing:
            await asyncio.sleep(self.journal.fsync_interval)
            try:
                await asyncio.to_thread(self.journal.sync)
            except OSError as exc:
                log.error("prediction log: journal fsync failed (%s)", exc)

    async def close(self) -> None:
        """Stop the writer and flush everything (database, else the spill file)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._overflow is not None:
            await self._overflow
        if self._syncer is not None:
            self._syncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer
            self._syncer = None
        await self.flush(final=True)
        self.spill.seal()
        await asyncio.to_thread(self._insert_rows.close)  # may wait for an insert still running

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                break
            try:
                await self.flush()
            except Exception:
                log.exception("prediction log flush failed; retrying next interval")

    # ------------------------------------------------------------------ writing
    async def flush(self, *, final: bool = False) -> None:
        """Write everything buffered now; replay spill files when the database answers."""
        async with self._lock:
            records, self._buffer = self._buffer, []
            spans, self._links = self._links, []
            segment = self.journal.rotate() if self.journal is not None else None
            try_db = final or time.monotonic() >= self._retry_at
            if records:
                self.metrics.log_rows.labels("buffered").inc(len(records))
                rows = await self._encode(records)
                links = [Link(r.span) for r in records[:MAX_LINKS]
                         if isinstance(r, PredictionRecord) and r.span is not None]
                links += [Link(span) for span in spans]
                with self.tracer.start_as_current_span("prediction_log.flush", links=links) as span:
                    span.set_attribute("prediction_log.rows", len(rows))
                    stored = try_db and await self._write(rows)
                    if not stored:
                        span.set_attribute("prediction_log.spilled", True)
                        stored = await self._spill(rows)
                if stored and segment is not None:  # its rows are in the database or spill file
                    await asyncio.to_thread(Journal.discard, segment)
            elif segment is not None:
                await asyncio.to_thread(Journal.discard, segment)
            elif try_db and not self._db_up and self.spill.has_pending():
                await self._probe()
            if try_db and self._db_up and self.spill.has_pending():
                await self._replay()
            self.metrics.log_buffer.set(len(self._buffer))

    async def _encode(self, records: list[PredictionRecord | Row]) -> list[Row]:
        """Records to rows on the event loop, ``ENCODE_SLICE`` at a time with a yield between.

        Why not a worker thread: encoding is Python holding the GIL, so a thread is no more
        parallel than the loop, and it is worse for latency. A thread keeps the GIL until the
        switch interval (5 ms) forces it off, so requests and the model thread wait up to that
        long each time, and an encode of a second's records does it dozens of times. Here a
        slice costs a fraction of a millisecond and requests are served between slices.
        """
        if self.journal is not None:
            return records  # type: ignore[return-value]  # encoded when journaled
        stamp = self._insert_rows.stamp
        if len(records) <= ENCODE_SLICE:
            return encode_batch(records, stamp)  # type: ignore[arg-type]  # records without a journal
        rows: list[Row] = []
        for start in range(0, len(records), ENCODE_SLICE):
            rows += encode_batch(records[start:start + ENCODE_SLICE], stamp)  # type: ignore[arg-type]
            await asyncio.sleep(0)
        return rows

    async def _insert(self, rows: list[Row]) -> int:
        inserted = 0
        async with asyncio.timeout(self.write_timeout):
            for start in range(0, len(rows), self.batch_size):
                inserted += await self._insert_rows(rows[start:start + self.batch_size])
        duplicates = len(rows) - inserted
        self.metrics.log_rows.labels("written").inc(inserted)
        if duplicates:
            self.metrics.log_rows.labels("duplicate").inc(duplicates)
            log.warning("prediction log: %d row(s) skipped, their request id was already logged",
                        duplicates)
        return inserted

    async def _write(self, rows: list[Row]) -> bool:
        """Insert ``rows``; False when the database is down (the caller spills or keeps them).

        A row the database refuses on its own merits (a data or constraint error) is isolated
        by bisecting the batch and set aside alone (:meth:`_dead_letter`): the rest go in.
        """
        try:
            await self._insert(rows)
        except Exception as exc:
            if not is_row_refusal(exc):
                self._mark_down(exc)
                return False
            try:
                await self._isolate(rows, exc)
            except Exception as again:
                self._mark_down(again)
                return False
        self._mark_up()
        return True

    async def _isolate(self, rows: list[Row], exc: BaseException) -> None:
        """Insert what the database takes of ``rows`` (which it refused as a whole); raises
        when the failure turns out to be an outage."""
        if len(rows) == 1:
            await self._dead_letter(rows[0], exc)
            return
        middle = len(rows) // 2
        for half in (rows[:middle], rows[middle:]):
            try:
                await self._insert(half)
            except Exception as refused:
                if not is_row_refusal(refused):
                    raise
                await self._isolate(half, refused)

    async def _dead_letter(self, row: Row, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
        try:
            await asyncio.to_thread(self.dead_letters.append, row, reason)
        except OSError as err:
            self.metrics.log_rows.labels("dropped").inc()
            log.critical("PREDICTION LOG ROW DROPPED: request %s was refused by the database (%s) "
                         "and the dead-letter file cannot be written (%s)", row[0], reason, err)
            return
        self.metrics.log_rows.labels("dead_letter").inc()
        log.error("prediction log: the database refused the row of request %s (%s); set aside in %s",
                  row[0], reason, self.dead_letters.path)

    async def _probe(self) -> None:
        from sqlalchemy import text

        try:
            async with asyncio.timeout(self.write_timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            self._mark_down(exc)
            return
        self._mark_up()

    def _mark_down(self, exc: BaseException) -> None:
        if self._db_up:
            log.warning("prediction log: database write failed (%s: %s); spilling to %s",
                        type(exc).__name__, str(exc)[:200], self.spill.directory)
        self._db_up = False
        self._backoff = min(self.retry_max, max(0.25, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff

    def _mark_up(self) -> None:
        if not self._db_up:
            log.warning("prediction log: database is back; replaying spill files")
        self._db_up = True
        self._backoff = 0.0
        self._retry_at = 0.0

    async def _spill(self, rows: list[Row]) -> bool:
        try:
            await asyncio.to_thread(self.spill.append, rows)
        except OSError as exc:
            self.metrics.log_rows.labels("dropped").inc(len(rows))
            log.critical("PREDICTION LOG ROWS DROPPED: %d row(s) lost: the database is unreachable "
                         "and the spill file cannot be written (%s)", len(rows), exc)
            return False
        self.metrics.log_rows.labels("spilled").inc(len(rows))
        return True

    async def _spill_overflow(self) -> None:
        """The buffer passed ``buffer_max`` while a write is slow: move it to disk now."""
        try:
            records, self._buffer = self._buffer, []
            self.metrics.log_rows.labels("buffered").inc(len(records))
            rows = await self._encode(records)
            await self._spill(rows)
        finally:
            self._overflow = None

    def _restamp(self, rows: list[Row]) -> list[Row]:
        """Spill files hold UTC ``datetime`` stamps (read back): bind them as the driver does."""
        stamp = self._insert_rows.stamp
        return [(*r[:_TS], stamp(r[_TS]), *r[_TS + 1:]) for r in rows]

    async def _replay(self) -> None:
        """Replay every spill file this process can lock; a file that cannot be read is moved
        to the dead-letter directory, and the replay goes on with the next one."""
        await asyncio.to_thread(self.spill.seal)
        for path in self.spill.pending():
            f = await asyncio.to_thread(self.spill.open_for_replay, path)
            if f is None:
                continue
            try:
                chunks = SpillStore.read_chunks(f, self.batch_size)
                while True:
                    try:
                        chunk = await asyncio.to_thread(next, chunks, None)
                        if chunk is not None:
                            chunk = self._restamp(chunk)
                    except Exception as exc:  # unreadable: set the file aside, go on
                        await self._quarantine(path, exc)
                        break
                    if chunk is None:
                        await asyncio.to_thread(path.unlink)
                        log.info("prediction log: replayed spill file %s", path.name)
                        break
                    if not await self._write(chunk):
                        return  # still down: keep the file, try again after the backoff
                    self.metrics.log_rows.labels("replayed").inc(len(chunk))
            finally:
                f.close()

    async def _quarantine(self, path: Path, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        try:
            target = await asyncio.to_thread(self.dead_letters.quarantine, path, reason)
        except OSError as err:
            log.critical("prediction log: spill file %s cannot be read (%s) nor moved aside (%s)",
                         path, reason, err)
            return
        self.metrics.log_rows.labels("dead_letter").inc()
        log.error("prediction log: spill file %s cannot be read (%s); moved to %s", path.name, reason, target)
