"""What settings must allow once loaded: a feed built and run through its backoffs, a router
built and routing (the tests of the settings loader use it on everything that loads)."""

from __future__ import annotations

import contextlib
import random
import time
from decimal import Decimal

import sor
from sor.config import Settings
from sor.feeds import BookMarket, Feed
from sor.feeds.backoff import Backoff
from sor.feeds.exchanges.binance import BinanceSpotAdapter
from sor.samples import sample_levels

NOW_NS = time.time_ns()
MARKET = sor.Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    price_tick=Decimal("0.01"),
    amount_step=Decimal("0.00001"),
    taker_fee=Decimal("0.001"),
)


def exercise(settings: Settings) -> None:
    """Builds a feed and a router from ``settings`` and uses both; raises whatever they do."""
    feed = Feed(BinanceSpotAdapter([BookMarket("BTC/USDT", 2, 5)]), config=settings.feeds)
    assert feed.config is settings.feeds
    settings.feeds.staleness_for("BTC/USDT")
    for policy in (settings.feeds.reconnect_backoff, settings.feeds.resync_backoff):
        backoff = Backoff(policy, random.Random(settings.feeds.seed))
        delays = [backoff.next_delay() for _ in range(80)]
        assert all(0 <= delay <= policy.maximum for delay in delays)
    health = sor.InMemoryHealth(
        [
            sor.ExchangeMetrics("a", latency_ema_ms=20.0, success_rate=0.99),
            sor.ExchangeMetrics("b", latency_ema_ms=300.0, success_rate=0.9),
        ]
    )
    router = sor.SmartOrderRouter(
        [sor.Venue("a", [MARKET]), sor.Venue("b", [MARKET], balances={"USDT": "100000"})],
        settings=settings.router,
        health=health,
        clock_ns=lambda: NOW_NS,
    )
    rng = random.Random(1)
    for name, best in (("a", 6_500_000), ("b", 6_500_100)):
        book = sor.OrderBook(2, 5)
        book.apply_snapshot(
            sample_levels(rng, best - 1, -1, 50, 5),
            sample_levels(rng, best, +1, 50, 5),
            sequence=1,
            timestamp_ns=NOW_NS,
        )
        router.set_book(name, "BTC/USDT", book)
    orders = [
        sor.OrderRequest("BTC/USDT", side, "0.5", strategy=strategy)
        for side in ("buy", "sell")
        for strategy in sor.RoutingStrategy
    ]
    for order in orders:
        with contextlib.suppress(sor.NoRouteError):
            router.route(order)
    router.route_many(orders)
