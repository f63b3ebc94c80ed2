"""The Coinbase Advanced Trade feed against the local Coinbase simulator: exact books, faults.

Every fault test checks three things: the fault is detected (the right counter moves, and only
it), the feed recovers (its books are live again and equal the simulator's true books after
more events), and the feed keeps running. Coinbase numbers every message of a connection, so a
lost message of any product (or an unreadable one) is a gap that rebuilds every book on a new
connection, while a bad update of one product resyncs that product alone (unsubscribe, then
subscribe for a fresh snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace

import orjson
import pytest
from feed_support import FAST, assert_books_equal_truth, market_of, poll_until
from websockets.asyncio.client import connect

from sor.feeds import CoinbaseAdvancedAdapter, Feed, SyncState
from sor.sim import CoinbaseSimulator, SimMarket

BTC = "BTC/USD"
ETH = "ETH/USD"
MARKETS = (SimMarket(BTC, mid="65000"), SimMarket(ETH, mid="3000"))

MakeFeed = Callable[..., Awaitable[Feed]]


@pytest.fixture
async def sim() -> AsyncIterator[CoinbaseSimulator]:
    """A Coinbase simulator with BTC/USD and ETH/USD, heartbeats every 50 ms."""
    async with CoinbaseSimulator(MARKETS, seed=11, heartbeat_interval=0.05) as simulator:
        yield simulator


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Starts Coinbase feeds against a simulator (fast settings); stopped at teardown."""
    feeds: list[Feed] = []

    async def make(
        simulator: CoinbaseSimulator,
        markets: Sequence[SimMarket] = MARKETS,
        jwt: Callable[[], str] | None = None,
        **config: object,
    ) -> Feed:
        adapter = CoinbaseAdvancedAdapter(
            [market_of(m) for m in markets], ws_url=simulator.ws_url, jwt=jwt
        )
        feed = Feed(adapter, replace(FAST, **config))  # type: ignore[arg-type]
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


@pytest.fixture
async def live_feed(sim: CoinbaseSimulator, make_feed: MakeFeed) -> Feed:
    """A feed whose books are live and equal to the simulator's after a few events."""
    feed = await make_feed(sim)
    await feed.wait_live(timeout=5)
    await sim.publish(20)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    return feed


async def wait_in_sync(feed: Feed, sim: CoinbaseSimulator, timeout: float = 10.0) -> None:
    """Waits until every book is live at the last message the simulator sent for it."""

    def in_sync() -> bool:
        return all(
            feed.state(symbol) is SyncState.LIVE
            and feed.book(symbol).sequence == sim.last_sequence(symbol)
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


async def recover(feed: Feed, sim: CoinbaseSimulator, events: int = 100) -> None:
    """The feed is live again, then equal to the truth after ``events`` more events."""
    await feed.wait_live(timeout=5)
    await sim.publish(events)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert feed.running


async def test_books_equal_the_true_books_after_thousands_of_messages(
    sim: CoinbaseSimulator, live_feed: Feed
) -> None:
    for _ in range(3):
        await sim.publish(1_000)
        await wait_in_sync(live_feed, sim)
        assert_books_equal_truth(live_feed, sim)
    assert sim.events_sent >= 2_900, "an event that changes nothing is not sent"
    assert live_feed.stats.messages >= sim.events_sent
    assert live_feed.stats.snapshots == 2
    assert_only(live_feed)
    assert all(book.fresh and book.bid_levels > 900 for book in live_feed.health().books)


async def test_books_stay_exact_while_the_simulator_streams_on_its_own(
    make_feed: MakeFeed,
) -> None:
    async with CoinbaseSimulator(MARKETS, seed=3, interval=0.001, heartbeat_interval=0.02) as sim:
        feed = await make_feed(sim)
        await feed.wait_live(timeout=5)
        await poll_until(lambda: feed.stats.messages >= 1_000, 10, "1,000 streamed messages")
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed)


