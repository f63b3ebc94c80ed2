"""The Binance spot feed against the local Binance simulator: exact books, faults, recovery.

Every fault test checks three things: the fault is detected (the right counter moves, and only
it), the feed recovers (its books are live again and equal the simulator's true books after
more events), and the feed keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from feed_support import (
    SIM_MARKETS,
    MakeFeed,
    assert_books_equal_truth,
    poll_until,
    wait_in_sync,
)

from sor.feeds import Feed, SyncState, WeightLimiter
from sor.sim import BinanceSimulator, SimMarket

BTC = "BTC/USDT"


def counters(feed: Feed) -> dict[str, int]:
    return feed.stats.as_dict()


def assert_only(feed: Feed, **expected: int) -> None:
    """The fault counters are zero except those given (messages, bytes, snapshots are free)."""
    faults = {
        name: value
        for name, value in counters(feed).items()
        if name not in ("messages", "bytes", "snapshots")
    }
    assert faults == {name: expected.get(name, 0) for name in faults}


async def test_books_equal_the_true_books_after_thousands_of_messages(
    sim: BinanceSimulator, live_feed: Feed
) -> None:
    for _ in range(3):
        await sim.publish(2_000)
        await wait_in_sync(live_feed, sim)
        assert_books_equal_truth(live_feed, sim)
    assert live_feed.stats.messages >= 6_000
    assert live_feed.stats.snapshots == 2
    assert_only(live_feed)
    health = live_feed.health()
    assert health.connected
    assert {book.symbol: book.state for book in health.books} == {
        BTC: "live",
        "ETH/USDT": "live",
    }
    assert all(book.fresh and book.bid_levels > 900 for book in health.books)


async def test_books_stay_exact_while_the_simulator_streams_on_its_own(
    make_feed: MakeFeed,
) -> None:
    async with BinanceSimulator(SIM_MARKETS, seed=3, interval=0.001) as sim:
        feed = await make_feed(sim)
        await feed.wait_live(timeout=5)
        await poll_until(lambda: feed.stats.messages >= 1_000, 10, "1,000 streamed messages")
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed)


async def test_dropped_event_is_a_gap_and_the_book_is_rebuilt(
    sim: BinanceSimulator, live_feed: Feed
) -> None:
    sim.drop_next(BTC)
    await sim.publish(2, BTC)
    await poll_until(lambda: live_feed.stats.gaps == 1, what="the gap")
    await sim.publish(200)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, gaps=1, resyncs=1)
    assert live_feed.stats.snapshots == 3


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "abort"])
async def test_disconnect_rebuilds_every_book_from_a_fresh_snapshot(
    sim: BinanceSimulator, live_feed: Feed, abrupt: bool
) -> None:
    await sim.disconnect(abrupt=abrupt)
    # These events change the true books while the feed is away (no client is connected, so
    # nothing yields until they are all done): patching the old books would keep stale levels.
    await sim.publish(300)
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await live_feed.wait_live(timeout=5)
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, reconnects=1)
    assert live_feed.stats.snapshots == 4
    assert sim.connections == 2


@pytest.mark.parametrize(
    "detection",
    [
        {"receive_timeout": 0.3},
        {"ping_interval": 0.05, "ping_timeout": 0.2},
    ],
    ids=["receive-timeout", "ping-timeout"],
)
async def test_stalled_connection_is_detected_and_replaced(
    make_feed: MakeFeed, detection: dict[str, float]
) -> None:
    # The simulator streams on its own, so only the stall makes the connection silent.
    async with BinanceSimulator(SIM_MARKETS, seed=5, interval=0.005) as sim:
        feed = await make_feed(sim, **detection)
        await feed.wait_live(timeout=5)
        sim.stall()
        await poll_until(lambda: feed.stats.reconnects == 1, what="the stall to be detected")
        await feed.wait_live(timeout=5)
        await poll_until(lambda: sim.connections == 2, what="the new connection")
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed, reconnects=1)


async def test_malformed_json_is_counted_logged_and_the_book_kept_when_no_update_was_lost(
    sim: BinanceSimulator, live_feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sor.feeds"):
        await sim.send_malformed(kind="json")
        await sim.publish(100)
        await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, malformed=1)
    assert live_feed.stats.snapshots == 2
    (record,) = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert "invalid JSON" in record.getMessage()


async def test_update_with_bad_fields_is_counted_and_its_book_resynced(
    sim: BinanceSimulator, live_feed: Feed
) -> None:
    await sim.send_malformed(BTC, kind="fields")
    await poll_until(lambda: live_feed.stats.malformed == 1, what="the malformed update")
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, malformed=1, resyncs=1)


async def test_crossed_update_is_refused_and_the_book_resynced(
    sim: BinanceSimulator, live_feed: Feed
) -> None:
    await sim.send_crossed(BTC)
    await poll_until(lambda: live_feed.stats.crossed == 1, what="the crossed update")
    assert not live_feed.book(BTC).is_crossed()
    assert not live_feed.is_fresh(BTC), "a book that may be wrong is not routed to"
    await sim.publish(100)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, crossed=1, resyncs=1)


async def test_server_shutdown_event_makes_the_feed_reconnect(
    sim: BinanceSimulator, live_feed: Feed
) -> None:
    await sim.send_server_shutdown()
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await live_feed.wait_live(timeout=5)
    await sim.publish(50)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    assert_only(live_feed, reconnects=1)


async def test_book_without_updates_goes_stale_and_fresh_again_on_the_next_update(
    sim: BinanceSimulator, make_feed: MakeFeed
) -> None:
    feed = await make_feed(sim, staleness=0.15, staleness_by_symbol={"ETH/USDT": 60.0})
    await feed.wait_live(timeout=5)
    await sim.publish(1, BTC)
    await poll_until(lambda: feed.is_fresh(BTC), what="a fresh book")
    await poll_until(lambda: not feed.is_fresh(BTC), what="the book to go stale")
    assert feed.state(BTC) is SyncState.LIVE, "stale is not the same as out of sync"
    assert feed.last_update_age(BTC) > 0.15
    assert feed.is_fresh("ETH/USDT"), "per-symbol staleness limits"
    await sim.publish(1, BTC)
    await poll_until(lambda: feed.is_fresh(BTC), what="the book to be fresh again")


async def test_snapshot_older_than_the_stream_is_fetched_again(
    sim: BinanceSimulator, make_feed: MakeFeed
) -> None:
    market = (SIM_MARKETS[0],)
    sim.hold_snapshot(BTC)
    await sim.publish(3, BTC)  # the held snapshot misses these: it is stale
    feed = await make_feed(sim, markets=market)
    await poll_until(lambda: sim.subscribers(BTC) == 1, what="the subscription")
    await sim.publish(2, BTC)
    await poll_until(lambda: feed.stats.stale_snapshots == 1, what="the stale snapshot")
    await sim.publish(20, BTC)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, stale_snapshots=1)
    assert [request.symbol for request in sim.snapshot_requests] == [BTC, BTC]


async def test_resync_burst_across_symbols_is_spread_out(make_feed: MakeFeed) -> None:
    markets = [SimMarket(f"C{i}/USDT", mid="100", levels_per_side=100) for i in range(6)]
    spacing = 0.1
    async with BinanceSimulator(markets, seed=2) as sim:
        limiter = WeightLimiter(6_000, min_interval=spacing)
        feed = await make_feed(sim, markets=markets, limiter=limiter)
        await feed.wait_live(timeout=5)
        for market in markets:
            await sim.publish(2, market.symbol)
        await wait_in_sync(feed, sim)
        for market in markets:
            sim.drop_next(market.symbol)
            await sim.publish(2, market.symbol)
        await poll_until(lambda: feed.stats.gaps == 6, what="six gaps")
        await sim.publish(30)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed, gaps=6, resyncs=6)
        times = [request.at for request in sim.snapshot_requests]
        assert len(times) == 12
        # The six resync requests are admitted `spacing` apart; their arrival at the server
        # jitters with thread scheduling, so the span of the burst is what is checked.
        burst = times[6:]
        assert burst[-1] - burst[0] >= 5 * spacing - 0.1


async def test_too_many_requests_pauses_snapshots_for_retry_after(
    sim: BinanceSimulator, make_feed: MakeFeed
) -> None:
    sim.fail_snapshots(1, status=429, retry_after=0.3)
    feed = await make_feed(sim, markets=(SIM_MARKETS[0],))
    await feed.wait_live(timeout=5)
    first, second = sim.snapshot_requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.29
    assert_only(feed, snapshot_failures=1)


async def test_failing_snapshot_requests_are_retried(
    sim: BinanceSimulator, make_feed: MakeFeed
) -> None:
    sim.fail_snapshots(3, status=500)
    feed = await make_feed(sim, markets=(SIM_MARKETS[0],))
    await feed.wait_live(timeout=5)
    await sim.publish(10, BTC)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, snapshot_failures=3)


async def test_feed_keeps_retrying_until_the_exchange_comes_up(make_feed: MakeFeed) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = BinanceSimulator(SIM_MARKETS, seed=4, port=port)
    # Point a feed at the port before anything listens there.
    feed = await make_feed(_Unstarted(sim))
    await poll_until(lambda: feed.stats.reconnects >= 3, what="failed connection attempts")
    assert feed.running
    assert not feed.is_fresh(BTC)
    async with sim:
        await feed.wait_live(timeout=5)
        await sim.publish(50)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)


async def test_stop_cancels_every_task_and_marks_the_books_stopped(
    sim: BinanceSimulator, make_feed: MakeFeed
) -> None:
    before = asyncio.all_tasks()
    feed = await make_feed(sim)
    await feed.wait_live(timeout=5)
    await feed.stop()
    assert not feed.running
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert {
        t.get_name() for t in leftover if "feed" in t.get_name() or "snapshot" in t.get_name()
    } == set()
    assert all(feed.state(symbol) is SyncState.STOPPED for symbol in feed.symbols)
    assert not any(feed.is_fresh(symbol) for symbol in feed.symbols)


class _Unstarted:
    """A simulator's URLs before it listens (its port was chosen in advance)."""

    def __init__(self, sim: BinanceSimulator) -> None:
        self.ws_url = f"ws://127.0.0.1:{sim.port}/ws"
        self.rest_url = f"http://127.0.0.1:{sim.port}"
