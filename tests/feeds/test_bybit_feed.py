"""The Bybit spot feed against the local Bybit simulator: exact books, faults, recovery.

Every fault test checks three things: the fault is detected (the right counter moves, and only
it), the feed recovers (its books are live again and equal the simulator's true books after
more events), and the feed keeps running. Bybit numbers the messages of each topic (``u``), so
a lost delta resyncs its symbol alone, with an unsubscribe and a subscribe on the same
connection; snapshots on the stream (mid-stream, or after a restart with ``u`` = 1) replace the
book.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Literal

import orjson
import pytest
from feed_support import FAST, assert_books_equal_truth, market_of, poll_until
from websockets.asyncio.client import connect

from sor.feeds import BookMarket, BybitSpotAdapter, Control, Feed, SyncState
from sor.sim import BybitSimulator, SimMarket

BTC = "BTC/USDT"
ETH = "ETH/USDT"
MARKETS = (SimMarket(BTC, mid="65000"), SimMarket(ETH, mid="3000"))
DEPTH = 200

MakeFeed = Callable[..., Awaitable[Feed]]


@pytest.fixture
async def sim() -> AsyncIterator[BybitSimulator]:
    """A Bybit spot simulator with BTC/USDT and ETH/USDT at depth 200 (of ~1,000 levels)."""
    async with BybitSimulator(MARKETS, seed=13, depth=DEPTH) as simulator:
        yield simulator


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Starts Bybit feeds against a simulator (fast settings); stopped at teardown."""
    feeds: list[Feed] = []

    async def make(
        simulator: BybitSimulator, markets: Sequence[SimMarket] = MARKETS, **config: object
    ) -> Feed:
        adapter = BybitSpotAdapter(
            [market_of(m) for m in markets], ws_url=simulator.ws_url, depth=simulator.depth
        )
        feed = Feed(adapter, replace(FAST, **config))  # type: ignore[arg-type]
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


@pytest.fixture
async def live_feed(sim: BybitSimulator, make_feed: MakeFeed) -> Feed:
    """A feed whose books are live and equal to the simulator's after a few events."""
    feed = await make_feed(sim)
    await feed.wait_live(timeout=5)
    await sim.publish(20)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    return feed


async def wait_in_sync(feed: Feed, sim: BybitSimulator, timeout: float = 10.0) -> None:
    """Waits until every book is live at its topic's last update ID."""

    def in_sync() -> bool:
        return all(
            feed.state(symbol) is SyncState.LIVE
            and feed.book(symbol).sequence == sim.update_id(symbol)
            for symbol in feed.symbols
        )

    await poll_until(in_sync, timeout, "the feed to catch up with the simulator")


def assert_only(feed: Feed, **expected: int) -> None:
    """The fault counters are zero except those given (messages, bytes, snapshots are free)."""
    faults = {
        name: value
        for name, value in feed.stats.as_dict().items()
        if name not in ("messages", "bytes", "snapshots")
    }
    assert faults == {name: expected.get(name, 0) for name in faults}


async def recover(feed: Feed, sim: BybitSimulator, events: int = 100) -> None:
    """The feed is live again, then equal to the truth after ``events`` more events."""
    await feed.wait_live(timeout=5)
    await sim.publish(events)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert feed.running


def resync_requests(sim: BybitSimulator, since: int) -> list[tuple[object, object]]:
    return [(r["op"], r.get("args")) for r in sim.requests[since:] if r["op"] != "ping"]


async def test_books_equal_the_true_books_after_thousands_of_messages(
    sim: BybitSimulator, live_feed: Feed
) -> None:
    for _ in range(3):
        await sim.publish(1_000)
        await wait_in_sync(live_feed, sim)
        assert_books_equal_truth(live_feed, sim)
    assert sim.deltas_sent >= 2_500, "an event beyond the depth sends nothing"
    assert live_feed.stats.messages >= sim.deltas_sent
    assert live_feed.stats.snapshots == 2
    assert_only(live_feed)
    assert all(
        book.fresh and book.bid_levels == book.ask_levels == DEPTH
        for book in live_feed.health().books
    )