async def test_lost_message_is_a_sequence_gap_that_rebuilds_every_book(
    sim: CoinbaseSimulator, live_feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sor.feeds"):
        sim.drop_next(BTC)
        await sim.publish(1, BTC)  # lost: it used sequence_num n
        await sim.publish(1, ETH)  # n + 1 shows the gap, although it is another product's
        await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    assert any("sequence_num gap" in r.getMessage() for r in caplog.records)
    await recover(live_feed, sim)
    assert_only(live_feed, gaps=1, reconnects=1)
    assert live_feed.stats.snapshots == 4, "both books rebuilt from fresh snapshots"
    assert sim.connections == 2


async def test_truncated_message_is_malformed_and_its_number_a_gap(
    sim: CoinbaseSimulator, live_feed: Feed
) -> None:
    await sim.send_malformed(ETH, kind="json")
    await sim.publish(1, BTC)
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await recover(live_feed, sim)
    assert_only(live_feed, malformed=1, gaps=1, reconnects=1)


async def test_update_with_bad_fields_resyncs_its_product_alone_on_the_same_connection(
    sim: CoinbaseSimulator, live_feed: Feed
) -> None:
    requests_before = len(sim.requests)
    await sim.send_malformed(BTC, kind="fields")
    await poll_until(lambda: live_feed.stats.malformed == 1, what="the malformed update")
    await recover(live_feed, sim)
    assert_only(live_feed, malformed=1, resyncs=1)
    assert sim.connections == 1
    resync = [(r["type"], r["channel"], r["product_ids"]) for r in sim.requests[requests_before:]]
    assert resync == [
        ("unsubscribe", "level2", ["BTC-USD"]),
        ("subscribe", "level2", ["BTC-USD"]),
    ]


async def test_crossed_update_is_refused_and_its_product_resynced(
    sim: CoinbaseSimulator, live_feed: Feed
) -> None:
    await sim.send_crossed(ETH)
    await poll_until(lambda: live_feed.stats.crossed == 1, what="the crossed update")
    assert not live_feed.book(ETH).is_crossed()
    assert not live_feed.is_fresh(ETH), "a book that may be wrong is not routed to"
    await recover(live_feed, sim)
    assert_only(live_feed, crossed=1, resyncs=1)
    assert sim.connections == 1


async def test_error_message_is_counted_and_the_books_kept(
    sim: CoinbaseSimulator, live_feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sor.feeds"):
        await sim.send_error("failure to subscribe")
        await poll_until(lambda: live_feed.stats.malformed == 1, what="the error message")
    assert any("failure to subscribe" in r.getMessage() for r in caplog.records)
    await recover(live_feed, sim)
    assert_only(live_feed, malformed=1)
    assert live_feed.stats.snapshots == 2


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "abort"])
async def test_disconnect_rebuilds_every_book_and_restarts_the_sequence_count(
    sim: CoinbaseSimulator, live_feed: Feed, abrupt: bool
) -> None:
    adapter = live_feed.adapter
    assert isinstance(adapter, CoinbaseAdvancedAdapter)
    await sim.publish(500)
    await wait_in_sync(live_feed, sim)
    old_count = adapter.last_sequence
    assert old_count is not None
    assert old_count > 500
    await sim.disconnect(abrupt=abrupt)
    await sim.publish(300)  # the books move while the feed is away
    await poll_until(lambda: live_feed.stats.reconnects == 1, what="the reconnect")
    await recover(live_feed, sim)
    assert_only(live_feed, reconnects=1)
    new_count = adapter.last_sequence
    assert new_count is not None
    assert new_count < old_count, "numbers start again at 0"


@pytest.mark.parametrize(
    "detection",
    [{"receive_timeout": 0.3}, {"ping_interval": 0.05, "ping_timeout": 0.2}],
    ids=["receive-timeout", "ping-timeout"],
)
async def test_stalled_connection_is_detected_and_replaced(
    make_feed: MakeFeed, detection: dict[str, float]
) -> None:
    async with CoinbaseSimulator(MARKETS, seed=5, interval=0.005, heartbeat_interval=0.05) as sim:
        feed = await make_feed(sim, **detection)
        await feed.wait_live(timeout=5)
        sim.stall()
        await poll_until(lambda: feed.stats.reconnects == 1, what="the stall to be detected")
        await feed.wait_live(timeout=5)
        sim.pause()
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
        assert_only(feed, reconnects=1)


