"""Books shared between threads: readers that release the GIL (``route_many``, ``walk_many``,
``allocate_many``) and readers that do not (``route``, ``walk``) hammer the same books while a
writer thread replaces them, for a bounded time.

The writer alternates every book between two known versions, A and B, by every kind of write
(snapshot, one batch of deltas, a numpy batch): each of those is all-or-nothing, so every result
a reader gets must equal the same computation on A or on B exactly, never a mix, and neither
side may see an exception of any kind. A live ``Feed`` against a simulator must stay live and
equal to the true book while ``route_many`` runs in a loop in another thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal

import numpy as np
import pytest

import sor
from sor import OrderBook, OrderRequest, VenueRules, allocate_many, walk_many
from sor.health import InMemoryHealth
from sor.markets import Market, Venue

DURATION_S = 1.5
"""How long each hammering test runs (seconds)."""
NOW_NS = 1_800_000_000 * 10**9
"""The routers' clock; the books are updated at that time, so they are fresh."""
SYMBOL = "BTC/USDT"

Levels = list[tuple[str, str]]


def ladder(best: int, step: int, count: int, size: Callable[[int], int]) -> Levels:
    """``count`` levels from ``best`` cents, ``step`` cents apart, of ``size(i)`` satoshis."""
    return [(f"{(best + i * step) / 100:.2f}", f"{size(i) / 10**8:.8f}") for i in range(count)]


# Two versions of one book, different at every level that a walk or a split reads.
A_BIDS = ladder(6_499_900, -100, 40, lambda i: 10_000_000 + i * 1_000_000)
A_ASKS = ladder(6_500_000, 100, 40, lambda i: 10_000_000 + i * 1_000_000)
B_BIDS = ladder(6_499_950, -70, 55, lambda i: 3_000_000 + i * 7_000_000)
B_ASKS = ladder(6_500_050, 70, 55, lambda i: 3_000_000 + i * 7_000_000)
VERSIONS = ((A_BIDS, A_ASKS), (B_BIDS, B_ASKS))


def make_book(version: int) -> OrderBook:
    """A fresh book holding version ``version`` (0 = A, 1 = B)."""
    book = OrderBook(2, 8)
    bids, asks = VERSIONS[version]
    book.apply_snapshot(bids, asks, sequence=1, timestamp_ns=NOW_NS)
    return book


def deltas_to(version: int) -> list[tuple[str, str, str]]:
    """The one batch of deltas that turns the other version into ``version``."""
    bids, asks = VERSIONS[version]
    old_bids, old_asks = VERSIONS[1 - version]
    changes: list[tuple[str, str, str]] = []
    for side, new, old in (("bid", bids, old_bids), ("ask", asks, old_asks)):
        prices = {price for price, _ in new}
        changes += [(side, price, "0") for price, _ in old if price not in prices]
        changes += [(side, price, size) for price, size in new]
    return changes