async def test_deepest_topic_keeps_thousands_of_levels_exact(make_feed: MakeFeed) -> None:
    markets = (SimMarket(BTC, mid="65000", levels_per_side=1_200),)
    async with BybitSimulator(markets, seed=17, depth=1_000, interval=0.001) as sim:
        feed = await make_feed(sim, markets=markets)
        await feed.wait_live(timeout=5)
        await poll_until(lambda: feed.stats.messages >= 400, 10, "400 streamed messages")
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert feed.book(BTC).level_count("bid") + feed.book(BTC).level_count("ask") == 2_000
        assert_only(feed)


async def test_deepest_topic_over_a_smaller_book_follows_it_exactly(make_feed: MakeFeed) -> None:
    # A depth of 1,000 over ~300 levels a side: the topic holds the whole book, so each delta is
    # the model's own changes rather than a comparison of two windows.
    markets = (SimMarket(BTC, mid="65000", levels_per_side=300),)
    async with BybitSimulator(markets, seed=23, depth=1_000) as sim:
        feed = await make_feed(sim, markets=markets)
        await feed.wait_live(timeout=5)
        await sim.publish(400)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        truth = sim.true_book(BTC)
        model = sim.model(BTC)
        assert truth.level_count("bid") == len(model.bids) <= 300
        assert truth.level_count("ask") == len(model.asks) <= 300
        assert_only(feed)


async def test_dropped_delta_is_a_gap_resynced_on_the_same_connection(
    sim: BybitSimulator, live_feed: Feed
) -> None:
    since = len(sim.requests)
    sim.drop_next(BTC)
    await sim.publish(10, BTC)
    await poll_until(lambda: live_feed.stats.gaps == 1, what="the gap")
    await recover(live_feed, sim)
    assert_only(live_feed, gaps=1, resyncs=1)
    assert live_feed.stats.snapshots == 3
    assert sim.connections == 1
    topic = [f"orderbook.{DEPTH}.BTCUSDT"]
    assert resync_requests(sim, since) == [("unsubscribe", topic), ("subscribe", topic)]


async def test_truncated_delta_is_malformed_and_its_lost_update_a_gap(
    sim: BybitSimulator, live_feed: Feed
) -> None:
    await sim.send_malformed(ETH, kind="json")
    await sim.publish(10, ETH)
    await poll_until(lambda: live_feed.stats.gaps == 1, what="the gap")
    await recover(live_feed, sim)
    assert_only(live_feed, malformed=1, gaps=1, resyncs=1)


async def test_delta_with_bad_fields_is_counted_and_its_book_resynced(
    sim: BybitSimulator, live_feed: Feed
) -> None:
    await sim.send_malformed(BTC, kind="fields")
    await poll_until(lambda: live_feed.stats.malformed == 1, what="the malformed delta")
    await recover(live_feed, sim)
    assert_only(live_feed, malformed=1, resyncs=1)


async def test_crossed_delta_is_refused_and_the_book_resynced(
    sim: BybitSimulator, live_feed: Feed
) -> None:
    await sim.send_crossed(BTC)
    await poll_until(lambda: live_feed.stats.crossed == 1, what="the crossed delta")
    assert not live_feed.book(BTC).is_crossed()
    assert not live_feed.is_fresh(BTC), "a book that may be wrong is not routed to"
    await recover(live_feed, sim)
    assert_only(live_feed, crossed=1, resyncs=1)


async def test_snapshot_mid_stream_replaces_the_book(sim: BybitSimulator, live_feed: Feed) -> None:
    # The book moves while nothing is sent, as during a problem on Bybit's end: only the
    # snapshot that follows can bring the feed's book back to the truth.
    sim.evolve_unseen(BTC, 200)
    assert live_feed.book(BTC) != sim.true_book(BTC)
    await sim.send_snapshot(BTC)
    await wait_in_sync(live_feed, sim)
    assert_books_equal_truth(live_feed, sim)
    await recover(live_feed, sim)
    assert_only(live_feed)
    assert live_feed.stats.snapshots == 3