async def test_heartbeats_keep_a_quiet_connection_open_while_its_books_go_stale(
    sim: CoinbaseSimulator, make_feed: MakeFeed
) -> None:
    feed = await make_feed(sim, receive_timeout=0.3, staleness=0.15)
    await feed.wait_live(timeout=5)
    messages = feed.stats.messages
    # No book update for 0.6 s: only heartbeats (every 50 ms) arrive.
    await poll_until(lambda: not feed.is_fresh(BTC), what="the book to go stale")
    await poll_until(lambda: feed.stats.messages >= messages + 12, what="heartbeats")
    assert feed.connected
    assert feed.state(BTC) is SyncState.LIVE
    assert_only(feed)
    await sim.publish(1, BTC)
    await poll_until(lambda: feed.is_fresh(BTC), what="the book to be fresh again")


async def test_jwt_goes_into_every_request_and_never_into_the_logs(
    sim: CoinbaseSimulator, make_feed: MakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = (f"eyJ-secret-{n}" for n in range(1_000))
    # DEBUG on every logger, the websocket library's included (it logs each frame at DEBUG).
    names = ["websockets", "websockets.client", "sor", "sor.feeds", "sor.feeds.websockets"]
    names += list(logging.root.manager.loggerDict)
    with ExitStack() as levels:
        levels.enter_context(caplog.at_level(logging.DEBUG))
        for name in dict.fromkeys(names):
            levels.enter_context(caplog.at_level(logging.DEBUG, logger=name))
        feed = await make_feed(sim, jwt=lambda: next(tokens))
        await feed.wait_live(timeout=5)
        await sim.send_crossed(BTC)  # a resync sends two more requests
        await recover(feed, sim, events=20)
        await feed.stop()  # the closing handshake is logged too
    jwts = [request.get("jwt") for request in sim.requests]
    assert len(jwts) == 4
    assert all(isinstance(jwt, str) and jwt.startswith("eyJ-secret-") for jwt in jwts)
    assert len(set(jwts)) == 4, "a fresh token for every message"
    # The simulator is the exchange's side: its server logs the frames it receives at DEBUG,
    # which shows that frame logging was on (and what the feed's side must never do).
    exchange_side = [r for r in caplog.records if r.name.startswith("websockets.server")]
    assert any("eyJ-secret" in record.getMessage() for record in exchange_side)
    ours = [record for record in caplog.records if record not in exchange_side]
    assert any(record.name.startswith("sor.feeds.feed") for record in ours), "the resync"
    leaks = [f"{r.name}: {r.getMessage()}" for r in ours if "eyJ-secret" in r.getMessage()]
    assert leaks == []
    assert not any(r.levelno < logging.INFO and "websockets" in r.name for r in ours)


async def test_simulator_numbers_each_connection_from_zero_across_channels(
    sim: CoinbaseSimulator,
) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "channel": "heartbeats"}))
        await ws.send(
            orjson.dumps({"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "level2"})
        )
        messages = [orjson.loads(await ws.recv()) for _ in range(3)]
        await sim.publish(3, ETH)
        while len(messages) < 7:
            messages.append(orjson.loads(await ws.recv()))
    assert [m["sequence_num"] for m in messages] == list(range(7))
    assert [m["channel"] for m in messages[:3]] == ["subscriptions", "subscriptions", "l2_data"]
    assert messages[1]["events"] == [
        {"subscriptions": {"level2": ["ETH-USD"], "heartbeats": ["heartbeats"]}}
    ]
    snapshot = messages[2]["events"][0]
    assert (snapshot["type"], snapshot["product_id"]) == ("snapshot", "ETH-USD")
    assert {u["side"] for u in snapshot["updates"]} == {"bid", "offer"}
    assert {m["channel"] for m in messages[3:]} <= {"l2_data", "heartbeats"}


async def test_simulator_closes_a_connection_that_does_not_subscribe() -> None:
    async with (
        CoinbaseSimulator(MARKETS[:1], subscribe_timeout=0.1) as sim,
        connect(sim.ws_url) as ws,
    ):
        await ws.wait_closed()
        assert ws.close_code == 1000
