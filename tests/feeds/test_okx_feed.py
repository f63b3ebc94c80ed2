"""The OKX feed against the local OKX simulator: exact books, faults, recovery.

OKX's ``books`` channel keeps the best 400 levels per side in sync, so a feed's book is compared
with the best 400 levels of the simulator's true book (which has about a thousand per side).
Every fault test checks three things: the fault is detected (the right counter moves, and only
it), the feed recovers (its books are live again and equal the truth after more pushes), and the
feed keeps running.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace

import pytest
from feed_support import FAST, describe_difference, market_of, poll_until

from sor.feeds import Feed, SyncState
from sor.feeds.exchanges.okx import OkxAdapter
from sor.sim import SimMarket
from sor.sim.okx import ChecksumMode, OkxSimulator

BTC = "BTC/USDT"
ETH = "ETH/USDT"
MARKETS = (SimMarket(BTC, mid="65000"), SimMarket(ETH, mid="3000", size_decimals=6))

#: Starts a feed against a simulator: ``await make_feed(sim, **config)``.
MakeFeed = Callable[..., Awaitable[Feed]]


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Starts OKX feeds (fast settings); every feed is stopped at teardown."""
    feeds: list[Feed] = []

    async def make(
        simulator: OkxSimulator, markets: Sequence[SimMarket] = MARKETS, **config: object
    ) -> Feed:
        adapter = OkxAdapter([market_of(m) for m in markets], ws_url=simulator.ws_url)
        settings = {"snapshot_timeout": 2.0, **config}
        feed = Feed(adapter, replace(FAST, **settings))  # type: ignore[arg-type]
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


async def start_sim(
    checksums: ChecksumMode = "zero", interval: float | None = None
) -> OkxSimulator:
    simulator = OkxSimulator(MARKETS, seed=11, checksums=checksums, interval=interval)
    await simulator.start()
    return simulator


@pytest.fixture
async def sim() -> AsyncIterator[OkxSimulator]:
    """An OKX simulator with BTC-USDT and ETH-USDT, checksums 0 (like OKX today)."""
    simulator = await start_sim()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def checked_sim() -> AsyncIterator[OkxSimulator]:
    """An OKX simulator that computes real checksums."""
    simulator = await start_sim("computed")
    yield simulator
    await simulator.stop()


async def live(feed_of: MakeFeed, simulator: OkxSimulator, **config: object) -> Feed:
    """A feed whose books are live and equal to the simulator's after a few pushes."""
    feed = await feed_of(simulator, **config)
    await feed.wait_live(timeout=5)
    for symbol in simulator.symbols:
        await simulator.publish(10, symbol)
    await wait_in_sync(feed, simulator)
    assert_books_equal_truth(feed, simulator)
    return feed


async def wait_in_sync(feed: Feed, simulator: OkxSimulator, timeout: float = 10.0) -> None:
    """Waits until every book of ``feed`` is live at the simulator's last ``seqId``."""

    def in_sync() -> bool:
        return all(
            feed.state(symbol) is SyncState.LIVE
            and feed.book(symbol).sequence == simulator.seq_id(symbol)
            for symbol in feed.symbols
        )

    await poll_until(in_sync, timeout, "the feed to catch up with the simulator")


def assert_books_equal_truth(feed: Feed, simulator: OkxSimulator) -> None:
    """Every book of ``feed`` has exactly the best 400 true levels per side, and no more."""
    for symbol in feed.symbols:
        book = feed.book(symbol)
        truth = simulator.true_top(symbol)
        assert book == truth, f"{symbol}: {describe_difference(book, truth)}"
        assert book.level_count("bid") == book.level_count("ask") == 400
        assert not book.is_crossed()


def assert_only(feed: Feed, **expected: int) -> None:
    """The fault counters are zero except those given (messages, bytes, snapshots are free)."""
    faults = {
        name: value
        for name, value in feed.stats.as_dict().items()
        if name not in ("messages", "bytes", "snapshots")
    }
    assert faults == {name: expected.get(name, 0) for name in faults}
    assert feed.running