@pytest.mark.parametrize("as_type", ["snapshot", "delta"])
async def test_restart_with_update_id_1_overwrites_the_book(
    sim: BybitSimulator, live_feed: Feed, as_type: Literal["snapshot", "delta"]
) -> None:
    sim.evolve_unseen(ETH, 200)
    await sim.restart(ETH, as_type=as_type)
    await poll_until(lambda: live_feed.book(ETH).sequence == 1, what="the restart")
    assert_books_equal_truth(live_feed, sim)
    await sim.publish(50, ETH)  # u continues from 1
    await recover(live_feed, sim)
    assert_only(live_feed)
    assert live_feed.stats.snapshots == 3


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "abort"])
async def test_disconnect_rebuilds_every_book_from_fresh_snapshots(
    sim: BybitSimulator, live_feed: Feed, abrupt: bool
) -> None:
    await sim.disconnect(abrupt=abrupt)
    await sim.publish(300)  # the books move while the feed is away
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await recover(live_feed, sim)
    assert_only(live_feed, reconnects=1)
    assert live_feed.stats.snapshots == 4
    assert sim.connections == 2


@pytest.mark.parametrize(
    "detection",
    [{"receive_timeout": 0.3}, {"ping_interval": 0.05, "ping_timeout": 0.2}],
    ids=["receive-timeout", "ping-timeout"],
)
async def test_stalled_connection_is_detected_and_replaced(
    make_feed: MakeFeed, detection: dict[str, float]
) -> None:
    async with BybitSimulator(MARKETS, seed=5, depth=50, interval=0.005) as sim:
        feed = await make_feed(sim, **detection)
        await feed.wait_live(timeout=5)
        sim.stall()
        await poll_until(lambda: feed.stats.reconnects == 1, what="the stall to be detected")
        await feed.wait_live(timeout=5)
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed, reconnects=1)


async def test_depth_1_topic_sends_snapshots_that_keep_the_best_levels(
    make_feed: MakeFeed,
) -> None:
    async with BybitSimulator(MARKETS, seed=19, depth=1) as sim:
        feed = await make_feed(sim)
        await feed.wait_live(timeout=5)
        await sim.publish(300)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert all(book.bid_levels == book.ask_levels == 1 for book in feed.health().books)
        assert_only(feed)


async def test_simulator_answers_the_adapters_ping_with_the_documented_pong(
    sim: BybitSimulator,
) -> None:
    adapter = BybitSpotAdapter([BookMarket(BTC, 2, 8)], ws_url=sim.ws_url)
    async with connect(sim.ws_url) as ws:
        await ws.send(adapter.heartbeat_message())
        reply = await ws.recv(decode=False)
    assert adapter.parse(reply) == (Control("pong"),)
    assert orjson.loads(reply)["ret_msg"] == "pong"
    assert sim.pings == 1


async def test_simulator_refuses_what_bybit_refuses(sim: BybitSimulator) -> None:
    topic = f"orderbook.{DEPTH}.BTCUSDT"
    async with connect(sim.ws_url) as ws:

        async def ask(request: dict[str, object]) -> dict[str, object]:
            await ws.send(orjson.dumps(request))
            reply: dict[str, object] = orjson.loads(await ws.recv())
            return reply

        ok = await ask({"op": "subscribe", "args": [topic], "req_id": "1"})
        assert (ok["success"], ok["op"], ok["req_id"]) == (True, "subscribe", "1")
        snapshot = orjson.loads(await ws.recv())
        assert (snapshot["topic"], snapshot["type"]) == (topic, "snapshot")
        assert len(snapshot["data"]["b"]) == DEPTH
        again = await ask({"op": "subscribe", "args": [topic]})
        assert again["success"] is False
        assert "already subscribed" in str(again["ret_msg"])
        other = await ask({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
        assert other["success"] is False
        many = await ask({"op": "subscribe", "args": [topic] * 11})
        assert many["success"] is False
        assert "10" in str(many["ret_msg"])
