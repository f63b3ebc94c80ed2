"""Helpers of the feed tests: fast settings, polling with a deadline, book comparison.

Nothing here sleeps to wait for readiness: helpers poll a condition until a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import pytest

from sor import OrderBook
from sor.feeds import BackoffPolicy, BookMarket, Feed, FeedConfig
from sor.sim import SimMarket

SIM_MARKETS = (SimMarket("BTC/USDT", mid="65000"), SimMarket("ETH/USDT", mid="3000"))

#: Timeouts and backoffs in milliseconds; the receive timeout is long so that quiet moments of
#: a test never look like a stall (the stall tests shorten it).
FAST = FeedConfig(
    open_timeout=2.0,
    send_timeout=2.0,
    close_timeout=0.2,
    ping_interval=None,
    ping_timeout=None,
    receive_timeout=30.0,
    reconnect_backoff=BackoffPolicy(initial=0.01, maximum=0.05),
    resync_backoff=BackoffPolicy(initial=0.01, maximum=0.05),
    seed=1,
)


class TruthSource(Protocol):
    """A simulator that knows the exact book of each of its symbols (every ``sor.sim`` one)."""

    def true_book(self, symbol: str) -> OrderBook:
        """The exact current book of ``symbol``, as a feed in sync must have it."""
        ...


class UpdateIdSource(TruthSource, Protocol):
    """A simulator whose books carry the exchange's last update ID (Binance, Bybit)."""

    def update_id(self, symbol: str) -> int:
        """The last update ID sent for ``symbol``: a book in sync has it as its sequence."""
        ...


#: Starts a feed against a simulator: ``await make_feed(sim, markets=..., limiter=..., **config)``.
MakeFeed = Callable[..., Awaitable[Feed]]


async def poll_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Polls ``predicate`` every 2 ms until it holds; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.002)


def market_of(sim_market: SimMarket) -> BookMarket:
    """The feed-side market of a simulated one (same precision)."""
    return BookMarket(sim_market.symbol, sim_market.price_decimals, sim_market.size_decimals)


def describe_difference(book: OrderBook, truth: OrderBook) -> str:
    """The first differing levels of two books, for a readable assertion message."""
    for side in ("bid", "ask"):
        ours = [(level.price, level.size) for level in book.levels(side)]
        theirs = [(level.price, level.size) for level in truth.levels(side)]
        if ours != theirs:
            for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
                if a != b:
                    return f"{side} level {index}: feed {a} vs truth {b}"
            return f"{side}: feed has {len(ours)} levels, truth {len(theirs)}"
    return "books are equal"


async def wait_in_sync(feed: Feed, sim: UpdateIdSource, timeout: float = 10.0) -> None:
    """Waits until every book of ``feed`` is live at the simulator's last update ID."""

    def in_sync() -> bool:
        return all(
            feed.state(symbol).value == "live"
            and feed.book(symbol).sequence == sim.update_id(symbol)
            for symbol in feed.symbols
        )

    await poll_until(in_sync, timeout, "the feed to catch up with the simulator")


def assert_books_equal_truth(feed: Feed, sim: TruthSource) -> None:
    """Every book of ``feed`` has exactly the simulator's true levels."""
    for symbol in feed.symbols:
        book = feed.book(symbol)
        truth = sim.true_book(symbol)
        assert book == truth, f"{symbol}: {describe_difference(book, truth)}"
        assert not book.is_crossed()
