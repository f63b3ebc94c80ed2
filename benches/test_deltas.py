"""Applying book deltas: one delta, 1,000 deltas one call each, and 1,000 deltas as one batch.

The 1,000 deltas are a realistic stream (mostly the top few levels; size updates, new levels and
removals; never crossing) with exchange-style strings. Each timed round starts from a fresh copy
of the same 1,000-level book (the copy is made outside the timing) and must leave exactly the
book the generator predicts. nautilus_trader is timed both on its own prebuilt ``OrderBookDelta``
objects and building them from the strings, as a feed handler has to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pytest
from numpy.typing import NDArray
from pytest_benchmark.fixture import BenchmarkFixture

import sor

from .baselines import SortedBook
from .data import DeltaStream, Side, make_book, make_deltas, price_str, size_str
from .report import (
    DELTA_ONE_GROUP,
    DELTAS_BATCH_GROUP,
    DELTAS_EACH_GROUP,
    NAUTILUS,
    NAUTILUS_STRINGS,
    SOR,
    SOR_ARRAYS,
    SORTED_FLOAT,
)
from .support import calibrated, label, sor_book, sor_levels, sorted_levels

pytestmark = calibrated

DELTAS = 1_000
"""Deltas per stream."""
ROUNDS = 200
"""Timed rounds of the 1,000-delta benchmarks (each on a fresh copy of the book)."""
WARMUP_ROUNDS = 5
"""Untimed rounds before them."""

Book = TypeVar("Book")


@functools.cache
def stream() -> DeltaStream:
    """The stream every delta benchmark applies, and the book it starts from."""
    return make_deltas(make_book(seed=5), DELTAS, seed=6)


@functools.cache
def tuples() -> list[tuple[Side, str, str]]:
    return stream().tuples()


def run_rounds(
    benchmark: BenchmarkFixture,
    fresh: Callable[[], Book],
    apply: Callable[[Book], None],
) -> Book:
    """Times ``apply`` on a fresh book each round; returns the last book it updated."""

    def target(book: Book) -> Book:
        apply(book)
        return book

    def setup() -> tuple[tuple[Book], dict[str, Any]]:
        return (fresh(),), {}

    pedantic: Callable[..., Book] = benchmark.pedantic
    return pedantic(target, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)


def sor_apply_each(book: sor.OrderBook, deltas: Sequence[tuple[Side, str, str]]) -> None:
    """Applies ``(side, price, size)`` deltas with one ``apply_delta`` call each."""
    apply = book.apply_delta
    for side, price, size in deltas:
        apply(side, price, size)


def sorted_apply_each(book: SortedBook[float], deltas: Sequence[tuple[Side, str, str]]) -> None:
    """Applies ``(side, price, size)`` deltas to a pure-Python book one at a time."""
    apply = book.apply_delta
    for side, price, size in deltas:
        apply(side, price, size)


# --- 1,000 deltas, one call each ---------------------------------------------------------------


def test_deltas_one_by_one_sor(benchmark: BenchmarkFixture) -> None:
    start = sor_book(stream().start)
    deltas = tuples()
    label(benchmark, DELTAS_EACH_GROUP, SOR, items=DELTAS)
    book = run_rounds(benchmark, start.copy, lambda b: sor_apply_each(b, deltas))
    assert sor_levels(book) == stream().final


def test_deltas_one_by_one_nautilus_prebuilt(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    deltas = nt.stream_deltas(stream())
    label(benchmark, DELTAS_EACH_GROUP, NAUTILUS, items=DELTAS)
    book = run_rounds(
        benchmark, lambda: nt.build_book(stream().start), lambda b: nt.apply_each(b, deltas)
    )
    assert nt.levels(book) == stream().final


def test_deltas_one_by_one_nautilus_from_strings(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    deltas = tuples()
    label(benchmark, DELTAS_EACH_GROUP, NAUTILUS_STRINGS, items=DELTAS)
    book = run_rounds(
        benchmark,
        lambda: nt.build_book(stream().start),
        lambda b: nt.apply_each_from_strings(b, deltas),
    )
    assert nt.levels(book) == stream().final


def test_deltas_one_by_one_sortedcontainers_float(benchmark: BenchmarkFixture) -> None:
    start = SortedBook.from_data(stream().start, float)
    deltas = tuples()
    label(benchmark, DELTAS_EACH_GROUP, SORTED_FLOAT, items=DELTAS)
    book = run_rounds(benchmark, start.copy, lambda b: sorted_apply_each(b, deltas))
    assert sorted_levels(book) == stream().final


# --- 1,000 deltas, one call ----------------------------------------------------------------------


def test_deltas_batch_sor_apply_deltas(benchmark: BenchmarkFixture) -> None:
    start = sor_book(stream().start)
    deltas = tuples()
    label(benchmark, DELTAS_BATCH_GROUP, SOR, items=DELTAS)
    book = run_rounds(benchmark, start.copy, lambda b: b.apply_deltas(deltas))
    assert sor_levels(book) == stream().final


def test_deltas_batch_sor_apply_deltas_array(benchmark: BenchmarkFixture) -> None:
    start = sor_book(stream().start)
    arrays: tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]] = stream().arrays()
    label(benchmark, DELTAS_BATCH_GROUP, SOR_ARRAYS, items=DELTAS)
    book = run_rounds(benchmark, start.copy, lambda b: b.apply_deltas_array(*arrays))
    assert sor_levels(book) == stream().final


def test_deltas_batch_nautilus_prebuilt(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    batch = nt.batch(nt.stream_deltas(stream()))
    label(benchmark, DELTAS_BATCH_GROUP, NAUTILUS, items=DELTAS)
    book = run_rounds(
        benchmark, lambda: nt.build_book(stream().start), lambda b: b.apply_deltas(batch)
    )
    assert nt.levels(book) == stream().final


def test_deltas_batch_nautilus_from_strings(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    deltas = tuples()
    label(benchmark, DELTAS_BATCH_GROUP, NAUTILUS_STRINGS, items=DELTAS)
    book = run_rounds(
        benchmark,
        lambda: nt.build_book(stream().start),
        lambda b: nt.apply_batch_from_strings(b, deltas),
    )
    assert nt.levels(book) == stream().final


# --- One delta -------------------------------------------------------------------------------
# A size update of the best bid: applying it again leaves the book as it is, so it is timed on
# one book, call after call.

NEW_SIZE = 12_345_000
"""The best bid's new size, in lots (0.12345 BTC)."""


