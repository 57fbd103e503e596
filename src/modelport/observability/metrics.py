"""Prometheus collectors, made per app (never at import) in their own registry.

A registry per :class:`Metrics` lets tests build many apps in one process, and lets the
multi-process mode swap in a ``MultiProcessCollector`` when ``PROMETHEUS_MULTIPROC_DIR`` is set.
The metrics every prediction updates on the event loop are :mod:`~modelport.observability.loopmetrics`
families (no lock per update), except in multi-process mode, which only prometheus-client's own
metrics take part in.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from modelport.observability.loopmetrics import LoopCounter, LoopGauge, LoopHistogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        loop = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.http_requests: Counter | LoopCounter = _counter(
            loop, "modelport_http_requests_total", "HTTP requests", ["method", "route", "status"], r)
        self.http_latency: Histogram | LoopHistogram = _histogram(
            loop, "modelport_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            r, LATENCY_BUCKETS)
        self.predictions: Counter | LoopCounter = _counter(
            loop, "modelport_predictions_total", "Inference requests by outcome",
            ["model", "version", "protocol", "outcome"], r)
        self.prediction_rows: Counter | LoopCounter = _counter(
            loop, "modelport_prediction_rows_total", "Rows predicted", ["model", "version"], r)
        self.inference_latency: Histogram | LoopHistogram = _histogram(
            loop, "modelport_inference_duration_seconds", "Core inference latency (resolve to outputs)",
            ["model"], r, LATENCY_BUCKETS)
        self.model_load_seconds = Histogram(
            "modelport_model_load_seconds", "Time to load and warm a model version",
            ["model", "version"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60), registry=r,
        )
        self.models_loaded = Gauge(
            "modelport_models_loaded", "Model versions loaded in memory", registry=r,
            multiprocess_mode="livesum",
        )
        self.batch_size: Histogram | LoopHistogram = _histogram(
            loop, "modelport_batch_size", "Rows per model call", ["model"], r, BATCH_BUCKETS)
        self.queue_wait: Histogram | LoopHistogram = _histogram(
            loop, "modelport_queue_wait_seconds", "Time a request waited before its model call",
            ["model"], r, LATENCY_BUCKETS)
        self.queue_depth: Gauge | LoopGauge = (
            LoopGauge("modelport_queue_depth", "Requests waiting per model", ["model"], r) if loop
            else Gauge("modelport_queue_depth", "Requests waiting per model", ["model"], registry=r,
                       multiprocess_mode="livesum"))
        # --- autoscaling signal (#21): requests queued or running per model, every version summed
        self.inflight: Gauge | LoopGauge = (
            LoopGauge("modelport_inflight_requests", "Requests queued or running per model", ["model"], r)
            if loop else Gauge("modelport_inflight_requests", "Requests queued or running per model",
                               ["model"], registry=r, multiprocess_mode="livesum"))

        # --- bring your own model (#18): where each loaded version runs
        self.model_device = Gauge(
            "modelport_model_device", "1 for the device each loaded model version runs on",
            ["model", "version", "device"], registry=r, multiprocess_mode="livesum",
        )

        # --- tracking: prediction log, cache, live model performance
        self.log_rows = Counter(
            "modelport_prediction_log_rows_total",
            "Prediction log rows by outcome: buffered, written, spilled, replayed, duplicate, "
            "dead_letter, dropped",
            ["outcome"], registry=r,
        )
        self.log_buffer = Gauge(
            "modelport_prediction_log_buffer_rows", "Rows waiting in the write-behind buffer",
            registry=r, multiprocess_mode="livesum",
        )
        self.cache_lookups = Counter(
            "modelport_cache_lookups_total", "Prediction cache lookups", ["backend", "result"], registry=r
        )
        self.cache_errors = Counter(
            "modelport_cache_errors_total", "Prediction cache backend errors", ["backend"], registry=r
        )
        self.cache_circuit_open = Gauge(
            "modelport_cache_circuit_open", "1 while the cache backend's circuit breaker is open",
            ["backend"], registry=r, multiprocess_mode="max",
        )
        self.model_accuracy = Gauge(
            "modelport_model_accuracy", "Live accuracy from feedback (classifiers)",
            ["model", "version"], registry=r, multiprocess_mode="max",
        )
        self.model_mae = Gauge(
            "modelport_model_mae", "Live mean absolute error from feedback (regressors)",
            ["model", "version"], registry=r, multiprocess_mode="max",
        )
        self.model_rmse = Gauge(
            "modelport_model_rmse", "Live root mean squared error from feedback (regressors)",
            ["model", "version"], registry=r, multiprocess_mode="max",
        )
        # --- seeds (#19): low-confidence answers, event-loop lag
        self.low_confidence = Counter(
            "modelport_low_confidence_total", "Rows answered below their confidence threshold",
            ["model", "version"], registry=r,
        )
        self.loop_lag = Gauge(
            "modelport_event_loop_lag_seconds",
            "How late the event loop ran a timer in the last probe (a busy or blocked loop)",
            registry=r, multiprocess_mode="max",
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def _counter(loop: bool, name: str, doc: str, labels: list[str],
             registry: CollectorRegistry) -> Counter | LoopCounter:
    return LoopCounter(name, doc, labels, registry) if loop else Counter(name, doc, labels, registry=registry)


def _histogram(loop: bool, name: str, doc: str, labels: list[str], registry: CollectorRegistry,
               buckets: tuple[float, ...]) -> Histogram | LoopHistogram:
    if loop:
        return LoopHistogram(name, doc, labels, registry, buckets)
    return Histogram(name, doc, labels, buckets=buckets, registry=registry)
