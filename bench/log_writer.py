"""CPU cost per row of the write-behind prediction log (record, encode, insert), in-process.

The server is one Python process, so every microsecond the log's background writer spends
holding the GIL is taken from request handling. This builds ``--rows`` realistic records (a
1x30 float64 input, predictions plus 1x2 probabilities, like a breast-cancer classifier call),
hands them to :class:`PredictionRecorder` ``--per-flush`` at a time (what one flush interval of
a busy server collects) and prints CPU microseconds per row (``time.process_time``, all
threads) for: building the records, encoding them alone, and ``flush`` (encode + insert),
on a fresh SQLite file and, when reachable, a fresh PostgreSQL database; then the journal's
cost (``MODELPORT_LOG_JOURNAL``) side by side: request-path and flush time per row, on and off.

``--loaded SECONDS`` also measures what the goal is about: an event loop busy with simulated
requests (``--request-us`` of pure-Python work each, then a yield to the loop) and the recorder
running as in the server (background task, 0.5 s flush interval), alternating rounds with the
log on and off; it prints requests/s of each and the CPU each request pays for the log. This
captures what ``process_time`` cannot: GIL hand-offs between the loop and the writer's threads.

    python -m bench.log_writer [--rows 20000] [--per-flush 1000] [--postgres URL | --no-postgres]
                               [--ids uuid4|ordered] [--prefill ROWS]
                               [--loaded 4 --rounds 3 --request-us 500]

``--prefill`` measures on a table that already holds that many rows: SQLite's cost per row
grows with it while request ids are random (each insert touches a random leaf of the unique
request id index); ``--ids ordered`` shows what time-ordered ids change.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from modelport.observability.context import new_request_id
from modelport.observability.metrics import Metrics
from modelport.storage import migrate
from modelport.storage.engine import make_engine
from modelport.tracking import records as records_mod
from modelport.tracking.journal import Journal
from modelport.tracking.log import PredictionRecorder
from modelport.tracking.records import PredictionRecord, now
from modelport.tracking.spill import SpillStore
from tests.fixtures.databases import fresh_database

POSTGRES = "postgresql+asyncpg://127.0.0.1:5432/test"
#: Request ids: random, as the HTTP middleware and the gRPC server make them today, or
#: time-ordered (``new_request_id``; a UUIDv7 since this benchmark was written).
ID_KINDS: dict[str, Callable[[], str]] = {"uuid4": lambda: uuid.uuid4().hex, "ordered": new_request_id}
new_id = ID_KINDS["uuid4"]


def make_records(n: int) -> list[PredictionRecord]:
    """``n`` records as ``InferenceService._record`` builds them for a one-row classifier call."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        x = rng.random((1, 30))
        proba = rng.random((1, 2))
        out.append(PredictionRecord(
            request_id=new_id(), ts=now(), model="breast-cancer", version=1, alias=None,
            principal="key-1", protocol="rest", error_code=None, rows=1, latency_ms=0.42,
            cached=False, inputs={"input": x},
            outputs={"predictions": np.array([1]), "probabilities": proba},
            capture="full", capture_max_bytes=65_536, trace_id=uuid.uuid4().hex, span=None,
        ))
    return out


