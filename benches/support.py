"""Helpers shared by the benchmark modules: labelling results and reading books back."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import SortedBook
from .data import LOTS_PER_UNIT, PRICE_DECIMALS, SIZE_DECIMALS, TICKS_PER_UNIT, BookData, Level

MIN_ROUND_TIME = 0.0002
"""Shortest timed round, in seconds. pytest-benchmark's default (5 us) lets a sub-microsecond
call run once per round, and then the timer's own cost (a few hundred ns on a virtual machine)
swamps it; 200 us rounds repeat such a call about a thousand times."""

calibrated = pytest.mark.benchmark(min_time=MIN_ROUND_TIME)
"""Marks a benchmark module's tests to use ``MIN_ROUND_TIME`` (``pytestmark = calibrated``)."""


def label(benchmark: BenchmarkFixture, group: str, impl: str, items: int = 1) -> None:
    """Files a benchmark under ``group`` as implementation ``impl`` (a ``report`` label);
    ``items`` is how many items one timed call processes."""
    benchmark.group = group
    benchmark.extra_info["impl"] = impl
    if items != 1:
        benchmark.extra_info["items"] = items


def sor_book(data: BookData) -> sor.OrderBook:
    """A sor book holding the levels of ``data``, built from its exchange strings."""
    book = sor.OrderBook(PRICE_DECIMALS, SIZE_DECIMALS)
    book.apply_snapshot(data.bid_strings(), data.ask_strings())
    return book


def sor_levels(book: sor.OrderBook) -> BookData:
    """A sor book's levels in ticks and lots, best first."""

    def side(levels: Iterable[sor.Level]) -> tuple[Level, ...]:
        return tuple(Level(level.price_ticks, level.size_lots) for level in levels)

    return BookData(bids=side(book.levels("bid")), asks=side(book.levels("ask")))


def sorted_levels(book: SortedBook[float] | SortedBook[Decimal]) -> BookData:
    """A ``SortedBook``'s levels in ticks and lots, best first."""

    def side(levels: Iterable[tuple[float | Decimal, float | Decimal]]) -> tuple[Level, ...]:
        return tuple(
            Level(round(float(p) * TICKS_PER_UNIT), round(float(s) * LOTS_PER_UNIT))
            for p, s in levels
        )

    return BookData(bids=side(book.levels("bid")), asks=side(book.levels("ask")))