def one_delta() -> tuple[Side, str, str]:
    """The delta: the best bid's price with a new size, as exchange strings."""
    return "bid", price_str(stream().start.bids[0].price), size_str(NEW_SIZE)


def test_one_delta_sor_apply_delta(benchmark: BenchmarkFixture) -> None:
    book = sor_book(stream().start)
    label(benchmark, DELTA_ONE_GROUP, SOR)
    benchmark(book.apply_delta, *one_delta())
    best = book.best_bid()
    assert best is not None
    assert (best.price_ticks, best.size_lots) == (stream().start.bids[0].price, NEW_SIZE)
    assert book.level_count("bid") == len(stream().start.bids)


def test_one_delta_nautilus_prebuilt(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    book = nt.build_book(stream().start)
    delta = nt.delta_from_strings(*one_delta())
    label(benchmark, DELTA_ONE_GROUP, NAUTILUS)
    benchmark(book.apply_delta, delta)
    assert nt.levels(book).bids[0].size == NEW_SIZE


def test_one_delta_nautilus_from_strings(benchmark: BenchmarkFixture) -> None:
    pytest.importorskip("nautilus_trader")
    from . import nautilus_books as nt

    book = nt.build_book(stream().start)

    def apply(side: Side, price: str, size: str) -> None:
        book.apply_delta(nt.delta_from_strings(side, price, size))

    label(benchmark, DELTA_ONE_GROUP, NAUTILUS_STRINGS)
    benchmark(apply, *one_delta())
    assert nt.levels(book).bids[0].size == NEW_SIZE


def test_one_delta_sortedcontainers_float(benchmark: BenchmarkFixture) -> None:
    book = SortedBook.from_data(stream().start, float)
    label(benchmark, DELTA_ONE_GROUP, SORTED_FLOAT)
    benchmark(book.apply_delta, *one_delta())
    assert sorted_levels(book).bids[0].size == NEW_SIZE
