"""The event loop's metrics expose exactly what prometheus-client's own would."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from modelport.observability.loopmetrics import LoopCounter, LoopGauge, LoopHistogram
from modelport.observability.metrics import LATENCY_BUCKETS, Metrics


def _exposition(registry: CollectorRegistry) -> list[str]:
    """Sample lines, without the ``_created`` series (creation times differ by nature)."""
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_same_exposition_as_prometheus_client() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counters = (Counter("c_total", "a counter", ["route", "status"], registry=theirs),
                LoopCounter("c_total", "a counter", ["route", "status"], ours))
    histograms = (Histogram("h_seconds", "a histogram", ["model"], buckets=LATENCY_BUCKETS, registry=theirs),
                  LoopHistogram("h_seconds", "a histogram", ["model"], ours, LATENCY_BUCKETS))
    gauges = (Gauge("g", "a gauge", ["model"], registry=theirs), LoopGauge("g", "a gauge", ["model"], ours))
    # values on, below and above bucket bounds, and past the last one (+Inf)
    observations = [0.0, 0.001, 0.0011, 0.0049, 0.005, 0.3, 1, 2.5, 9.99, 10, 11, 1e9]
    for counter in counters:
        counter.labels("/a", "200").inc()
        counter.labels("/a", "200").inc(2.5)
        counter.labels("/b", "404").inc()
    for histogram in histograms:
        for value in observations:
            histogram.labels("m1").observe(value)
        histogram.labels("m2").observe(0.02)
    for gauge in gauges:
        gauge.labels("m1").set(7)
        gauge.labels("m1").inc(2)
        gauge.labels("m1").dec()
        gauge.labels("m2").set(0)
    assert _exposition(ours) == _exposition(theirs)
    assert ours.get_sample_value("h_seconds_bucket", {"model": "m1", "le": "0.005"}) == 5
    assert ours.get_sample_value("h_seconds_count", {"model": "m1"}) == len(observations)


def test_children_are_kept_per_label_set() -> None:
    counter = LoopCounter("x_total", "x", ["a", "b"], CollectorRegistry())
    assert counter.labels("1", "2") is counter.labels("1", "2")
    assert counter.labels("1", "3") is not counter.labels("1", "2")
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("1")
    with pytest.raises(ValueError, match="non-negative"):
        counter.labels("1", "2").inc(-1)


def test_multiprocess_mode_uses_prometheus_client_metrics(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(Metrics().http_requests, LoopCounter)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics = Metrics()
    assert isinstance(metrics.http_requests, Counter)
    assert isinstance(metrics.queue_wait, Histogram) and isinstance(metrics.queue_depth, Gauge)