async def test_books_equal_the_best_400_true_levels_after_thousands_of_messages(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, sim)
    for _ in range(2):
        await sim.publish(1_500)
        await wait_in_sync(feed, sim)
        assert_books_equal_truth(feed, sim)
    # Every push arrived, besides two subscription answers and two snapshots.
    assert sim.pushes_sent > 2_900
    assert feed.stats.messages == sim.pushes_sent + 4
    assert feed.stats.snapshots == 2
    assert_only(feed)
    for symbol in sim.symbols:
        # The true book is deeper than the channel: levels moved in and out of the 400.
        assert sim.true_book(symbol).level_count("bid") > 900
    health = feed.health()
    assert health.connected
    assert all(book.fresh and book.state == "live" for book in health.books)


async def test_books_stay_exact_with_real_checksums_verified_on_every_update(
    checked_sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, checked_sim)
    await checked_sim.publish(600)
    await wait_in_sync(feed, checked_sim)
    assert_books_equal_truth(feed, checked_sim)
    assert_only(feed)


async def test_books_stay_exact_while_the_simulator_streams_on_its_own(
    make_feed: MakeFeed,
) -> None:
    simulator = await start_sim("computed", interval=0.001)
    try:
        feed = await make_feed(simulator)
        await feed.wait_live(timeout=5)
        await poll_until(lambda: feed.stats.messages >= 300, 10, "300 streamed messages")
        simulator.pause()
        await wait_in_sync(feed, simulator)
        assert_books_equal_truth(feed, simulator)
        assert_only(feed)
    finally:
        await simulator.stop()


async def test_dropped_push_is_a_gap_and_the_book_is_resubscribed(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, sim)
    sim.drop_next(BTC)
    await sim.publish(2, BTC)
    await poll_until(lambda: feed.stats.gaps == 1, what="the gap")
    await poll_until(lambda: feed.state(BTC) is SyncState.LIVE, what="the fresh snapshot")
    await sim.publish(200)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, gaps=1, resyncs=1)
    assert feed.stats.snapshots == 3
    # One instrument was resynced on the open connection: unsubscribe, then subscribe.
    assert (sim.unsubscriptions[BTC], sim.subscriptions[BTC], sim.subscriptions[ETH]) == (1, 2, 1)
    assert sim.connections == 1


@pytest.mark.parametrize("checksums", ["computed", "zero"])
async def test_wrong_checksum_is_detected_and_the_book_resubscribed(
    make_feed: MakeFeed, checksums: ChecksumMode
) -> None:
    # In "zero" mode the checksum is normally 0 (not checked): a wrong non-zero one is checked.
    simulator = await start_sim(checksums)
    try:
        feed = await live(make_feed, simulator)
        simulator.corrupt_next_checksum(ETH)
        await simulator.publish(1, ETH)
        await poll_until(lambda: feed.stats.checksum_failures == 1, what="the bad checksum")
        assert not feed.is_fresh(ETH), "a book that may be wrong is not routed to"
        await poll_until(lambda: feed.state(ETH) is SyncState.LIVE, what="the fresh snapshot")
        await simulator.publish(100)
        await wait_in_sync(feed, simulator)
        assert_books_equal_truth(feed, simulator)
        assert_only(feed, checksum_failures=1, resyncs=1)
        assert simulator.subscriptions[ETH] == 2
    finally:
        await simulator.stop()


async def test_snapshot_with_a_wrong_checksum_is_refused_and_asked_for_again(
    checked_sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    checked_sim.corrupt_next_snapshot(BTC)
    feed = await make_feed(checked_sim)
    await poll_until(lambda: feed.stats.checksum_failures == 1, what="the bad snapshot")
    await feed.wait_live(timeout=5)
    await checked_sim.publish(100)
    await wait_in_sync(feed, checked_sim)
    assert_books_equal_truth(feed, checked_sim)
    assert_only(feed, checksum_failures=1, resyncs=1)
    assert checked_sim.subscriptions[BTC] == 2


async def test_snapshot_that_never_comes_is_asked_for_again_after_the_timeout(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    sim.withhold_snapshots(BTC)
    feed = await make_feed(sim, snapshot_timeout=0.2)
    await poll_until(lambda: feed.stats.snapshot_failures == 1, what="the snapshot timeout")
    await feed.wait_live(timeout=5)
    await sim.publish(50)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, snapshot_failures=1)
    assert (sim.unsubscriptions[BTC], sim.subscriptions[BTC]) == (1, 2)


@pytest.mark.parametrize("abrupt", [False, True], ids=["close", "abort"])
async def test_disconnect_rebuilds_every_book_from_fresh_snapshots(
    sim: OkxSimulator, make_feed: MakeFeed, abrupt: bool
) -> None:
    feed = await live(make_feed, sim)
    await sim.disconnect(abrupt=abrupt)
    # The books change while the feed is away: patching the old books would keep stale levels.
    await sim.publish(300)
    await poll_until(lambda: feed.stats.reconnects == 1, what="the reconnect")
    await feed.wait_live(timeout=5)
    await sim.publish(100)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, reconnects=1)
    assert feed.stats.snapshots == 4
    assert sim.connections == 2


