"""``SmartOrderRouter.route()`` from Python: a 1 BTC buy across 5 or 20 venues of 1,000 levels,
for every strategy, against the same decision in pure Python in the same run.

The pure-Python rows are the router tests' reference model (``tests/routing/reference_router.py``:
exact ``Fraction`` arithmetic over dict books, the rules written down plainly) for the
single-venue strategies, and a greedy cheapest-level-first split in ``Decimal`` over
``SortedDict`` books for ``split`` (the reference's brute-force allocator cannot run at 10^-8 BTC
lots). Each benchmark checks that both sides pick the same route. The routing cache is off: every
call routes.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor
from sor.health import InMemoryHealth
from sor.markets import Market, Venue

from .baselines import SortedBook, allocate_python
from .data import PRICE_DECIMALS, SIZE_DECIMALS, make_venues
from .data import Venue as VenueData
from .report import (
    DECISION_VENUES,
    PYTHON,
    ROUTE_BALANCES_GROUP,
    ROUTE_EXCLUDED_GROUP,
    ROUTE_PREFERRED_GROUP,
    ROUTE_STRATEGIES,
    SOR,
    route_group,
)
from .support import calibrated, label

sys.path[:0] = [
    str(Path(__file__).parents[1] / "tests"),
    str(Path(__file__).parents[1] / "tests/routing"),
]
import reference_router as model  # noqa: E402

from reference import RefBook  # noqa: E402

pytestmark = calibrated


@pytest.fixture(autouse=True)
def settled_heap() -> None:
    """Collects the previous tests' garbage and the reference model's setup before timing: a
    router runs with its long-lived data settled, not with a freshly built heap for the
    garbage collector to walk on every full collection during the timing."""
    gc.collect()


SYMBOL = "BTC/USDT"
QUANTITY = "1"
"""The order: buy 1 BTC."""
MIN_COST = Decimal(5)
"""Every venue's minimum order value (USDT)."""
STEP = Decimal(1).scaleb(-SIZE_DECIMALS)
"""Every venue's quantity step: the books' lot (0.00000001 BTC), so the greedy split is optimal."""
NOW_NS = 1_800_000_000 * 10**9
"""The router's clock (the books were updated then: they are fresh)."""
SETTINGS = sor.RouterSettings(cache_ttl_s=0)
"""The requirements' defaults, without the cache."""

strategies_param = pytest.mark.parametrize("strategy", ROUTE_STRATEGIES)
venues_param = pytest.mark.parametrize("count", DECISION_VENUES)


@functools.cache
def venues(count: int, arbitraged: bool = False) -> list[VenueData]:
    """The benchmark's venues: the decision benchmarks' (mids ~2 bps apart, fees 4-10 bps),
    or for ``split`` books arbitraged to within a few ticks on one fee tier (as in the
    allocation benchmark), so that the best split uses several venues."""
    if arbitraged:
        return make_venues(count, seed=count, mid_spread=3e-6, fees_bps=(10.0,))
    return make_venues(count, seed=count)


@functools.cache
def router(count: int, arbitraged: bool = False) -> sor.SmartOrderRouter:
    """A router over ``count`` venues with fresh books and health figures."""
    data = venues(count, arbitraged)
    health = InMemoryHealth(sor.ExchangeMetrics(v.name, v.latency_ms, v.reliability) for v in data)
    markets = [
        Market(
            symbol=SYMBOL,
            base="BTC",
            quote="USDT",
            price_tick=Decimal(1).scaleb(-PRICE_DECIMALS),
            amount_step=STEP,
            taker_fee=Decimal(repr(v.taker_fee_bps)) / 10_000,
            min_cost=MIN_COST,
        )
        for v in data
    ]
    routed = sor.SmartOrderRouter(
        [Venue(v.name, [m]) for v, m in zip(data, markets, strict=True)],
        settings=SETTINGS,
        health=health,
        clock_ns=lambda: NOW_NS,
    )
    for v in data:
        book = sor.OrderBook(PRICE_DECIMALS, SIZE_DECIMALS)
        book.apply_snapshot(
            v.book.bid_strings(), v.book.ask_strings(), sequence=1, timestamp_ns=NOW_NS
        )
        routed.set_book(v.name, SYMBOL, book)
    return routed


