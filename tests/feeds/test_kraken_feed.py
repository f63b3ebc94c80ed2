"""The Kraken v2 feed against the local Kraken simulator: exact books, faults, recovery.

Every fault test checks that the fault is detected (the right counter moves, and only it), that
the feed recovers (its books are live again and equal the simulator's true top levels after
more updates) and that the feed keeps running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace

import pytest
from feed_support import FAST, describe_difference, market_of, poll_until

from sor.feeds import BookMarket, Feed, KrakenAdapter, SyncState
from sor.sim import KrakenSimulator, SimMarket

BTC = "BTC/USD"
ETH = "ETH/USD"
MARKETS = (
    SimMarket(BTC, price_decimals=1, size_decimals=8, mid="65000", levels_per_side=300),
    SimMarket(ETH, price_decimals=2, size_decimals=8, mid="3000", levels_per_side=300),
)

MakeFeed = Callable[..., Awaitable[Feed]]


@pytest.fixture
async def sim() -> AsyncIterator[KrakenSimulator]:
    """A Kraken simulator with BTC/USD and ETH/USD, updates published on demand."""
    async with KrakenSimulator(MARKETS, seed=11, heartbeat_interval=None) as simulator:
        yield simulator


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Starts Kraken feeds against a simulator (fast settings); all are stopped at teardown."""
    feeds: list[Feed] = []

    async def make(
        simulator: KrakenSimulator,
        *,
        depth: int = 10,
        markets: Sequence[BookMarket] | None = None,
        **config: object,
    ) -> Feed:
        adapter = KrakenAdapter(
            markets or [market_of(m) for m in MARKETS], depth=depth, ws_url=simulator.ws_url
        )
        settings = {"snapshot_timeout": 1.0, **config}
        feed = Feed(adapter, replace(FAST, **settings))  # type: ignore[arg-type]
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


def in_sync(feed: Feed, sim: KrakenSimulator) -> bool:
    depth = _depth(feed)
    return all(
        feed.state(symbol) is SyncState.LIVE and feed.book(symbol) == sim.true_book(symbol, depth)
        for symbol in feed.symbols
    )


async def wait_in_sync(feed: Feed, sim: KrakenSimulator, timeout: float = 10.0) -> None:
    """Waits until every book of ``feed`` is live and equal to the simulator's top levels."""
    await poll_until(lambda: in_sync(feed, sim), timeout, "the feed to catch up")


def assert_books_equal_truth(feed: Feed, sim: KrakenSimulator) -> None:
    depth = _depth(feed)
    for symbol in feed.symbols:
        book, truth = feed.book(symbol), sim.true_book(symbol, depth)
        assert book == truth, f"{symbol}: {describe_difference(book, truth)}"
        assert book.level_count("bid") == book.level_count("ask") == depth
        assert book.kraken_checksum() == sim.checksum(symbol)


def assert_only(feed: Feed, **expected: int) -> None:
    """The fault counters are zero except those given (messages, bytes, snapshots are free)."""
    faults = {
        name: value
        for name, value in feed.stats.as_dict().items()
        if name not in ("messages", "bytes", "snapshots")
    }
    assert faults == {name: expected.get(name, 0) for name in faults}
    assert feed.running


def _depth(feed: Feed) -> int:
    adapter = feed.adapter
    assert isinstance(adapter, KrakenAdapter)
    return adapter.depth


async def publish_until(
    sim: KrakenSimulator, condition: Callable[[], bool], symbol: str | None = None
) -> None:
    """Publishes updates one at a time until ``condition`` holds (a few hundred at most)."""
    for _ in range(300):
        if condition():
            return
        await sim.publish(1, symbol)
        await asyncio.sleep(0.002)
    await poll_until(condition, what="the condition after 300 updates")


@pytest.fixture
async def live_feed(sim: KrakenSimulator, make_feed: MakeFeed) -> Feed:
    """A depth-10 feed whose books are live and equal to the simulator's."""
    feed = await make_feed(sim)
    await feed.wait_live(timeout=5)
    await wait_in_sync(feed, sim)
    return feed


async def test_books_equal_the_true_top_levels_after_thousands_of_messages(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    for _ in range(3):
        await sim.publish(1_000)
        await wait_in_sync(live_feed, sim)
        assert_books_equal_truth(live_feed, sim)
    assert live_feed.stats.messages >= 2_000
    assert live_feed.stats.snapshots == 2
    assert_only(live_feed)


async def test_deeper_subscription_keeps_exactly_its_depth_as_levels_leave_and_return(
    sim: KrakenSimulator, make_feed: MakeFeed
) -> None:
    feed = await make_feed(sim, depth=100)
    await feed.wait_live(timeout=5)
    await sim.publish(400)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed)


