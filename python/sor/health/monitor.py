"""Health monitoring: every venue's figures from real requests and background checks.

:class:`HealthMonitor` is a :class:`sor.HealthSource` (the router reads it) fed by the executor
(every order's round trip and whether the venue answered) and by health checks (a ping of each
venue client at an interval, and the freshness of its feed). Per venue it keeps the latency as
an exponential moving average, the success rate over a sliding window of requests, the failures
in a row, the uptime (share of checks passed), a health score, and a circuit breaker: an open
breaker takes the venue out of routing until a probe succeeds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sor._validate import to_float, to_int
from sor.errors import InvalidInput
from sor.health.breaker import BreakerState, CircuitBreaker
from sor.health.metrics import ExchangeMetrics

__all__ = ["FreshnessSource", "HealthMonitor", "HealthSettings", "Pingable"]


@dataclass(frozen=True)
class HealthSettings:
    """How health figures are computed.

    ``ema_alpha`` weighs each new latency in the moving average; ``window`` is how many recent
    requests the success rate counts; ``check_window`` how many recent checks the uptime counts;
    ``failure_threshold`` and ``open_for_s`` set the breaker; ``check_interval_s`` is the
    background check's period (30 s by default).
    """

    ema_alpha: float = 0.2
    window: int = 100
    check_window: int = 100
    failure_threshold: int = 5
    open_for_s: float = 30.0
    check_interval_s: float = 30.0

    def __post_init__(self) -> None:
        to_float(self.ema_alpha, "ema_alpha", high=1.0, above_low=True)
        to_int(self.window, "window", low=1, high=100_000)
        to_int(self.check_window, "check_window", low=1, high=100_000)
        to_int(self.failure_threshold, "failure_threshold", low=1, high=1_000)
        to_float(self.open_for_s, "open_for_s", high=86_400.0)
        to_float(self.check_interval_s, "check_interval_s", high=86_400.0, above_low=True)


class FreshnessSource(Protocol):
    """What a health check needs of a venue's feed (a :class:`sor.feeds.BookSource`)."""

    @property
    def symbols(self) -> list[str]:
        """The symbols it keeps books for."""
        ...

    def is_fresh(self, symbol: str) -> bool:
        """True if the book of ``symbol`` is live and recent."""
        ...


class Pingable(Protocol):
    """What a health check needs of a venue client."""

    async def ping(self) -> float:
        """Round trip in milliseconds; raises when the venue does not answer."""
        ...


class _Venue:
    __slots__ = ("breaker", "checks", "failures", "latency_ms", "results")

    def __init__(self, settings: HealthSettings, clock: Callable[[], float]) -> None:
        self.latency_ms: float | None = None
        self.results: deque[bool] = deque(maxlen=settings.window)
        self.checks: deque[bool] = deque(maxlen=settings.check_window)
        self.failures = 0
        self.breaker = CircuitBreaker(settings.failure_threshold, settings.open_for_s, clock)


class HealthMonitor:
    """Health figures of ``venues``, from what is recorded (a :class:`sor.HealthSource`).

    A venue has no figures (and is not routed to) until its first request or check is recorded.
    """

    def __init__(
        self,
        venues: Iterable[str],
        settings: HealthSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = HealthSettings() if settings is None else settings
        self._clock = clock
        self._venues = {name: _Venue(self.settings, clock) for name in venues}
        self._version = 0
        self._states: dict[str, BreakerState] = {}

    @property
    def version(self) -> int:
        """Bumped by every change of any figure (a breaker's wait running out included)."""
        for name, venue in self._venues.items():
            state = venue.breaker.state
            if self._states.get(name) is not state:
                self._states[name] = state
                self._version += 1
        return self._version

    def _venue(self, name: str) -> _Venue:
        venue = self._venues.get(name)
        if venue is None:
            raise InvalidInput(f"venue: {name!r} is not monitored")
        return venue

    def record(self, venue: str, latency_ms: float | None, ok: bool) -> None:
        """Counts one request to ``venue``: its round trip (None when it never answered) and
        whether the venue answered it as a venue should."""
        state = self._venue(venue)
        if latency_ms is not None:
            latency = to_float(latency_ms, "latency_ms", high=600_000.0)
            alpha = self.settings.ema_alpha
            previous = state.latency_ms
            state.latency_ms = (
                latency if previous is None else alpha * latency + (1 - alpha) * previous
            )
        state.results.append(ok)
        state.failures = 0 if ok else state.failures + 1
        state.breaker.record(ok)
        self._version += 1

    def record_check(self, venue: str, ok: bool, latency_ms: float | None = None) -> None:
        """Counts one health check (a ping, a feed found fresh or stale)."""
        state = self._venue(venue)
        state.checks.append(ok)
        if latency_ms is not None or not ok:
            self.record(venue, latency_ms, ok)
        else:
            self._version += 1

    def record_feed(self, venue: str, fresh: bool) -> None:
        """Counts one check of ``venue``'s feed: a stale feed counts against its uptime (and so
        its health score), not against its requests, so it never opens the breaker."""
        self._venue(venue).checks.append(fresh)
        self._version += 1

    def allow(self, venue: str) -> bool:
        """True if a request may go to ``venue`` now (its breaker closed, or its one probe)."""
        return self._venue(venue).breaker.allow()

    def breaker_state(self, venue: str) -> BreakerState:
        """The venue's breaker state."""
        return self._venue(venue).breaker.state

    def metrics(self, venue: str) -> ExchangeMetrics | None:
        """The venue's figures now, or None before anything was recorded."""
        state = self._venues.get(venue)
        if state is None or (state.latency_ms is None and not state.results):
            return None
        success = sum(state.results) / len(state.results) if state.results else 1.0
        uptime = sum(state.checks) / len(state.checks) if state.checks else 1.0
        latency = state.latency_ms if state.latency_ms is not None else 600_000.0
        speed = max(0.0, 1.0 - latency / 1_000.0)
        return ExchangeMetrics(
            venue=venue,
            latency_ema_ms=latency,
            success_rate=success,
            consecutive_failures=state.failures,
            uptime=uptime,
            health_score=0.5 * success + 0.3 * uptime + 0.2 * speed,
            circuit_open=state.breaker.state is BreakerState.OPEN,
        )

    async def check(
        self,
        clients: Mapping[str, Pingable],
        feeds: Mapping[str, FreshnessSource] | None = None,
    ) -> None:
        """Pings every monitored venue's client once, concurrently, and records the results;
        with ``feeds``, also whether every book of each venue's feed is fresh."""

        async def one(name: str, client: Pingable) -> None:
            try:
                latency = await asyncio.wait_for(client.ping(), self.settings.check_interval_s)
            except Exception:
                self.record_check(name, False)
            else:
                self.record_check(name, True, latency)

        await asyncio.gather(
            *(one(name, client) for name, client in clients.items() if name in self._venues)
        )
        for name, feed in (feeds or {}).items():
            if name in self._venues:
                self.record_feed(name, all(feed.is_fresh(symbol) for symbol in feed.symbols))

    async def run(
        self,
        clients: Mapping[str, Pingable],
        feeds: Mapping[str, FreshnessSource] | None = None,
        *,
        check_first: bool = True,
    ) -> None:
        """Checks every venue (at once unless ``check_first`` is False), then every
        ``check_interval_s`` seconds, until cancelled."""
        if check_first:
            await self.check(clients, feeds)
        while True:
            await asyncio.sleep(self.settings.check_interval_s)
            await self.check(clients, feeds)
