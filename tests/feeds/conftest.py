"""Fixtures of the feed tests: a Binance simulator on 127.0.0.1 and fast feeds against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import pytest
from feed_support import (
    FAST,
    SIM_MARKETS,
    MakeFeed,
    assert_books_equal_truth,
    market_of,
    poll_until,
    wait_in_sync,
)

from sor.feeds import BinanceSpotAdapter, Feed, WeightLimiter
from sor.sim import BinanceSimulator, SimMarket


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSimulator]:
    """A Binance simulator with BTC/USDT and ETH/USDT, events published on demand."""
    async with BinanceSimulator(SIM_MARKETS, seed=7) as simulator:
        yield simulator


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Starts feeds against a simulator (fast settings); every feed is stopped at teardown."""
    feeds: list[Feed] = []

    async def make(
        simulator: BinanceSimulator,
        markets: Sequence[SimMarket] = SIM_MARKETS,
        limiter: WeightLimiter | None = None,
        **config: object,
    ) -> Feed:
        adapter = BinanceSpotAdapter(
            [market_of(m) for m in markets],
            ws_url=simulator.ws_url,
            rest_url=simulator.rest_url,
            request_timeout=2.0,
            limiter=limiter or WeightLimiter(6_000, min_interval=0.0),
        )
        feed = Feed(adapter, replace(FAST, **config))  # type: ignore[arg-type]
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


@pytest.fixture
async def live_feed(sim: BinanceSimulator, make_feed: MakeFeed) -> Feed:
    """A feed whose books are live and equal to the simulator's after a few events."""
    feed = await make_feed(sim)
    await poll_until(lambda: all(sim.subscribers(s) for s in sim.symbols), what="subscription")
    for symbol in sim.symbols:  # every book sees events, so its stream reaches its snapshot
        await sim.publish(10, symbol)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    return feed
