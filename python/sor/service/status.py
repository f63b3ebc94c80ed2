"""The state of every venue and of the service, as ``/api/exchanges/status`` and ``/health``
report it and ``/metrics`` exports it."""

from __future__ import annotations

from dataclasses import dataclass

from sor.feeds import FeedHealth
from sor.health import BreakerState, ExchangeMetrics, HealthMonitor, LatencyCategory
from sor.runtime import Runtime

__all__ = ["BREAKER_VALUES", "VenueStatus", "service_health", "venue_statuses"]

#: A breaker state as a number (the ``sor_venue_breaker_state`` gauge).
BREAKER_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@dataclass(frozen=True)
class VenueStatus:
    """One venue now: its health figures (None before any), breaker and feed."""

    venue: str
    metrics: ExchangeMetrics | None
    latency_category: LatencyCategory | None
    breaker: BreakerState | None
    feed: FeedHealth | None

    def as_dict(self) -> dict[str, object]:
        """The venue's status as JSON."""
        figures = self.metrics
        feed = self.feed
        return {
            "venue": self.venue,
            "health": None
            if figures is None
            else {
                "latency_ema_ms": figures.latency_ema_ms,
                "success_rate": figures.success_rate,
                "consecutive_failures": figures.consecutive_failures,
                "uptime": figures.uptime,
                "health_score": figures.health_score,
            },
            "latency_category": self.latency_category,
            "breaker": None if self.breaker is None else self.breaker.value,
            "feed": None
            if feed is None
            else {
                "connected": feed.connected,
                "book_age_s": feed.last_update_age,
                "books": [
                    {
                        "symbol": book.symbol,
                        "state": book.state,
                        "fresh": book.fresh,
                        "age_s": book.last_update_age,
                        "sequence": book.sequence,
                        "bid_levels": book.bid_levels,
                        "ask_levels": book.ask_levels,
                    }
                    for book in feed.books
                ],
                "counters": feed.counters,
            },
        }


def venue_statuses(runtime: Runtime) -> list[VenueStatus]:
    """Every venue of ``runtime``, in its order."""
    monitor = runtime.health if isinstance(runtime.health, HealthMonitor) else None
    thresholds = runtime.settings.router.latency_thresholds
    feeds = runtime.feeds
    out = []
    for venue in runtime.venues:
        figures = runtime.health.metrics(venue.name)
        feed = feeds.get(venue.name)
        out.append(
            VenueStatus(
                venue=venue.name,
                metrics=figures,
                latency_category=None
                if figures is None
                else thresholds.categorize(figures.latency_ema_ms),
                breaker=None if monitor is None else monitor.breaker_state(venue.name),
                feed=None if feed is None else feed.health(),
            )
        )
    return out


def service_health(runtime: Runtime, started: bool) -> tuple[bool, dict[str, object]]:
    """Whether the service can route now (a live, fresh book and a closed breaker somewhere),
    with what ``/health`` shows: venues, fresh books, open breakers, orders in flight."""
    statuses = venue_statuses(runtime) if started else []
    books = [book for s in statuses if s.feed is not None for book in s.feed.books]
    fresh = sum(1 for book in books if book.fresh)
    open_breakers = [s.venue for s in statuses if s.breaker is BreakerState.OPEN]
    routable = started and fresh > 0 and len(open_breakers) < len(statuses)
    journal = runtime.journal
    body: dict[str, object] = {
        "status": "ok" if routable else ("starting" if not started else "degraded"),
        "venues": len(runtime.venues),
        "books": len(books),
        "fresh_books": fresh,
        "open_breakers": open_breakers,
        "journal": None if journal is None else type(journal).__name__,
        "in_flight": None if journal is None or not started else len(journal.in_flight()),
    }
    return routable, body