@functools.cache
def ref_venues(count: int) -> list[model.RefVenue]:
    """The same venues in the reference model."""
    return [
        model.RefVenue(
            name=v.name,
            book=RefBook(
                PRICE_DECIMALS,
                SIZE_DECIMALS,
                {level.price: level.size for level in v.book.bids},
                {level.price: level.size for level in v.book.asks},
            ),
            fee_bps=v.taker_fee_bps,
            step_lots=1,
            min_lots=0,
            max_lots=None,
            min_cost=Fraction(MIN_COST),
            latency_ms=v.latency_ms,
            success=v.reliability,
            circuit_open=False,
            quote_balance=None,
            base_balance=None,
        )
        for v in venues(count)
    ]


def ref_order(strategy: str) -> model.RefOrder:
    """The order in the reference model."""
    lot = Fraction(1, 10**SIZE_DECIMALS)
    return model.RefOrder(
        side="buy",
        amount_lots=int(Fraction(QUANTITY) / lot),
        strategy=strategy,  # type: ignore[arg-type]
        slippage_bps=SETTINGS.max_slippage_bps,
        lot=lot,
    )


REF_SETTINGS = model.RefSettings(
    min_liquidity=Fraction(repr(SETTINGS.min_liquidity_score)),
    max_latency_ms=SETTINGS.max_latency_ms,
    low_latency_ms=SETTINGS.low_latency_ms,
)


@functools.cache
def expected(count: int, strategy: str) -> tuple[str, ...]:
    """The route the reference model takes (venue names: primary and alternatives, or the
    venues of the split by quantity)."""
    if strategy == "split":
        return tuple(split_python(count)[0])
    return tuple(model.route_singles(ref_venues(count), ref_order(strategy), REF_SETTINGS))


def split_python(count: int) -> tuple[list[str], Decimal]:
    """The greedy split in pure Python: venues by quantity (largest first) and the total."""
    data = venues(count, arbitraged=True)
    books = [SortedBook.from_data(v.book, Decimal) for v in data]
    allocation = allocate_python(books, Decimal(QUANTITY), [v.taker_fee_bps for v in data])
    used = sorted((q, v.name) for q, v in zip(allocation.quantities, data, strict=True) if q)
    return [
        name for _, name in sorted(used, key=lambda item: (-item[0], item[1]))
    ], allocation.total


@strategies_param
@venues_param
def test_route_sor(benchmark: BenchmarkFixture, count: int, strategy: str) -> None:
    routed = router(count, arbitraged=strategy == "split")
    order = sor.OrderRequest(SYMBOL, "buy", QUANTITY, strategy=strategy)
    want = split_python(count) if strategy == "split" else expected(count, strategy)
    gc.collect()
    label(benchmark, route_group(strategy, count), SOR)
    decision = benchmark(routed.route, order)
    assert not decision.cached
    if strategy == "split":
        names, total = split_python(count)
        assert sorted(decision.venues) == sorted(names)
        assert decision.total == pytest.approx(float(total), rel=1e-12)
    else:
        got = (decision.primary.venue, *(p.venue for p in decision.alternatives))
        assert got == want
    assert decision.quantity == Decimal(QUANTITY)


@strategies_param
@venues_param
def test_route_pure_python_reference(
    benchmark: BenchmarkFixture, count: int, strategy: str
) -> None:
    label(benchmark, route_group(strategy, count), PYTHON)
    if strategy == "split":
        names, _ = benchmark(split_python, count)
        assert len(names) > 1, "the order should be split, or the benchmark measures no choice"
        return
    route = benchmark(model.route_singles, ref_venues(count), ref_order(strategy), REF_SETTINGS)
    assert route == list(expected(count, strategy))
    assert route, "no venue qualified: the benchmark would measure no choice"


SMALL_BALANCE = Decimal(10_000)
"""The quote balance (USDT) of the venue the unconstrained decision picks: short of 1 BTC."""
LARGE_BALANCE = Decimal(1_000_000)
"""Every other venue's quote balance: enough for the order."""


