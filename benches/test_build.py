"""Building a 2 x 1,000-level book from exchange-style decimal strings ("65000.01", "0.01000000").

sor replaces its book with one ``apply_snapshot``; nautilus_trader builds a CLEAR plus 2,000 ADD
deltas from the strings and applies them as one batch; the pure-Python books parse every string
into a ``SortedDict``. Each must end up holding exactly the snapshot's levels.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import SortedBook
from .data import PRICE_DECIMALS, SIZE_DECIMALS, BookData, make_book
from .report import BUILD_GROUP, NAUTILUS, SOR, SORTED_DECIMAL, SORTED_FLOAT
from .support import calibrated, label, sor_levels, sorted_levels

pytestmark = calibrated


@functools.cache
def book() -> BookData:
    """The snapshot every build benchmark builds."""
    return make_book(seed=4)


def test_build_sor_apply_snapshot(benchmark: BenchmarkFixture) -> None:
    target = sor.OrderBook(PRICE_DECIMALS, SIZE_DECIMALS)
    label(benchmark, BUILD_GROUP, SOR)
    benchmark(target.apply_snapshot, book().bid_strings(), book().ask_strings())
    assert sor_levels(target) == book()


def test_build_nautilus_clear_and_add_deltas(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    target = nt.new_book()
    label(benchmark, BUILD_GROUP, NAUTILUS)
    benchmark(nt.apply_snapshot_strings, target, book().bid_strings(), book().ask_strings())
    assert nt.levels(target) == book()


def test_build_sortedcontainers_decimal(benchmark: BenchmarkFixture) -> None:
    label(benchmark, BUILD_GROUP, SORTED_DECIMAL)
    built = benchmark(SortedBook.from_strings, book().bid_strings(), book().ask_strings(), Decimal)
    assert sorted_levels(built) == book()


def test_build_sortedcontainers_float(benchmark: BenchmarkFixture) -> None:
    label(benchmark, BUILD_GROUP, SORTED_FLOAT)
    built = benchmark(SortedBook.from_strings, book().bid_strings(), book().ask_strings(), float)
    assert sorted_levels(built) == book()
