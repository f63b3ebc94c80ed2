"""The ccxt fallback feed through real ccxt against the Binance simulator on 127.0.0.1.

Both paths run for real: REST polling (``ccxt.async_support.binance``, ``fetch_order_book``)
and the websocket (``ccxt.pro.binance``, ``watch_order_book``: ccxt's own diff-stream plus
REST-snapshot sync). Books are compared with the simulator's true books; faults (failing or
refused requests, a dropped event, a crossed update, a lost connection, an exchange that is
down) must be counted, retried, and recovered from, with the feed still running.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
from feed_support import SIM_MARKETS, poll_until
from hypothesis import given
from hypothesis import strategies as st

from sor import InvalidInput, OrderBook
from sor.feeds import BackoffPolicy, CcxtFeed, CcxtFeedConfig, CcxtMode, MalformedMessage
from sor.feeds.ccxt_feed import exact_decimal, snapshot_from_ccxt
from sor.feeds.sync import SyncState
from sor.markets import Market
from sor.sim import BinanceSimulator

BTC, ETH = "BTC/USDT", "ETH/USDT"

FAST = CcxtFeedConfig(
    poll_interval=0.005,
    request_timeout=2.0,
    retry_backoff=BackoffPolicy(initial=0.01, maximum=0.05),
    seed=1,
)

MakeFeed = Callable[..., Awaitable[CcxtFeed]]

#: ccxt settings for a local simulator: ccxt's own throttle weighs a 1,000-level snapshot at a
#: second of Binance's budget, which a local server does not need (the feed's pacing by
#: ``rateLimit`` is tested on its own), and ``close()`` waits 250 ms for TLS connections to wind
#: down, which plain local HTTP does not have.
LOCAL = {"enableRateLimit": False, "timeout_on_exit": 0}


@pytest.fixture
async def rest(sim: BinanceSimulator) -> AsyncIterator[Any]:
    """ccxt's REST binance pointed at the simulator."""
    exchange = ccxt_async.binance({**sim.ccxt_config(), **LOCAL})
    yield exchange
    await exchange.close()


@pytest.fixture
async def pro(sim: BinanceSimulator) -> AsyncIterator[Any]:
    """ccxt.pro's binance pointed at the simulator (REST and websocket)."""
    exchange = ccxt_pro.binance({**sim.ccxt_config(), **LOCAL})
    yield exchange
    await exchange.close()


@pytest.fixture
async def make_feed() -> AsyncIterator[MakeFeed]:
    """Creates and starts ccxt feeds (markets loaded through ccxt); stops them at teardown."""
    feeds: list[CcxtFeed] = []

    async def make(exchange: Any, symbols: tuple[str, ...] = (BTC, ETH), **config: Any) -> CcxtFeed:
        feed = await CcxtFeed.create(exchange, symbols, replace(FAST, **config))
        feeds.append(feed)
        await feed.start()
        return feed

    yield make
    for feed in feeds:
        await feed.stop()


def faults(feed: CcxtFeed) -> dict[str, int]:
    """The counters that only faults move."""
    free = ("messages", "bytes", "snapshots", "stale_snapshots")
    return {k: v for k, v in feed.stats.as_dict().items() if k not in free and v}


def top(book: OrderBook, depth: int | None = None) -> list[list[tuple[Decimal, Decimal]]]:
    return [[(lv.price, lv.size) for lv in book.levels(side, depth)] for side in ("bid", "ask")]


async def wait_at_truth(feed: CcxtFeed, sim: BinanceSimulator, timeout: float = 10.0) -> None:
    """Waits until every book is live at the simulator's last update ID."""

    def at_truth() -> bool:
        return all(
            feed.state(s) is SyncState.LIVE and feed.book(s).sequence == sim.update_id(s)
            for s in feed.symbols
        )

    await poll_until(at_truth, timeout, "the feed's books to reach the simulator's")


