"""``GET /metrics``: the service's figures as Prometheus families (prometheus-client).

Everything is read when Prometheus scrapes, from where it is kept: decisions, executions and
failovers from :class:`sor.service.stats.ServiceStats`; venue health from the runtime's health
source; feed counters from each feed; the journal's orders in flight from the journal. Nothing
is counted twice, and a registry of its own per app keeps two apps in one process apart.

Families (``sor_`` prefix): ``routing_decisions_total{strategy}``,
``routing_decisions_by_venue_total{venue}``, ``routing_decisions_by_reason_total{reason}``,
``routing_no_route_total{reason}``, ``decision_latency_seconds`` (histogram),
``executions_total{status}``, ``execution_latency_seconds`` (histogram),
``failovers_total{from_venue,to_venue,cause}``, ``venue_health_score{venue}``,
``venue_latency_ema_ms{venue}``, ``venue_success_rate{venue}``,
``venue_consecutive_failures{venue}``, ``venue_breaker_state{venue}`` (0 closed, 1 half-open,
2 open), ``feed_book_age_seconds{venue,symbol}``, ``feed_connected{venue}``,
``feed_<counter>_total{venue}`` (messages, resyncs, gaps, checksum_failures, reconnects, ...),
``journal_attempts_written_total``, ``journal_in_flight``, ``journal_reconciled_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sor.runtime import Runtime
from sor.service.stats import LatencyRecord, ServiceStats
from sor.service.status import BREAKER_VALUES, venue_statuses

__all__ = ["CONTENT_TYPE", "ServiceCollector", "metrics_registry", "render"]

#: The content type of Prometheus' text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _counter(name: str, doc: str, label: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


def _histogram(name: str, doc: str, record: LatencyRecord) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc)
    family.add_metric([], [(le, float(n)) for le, n in record.cumulative()], record.total_s)
    return family


class ServiceCollector(Collector):
    """Yields every family of the module's list from ``stats`` and ``runtime`` at each scrape
    (venue and feed families only once the runtime has started)."""

    def __init__(self, runtime: Runtime, stats: ServiceStats, started: Callable[[], bool]) -> None:
        self._runtime = runtime
        self._stats = stats
        self._started = started

    def collect(self) -> Iterator[Metric]:
        """The families, now."""
        stats = self._stats
        yield _counter(
            "sor_routing_decisions",
            "Routing decisions, by strategy.",
            "strategy",
            stats.by_strategy,
        )
        yield _counter(
            "sor_routing_decisions_by_venue",
            "Venues chosen by routing decisions (a split counts each of its venues).",
            "venue",
            stats.by_venue,
        )
        yield _counter(
            "sor_routing_decisions_by_reason",
            "Routing decisions, by the reason the route was chosen.",
            "reason",
            stats.by_reason,
        )
        yield _counter(
            "sor_routing_no_route", "Orders nothing could be routed for, by reason.", "reason",
            stats.no_route,
        )  # fmt: skip
        yield _histogram(
            "sor_decision_latency_seconds",
            "Time to decide a route (from the request's order to its decision).",
            stats.decision_latency,
        )
        yield _counter(
            "sor_executions", "Executions, by how they ended.", "status", stats.executions
        )
        yield _histogram(
            "sor_execution_latency_seconds",
            "Time to execute an order, failovers included.",
            stats.execution_latency,
        )
        failovers = CounterMetricFamily(
            "sor_failovers",
            "Moves of an execution to another venue, by the outcome on the first.",
            labels=["from_venue", "to_venue", "cause"],
        )
        for move, count in stats.failovers.items():
            failovers.add_metric([move.from_venue, move.to_venue, move.cause], count)
        yield failovers
        yield CounterMetricFamily(
            "sor_journal_attempts_written",
            "Orders written to the journal before they were sent.",
            value=stats.attempts_written,
        )
        yield CounterMetricFamily(
            "sor_journal_reconciled",
            "Orders whose unknown outcome was looked up by client order id.",
            value=stats.reconciled,
        )
        if self._started():
            yield from self._runtime_families()

    def _runtime_families(self) -> Iterator[Metric]:
        statuses = venue_statuses(self._runtime)
        gauges = {
            "health_score": "The venue's health score, in [0, 1].",
            "latency_ema_ms": "The venue's request latency, moving average, in milliseconds.",
            "success_rate": "Share of the venue's recent requests that succeeded.",
            "consecutive_failures": "The venue's failed requests since its last success.",
        }
        for figure, doc in gauges.items():
            family = GaugeMetricFamily(f"sor_venue_{figure}", doc, labels=["venue"])
            for status in statuses:
                if status.metrics is not None:
                    family.add_metric([status.venue], float(getattr(status.metrics, figure)))
            yield family
        breaker = GaugeMetricFamily(
            "sor_venue_breaker_state",
            "The venue's circuit breaker: 0 closed, 1 half-open, 2 open.",
            labels=["venue"],
        )
        age = GaugeMetricFamily(
            "sor_feed_book_age_seconds",
            "Seconds since the book last changed.",
            labels=["venue", "symbol"],
        )
        connected = GaugeMetricFamily(
            "sor_feed_connected", "1 while the feed is connected.", labels=["venue"]
        )
        counters: dict[str, CounterMetricFamily] = {}
        for status in statuses:
            if status.breaker is not None:
                breaker.add_metric([status.venue], BREAKER_VALUES[status.breaker])
            feed = status.feed
            if feed is None:
                continue
            connected.add_metric([status.venue], 1.0 if feed.connected else 0.0)
            for book in feed.books:
                age.add_metric([status.venue, book.symbol], book.last_update_age)
            for name, count in feed.counters.items():
                if name not in counters:
                    counters[name] = CounterMetricFamily(
                        f"sor_feed_{name}", f"The feed's {name} counter.", labels=["venue"]
                    )
                counters[name].add_metric([status.venue], count)
        yield breaker
        yield age
        yield connected
        yield from counters.values()
        journal = self._runtime.journal
        if journal is not None:
            yield GaugeMetricFamily(
                "sor_journal_in_flight",
                "Orders written and sent whose outcome is not written yet.",
                value=len(journal.in_flight()),
            )


def metrics_registry(
    runtime: Runtime, stats: ServiceStats, started: Callable[[], bool]
) -> CollectorRegistry:
    """A registry of its own holding the service's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(runtime, stats, started))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's families in Prometheus' text format."""
    return generate_latest(registry)