@functools.cache
def balanced_router() -> sor.SmartOrderRouter:
    """The 5-venue router with quote balances on every venue, the best one's too small."""
    plain = router(5)
    first = expected(5, "best_execution")[0]
    routed = sor.SmartOrderRouter(
        [
            Venue(
                v.name,
                list(v.markets.values()),
                balances={"USDT": SMALL_BALANCE if v.name == first else LARGE_BALANCE},
            )
            for v in plain.venues
        ],
        settings=SETTINGS,
        health=plain.health,
        clock_ns=lambda: NOW_NS,
    )
    for v in plain.venues:
        book = plain.book(v.name, SYMBOL)
        assert book is not None
        routed.set_book(v.name, SYMBOL, book)
    return routed


@functools.cache
def balanced_ref_venues() -> list[model.RefVenue]:
    """The same venues and balances in the reference model."""
    first = expected(5, "best_execution")[0]
    return [
        dataclasses.replace(
            v, quote_balance=Fraction(SMALL_BALANCE if v.name == first else LARGE_BALANCE)
        )
        for v in ref_venues(5)
    ]


def test_route_sor_with_balances(benchmark: BenchmarkFixture) -> None:
    routed = balanced_router()
    order = sor.OrderRequest(SYMBOL, "buy", QUANTITY, strategy="best_execution")
    want = model.route_singles(balanced_ref_venues(), ref_order("best_execution"), REF_SETTINGS)
    gc.collect()
    label(benchmark, ROUTE_BALANCES_GROUP, SOR)
    decision = benchmark(routed.route, order)
    assert [decision.primary.venue, *(p.venue for p in decision.alternatives)] == want
    assert decision.primary.venue != expected(5, "best_execution")[0]


def test_route_pure_python_reference_with_balances(benchmark: BenchmarkFixture) -> None:
    label(benchmark, ROUTE_BALANCES_GROUP, PYTHON)
    venues = balanced_ref_venues()
    route = benchmark(model.route_singles, venues, ref_order("best_execution"), REF_SETTINGS)
    assert route
    assert route[0] != expected(5, "best_execution")[0]


def preferred_venue() -> str:
    """The venue the order prefers: the third of the unconstrained decision's ranking."""
    return expected(5, "best_execution")[2]


def test_route_sor_with_a_preferred_venue(benchmark: BenchmarkFixture) -> None:
    routed = router(5)
    order = sor.OrderRequest(
        SYMBOL, "buy", QUANTITY, strategy="best_execution", preferred_exchanges=[preferred_venue()]
    )
    ref = dataclasses.replace(ref_order("best_execution"), preferred=(preferred_venue(),))
    want = model.route_singles(ref_venues(5), ref, REF_SETTINGS)
    gc.collect()
    label(benchmark, ROUTE_PREFERRED_GROUP, SOR)
    decision = benchmark(routed.route, order)
    assert [decision.primary.venue, *(p.venue for p in decision.alternatives)] == want
    assert decision.primary.venue == preferred_venue()
    assert decision.reason is sor.RoutingReason.PREFERRED_EXCHANGE


def test_route_pure_python_reference_with_a_preferred_venue(benchmark: BenchmarkFixture) -> None:
    label(benchmark, ROUTE_PREFERRED_GROUP, PYTHON)
    ref = dataclasses.replace(ref_order("best_execution"), preferred=(preferred_venue(),))
    route = benchmark(model.route_singles, ref_venues(5), ref, REF_SETTINGS)
    assert route[0] == preferred_venue()


def test_route_sor_excluding_a_venue(benchmark: BenchmarkFixture) -> None:
    routed = router(5)
    first = expected(5, "best_execution")[0]
    order = sor.OrderRequest(
        SYMBOL, "buy", QUANTITY, strategy="best_execution", excluded_exchanges=[first]
    )
    ref = dataclasses.replace(ref_order("best_execution"), excluded=(first,))
    want = model.route_singles(ref_venues(5), ref, REF_SETTINGS)
    gc.collect()
    label(benchmark, ROUTE_EXCLUDED_GROUP, SOR)
    decision = benchmark(routed.route, order)
    assert [decision.primary.venue, *(p.venue for p in decision.alternatives)] == want
    assert first not in want


def test_route_pure_python_reference_excluding_a_venue(benchmark: BenchmarkFixture) -> None:
    label(benchmark, ROUTE_EXCLUDED_GROUP, PYTHON)
    first = expected(5, "best_execution")[0]
    ref = dataclasses.replace(ref_order("best_execution"), excluded=(first,))
    route = benchmark(model.route_singles, ref_venues(5), ref, REF_SETTINGS)
    assert route
    assert first not in route