@pytest.mark.parametrize(
    "detection",
    [{"receive_timeout": 0.3}, {"ping_interval": 0.05, "ping_timeout": 0.2}],
    ids=["receive-timeout", "ping-timeout"],
)
async def test_stalled_connection_is_detected_and_replaced(
    make_feed: MakeFeed, detection: dict[str, float]
) -> None:
    # The simulator streams on its own, so only the stall makes the connection silent.
    simulator = await start_sim(interval=0.005)
    try:
        feed = await make_feed(simulator, **detection)
        await feed.wait_live(timeout=5)
        simulator.stall()
        await poll_until(lambda: feed.stats.reconnects == 1, what="the stall to be detected")
        await feed.wait_live(timeout=5)
        await poll_until(lambda: simulator.connections == 2, what="the new connection")
        simulator.pause()
        await wait_in_sync(feed, simulator)
        assert_books_equal_truth(feed, simulator)
        assert_only(feed, reconnects=1)
    finally:
        await simulator.stop()


async def test_malformed_json_is_counted_logged_and_the_books_kept(
    sim: OkxSimulator, make_feed: MakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    # prevSeqId would reveal a lost update on the next push, so no book is thrown away.
    feed = await live(make_feed, sim)
    with caplog.at_level(logging.WARNING, logger="sor.feeds"):
        await sim.send_malformed(kind="json")
        await sim.publish(100)
        await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, malformed=1)
    assert feed.stats.snapshots == 2
    (record,) = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert "invalid JSON" in record.getMessage()


async def test_update_with_bad_fields_is_counted_and_its_book_resubscribed(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, sim)
    await sim.send_malformed(BTC, kind="fields")
    await poll_until(lambda: feed.stats.malformed == 1, what="the malformed update")
    await poll_until(lambda: feed.state(BTC) is SyncState.LIVE, what="the fresh snapshot")
    await sim.publish(100)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, malformed=1, resyncs=1)


async def test_crossed_update_is_refused_and_the_book_resubscribed(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, sim)
    await sim.send_crossed(BTC)
    await poll_until(lambda: feed.stats.crossed == 1, what="the crossed update")
    assert not feed.book(BTC).is_crossed()
    assert not feed.is_fresh(BTC), "a book that may be wrong is not routed to"
    await poll_until(lambda: feed.state(BTC) is SyncState.LIVE, what="the fresh snapshot")
    await sim.publish(100)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, crossed=1, resyncs=1)


async def test_sequence_reset_is_followed_without_a_resync(
    checked_sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, checked_sim)
    before = feed.book(BTC).sequence
    checked_sim.reset_sequence(BTC)
    await checked_sim.publish(50, BTC)
    await wait_in_sync(feed, checked_sim)
    assert feed.book(BTC).sequence < before, "the book follows the new, smaller seqId"
    await checked_sim.publish(100)
    await wait_in_sync(feed, checked_sim)
    assert_books_equal_truth(feed, checked_sim)
    assert_only(feed)
    assert feed.stats.snapshots == 2


