"""Per-request metrics kept by the event loop's thread in plain Python, exposed by a collector.

Why: a prediction updates seven metrics (HTTP count and latency, prediction count, rows and
latency, queue wait, queue depth). prometheus-client's children take a ``threading.Lock`` on
every update and its histograms find their bucket with a Python loop; measured in process
(logreg, raw ASGI calls), those updates were 10-19 % of a prediction's CPU. The classes here
keep the library's call shape (``labels(...)`` then ``inc``, ``observe``, ``set``), but a child
holds plain numbers and an observation is a ``bisect`` and two additions. Scrapes turn them into
prometheus-client's own metric families (the custom-collector API), so the exposition is the
library's, names, label names, buckets and ``le`` formatting alike.

They are for metrics updated on the event loop's thread (the HTTP edge, the inference service,
the batchers): one thread needs no lock. Multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, for
``modelport serve --workers N``) adds up processes through files that only prometheus-client's
own metrics write, so :class:`~modelport.observability.metrics.Metrics` uses those there.
"""

from __future__ import annotations

import abc
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ClassVar, Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

C = TypeVar("C")


class CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters can only be incremented by non-negative amounts")
        self.value += amount


class GaugeChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class HistogramChild:
    """Counts per bucket (not cumulative: one addition an observation) and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds  # ends with +Inf, so every value has a bucket
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        # the first bound >= amount: Prometheus buckets hold values less than or equal to ``le``
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


S = TypeVar("S", CounterChild, GaugeChild)


class _Family(Collector, Generic[C]):
    """A labelled metric registered as a collector; children are made once per label set."""

    #: the prometheus-client family a scrape renders this metric as
    family_type: ClassVar[Callable[..., Metric]]

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], C] = {}
        registry.register(self)

    def labels(self, *values: str) -> C:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values!r}")
            key = tuple(str(v) for v in values)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._child()
        return child

    @abc.abstractmethod
    def _child(self) -> C: ...

    @abc.abstractmethod
    def _add(self, family: Metric, labels: list[str], child: C) -> None: ...

    def _family(self) -> Metric:
        return self.family_type(self.name, self.documentation, labels=self.labelnames)

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for labels, child in list(self._children.items()):
            self._add(family, list(labels), child)
        yield family


class _Scalar(_Family[S]):
    """A counter or a gauge: one number per child."""

    def _add(self, family: Metric, labels: list[str], child: S) -> None:
        family.add_metric(labels, child.value)  # type: ignore[attr-defined]


class LoopCounter(_Scalar[CounterChild]):
    family_type = CounterMetricFamily

    def _child(self) -> CounterChild:
        return CounterChild()


class LoopGauge(_Scalar[GaugeChild]):
    family_type = GaugeMetricFamily

    def _child(self) -> GaugeChild:
        return GaugeChild()


class LoopHistogram(_Family[HistogramChild]):
    family_type = HistogramMetricFamily

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str],
                 registry: CollectorRegistry, buckets: Sequence[float]) -> None:
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self.bounds = tuple(bounds)
        self._le = [floatToGoString(b) for b in self.bounds]  # type: ignore[no-untyped-call]
        super().__init__(name, documentation, labelnames, registry)

    def _child(self) -> HistogramChild:
        return HistogramChild(self.bounds)

    def _add(self, family: Metric, labels: list[str], child: HistogramChild) -> None:
        cumulative, buckets = 0, []
        for le, count in zip(self._le, list(child.counts), strict=True):
            cumulative += count
            buckets.append((le, float(cumulative)))
        family.add_metric(labels, buckets, child.sum)  # type: ignore[attr-defined]