def assert_top_equals_truth(feed: CcxtFeed, sim: BinanceSimulator, depth: int | None) -> None:
    for symbol in feed.symbols:
        book, truth = feed.book(symbol), sim.true_book(symbol)
        assert top(book) == top(truth, depth), symbol
        assert not book.is_crossed()
        if depth is None:
            assert book == truth


async def watching(feed: CcxtFeed, sim: BinanceSimulator) -> None:
    """Waits until ccxt has subscribed every symbol, then moves each book so it syncs."""
    await poll_until(lambda: all(sim.subscribers(s) for s in feed.symbols), what="subscription")
    for symbol in feed.symbols:
        await sim.publish(5, symbol)
    await wait_at_truth(feed, sim)


# -- REST polling ---------------------------------------------------------------------------


async def test_polled_books_equal_the_true_books_at_the_polled_depth(
    sim: BinanceSimulator, rest: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(rest, depth=100)
    assert feed.mode is CcxtMode.POLL
    await feed.wait_live(timeout=5)
    for _ in range(3):
        await sim.publish(500)
        await wait_at_truth(feed, sim)
        assert_top_equals_truth(feed, sim, 100)
        assert all(feed.book(s).level_count("bid") == 100 for s in feed.symbols)
    assert faults(feed) == {}
    assert feed.stats.snapshots >= 6
    assert {r.limit for r in sim.snapshot_requests} == {100}
    health = feed.health()
    assert health.exchange == "binance"
    assert health.connected
    assert all(book.fresh and book.state == "live" for book in health.books)


async def test_polls_are_never_closer_than_the_exchanges_rate_limit(
    sim: BinanceSimulator, rest: Any, make_feed: MakeFeed
) -> None:
    rest.enableRateLimit = False  # only the feed's own pacing is left
    rest.rateLimit = 60  # milliseconds between requests
    feed = await make_feed(rest, depth=5, poll_interval=0.001)
    await poll_until(lambda: len(sim.snapshot_requests) >= 10, what="10 polls")
    await feed.stop()
    times = [r.at for r in sim.snapshot_requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Each symbol alone waits 60 ms between its polls; without the feed-wide pacing the two
    # symbols' polls would interleave about 30 ms apart. Arrival times at the server jitter by
    # a few milliseconds, so one gap may look shorter than the 60 ms the client kept.
    assert min(gaps) >= 0.045, gaps
    assert sum(gaps) / len(gaps) >= 0.058, gaps
    assert {r.symbol for r in sim.snapshot_requests} == {BTC, ETH}


async def test_failed_polls_are_counted_retried_and_the_books_recover(
    sim: BinanceSimulator, rest: Any, make_feed: MakeFeed
) -> None:
    sim.fail_snapshots(2, status=500)
    sim.fail_snapshots(1, status=429, retry_after=1)
    feed = await make_feed(rest, depth=50)
    await feed.wait_live(timeout=5)
    await sim.publish(50)
    await wait_at_truth(feed, sim)
    assert_top_equals_truth(feed, sim, 50)
    assert faults(feed) == {"snapshot_failures": 3}
    assert feed.running


async def test_values_off_the_markets_precision_are_refused_never_rounded(
    sim: BinanceSimulator, rest: Any
) -> None:
    await rest.load_markets()
    coarse = replace(Market.from_ccxt(rest.markets[BTC]), price_tick=Decimal("0.1"))
    # Two decimals like the book, but only multiples of 0.05.
    nickel = replace(Market.from_ccxt(rest.markets[ETH]), price_tick=Decimal("0.05"))
    feed = CcxtFeed(rest, [coarse, nickel], replace(FAST, depth=20))
    async with feed:
        await poll_until(lambda: feed.stats.malformed >= 4, what="refused books")
        assert feed.stats.snapshots == 0
        assert feed.stats.resyncs == feed.stats.malformed
        for symbol in (BTC, ETH):
            assert feed.state(symbol) is SyncState.SYNCING
            assert not feed.is_fresh(symbol)
            assert feed.book(symbol).level_count("bid") == 0
        assert feed.running


async def test_a_down_exchange_is_counted_and_the_feed_recovers_when_it_returns(
    make_feed: MakeFeed,
) -> None:
    async with BinanceSimulator(SIM_MARKETS, seed=5) as first:
        port = first.port
        exchange = ccxt_async.binance({**first.ccxt_config(), **LOCAL})
        try:
            feed = await make_feed(exchange, depth=10)
            await feed.wait_live(timeout=5)
        except BaseException:
            await exchange.close()
            raise
    try:
        # The server is gone: every poll fails, the books are emptied, the feed keeps going.
        await poll_until(lambda: feed.stats.snapshot_failures >= 4, what="failed polls")
        assert not feed.connected
        assert feed.running
        assert not any(feed.is_fresh(s) for s in feed.symbols)
        assert feed.state(BTC) is SyncState.RESYNCING
        async with BinanceSimulator(SIM_MARKETS, seed=5, port=port) as second:
            await feed.wait_live(timeout=5)
            await second.publish(20)
            await wait_at_truth(feed, second)
            assert_top_equals_truth(feed, second, 10)
            assert feed.connected
    finally:
        await feed.stop()
        await exchange.close()


async def test_an_older_polled_book_is_ignored_unless_the_sequence_restarted(
    sim: BinanceSimulator, rest: Any
) -> None:
    older = await rest.fetch_order_book(BTC, 20)
    await sim.publish(10, BTC)
    newer = await rest.fetch_order_book(BTC, 20)
    assert older["nonce"] < newer["nonce"]
    feed = await CcxtFeed.create(rest, [BTC], replace(FAST, depth=20))
    assert feed.apply(BTC, newer)
    for _ in range(3):  # a lagging server's answer: ignored, the newer book stays
        assert feed.apply(BTC, older)
        assert feed.book(BTC).sequence == newer["nonce"]
    assert feed.stats.stale_snapshots == 3
    assert feed.apply(BTC, older)  # a fourth in a row: the exchange restarted its numbering
    assert feed.book(BTC).sequence == older["nonce"]
    assert feed.apply(BTC, newer)
    assert top(feed.book(BTC)) == top(sim.true_book(BTC), 20)
    assert feed.stats.snapshots == 3
    assert faults(feed) == {}


# -- ccxt.pro websocket ---------------------------------------------------------------------


async def test_watched_books_equal_the_true_books_after_thousands_of_events(
    sim: BinanceSimulator, pro: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(pro)
    assert feed.mode is CcxtMode.WATCH
    await watching(feed, sim)
    for _ in range(2):
        await sim.publish(1_000)
        await wait_at_truth(feed, sim)
        assert_top_equals_truth(feed, sim, None)
    assert faults(feed) == {}
    assert feed.stats.messages >= 4
    # ccxt took one REST snapshot per symbol, then followed the stream.
    assert sorted(r.symbol for r in sim.snapshot_requests) == [BTC, ETH]


async def test_a_dropped_event_fails_ccxts_check_and_the_book_is_rebuilt(
    sim: BinanceSimulator, pro: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(pro)
    await watching(feed, sim)
    sim.drop_next(BTC)
    await sim.publish(2, BTC)
    await poll_until(lambda: feed.stats.checksum_failures == 1, what="ccxt's sequence check")
    await poll_until(lambda: len(sim.snapshot_requests) == 3, what="a fresh snapshot")
    await sim.publish(20, BTC)
    await wait_at_truth(feed, sim)
    assert_top_equals_truth(feed, sim, None)
    assert faults(feed) == {"checksum_failures": 1, "resyncs": 1}


async def test_a_crossed_update_is_refused_and_ccxt_subscribes_again(
    sim: BinanceSimulator, pro: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(pro)
    await watching(feed, sim)
    await sim.send_crossed(BTC)
    await poll_until(lambda: feed.stats.crossed == 1, what="the crossed book")
    assert not feed.is_fresh(BTC)
    await poll_until(lambda: len(sim.snapshot_requests) == 3, what="a fresh snapshot")
    await sim.publish(20, BTC)
    await wait_at_truth(feed, sim)
    assert_top_equals_truth(feed, sim, None)
    assert faults(feed) == {"crossed": 1, "resyncs": 1}


async def test_a_lost_connection_is_counted_and_ccxt_reconnects(
    sim: BinanceSimulator, pro: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(pro)
    await watching(feed, sim)
    connections = sim.connections
    await sim.disconnect(abrupt=True)
    await poll_until(lambda: feed.stats.reconnects >= 1, what="the lost stream")
    await poll_until(lambda: sim.connections > connections, what="ccxt's new connection")
    await watching(feed, sim)
    assert_top_equals_truth(feed, sim, None)
    assert set(faults(feed)) == {"reconnects"}


async def test_a_quiet_book_goes_stale_and_fresh_again(
    sim: BinanceSimulator, pro: Any, make_feed: MakeFeed
) -> None:
    feed = await make_feed(pro, (BTC,), staleness=0.2)
    await watching(feed, sim)
    assert feed.is_fresh(BTC)
    await poll_until(lambda: not feed.is_fresh(BTC), what="staleness")
    assert feed.state(BTC) is SyncState.LIVE
    assert feed.last_update_age(BTC) > 0.2
    assert not feed.health().books[0].fresh
    await sim.publish(1, BTC)
    await poll_until(lambda: feed.is_fresh(BTC), what="the next update")


async def test_stop_ends_every_task_and_marks_the_books_stopped(
    sim: BinanceSimulator, pro: Any
) -> None:
    feed = await CcxtFeed.create(pro, [BTC, ETH], FAST)
    async with feed:
        assert feed.running
        with pytest.raises(RuntimeError, match="already running"):
            await feed.start()
        await watching(feed, sim)
    assert not feed.running
    assert not feed.connected
    assert {feed.state(s) for s in feed.symbols} == {SyncState.STOPPED}
    assert all(feed.book(s).level_count("ask") == 0 for s in feed.symbols)
    # ccxt was told to unsubscribe: the simulator no longer streams to it.
    await poll_until(lambda: sim.subscribers(BTC) == 0, what="the unsubscription")


async def test_a_feed_that_owns_its_exchange_closes_it(sim: BinanceSimulator) -> None:
    exchange = ccxt_async.binance({**sim.ccxt_config(), **LOCAL})
    feed = await CcxtFeed.create(exchange, [BTC], FAST, owns_exchange=True)
    async with feed:
        await feed.wait_live(timeout=5)
    assert exchange.session is None  # ccxt's aiohttp session is closed


# -- construction and conversion ------------------------------------------------------------


async def test_mode_follows_what_the_exchange_instance_has(rest: Any, pro: Any) -> None:
    await rest.load_markets()
    market = Market.from_ccxt(rest.markets[BTC])
    assert CcxtFeed(rest, [market]).mode is CcxtMode.POLL
    assert CcxtFeed(pro, [market]).mode is CcxtMode.WATCH
    assert CcxtFeed(pro, [market], CcxtFeedConfig(mode=CcxtMode.POLL)).mode is CcxtMode.POLL
    with pytest.raises(InvalidInput, match="no watchOrderBook"):
        CcxtFeed(rest, [market], CcxtFeedConfig(mode="watch"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="listed twice"):
        CcxtFeed(rest, [market, market])
    with pytest.raises(InvalidInput, match="at least one market"):
        CcxtFeed(rest, [])
    with pytest.raises(InvalidInput, match="not one of this feed's markets"):
        CcxtFeed(rest, [market]).book("ETH/BTC")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mode", "stream"),
        ("depth", 0),
        ("depth", True),
        ("poll_interval", 0),
        ("request_timeout", math.inf),
        ("staleness", -1.0),
        ("staleness_by_symbol", {BTC: 0.0}),
    ],
)
def test_config_refuses_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=field):
        CcxtFeedConfig(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (65000.01, 2, "65000.01"),
        (0.1, 8, "0.10000000"),
        (1e-05, 5, "0.00001"),
        (0.1, 16, "0.1000000000000000"),
        (123456789.1234568, 7, "123456789.1234568"),
        (0.0, 3, "0.000"),
        (7, 2, "7"),
        ("0.25", 2, "0.25"),
        (Decimal("12.50"), 1, "12.5"),
    ],
)
def test_exact_decimal_recovers_the_decimal_behind_a_ccxt_number(
    value: object, decimals: int, expected: str
) -> None:
    assert exact_decimal(value, decimals) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "reason"),
    [
        (65000.015, 2, "more than 2 decimal places"),
        (0.1 + 0.2, 2, "more than 2 decimal places"),
        (123456789.12345678, 8, "cannot tell apart decimals with 8 places"),
        (0.30000000000000004, 17, "cannot tell apart"),
        (math.nan, 2, "finite"),
        (-1.0, 2, ">= 0"),
        (True, 2, "expected a number"),
        ("1.005", 2, "more than 2"),
        ("abc", 2, "decimal number"),
        (None, 2, "expected a number"),
    ],
)
def test_exact_decimal_refuses_what_is_not_on_the_precision(
    value: object, decimals: int, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        exact_decimal(value, decimals)


@given(
    units=st.integers(min_value=0, max_value=10**15 - 1),
    decimals=st.integers(min_value=0, max_value=12),
)
def test_exact_decimal_inverts_float_parsing_of_any_15_digit_decimal(
    units: int, decimals: int
) -> None:
    text = f"{Decimal(units).scaleb(-decimals):.{decimals}f}"
    assert exact_decimal(float(text), decimals) == text


def test_snapshot_from_ccxt_checks_ticks_that_are_not_powers_of_ten() -> None:
    market = Market("BTC/USD", "BTC", "USD", Decimal("0.5"), Decimal("0.0001"), Decimal("0.0026"))
    book = {"bids": [[100.5, 1.25, 3], [100.0, 0.5]], "asks": [[101.0, 2.0]], "nonce": 42}
    snapshot = snapshot_from_ccxt(book, market)
    assert snapshot.sequence == 42
    assert snapshot.bids == [("100.5", "1.2500"), ("100.0", "0.5000")]
    assert snapshot_from_ccxt({**book, "nonce": None}, market, sequence=7).sequence == 7
    assert snapshot_from_ccxt(book, market, depth=1).bids == [("100.5", "1.2500")]
    with pytest.raises(MalformedMessage, match=r"bids\[0\]: price 100.7 is not a multiple"):
        snapshot_from_ccxt({**book, "bids": [[100.7, 1.0]]}, market)
    with pytest.raises(MalformedMessage, match=r"asks\[0\] is not a \[price, amount\] pair"):
        snapshot_from_ccxt({**book, "asks": [[101.0]]}, market)
    with pytest.raises(MalformedMessage, match="asks is not a list"):
        snapshot_from_ccxt({**book, "asks": "101"}, market)
    with pytest.raises(MalformedMessage, match="expected a mapping"):
        snapshot_from_ccxt([], market)


async def test_nothing_is_left_running_after_a_cancelled_watch(
    sim: BinanceSimulator, pro: Any
) -> None:
    feed = await CcxtFeed.create(pro, [BTC], FAST)
    await feed.start()
    await poll_until(lambda: sim.subscribers(BTC) == 1, what="subscription")
    await feed.stop()
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("ccxt-feed:")]
    assert pending == []