def cpu_us_per_row(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1e6 / n


def encode_all(recs: list[PredictionRecord]) -> object:
    """The writer's encode step for SQLite in this version of the code (the benchmark also
    runs on the code before ``encode_batch``, to measure the "before")."""
    batch = getattr(records_mod, "encode_batch", None)
    if batch is not None:
        return batch(recs, records_mod.sqlite_timestamp)
    return [records_mod.encode(r) for r in recs]


async def flush_cost(url: str, recs: list[PredictionRecord], per_flush: int, spill: Path,
                     prefill: int = 0) -> float:
    engine = make_engine(url)
    await migrate.upgrade(engine)
    metrics = Metrics()
    recorder = PredictionRecorder(engine, metrics, SpillStore(spill), flush_interval=3600)
    # a table that already holds rows (not measured), then a warm-up of the connection and
    # the statement cache
    for start in range(0, prefill, 10_000):
        for r in make_records(min(10_000, prefill - start)):
            recorder.record(r)
        await recorder.flush()
    for r in make_records(50):
        recorder.record(r)
    await recorder.flush()
    cpu = 0.0
    for start in range(0, len(recs), per_flush):
        for r in recs[start:start + per_flush]:
            recorder.record(r)
        t0 = time.process_time()
        await recorder.flush()
        cpu += time.process_time() - t0
    written = metrics.log_rows.labels("written")._value.get()
    spilled = metrics.log_rows.labels("spilled")._value.get()
    await recorder.close()
    await engine.dispose()
    if written != prefill + len(recs) + 50 or spilled:
        raise SystemExit(f"{url}: wrote {written}, spilled {spilled}: the benchmark is invalid")
    return cpu * 1e6 / len(recs)


async def record_cost(url: str, recs: list[PredictionRecord], per_flush: int, home: Path,
                      journal: bool) -> tuple[float, float]:
    """(request-path us per row in ``record``, flush CPU us per row) with the journal on or off.

    With the journal, ``record`` encodes the row and writes it to the journal file (one
    ``os.write``) before the response may be sent; without it, it is a list append and the
    writer encodes later. The flush then has less to do: the sum is the log's whole cost.
    """
    engine = make_engine(url)
    await migrate.upgrade(engine)
    recorder = PredictionRecorder(engine, Metrics(), SpillStore(home / "spill"), flush_interval=3600,
                                  journal=Journal(home / "journal") if journal else None)
    await recorder.start()
    on_path = flush = 0.0
    for start in range(0, len(recs), per_flush):
        t0 = time.perf_counter()
        for r in recs[start:start + per_flush]:
            recorder.record(r)
        t1 = time.perf_counter()
        await recorder.flush()
        on_path += t1 - t0
        flush += time.perf_counter() - t1
    await recorder.close()
    await engine.dispose()
    return on_path * 1e6 / len(recs), flush * 1e6 / len(recs)


async def journal_comparison(url: str, n: int, per_flush: int, tmp: Path, label: str) -> None:
    for journal in (False, True):
        on_path, flush = await record_cost(url, make_records(n), per_flush,
                                           tmp / f"{label}-journal-{journal}", journal)
        print(f"{label} log journal {'on ' if journal else 'off'}: record {on_path:6.1f} us/row on the "
              f"request path, flush {flush:6.1f} us/row, total {on_path + flush:6.1f}")


def calibrate(request_us: float) -> int:
    """Loop count of :func:`request_work` that takes about ``request_us`` of CPU."""
    n = 10_000
    while True:
        t0 = time.process_time()
        request_work(n)
        took = time.process_time() - t0
        if took > 0.05:
            return max(1, int(n * request_us * 1e-6 / took))
        n *= 2


def request_work(n: int) -> int:
    acc = 0
    for i in range(n):
        acc += i * i
    return acc


async def serve_for(recorder: PredictionRecorder, seconds: float,
                    work: int) -> tuple[int, float, float, float, int]:
    """Handle simulated one-row classifier requests for ``seconds``; (requests, elapsed, CPU,
    the event loop thread's CPU, context switches), all including the final flush of what they
    logged."""
    rng = np.random.default_rng(1)
    x, proba, label = rng.random((1, 30)), rng.random((1, 2)), np.array([1])
    await recorder.start()
    n = 0
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, main0 = time.process_time(), time.thread_time()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        request_work(work)
        if recorder.enabled:  # what InferenceService._record does per request
            recorder.record(PredictionRecord(
                request_id=new_id(), ts=now(), model="breast-cancer", version=1,
                alias=None, principal="key-1", protocol="rest", error_code=None, rows=1,
                latency_ms=0.42, cached=False, inputs={"input": x},
                outputs={"predictions": label, "probabilities": proba}, capture="full",
                capture_max_bytes=65_536, trace_id=None, span=None,
            ))
        n += 1
        await asyncio.sleep(0)
    await recorder.close()
    elapsed, cpu, main = time.perf_counter() - t0, time.process_time() - cpu0, time.thread_time() - main0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    switches = ru1.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nvcsw - ru0.ru_nivcsw
    return n, elapsed, cpu, main, switches


async def loaded(url: str, seconds: float, rounds: int, request_us: float, spill: Path) -> None:
    """Pairs of rounds, log off then on; the ratios and differences are taken per pair, so the
    load other processes put on the machine, which drifts between pairs, cancels out."""
    engine = make_engine(url)
    await migrate.upgrade(engine)
    work = calibrate(request_us)
    metrics = Metrics()
    pairs: list[dict[bool, tuple[float, float, float, float]]] = []
    for _ in range(rounds):
        pair = {}
        for on in (False, True):
            recorder = PredictionRecorder(engine, metrics, SpillStore(spill), enabled=on,
                                          flush_interval=0.5)
            n, elapsed, cpu, main, cs = await serve_for(recorder, seconds, work)
            pair[on] = (n / elapsed, cpu * 1e6 / n, main * 1e6 / n, cs / n)
        pairs.append(pair)
    await engine.dispose()

    def med(on: bool, i: int) -> float:
        return statistics.median(p[on][i] for p in pairs)

    for on in (False, True):
        print(f"  loaded, log {'on: ' if on else 'off:'} {med(on, 0):6.0f} req/s "
              f"{med(on, 1):6.1f} us CPU/request (event loop thread {med(on, 2):6.1f}), "
              f"{med(on, 3):4.2f} context switches/request")
    rows = {k: int(metrics.log_rows.labels(k)._value.get()) for k in ("written", "spilled")}
    kept = statistics.median(p[True][0] / p[False][0] for p in pairs)
    extra = statistics.median(p[True][1] - p[False][1] for p in pairs)
    loop = statistics.median(p[True][2] - p[False][2] for p in pairs)
    print(f"  throughput kept {kept:6.1%} (pairs: "
          + ", ".join(f"{p[True][0] / p[False][0]:.0%}" for p in pairs) + ")")
    print(f"  the log costs {extra:5.1f} us CPU/request, {loop:5.1f} of it on the event loop thread "
          f"(rows written {rows['written']}, spilled {rows['spilled']})")


def reachable(url: str) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 1):
            return True
    except OSError:
        return False




