"""A full best-execution decision for a buy across 5 or 20 venues of 1,000 levels each.

sor ranks every venue in one call (walk, fee-inclusive cost, depth within the slippage bound,
normalised scores). The baselines walk each venue for its average price, add the fee and take the
minimum. sor is given price-only weights so that all of them make the same decision, which the
exact oracle checks; sor still computes every factor.
"""

from __future__ import annotations

import functools

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import SortedBook, best_venue_python
from .data import (
    Venue,
    best_venue_exact,
    decision_quantity,
    make_venues,
    quantity_str,
    walk_exact,
)
from .report import DECISION_VENUES, NAUTILUS, PYTHON, SOR, SOR_VENUE_SET, decision_group
from .support import calibrated, label, sor_book

pytestmark = calibrated

LEVELS_TAKEN = 50
"""About how many levels the order takes on each venue."""
PRICE_ONLY = sor.Weights(price=1.0, liquidity=0.0, latency=0.0, reliability=0.0)
"""Scoring weights under which sor's decision is the lowest fee-inclusive price."""

venues_param = pytest.mark.parametrize("count", DECISION_VENUES)


@functools.cache
def venues(count: int) -> list[Venue]:
    """The venues of the ``count``-venue benchmark."""
    return make_venues(count, seed=count)


@functools.cache
def case(count: int) -> tuple[int, int]:
    """The order size (lots) and the oracle's best venue for ``count`` venues."""
    lots = decision_quantity(venues(count), LEVELS_TAKEN)
    return lots, best_venue_exact(venues(count), lots)


@venues_param
def test_decision_sor_rank_venues_one_call(benchmark: BenchmarkFixture, count: int) -> None:
    lots, expected = case(count)
    vs = venues(count)
    books = [sor_book(v.book) for v in vs]
    fees = [v.taker_fee_bps for v in vs]
    latencies = [v.latency_ms for v in vs]
    reliabilities = [v.reliability for v in vs]
    label(benchmark, decision_group(count), SOR)
    ranking = benchmark(
        sor.rank_venues,
        books,
        "buy",
        quantity_str(lots),
        fees,
        latencies,
        reliabilities,
        weights=PRICE_ONLY,
    )
    assert ranking.best == expected
    assert len(ranking) == count
    best = ranking.candidates[0]
    walk = walk_exact(vs[expected].book.asks, lots)
    assert best.walk.filled_lots == lots
    assert best.walk.notional_raw == walk.notional
    assert best.cost.effective_price == pytest.approx(
        walk.average_price * vs[expected].fee_factor, rel=1e-12
    )


@venues_param
def test_decision_sor_rank_set_prepared_venues(benchmark: BenchmarkFixture, count: int) -> None:
    lots, expected = case(count)
    vs = venues(count)
    prepared = sor.VenueSet(
        [sor_book(v.book) for v in vs],
        [sor.VenueRules(taker_fee_bps=v.taker_fee_bps) for v in vs],
        [v.latency_ms for v in vs],
        [v.reliability for v in vs],
    )
    label(benchmark, decision_group(count), SOR_VENUE_SET)
    ranking = benchmark(sor.rank_set, prepared, "buy", quantity_str(lots), weights=PRICE_ONLY)
    assert ranking.best == expected
    assert len(ranking) == count
    walk = walk_exact(vs[expected].book.asks, lots)
    best = ranking.candidates[0]
    assert (best.walk.filled_lots, best.walk.notional_raw) == (lots, walk.notional)


@venues_param
def test_decision_nautilus_avg_px_per_venue(benchmark: BenchmarkFixture, count: int) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    lots, expected = case(count)
    vs = venues(count)
    books = [nt.build_book(v.book) for v in vs]
    factors = [v.fee_factor for v in vs]
    label(benchmark, decision_group(count), NAUTILUS)
    assert benchmark(nt.best_venue, books, nt.quantity(lots), factors) == expected


@venues_param
def test_decision_pure_python_over_sortedcontainers(
    benchmark: BenchmarkFixture, count: int
) -> None:
    lots, expected = case(count)
    vs = venues(count)
    books = [SortedBook.from_data(v.book, float) for v in vs]
    factors = [v.fee_factor for v in vs]
    label(benchmark, decision_group(count), PYTHON)
    assert benchmark(best_venue_python, books, float(quantity_str(lots)), factors) == expected