def arrays_to(version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`deltas_to` as ``apply_deltas_array``'s arrays of sides, ticks and lots."""
    changes = deltas_to(version)
    sides = np.array([0 if side == "bid" else 1 for side, _, _ in changes], dtype=np.uint8)
    prices = np.array([round(Decimal(p) * 100) for _, p, _ in changes], dtype=np.uint64)
    sizes = np.array([round(Decimal(s) * 10**8) for _, _, s in changes], dtype=np.uint64)
    return sides, prices, sizes


class Hammer:
    """Runs a writer and several readers in threads for :data:`DURATION_S`; collects every
    exception either side raised."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, BaseException]] = []
        self.stop = threading.Event()
        self.counts: dict[str, int] = {}

    def _loop(self, name: str, step: Callable[[], None]) -> None:
        count = 0
        try:
            while not self.stop.is_set():
                step()
                count += 1
        except BaseException as error:  # any exception at all is the failure
            self.errors.append((name, error))
        self.counts[name] = count

    def run(self, writer: Callable[[], None], readers: dict[str, Callable[[], None]]) -> None:
        threads = [threading.Thread(target=self._loop, args=("writer", writer))]
        threads += [
            threading.Thread(target=self._loop, args=(name, step)) for name, step in readers.items()
        ]
        for thread in threads:
            thread.start()
        time.sleep(DURATION_S)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a thread did not stop"
        assert not self.errors, f"exceptions: {self.errors[:3]!r} ({len(self.errors)} in all)"
        assert all(self.counts.get(name, 0) > 0 for name in ["writer", *readers]), self.counts


def alternating_writer(books: Sequence[OrderBook]) -> Callable[[], None]:
    """A writer step that moves every book to the other version, by a snapshot, a batch of
    deltas or a numpy batch in turn (every book of ``books`` starts at A)."""
    state = {"version": 0, "step": 0}
    deltas = [deltas_to(0), deltas_to(1)]
    arrays = [arrays_to(0), arrays_to(1)]

    def write() -> None:
        target = 1 - state["version"]
        kind = state["step"] % 3
        for book in books:
            if kind == 0:
                bids, asks = VERSIONS[target]
                book.apply_snapshot(bids, asks, sequence=1, timestamp_ns=NOW_NS)
            elif kind == 1:
                book.apply_deltas(deltas[target], timestamp_ns=NOW_NS)
            else:
                book.apply_deltas_array(*arrays[target], timestamp_ns=NOW_NS)
        state["version"] = target
        state["step"] += 1

    return write


def walk_figures(walk: sor.WalkResult) -> tuple[object, ...]:
    """Every figure of a walk, comparable exactly."""
    return (
        walk.filled_lots,
        walk.notional_raw,
        walk.best_price,
        walk.worst_price,
        walk.levels_consumed,
        walk.average_price,
        walk.slippage_bps,
        walk.complete,
    )


QUANTITIES = ["0.05", "0.3", "1.7", "4", "9.99"]


def test_walks_see_one_whole_version_of_a_book_being_rewritten() -> None:
    book = make_book(0)
    expected = {
        (side, q): {walk_figures(make_book(v).walk(side, q)) for v in (0, 1)}
        for side in ("buy", "sell")
        for q in QUANTITIES
    }
    for key, figures in expected.items():
        assert len(figures) == 2, f"{key}: A and B must walk differently"
    hammer = Hammer()

    def batch(side: str) -> Callable[[], None]:
        def step() -> None:
            walks = walk_many([book] * len(QUANTITIES), side, QUANTITIES)
            for q, walk in zip(QUANTITIES, walks, strict=True):
                assert walk_figures(walk) in expected[side, q], (side, q, walk)

        return step

    def single() -> None:
        for q in QUANTITIES:
            assert walk_figures(book.walk("buy", q)) in expected["buy", q]
        assert book.best_ask() is not None
        assert not book.is_crossed()

    hammer.run(
        alternating_writer([book]),
        {"walk_many buy": batch("buy"), "walk_many sell": batch("sell"), "walk": single},
    )


def allocation_figures(allocation: sor.Allocation) -> tuple[Hashable, ...]:
    """Every figure of an allocation, comparable exactly."""
    return (
        allocation.filled,
        allocation.unfilled,
        allocation.total,
        tuple((p.index, p.quantity, walk_figures(p.walk)) for p in allocation.parts),
    )


def test_allocations_see_one_whole_version_of_each_book_being_rewritten() -> None:
    rules = [VenueRules(taker_fee_bps=10.0), VenueRules(taker_fee_bps=4.0, lot_size="0.001")]
    moving, still = make_book(0), make_book(1)
    books = [moving, still]
    expected = {
        q: {
            allocation_figures(allocate_many([make_book(v), still], "buy", [q], rules)[0])
            for v in (0, 1)
        }
        for q in QUANTITIES
    }
    hammer = Hammer()

    def step() -> None:
        for q, allocation in zip(
            QUANTITIES, allocate_many(books, "buy", QUANTITIES, rules), strict=True
        ):
            assert allocation_figures(allocation) in expected[q], (q, allocation)

    hammer.run(alternating_writer([moving]), {"allocate_many 1": step, "allocate_many 2": step})


def make_router(books: Sequence[OrderBook]) -> sor.SmartOrderRouter:
    """A router without cache over one venue per book (venue ``v0``, ``v1`` ...)."""
    names = [f"v{i}" for i in range(len(books))]
    market = Market(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        price_tick=Decimal("0.01"),
        amount_step=Decimal("0.00000001"),
        taker_fee=Decimal("0.001"),
        min_cost=Decimal(5),
    )
    router = sor.SmartOrderRouter(
        [Venue(name, [market]) for name in names],
        settings=sor.RouterSettings(cache_ttl_s=0),
        health=InMemoryHealth(
            sor.ExchangeMetrics(name, 20.0 + i, 0.99) for i, name in enumerate(names)
        ),
        clock_ns=lambda: NOW_NS,
    )
    for name, book in zip(names, books, strict=True):
        router.set_book(name, SYMBOL, book)
    return router


ORDERS = [
    OrderRequest(SYMBOL, side, q, strategy=strategy)
    for side in ("buy", "sell")
    for q in ("0.2", "2.5")
    for strategy in ("best_execution", "split")
]


def decision_figures(result: sor.RoutingDecision | sor.NoRouteError) -> tuple[Hashable, ...]:
    """What a decision routes where and at which expected figures (or why it could not)."""
    if isinstance(result, sor.NoRouteError):
        return ("no route", str(result))
    return tuple((p.venue, p.quantity, walk_figures(p.walk), p.total) for p in result.parts)


def test_route_many_and_route_decide_on_one_whole_version_of_each_book() -> None:
    moving, still = make_book(0), make_book(1)
    router = make_router([moving, still])
    expected = {}
    for order in ORDERS:
        expected[order] = {
            decision_figures(make_router([make_book(v), make_book(1)]).route_many([order])[0])
            for v in (0, 1)
        }
    hammer = Hammer()

    def batch() -> None:
        for order, result in zip(ORDERS, router.route_many(ORDERS), strict=True):
            assert decision_figures(result) in expected[order], (order, result)

    def single() -> None:
        for order in ORDERS:
            try:
                result: sor.RoutingDecision | sor.NoRouteError = router.route(order)
            except sor.NoRouteError as error:
                result = error
            assert decision_figures(result) in expected[order], (order, result)

    hammer.run(
        alternating_writer([moving]),
        {"route_many 1": batch, "route_many 2": batch, "route": single},
    )


async def test_live_feed_stays_live_and_true_while_route_many_runs_in_another_thread() -> None:
    from feeds.feed_support import (  # the feed tests' helpers (tests/ is on sys.path)
        FAST,
        SIM_MARKETS,
        assert_books_equal_truth,
        market_of,
        poll_until,
        wait_in_sync,
    )
    from sor.feeds import BinanceSpotAdapter, Feed, WeightLimiter
    from sor.sim import BinanceSimulator

    async with BinanceSimulator(SIM_MARKETS, seed=11) as sim:
        adapter = BinanceSpotAdapter(
            [market_of(m) for m in SIM_MARKETS],
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            request_timeout=2.0,
            limiter=WeightLimiter(6_000, min_interval=0.0),
        )
        feed = Feed(adapter, FAST)
        await feed.start()
        try:
            await poll_until(
                lambda: all(sim.subscribers(s) for s in sim.symbols), what="subscription"
            )
            for symbol in sim.symbols:
                await sim.publish(10, symbol)
            await wait_in_sync(feed, sim)
            book = feed.book(SYMBOL)
            router = make_router([book, make_book(0)])
            orders = [OrderRequest(SYMBOL, "buy", "0.01"), OrderRequest(SYMBOL, "sell", "0.5")] * 8
            stop = threading.Event()
            errors: list[BaseException] = []
            batches = 0

            def reader() -> None:
                nonlocal batches
                try:
                    while not stop.is_set():
                        router.route_many(orders)
                        batches += 1
                except BaseException as error:  # any exception is the failure
                    errors.append(error)

            thread = threading.Thread(target=reader)
            thread.start()
            try:
                deadline = time.monotonic() + DURATION_S
                while time.monotonic() < deadline:
                    await sim.publish(20)
                    await asyncio.sleep(0)
            finally:
                stop.set()
                await asyncio.to_thread(thread.join, 30)
            assert not errors, errors
            assert batches > 0
            await wait_in_sync(feed, sim)
            assert_books_equal_truth(feed, sim)
            assert feed.stats.resyncs == 0, feed.stats
            assert all(feed.state(s).value == "live" for s in feed.symbols)
        finally:
            await feed.stop()


@pytest.mark.parametrize("write", ["on_snapshot", "on_delta"])
async def test_feed_whose_book_write_raises_resyncs_counted_and_goes_live_again(
    write: str,
) -> None:
    """A write that fails with an exception no outcome covers (here: ``RuntimeError``, what a
    borrowed book used to raise) resyncs the book and counts it; the feed never dies."""
    from feeds.feed_support import FAST, SIM_MARKETS, market_of, poll_until, wait_in_sync
    from sor.feeds import BinanceSpotAdapter, Feed, WeightLimiter
    from sor.sim import BinanceSimulator

    async with BinanceSimulator(SIM_MARKETS, seed=5) as sim:
        adapter = BinanceSpotAdapter(
            [market_of(m) for m in SIM_MARKETS],
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            request_timeout=2.0,
            limiter=WeightLimiter(6_000, min_interval=0.0),
        )
        feed = Feed(adapter, FAST)
        sync = feed._syncs[SYMBOL]  # the fault is injected into the real sync
        original = getattr(sync, write)
        failures = {"left": 1}

        def failing_once(event: object, now: float, *rest: object) -> object:
            if failures["left"] and (write == "on_snapshot" or sync.state.value == "live"):
                failures["left"] -= 1
                raise RuntimeError("Already borrowed")
            return original(event, now, *rest)  # (on_delta also takes the message's size)

        setattr(sync, write, failing_once)
        await feed.start()
        try:
            await poll_until(
                lambda: all(sim.subscribers(s) for s in sim.symbols), what="subscription"
            )
            deadline = time.monotonic() + 10
            while failures["left"] or feed.state(SYMBOL).value != "live":
                assert time.monotonic() < deadline, "the feed did not come back"
                await sim.publish(5, SYMBOL)
                await asyncio.sleep(0.005)
            for symbol in sim.symbols:
                await sim.publish(5, symbol)
            await wait_in_sync(feed, sim)
            assert feed.book(SYMBOL) == sim.true_book(SYMBOL)
            assert feed.stats.resyncs == 1, feed.stats
            assert feed.stats.reconnects == 0, feed.stats
        finally:
            await feed.stop()