async def test_dropped_update_is_caught_by_the_checksum_and_the_symbol_resubscribed(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    sim.drop_next(BTC)
    await publish_until(sim, lambda: live_feed.stats.checksum_failures == 1, BTC)
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, checksum_failures=1, resyncs=1)
    methods = [(r["method"], r["params"]["symbol"]) for r in sim.requests]  # type: ignore[index]
    assert methods[-2:] == [("unsubscribe", [BTC]), ("subscribe", [BTC])]
    assert sim.connections == 1, "one symbol resyncs without a reconnect"


async def test_corrupted_checksum_is_counted_and_the_book_rebuilt(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    sim.corrupt_next_checksum(ETH)
    await publish_until(sim, lambda: live_feed.stats.checksum_failures == 1, ETH)
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, checksum_failures=1, resyncs=1)
    assert live_feed.stats.snapshots == 3


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "abort"])
async def test_disconnect_rebuilds_every_book_from_a_fresh_snapshot(
    sim: KrakenSimulator, live_feed: Feed, abrupt: bool
) -> None:
    await sim.disconnect(abrupt=abrupt)
    await sim.publish(200)  # the books move while the feed is away
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await live_feed.wait_live(timeout=5)
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, reconnects=1)
    assert live_feed.stats.snapshots == 4
    assert sim.connections == 2


async def test_stalled_connection_is_detected_and_replaced(make_feed: MakeFeed) -> None:
    # Heartbeats keep a quiet connection alive; a stall silences them too.
    async with KrakenSimulator(MARKETS, seed=12, heartbeat_interval=0.02) as sim:
        feed = await make_feed(sim, receive_timeout=0.3)
        await feed.wait_live(timeout=5)
        await asyncio.sleep(0.4)
        assert feed.stats.reconnects == 0, "heartbeats are messages: no stall while they flow"
        sim.stall()
        await poll_until(lambda: feed.stats.reconnects == 1, what="the stall to be detected")
        await feed.wait_live(timeout=5)
        await sim.publish(100)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed, reconnects=1)
        assert sim.connections == 2


async def test_malformed_json_at_depth_ten_is_counted_and_the_checksums_guard_the_books(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    # At depth 10 the checksum covers the whole book: a lost message shows in the next one.
    await sim.send_malformed(kind="json")
    await poll_until(lambda: live_feed.stats.malformed == 1, what="the malformed message")
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, malformed=1)


async def test_malformed_json_deeper_than_the_checksum_resyncs_every_book(
    sim: KrakenSimulator, make_feed: MakeFeed
) -> None:
    feed = await make_feed(sim, depth=25)
    await feed.wait_live(timeout=5)
    await sim.send_malformed(kind="json")
    await poll_until(lambda: feed.stats.resyncs == 2, what="both books to resync")
    await sim.publish(100)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, malformed=1, resyncs=2)


async def test_update_with_bad_fields_is_counted_and_its_book_resynced(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    await sim.send_malformed(BTC, kind="fields")
    await poll_until(lambda: live_feed.stats.malformed == 1, what="the malformed update")
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, malformed=1, resyncs=1)


async def test_crossed_update_is_refused_and_the_book_resynced(
    sim: KrakenSimulator, live_feed: Feed
) -> None:
    await sim.send_crossed(BTC)
    await poll_until(lambda: live_feed.stats.crossed == 1, what="the crossed update")
    assert not live_feed.book(BTC).is_crossed()
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, crossed=1, resyncs=1)


async def test_refused_subscription_is_retried_and_other_books_stay_live(
    sim: KrakenSimulator, make_feed: MakeFeed
) -> None:
    markets = [market_of(MARKETS[0]), BookMarket("NOPE/USD", 2, 8)]
    feed = await make_feed(sim, markets=markets, snapshot_timeout=0.1)
    await feed.wait_live([BTC], timeout=5)

    def subscriptions_of_nope() -> int:
        params = [r["params"] for r in sim.requests if r["method"] == "subscribe"]
        return len([p for p in params if "NOPE/USD" in p["symbol"]])  # type: ignore[index]

    await poll_until(lambda: subscriptions_of_nope() >= 3, what="retried subscriptions")
    assert feed.stats.snapshot_failures >= 2, "each attempt timed out"
    assert feed.state("NOPE/USD") is not SyncState.LIVE
    await sim.publish(50, BTC)
    await poll_until(lambda: feed.book(BTC) == sim.true_book(BTC, 10), what="BTC in sync")
    assert feed.running
