"""One walk (a buy taking 1, 10, 50 or 500 levels of a 1,000-level side), sor versus baselines.

Every implementation walks the same book for the same quantity, which takes exactly the given
number of levels (about half of the last one), and must report the oracle's fill and average.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import NumpySide, SortedBook, numpy_walk, sorted_walk_buy
from .data import BookData, ExactWalk, make_book, quantity_for_levels, quantity_str, walk_exact
from .report import (
    NAUTILUS,
    NUMPY,
    SOR,
    SOR_DECIMAL,
    SORTED_DECIMAL,
    SORTED_FLOAT,
    WALK_LEVELS,
    walk_group,
)
from .support import calibrated, label, sor_book

pytestmark = calibrated

levels_param = pytest.mark.parametrize("levels", WALK_LEVELS)


@functools.cache
def book() -> BookData:
    """The book every walk benchmark walks."""
    return make_book(seed=1)


@functools.cache
def case(levels: int) -> tuple[str, ExactWalk]:
    """The quantity (a string) that takes ``levels`` levels, and what the oracle fills for it."""
    lots = quantity_for_levels(book().asks, levels)
    expected = walk_exact(book().asks, lots)
    assert expected.levels == levels
    assert expected.complete
    return quantity_str(lots), expected


@functools.cache
def cached_sor_book() -> sor.OrderBook:
    return sor_book(book())


def check_sor(result: sor.WalkResult, expected: ExactWalk) -> None:
    assert result.filled_lots == expected.filled
    assert result.notional_raw == expected.notional
    assert result.levels_consumed == expected.levels
    assert result.complete
    assert result.average_price == pytest.approx(expected.average_price, rel=1e-12)


@levels_param
def test_walk_sor_with_str_quantity(benchmark: BenchmarkFixture, levels: int) -> None:
    quantity, expected = case(levels)
    label(benchmark, walk_group(levels), SOR)
    check_sor(benchmark(cached_sor_book().walk, "buy", quantity), expected)


@levels_param
def test_walk_sor_with_decimal_quantity(benchmark: BenchmarkFixture, levels: int) -> None:
    quantity, expected = case(levels)
    label(benchmark, walk_group(levels), SOR_DECIMAL)
    check_sor(benchmark(cached_sor_book().walk, "buy", Decimal(quantity)), expected)


@levels_param
def test_walk_nautilus_get_avg_px_for_quantity(benchmark: BenchmarkFixture, levels: int) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    _, expected = case(levels)
    nautilus = nt.build_book(book())
    label(benchmark, walk_group(levels), NAUTILUS)
    average = benchmark(nautilus.get_avg_px_for_quantity, nt.quantity(expected.filled), nt.BUY)
    assert average == pytest.approx(expected.average_price, rel=1e-12)


@levels_param
def test_walk_numpy_cumsum_searchsorted(benchmark: BenchmarkFixture, levels: int) -> None:
    quantity, expected = case(levels)
    asks = NumpySide.from_levels(book().asks)
    label(benchmark, walk_group(levels), NUMPY)
    filled, notional, taken = benchmark(numpy_walk, asks, float(quantity))
    assert filled == pytest.approx(float(expected.filled_decimal), rel=1e-12)
    assert notional / filled == pytest.approx(expected.average_price, rel=1e-12)
    assert taken == levels


@levels_param
def test_walk_sortedcontainers_float(benchmark: BenchmarkFixture, levels: int) -> None:
    quantity, expected = case(levels)
    python_book = SortedBook.from_data(book(), float)
    label(benchmark, walk_group(levels), SORTED_FLOAT)
    filled, notional, taken = benchmark(sorted_walk_buy, python_book, float(quantity))
    assert filled == pytest.approx(float(expected.filled_decimal), rel=1e-12)
    assert notional / filled == pytest.approx(expected.average_price, rel=1e-12)
    assert taken == levels


@levels_param
def test_walk_sortedcontainers_decimal(benchmark: BenchmarkFixture, levels: int) -> None:
    quantity, expected = case(levels)
    python_book = SortedBook.from_data(book(), Decimal)
    label(benchmark, walk_group(levels), SORTED_DECIMAL)
    filled, notional, taken = benchmark(sorted_walk_buy, python_book, Decimal(quantity))
    assert filled == expected.filled_decimal
    assert notional == expected.notional_decimal
    assert taken == levels