async def test_no_change_update_keeps_a_quiet_book_fresh(
    checked_sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, checked_sim, staleness=0.15)
    await checked_sim.publish(1, BTC)
    await poll_until(lambda: not feed.is_fresh(BTC), what="the book to go stale")
    assert feed.state(BTC) is SyncState.LIVE, "stale is not the same as out of sync"
    sequence = feed.book(BTC).sequence
    messages = feed.stats.messages
    await checked_sim.send_heartbeat(BTC)
    await poll_until(lambda: feed.stats.messages == messages + 1, what="the no-change update")
    assert feed.is_fresh(BTC), "OKX's no-change update says the book is current"
    assert feed.book(BTC).sequence == sequence
    assert_books_equal_truth(feed, checked_sim)
    assert_only(feed)


async def test_service_upgrade_notice_makes_the_feed_reconnect(
    sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, sim)
    await sim.send_notice()
    await poll_until(lambda: feed.stats.reconnects == 1, what="the reconnect")
    await feed.wait_live(timeout=5)
    await sim.publish(50)
    await wait_in_sync(feed, sim)
    assert_books_equal_truth(feed, sim)
    assert_only(feed, reconnects=1)
    assert sim.connections == 2


async def test_faults_in_a_row_never_stop_the_feed(
    checked_sim: OkxSimulator, make_feed: MakeFeed
) -> None:
    feed = await live(make_feed, checked_sim)
    checked_sim.drop_next(BTC)
    await checked_sim.publish(3, BTC)
    checked_sim.corrupt_next_checksum(ETH)
    await checked_sim.publish(3, ETH)
    await checked_sim.send_malformed(kind="json")
    await checked_sim.send_crossed(ETH)
    await poll_until(lambda: feed.stats.resyncs >= 2, what="the resyncs")
    await checked_sim.disconnect(abrupt=True)
    await poll_until(lambda: feed.stats.reconnects == 1, what="the reconnect")
    await feed.wait_live(timeout=5)
    await checked_sim.publish(300)
    await wait_in_sync(feed, checked_sim)
    assert_books_equal_truth(feed, checked_sim)
    stats = feed.stats
    assert (stats.gaps, stats.malformed, stats.reconnects) == (1, 1, 1)
    # The crossed update reached ETH's book only if it was live again by then.
    assert stats.checksum_failures == 1
    assert stats.resyncs == 2 + stats.crossed
    assert feed.running


# -- pushes without seqId / prevSeqId (older OKX captures, some channels) ---------------------


def _equal_truth(feed: Feed, simulator: OkxSimulator) -> bool:
    return all(
        feed.state(symbol) is SyncState.LIVE and feed.book(symbol) == simulator.true_top(symbol)
        for symbol in feed.symbols
    )


async def test_pushes_without_sequence_ids_go_live_checked_by_their_checksum_alone(
    make_feed: MakeFeed,
) -> None:
    async with OkxSimulator(MARKETS, seed=5, checksums="computed", sequence_ids=False) as sim:
        feed = await make_feed(sim)
        await feed.wait_live(timeout=5)
        await sim.publish(200)
        await poll_until(lambda: _equal_truth(feed, sim), what="books equal to the truth")
        # Every push (and each snapshot's own checksum): the stats say how the books are checked.
        assert feed.stats.checksum_only == sim.pushes_sent + 2
        assert_only(feed, checksum_only=feed.stats.checksum_only)
        # A lost push is found by the next checksum: that book resyncs, and recovers.
        sim.drop_next(BTC)
        await sim.publish(3, BTC)
        await poll_until(lambda: feed.stats.checksum_failures == 1, what="the checksum failure")
        await feed.wait_live(timeout=5)
        await sim.publish(50)
        await poll_until(lambda: _equal_truth(feed, sim), what="books equal to the truth")
        assert_only(feed, checksum_only=feed.stats.checksum_only, checksum_failures=1, resyncs=1)


async def test_pushes_without_sequence_ids_or_checksum_never_go_live_nor_count_resyncs(
    make_feed: MakeFeed,
) -> None:
    async with OkxSimulator(MARKETS, seed=5, checksums="zero", sequence_ids=False) as sim:
        feed = await make_feed(sim, snapshot_timeout=0.05)
        await poll_until(lambda: feed.stats.malformed >= 4, what="refused snapshots")
        await sim.publish(20)
        assert all(feed.state(symbol) is not SyncState.LIVE for symbol in feed.symbols)
        assert feed.stats.resyncs == 0, "a book that was never live is not resynced"
