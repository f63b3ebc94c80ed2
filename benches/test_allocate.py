"""Allocation: split a buy of 1 BTC across 5 venues for the lowest total fee-inclusive cost.

Every level size is a multiple of the venues' lot step (0.00001 BTC), so taking the cheapest
fee-adjusted level across all books first is optimal; the pure-Python greedy split is therefore
the oracle, and sor's total must equal it.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import PythonAllocation, SortedBook, allocate_python
from .data import LOT_STEP, SIZE_DECIMALS, Venue, make_venues
from .report import (
    ALLOCATE_GROUP,
    ALLOCATE_LOTS_GROUP,
    PYTHON,
    SOR,
    SOR_COARSE_LOTS,
    SOR_EXCHANGE_LOTS,
)
from .support import calibrated, label, sor_book

pytestmark = calibrated

QUANTITY = "1"
"""The order: buy 1 BTC."""
LOT_SIZE = Decimal(LOT_STEP).scaleb(-SIZE_DECIMALS)
"""The venues' quantity step (0.00001 BTC)."""
MIN_NOTIONAL = Decimal(5)
"""The venues' minimum order notional (USDT)."""


@functools.cache
def venues() -> list[Venue]:
    """Five venues whose books are arbitraged to within a few ticks of each other, all on the
    same fee tier, so that the best split uses several of them."""
    return make_venues(5, seed=7, mid_spread=3e-6, fees_bps=(10.0,))


@functools.cache
def expected() -> PythonAllocation:
    """The optimal split, by the greedy oracle."""
    books = [SortedBook.from_data(v.book, Decimal) for v in venues()]
    return allocate_python(books, Decimal(QUANTITY), [v.taker_fee_bps for v in venues()])


def test_allocate_sor(benchmark: BenchmarkFixture) -> None:
    books = [sor_book(v.book) for v in venues()]
    rules = [
        sor.VenueRules(
            taker_fee_bps=v.taker_fee_bps,
            lot_size=LOT_SIZE,
            min_quantity=LOT_SIZE,
            min_notional=MIN_NOTIONAL,
        )
        for v in venues()
    ]
    label(benchmark, ALLOCATE_GROUP, SOR)
    allocation = benchmark(sor.allocate, books, "buy", QUANTITY, rules)
    assert allocation.complete
    assert allocation.filled == Decimal(QUANTITY)
    assert sum((p.quantity for p in allocation.parts), Decimal(0)) == Decimal(QUANTITY)
    for part in allocation.parts:
        assert part.quantity % LOT_SIZE == 0
        assert part.walk.notional >= MIN_NOTIONAL
    assert allocation.total == pytest.approx(float(expected().total), rel=1e-12)


def test_allocate_pure_python_greedy(benchmark: BenchmarkFixture) -> None:
    books = [SortedBook.from_data(v.book, Decimal) for v in venues()]
    fees = [v.taker_fee_bps for v in venues()]
    label(benchmark, ALLOCATE_GROUP, PYTHON)
    allocation = benchmark(allocate_python, books, Decimal(QUANTITY), fees)
    assert allocation == expected()
    assert sum(allocation.quantities, Decimal(0)) == Decimal(QUANTITY)
    used = [i for i, q in enumerate(allocation.quantities) if q]
    assert len(used) > 1, "the order should be split, or the benchmark measures no choice"
    # The greedy split is only the optimum sor must match if it is allowed by the rules.
    for i in used:
        assert allocation.quantities[i] % LOT_SIZE == 0
        assert allocation.notionals[i] >= MIN_NOTIONAL


LOT_STEPS = {
    SOR: ("0.00001",) * 5,
    SOR_EXCHANGE_LOTS: ("0.00001", "0.00000001", "0.000001", "0.00000001", "0.00000001"),
    SOR_COARSE_LOTS: ("0.003", "0.0007", "0.0011", "0.00013", "0.00001"),
}
"""Each venue's lot step per run of the mixed-lot group (``SOR`` is the common-lot reference)."""


@pytest.mark.parametrize("impl", list(LOT_STEPS))
def test_allocate_sor_lot_per_venue(benchmark: BenchmarkFixture, impl: str) -> None:
    books = [sor_book(v.book) for v in venues()]
    rules = [
        sor.VenueRules(
            taker_fee_bps=v.taker_fee_bps,
            lot_size=lot,
            min_quantity=lot,
            min_notional=MIN_NOTIONAL,
        )
        for v, lot in zip(venues(), LOT_STEPS[impl], strict=True)
    ]
    label(benchmark, ALLOCATE_LOTS_GROUP, impl)
    allocation = benchmark(sor.allocate, books, "buy", QUANTITY, rules)
    assert allocation.complete
    assert allocation.proven_optimal
    assert len(allocation.parts) > 1, "the order should be split"
    for part in allocation.parts:
        assert part.quantity % Decimal(LOT_STEPS[impl][part.index]) == 0
        assert part.walk.notional >= MIN_NOTIONAL
    # Lots only constrain: the unconstrained greedy split is a lower bound on the cost.
    assert allocation.total >= float(expected().total) * (1 - 1e-12)