async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--per-flush", type=int, default=1000)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--ids", choices=sorted(ID_KINDS), default="uuid4")
    parser.add_argument("--prefill", type=int, default=0, metavar="ROWS",
                        help="rows in the table before the measured flushes (not measured)")
    parser.add_argument("--loaded", type=float, default=0, metavar="SECONDS",
                        help="also run the loaded-loop throughput comparison, rounds of SECONDS")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--request-us", type=float, default=500)
    args = parser.parse_args()
    n = args.rows
    global new_id
    new_id = ID_KINDS[args.ids]

    holder: list[list[PredictionRecord]] = []
    record_us = cpu_us_per_row(lambda: holder.append(make_records(n)), n)
    recs = holder[0]
    encode_us = cpu_us_per_row(lambda: encode_all(recs), n)
    print(f"rows={n} per_flush={args.per_flush} ids={args.ids} prefill={args.prefill}")
    print(f"record creation (incl. random arrays): {record_us:7.1f} us/row")
    print(f"encode only:                           {encode_us:7.1f} us/row")
    with tempfile.TemporaryDirectory() as tmp:
        us = await flush_cost(f"sqlite+aiosqlite:///{tmp}/log.sqlite", recs, args.per_flush,
                              Path(tmp) / "spill", args.prefill)
        print(f"flush sqlite (encode + insert):        {us:7.1f} us/row")
        await journal_comparison(f"sqlite+aiosqlite:///{tmp}/journal.sqlite", n, args.per_flush,
                                 Path(tmp), "sqlite")
        if args.loaded:
            await loaded(f"sqlite+aiosqlite:///{tmp}/loaded.sqlite", args.loaded, args.rounds,
                         args.request_us, Path(tmp) / "spill-loaded")
        if not args.no_postgres and reachable(args.postgres):
            async with fresh_database(args.postgres, "mp_bench") as url:
                us = await flush_cost(url, make_records(n), args.per_flush, Path(tmp) / "spill-pg",
                                      args.prefill)
                print(f"flush postgresql (encode + insert):    {us:7.1f} us/row")
                await journal_comparison(url, n, args.per_flush, Path(tmp), "postgresql")
                if args.loaded:
                    await loaded(url, args.loaded, args.rounds, args.request_us,
                                 Path(tmp) / "spill-pg-loaded")
        elif not args.no_postgres:
            print(f"flush postgresql: skipped, {args.postgres} unreachable")


if __name__ == "__main__":
    asyncio.run(main())
