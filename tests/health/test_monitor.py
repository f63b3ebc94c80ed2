"""Health figures from real requests and checks; breakers that take a venue out and let it back."""

from __future__ import annotations

import pytest

from helpers import btc_usdt
from sor import (
    InvalidInput,
    Market,
    OrderBook,
    OrderRequest,
    RouterSettings,
    SmartOrderRouter,
    Venue,
)
from sor.clients import Fault, SimulatedClient
from sor.execution import AttemptOutcome, ExecutionSettings, ExecutionStatus, Executor
from sor.feeds import BinanceSpotAdapter, Feed
from sor.health import BreakerState, CircuitBreaker, HealthMonitor, HealthSettings
from sor.markets import BookMarket
from sor.sim import BinanceSimulator, SimMarket

SYMBOL = "BTC/USDT"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_figures_follow_the_requests_exactly() -> None:
    monitor = HealthMonitor(["a"], HealthSettings(ema_alpha=0.5, window=4))
    assert monitor.metrics("a") is None
    monitor.record("a", 100.0, True)
    monitor.record("a", 50.0, True)
    monitor.record("a", None, False)
    figures = monitor.metrics("a")
    assert figures is not None
    assert figures.latency_ema_ms == 75.0
    assert figures.success_rate == pytest.approx(2 / 3)
    assert figures.consecutive_failures == 1
    for _ in range(4):
        monitor.record("a", 75.0, True)
    figures = monitor.metrics("a")
    assert figures is not None
    assert (figures.success_rate, figures.consecutive_failures) == (1.0, 0)
    with pytest.raises(InvalidInput, match="'z' is not monitored"):
        monitor.record("z", 1.0, True)


def test_the_breaker_opens_waits_probes_once_and_closes_or_reopens() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, open_for_s=10.0, clock=clock)
    for _ in range(2):
        breaker.record(False)
    assert breaker.state is BreakerState.CLOSED
    breaker.record(False)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    clock.now += 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time
    breaker.record(False)  # the probe failed: open again, for another wait
    assert breaker.state is BreakerState.OPEN
    clock.now += 10.0
    assert breaker.allow()
    breaker.record(True)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_the_version_changes_when_a_breakers_wait_runs_out() -> None:
    clock = Clock()
    monitor = HealthMonitor(["a"], HealthSettings(failure_threshold=1, open_for_s=5.0), clock=clock)
    monitor.record("a", 10.0, False)
    figures = monitor.metrics("a")
    assert figures is not None
    assert figures.circuit_open
    version = monitor.version
    assert monitor.version == version
    clock.now += 5.0
    assert monitor.version != version
    figures = monitor.metrics("a")
    assert figures is not None
    assert not figures.circuit_open


def market() -> Market:
    return btc_usdt()


def book(ask: str) -> OrderBook:
    b = OrderBook(2, 3)
    b.apply_snapshot(bids=[("90", "5")], asks=[(ask, "5")])
    return b


async def test_checks_measure_uptime_and_a_dead_venue_fails_them() -> None:
    clients = {n: SimulatedClient(n, [market()], {SYMBOL: book("100")}) for n in "ab"}
    monitor = HealthMonitor("ab", HealthSettings(failure_threshold=2))
    await monitor.check(clients)
    clients["b"].down = True
    await monitor.check(clients)
    await monitor.check(clients)
    a, b = monitor.metrics("a"), monitor.metrics("b")
    assert a is not None
    assert b is not None
    assert (a.uptime, a.circuit_open) == (1.0, False)
    assert b.uptime == pytest.approx(1 / 3)
    assert b.circuit_open


async def test_failures_open_the_breaker_and_orders_go_around_the_venue() -> None:
    books = {"a": book("100"), "b": book("101")}
    clients = {n: SimulatedClient(n, [market()], {SYMBOL: books[n]}) for n in "ab"}
    monitor = HealthMonitor("ab", HealthSettings(failure_threshold=2, open_for_s=3600))
    router = SmartOrderRouter(
        [Venue(n, [market()]) for n in "ab"], settings=RouterSettings(cache_ttl_s=0), health=monitor
    )
    for name, venue_book in books.items():
        router.set_book(name, SYMBOL, venue_book)
    await monitor.check(clients)  # first figures: both venues answer
    fast = ExecutionSettings(settle_after_s=0.0, reconcile_interval_s=0.01)
    executor = Executor(router, clients, fast, health=monitor)
    clients["a"].fail_next(Fault.LOST, Fault.LOST)
    for _ in range(2):
        report = await executor.execute(OrderRequest(SYMBOL, "buy", "1"))
        assert next(a.outcome for a in report.attempts) is AttemptOutcome.NOT_PLACED
        assert report.status is ExecutionStatus.FILLED
    assert monitor.breaker_state("a") is BreakerState.OPEN
    report = await executor.execute(OrderRequest(SYMBOL, "buy", "1"))
    assert report.failover_path == ("b",)  # routed around a, which costs less


async def test_a_stale_feed_counts_against_uptime_but_never_opens_the_breaker() -> None:
    sim = BinanceSimulator([SimMarket(SYMBOL, price_decimals=2, size_decimals=5)], interval=0.01)
    clients = {n: SimulatedClient(n, [market()], {SYMBOL: book("100")}) for n in "ab"}
    monitor = HealthMonitor("ab", HealthSettings(failure_threshold=1))
    async with sim:
        adapter = BinanceSpotAdapter(
            [BookMarket(SYMBOL, 2, 5)], ws_url=sim.ws_url, rest_url=sim.rest_url
        )
        never_started = Feed(BinanceSpotAdapter([BookMarket(SYMBOL, 2, 5)]))
        async with Feed(adapter) as live:
            await live.wait_live(timeout=10)
            feeds = {"a": live, "b": never_started}
            for _ in range(4):
                await monitor.check(clients, feeds)
    a, b = monitor.metrics("a"), monitor.metrics("b")
    assert a is not None
    assert b is not None
    assert a.uptime == 1.0
    # b answered its pings (4 of 8 checks passed) but its book was never live.
    assert b.uptime == pytest.approx(0.5)
    assert b.health_score < a.health_score
    assert (b.circuit_open, b.success_rate, b.consecutive_failures) == (False, 1.0, 0)
    assert monitor.breaker_state("b") is BreakerState.CLOSED
