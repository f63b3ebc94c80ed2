"""The order book: snapshots, deltas (single, lists, numpy arrays), queries and refusals.

Every book is compared with the exact model in ``reference.py`` after the same updates; every
refused update must raise the right exception class, name the field, and leave the book exactly
as it was.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.typing import NDArray

import sor
from helpers import (
    BOOK_SIDES,
    assert_same_book,
    build,
    core_levels,
    delta_arrays,
    delta_text,
    deltas_for,
    exact_bps,
    ref_books,
    render,
    renderings,
    styles,
)
from reference import (
    RefBook,
    as_decimal,
    attempt,
    float_to_units,
    from_units,
    to_units,
)

# ------------------------------------------------------------------------------------------------
# Snapshots and deltas against the model


@given(book=ref_books(), data=st.data())
def test_snapshot_from_exchange_style_decimals_matches_reference(
    book: RefBook, data: st.DataObject
) -> None:
    pd, sd = book.price_decimals, book.size_decimals
    # Zero-size levels in a snapshot are skipped (even one priced through the other side);
    # they still have to be in order.
    prices = [*book.bids, *book.asks]
    zero = st.integers(max(1, min(prices, default=5) - 5), max(prices, default=5) + 5)
    extra_bids = set(data.draw(st.lists(zero, max_size=3))) - set(book.bids)
    extra_asks = set(data.draw(st.lists(zero, max_size=3))) - set(book.asks)
    bids = sorted([*book.levels("bid"), *((p, 0) for p in extra_bids)], reverse=True)
    asks = sorted([*book.levels("ask"), *((p, 0) for p in extra_asks)])
    core = sor.OrderBook(pd, sd)
    core.apply_snapshot(
        [(data.draw(renderings(p, pd)), data.draw(renderings(s, sd))) for p, s in bids],
        [(data.draw(renderings(p, pd)), data.draw(renderings(s, sd))) for p, s in asks],
        sequence=17,
    )
    assert_same_book(core, book)
    assert core.sequence == 17
    assert core.version == 1
    assert not core.is_crossed()


@given(book=ref_books(max_levels=8), data=st.data())
def test_deltas_applied_one_by_one_match_reference(book: RefBook, data: st.DataObject) -> None:
    core = build(book)
    ref = book.copy()
    ref.version = core.version
    for step in range(data.draw(st.integers(1, 4))):
        for delta in data.draw(deltas_for(ref)):
            side, price, size = delta
            before = core.copy()
            price_text = data.draw(renderings(price, ref.price_decimals))
            size_text = data.draw(renderings(size, ref.size_decimals))
            refusal = attempt(partial(ref.apply_delta, delta, sequence=step + 100))
            if refusal is None:
                core.apply_delta(side, price_text, size_text, sequence=step + 100)
            else:
                assert refusal.kind == "book"
                with pytest.raises(sor.BookError, match="crossed"):
                    core.apply_delta(side, price_text, size_text, sequence=step + 100)
                assert core == before
            assert core.version == ref.version
            assert core.sequence == ref.sequence
            assert not core.is_crossed()
    assert_same_book(core, ref)


@given(book=ref_books(max_levels=8), data=st.data())
def test_delta_batches_as_lists_and_arrays_match_reference(
    book: RefBook, data: st.DataObject
) -> None:
    as_list = build(book)
    as_array = build(book)
    ref = book.copy()
    ref.version = as_list.version
    for batch_no in range(data.draw(st.integers(1, 5))):
        batch = data.draw(deltas_for(ref, max_deltas=10))
        style = data.draw(styles)
        before = as_list.copy()
        sides, prices, sizes = delta_arrays(batch)
        text = delta_text(batch, ref, style)
        refusal = attempt(partial(ref.apply_deltas, batch, sequence=batch_no))
        if refusal is None:
            as_list.apply_deltas(text, sequence=batch_no)
            as_array.apply_deltas_array(sides, prices, sizes, sequence=batch_no)
        else:
            assert refusal.kind == "book"
            with pytest.raises(sor.BookError, match="crossed"):
                as_list.apply_deltas(text, sequence=batch_no)
            with pytest.raises(sor.BookError, match="crossed"):
                as_array.apply_deltas_array(sides, prices, sizes, sequence=batch_no)
            assert as_list == before
            assert as_array == before
        for core in (as_list, as_array):
            assert core.version == ref.version
            assert core.sequence == ref.sequence
    assert_same_book(as_list, ref)
    assert_same_book(as_array, ref)
    assert as_list == as_array


@given(book=ref_books(max_levels=8), data=st.data())
def test_one_by_one_equals_batch_when_no_intermediate_step_crosses(
    book: RefBook, data: st.DataObject
) -> None:
    batch = data.draw(deltas_for(book, max_deltas=15))
    stepwise = book.copy()
    for delta in batch:
        assume(attempt(partial(stepwise.apply_delta, delta)) is None)
    one_by_one = build(book)
    for side, price, size in batch:
        one_by_one.apply_delta(
            side, render(price, book.price_decimals), render(size, book.size_decimals)
        )
    batched = build(book)
    batched.apply_deltas(delta_text(batch, book))
    arrays = build(book)
    arrays.apply_deltas_array(*delta_arrays(batch))
    assert one_by_one == batched == arrays
    assert_same_book(batched, stepwise)
    assert one_by_one.version == 1 + len(batch)
    assert batched.version == arrays.version == 2


def test_batch_is_checked_for_crossing_only_at_its_end() -> None:
    # The ask moves down first (crossing the old bid for a moment), then the bid is pulled.
    book = sor.OrderBook(2, 2)
    book.apply_snapshot([("100.00", "1")], [("101.00", "1")])
    book.apply_deltas([("ask", "99.50", "2"), ("bid", "100.00", "0"), ("bid", "99.00", "3")])
    assert core_levels(book, "bid") == [(9900, 300)]
    assert core_levels(book, "ask") == [(9950, 200), (10100, 100)]


def test_delta_of_zero_size_at_a_missing_price_is_a_successful_no_op() -> None:
    book = sor.OrderBook(2, 2)
    book.apply_snapshot([("100", "1")], [("101", "1")])
    before = book.copy()
    book.apply_delta("bid", "50", "0", sequence=9)
    assert book == before
    assert book.version == 2
    assert book.sequence == 9


@given(data=st.data())
def test_from_floats_rounds_each_level_to_the_nearest_tick_and_lot(data: st.DataObject) -> None:
    pd = data.draw(st.integers(0, 6))
    sd = data.draw(st.integers(0, 6))
    floats = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_subnormal=False)
    # Mostly bids below asks (so most books build); sometimes anything goes.
    low = st.floats(min_value=0.0, max_value=1_000.0, allow_subnormal=False)
    high = st.floats(min_value=1_001.0, max_value=1e6)
    bid_prices = sorted(data.draw(st.lists(low | floats, max_size=6, unique=True)), reverse=True)
    ask_prices = sorted(data.draw(st.lists(high | floats, max_size=6, unique=True)))
    bids = [(p, data.draw(floats)) for p in bid_prices]
    asks = [(p, data.draw(floats)) for p in ask_prices]
    ref = RefBook(pd, sd)
    refusal = attempt(
        partial(
            ref.apply_snapshot,
            [(float_to_units(p, pd), float_to_units(s, sd)) for p, s in bids],
            [(float_to_units(p, pd), float_to_units(s, sd)) for p, s in asks],
            sequence=3,
        )
    )
    if refusal is None:
        core = sor.OrderBook.from_floats(bids, asks, pd, sd, sequence=3)
        assert_same_book(core, ref)
        assert core.sequence == 3
    else:
        expected = sor.BookError if refusal.kind == "book" else sor.InvalidInput
        with pytest.raises(expected):
            sor.OrderBook.from_floats(bids, asks, pd, sd, sequence=3)


def test_from_floats_uses_the_shortest_decimal_text_of_each_float() -> None:
    # 0.1 + 0.2 is 0.30000000000000004: one decimal place rounds it to 0.3, and 2.675 (stored
    # as 2.67499999...) rounds half away from zero on its decimal text to 2.68.
    book = sor.OrderBook.from_floats([(0.1 + 0.2, 2.675)], [(0.5, 1e-8), (0.6, 0.005)], 1, 2)
    bid = book.best_bid()
    assert bid is not None
    assert (bid.price, bid.size) == (Decimal("0.3"), Decimal("2.68"))
    # 1e-8 rounds to zero lots at 2 decimals, so that ask level is dropped; 0.005 rounds up.
    assert core_levels(book, "ask") == [(6, 1)]


# ------------------------------------------------------------------------------------------------
# Queries


@given(book=ref_books(), n=st.integers(0, 15), bps=exact_bps(2_000))
def test_queries_match_reference(book: RefBook, n: int, bps: float) -> None:
    core = build(book)
    pd, sd = book.price_decimals, book.size_decimals
    for best, level in ((book.best("bid"), core.best_bid()), (book.best("ask"), core.best_ask())):
        if best is None:
            assert level is None
        else:
            assert level is not None
            assert (level.price_ticks, level.size_lots) == best
            assert level.price == as_decimal(from_units(best[0], pd))
            assert level.size == as_decimal(from_units(best[1], sd))
    spread = book.spread_ticks()
    assert core.spread() == (None if spread is None else as_decimal(from_units(spread, pd)))
    mid = book.mid()
    got_mid = core.mid()
    if mid is None:
        assert got_mid is None
    else:
        assert got_mid is not None
        assert math.isclose(got_mid, float(mid), rel_tol=1e-12)
    for side in BOOK_SIDES:
        assert core.depth_within_bps(side, bps) == as_decimal(
            from_units(book.depth_within_bps(side, bps), sd)
        )
        assert core_levels(core, side)[:n] == book.levels(side)[:n]
        assert [(lv.price_ticks, lv.size_lots) for lv in core.levels(side, n)] == book.levels(side)[
            :n
        ]
        assert core.level_count(side) == len(book.side(side))
    assert core.is_crossed() is False


@given(book=ref_books(min_levels=1), data=st.data())
def test_depth_within_bps_counts_levels_exactly_on_the_bound(
    book: RefBook, data: st.DataObject
) -> None:
    # The smallest bps (exact to 1e-4) that reaches a chosen level counts it; one unit less
    # does not.
    core = build(book)
    sd = book.size_decimals
    for side in BOOK_SIDES:
        levels = book.levels(side)
        best = levels[0][0]
        price = data.draw(st.sampled_from([p for p, _ in levels]))
        distance = abs(price - best)
        units = -(-distance * 10**8 // best)
        assume(units <= 10**15 and round((units / 1e4) * 1e4) == units)
        closer = sum(s for p, s in levels if abs(p - best) < distance)
        reached = sum(s for p, s in levels if abs(p - best) <= distance)
        at = core.depth_within_bps(side, units / 1e4)
        assert at == as_decimal(from_units(book.depth_within_bps(side, units / 1e4), sd))
        assert at >= as_decimal(from_units(reached, sd))
        if units > 0:
            below = core.depth_within_bps(side, (units - 1) / 1e4)
            assert below == as_decimal(
                from_units(book.depth_within_bps(side, (units - 1) / 1e4), sd)
            )
            # The chosen level (and everything beyond it) is outside.
            assert below <= as_decimal(from_units(closer, sd))


def test_depth_within_bps_worked_example() -> None:
    book = sor.OrderBook(0, 0)
    book.apply_snapshot(
        [("10000", "1"), ("9990", "2"), ("9989", "4")],
        [("10001", "1"), ("10011", "2"), ("10012", "4")],
    )
    # 10001 * 1.001 = 10011.001 -> 10011 inside, 10012 outside; 10000 * 0.999 = 9990 on the bound.
    assert book.depth_within_bps("ask", 10.0) == Decimal(3)
    assert book.depth_within_bps("bid", 10.0) == Decimal(3)
    assert book.depth_within_bps("bid", 0.0) == Decimal(1)
    # Beyond 10,000 bps every bid counts.
    assert book.depth_within_bps("bid", 20_000.0) == Decimal(7)


def test_empty_book_queries_return_none_and_zero() -> None:
    book = sor.OrderBook(2, 8)
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.spread() is None
    assert book.mid() is None
    assert book.depth_within_bps("bid", 50.0) == Decimal(0)
    assert book.levels("ask") == []
    assert book.level_count("bid") == 0


@given(
    decimals=st.integers(0, 8),
    units=st.integers(0, 10**15),
    data=st.data(),
)
def test_price_to_ticks_and_size_to_lots_parse_every_exchange_form(
    decimals: int, units: int, data: st.DataObject
) -> None:
    book = sor.OrderBook(decimals, decimals)
    text = data.draw(renderings(units, decimals))
    assert book.price_to_ticks(text) == units == to_units(text, decimals)
    assert book.size_to_lots(text) == units


# ------------------------------------------------------------------------------------------------
# Refusals: the right class, a message naming the field, and the book untouched

BookCall = Callable[[sor.OrderBook], Any]


SAMPLE_BIDS = [("100.00", "1.5"), ("99.50", "2"), ("99.00", "0.0001")]
SAMPLE_ASKS = [("100.50", "1"), ("101.00", "3")]


def sample_book() -> sor.OrderBook:
    """A small 2-decimal-price, 4-decimal-size book at sequence 41."""
    book = sor.OrderBook(2, 4)
    book.apply_snapshot(SAMPLE_BIDS, SAMPLE_ASKS, sequence=41, timestamp_ns=1_000)
    return book


def arrays(
    sides: list[int], prices: list[int], sizes: list[int]
) -> tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]]:
    """Delta arrays with the dtypes ``apply_deltas_array`` takes."""
    return (
        np.array(sides, dtype=np.uint8),
        np.array(prices, dtype=np.uint64),
        np.array(sizes, dtype=np.uint64),
    )


#: Side names the type checker would refuse, for the tests that check the core refuses them too.
WRONG: dict[str, Any] = {"buy": "buy", "asks": "asks", "Bid": "Bid"}

INVALID = sor.InvalidInput
BOOK = sor.BookError

REFUSALS = [
    pytest.param(
        lambda b: b.apply_delta("bid", "-1", "1"),
        INVALID,
        r"^price: .*negative",
        id="negative price",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", "-0.5"),
        INVALID,
        r"^size: .*negative",
        id="negative size",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "NaN", "1"), INVALID, r"^price: .*not finite", id="NaN price"
    ),
    pytest.param(
        lambda b: b.apply_delta("ask", "101", Decimal("NaN")),
        INVALID,
        r"^size: .*not finite",
        id="Decimal NaN size",
    ),
    pytest.param(
        lambda b: b.apply_delta("ask", "inf", "1"), INVALID, r"^price: .*not finite", id="inf price"
    ),
    pytest.param(
        lambda b: b.apply_delta("ask", "101", "-Infinity"),
        INVALID,
        r"^size: .*not finite",
        id="-Infinity size",
    ),
    pytest.param(
        lambda b: b.apply_delta("ask", Decimal("Infinity"), "1"),
        INVALID,
        r"^price: .*not finite",
        id="Decimal Infinity price",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99.001", "1"),
        INVALID,
        r"^price: .*beyond 2 decimal",
        id="too many price decimals",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", "0.00001"),
        INVALID,
        r"^size: .*beyond 4 decimal",
        id="too many size decimals",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", "1E-5"),
        INVALID,
        r"^size: .*beyond 4 decimal",
        id="exponent too fine",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", 99.5, "1"),
        INVALID,
        r"^price: floats are not accepted",
        id="float price",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", 0.5),
        INVALID,
        r"^size: floats are not accepted",
        id="float size",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", True), INVALID, r"^size: .*bool", id="bool size"
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", None, "1"), INVALID, r"^price: expected str", id="None price"
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "9,9", "1"),
        INVALID,
        r"^price: .*not a decimal",
        id="malformed text",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "1_000", "1"),
        INVALID,
        r"^price: .*not a decimal",
        id="underscores",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", " 99", "1"),
        INVALID,
        r"^price: .*not a decimal",
        id="whitespace",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "", "1"), INVALID, r"^price: .*empty", id="empty text"
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "99", "18446744073709551616"),
        INVALID,
        r"^size: .*too large",
        id="overflowing size",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "0", "1"), INVALID, r"price.*positive", id="zero price"
    ),
    pytest.param(
        lambda b: b.apply_delta("buy", "99", "1"),
        INVALID,
        r"^side: expected 'bid' or 'ask'",
        id="wrong side name",
    ),
    pytest.param(
        lambda b: b.apply_delta("bid", "100.50", "1", sequence=99),
        BOOK,
        r"crossed book: best bid 100\.5 >= best ask 100\.5",
        id="crossing delta",
    ),
    pytest.param(
        lambda b: b.apply_delta("ask", "99.00", "1", sequence=99),
        BOOK,
        r"crossed",
        id="crossing ask delta",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("101", "1")], [("100.5", "1")], sequence=99),
        BOOK,
        r"crossed book: best bid 101 >= best ask 100\.5",
        id="crossed snapshot",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("100", "1")], [("100", "1")]),
        BOOK,
        r"crossed",
        id="locked snapshot",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("99", "1"), ("100", "1")], []),
        BOOK,
        r"^bids\[1\]: .*sorted",
        id="unsorted bids",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([], [("101", "1"), ("100.5", "1"), ("102", "1")]),
        BOOK,
        r"^asks\[1\]: .*sorted",
        id="unsorted asks",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("99", "1"), ("98", "1"), ("98", "2")], []),
        BOOK,
        r"^bids\[2\]: .*sorted",
        id="duplicate price",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("99", "1"), ("98", "1"), ("97", "-1")], []),
        INVALID,
        r"^bids\[2\]\.size: .*negative",
        id="bad snapshot size",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([], [("101", "1"), ("nan", "1")]),
        INVALID,
        r"^asks\[1\]\.price: .*not finite",
        id="bad snapshot price",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([(99.0, "1")], []),
        INVALID,
        r"^bids\[0\]\.price: floats",
        id="float in snapshot",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([("1", "1"), ("0", "1")], []),
        INVALID,
        r"bids\[1\]\.price: price must be positive",
        id="zero price in snapshot",
    ),
    pytest.param(
        lambda b: b.apply_snapshot([], [("101", "1", "x")]),
        INVALID,
        r"^asks\[0\]: expected a \(price, size\) pair",
        id="snapshot level not a pair",
    ),
    pytest.param(
        lambda b: b.apply_snapshot(5, []),
        INVALID,
        r"^bids: expected a sequence",
        id="snapshot side not a sequence",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", "98", "1"), ("bod", "98", "1")]),
        INVALID,
        r"^deltas\[1\]\.side: expected 'bid' or 'ask'",
        id="batch with wrong side",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", "98", "1"), ("ask", "102", "1"), ("ask", "103", "NaN")]),
        INVALID,
        r"^deltas\[2\]\.size: .*not finite",
        id="batch with NaN size",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", 98.0, "1")]),
        INVALID,
        r"^deltas\[0\]\.price: floats",
        id="batch with float price",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", "98", "1"), ("bid", "97.999", "1")]),
        INVALID,
        r"^deltas\[1\]\.price: .*beyond 2",
        id="batch with too fine price",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", "98", "1"), ("bid", "0", "1")]),
        INVALID,
        r"deltas\[1\]\.price: price must be positive",
        id="batch with zero price",
    ),
    pytest.param(
        lambda b: b.apply_deltas([("bid", "98", "1"), ["bid", "97", "1"]]),
        INVALID,
        r"^deltas\[1\]: expected a \(side, price, size\) tuple",
        id="batch item not a tuple",
    ),
    pytest.param(
        lambda b: b.apply_deltas(42),
        INVALID,
        r"^deltas: expected a sequence",
        id="batch not a sequence",
    ),
    pytest.param(
        lambda b: b.apply_deltas(
            [("bid", "98", "5"), ("bid", "100.75", "1"), ("ask", "105", "1")], sequence=99
        ),
        BOOK,
        r"crossed book: best bid 100\.75 >= best ask 100\.5",
        id="crossing batch",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(*arrays([0, 1], [9800, 10200], [1])),
        INVALID,
        r"sides, prices and sizes must have the same length, got 2, 2 and 1",
        id="arrays of different lengths",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(*arrays([0, 2], [9800, 10200], [1, 1])),
        INVALID,
        r"^sides\[1\]: expected 0 \(bid\) or 1 \(ask\), got 2",
        id="array side 2",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(*arrays([255], [9800], [1])),
        INVALID,
        r"^sides\[0\]: .*got 255",
        id="array side 255",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(*arrays([0, 0], [9800, 0], [1, 1])),
        INVALID,
        r"deltas\[1\]\.price: price must be positive",
        id="array zero price",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(*arrays([1, 0], [10200, 10050], [1, 1]), sequence=99),
        BOOK,
        r"crossed",
        id="crossing arrays",
    ),
    pytest.param(
        lambda b: b.apply_deltas_array(
            np.zeros(2, np.uint8),
            np.array([9800, 1, 9700, 1], np.uint64)[::2],
            np.ones(2, np.uint64),
        ),
        INVALID,
        r"^prices: array must be contiguous",
        id="strided array",
    ),
]


@pytest.mark.parametrize(("call", "exception", "message"), REFUSALS)
def test_bad_update_is_refused_by_name_and_leaves_the_book_exactly_as_it_was(
    call: BookCall, exception: type[Exception], message: str
) -> None:
    book = sample_book()
    before = book.copy()
    version, sequence, updated = book.version, book.sequence, book.updated_at_ns
    with pytest.raises(exception, match=message) as info:
        call(book)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, sor.SorError)
    assert book == before
    assert core_levels(book, "bid") == core_levels(before, "bid")
    assert core_levels(book, "ask") == core_levels(before, "ask")
    assert (book.version, book.sequence, book.updated_at_ns) == (version, sequence, updated)
    assert not book.is_crossed()


def test_array_of_the_wrong_dtype_is_refused_and_changes_nothing() -> None:
    book = sample_book()
    before = book.copy()
    with pytest.raises((TypeError, ValueError)):
        book.apply_deltas_array(
            np.array([0], dtype=np.int64),
            np.array([9800], dtype=np.uint64),
            np.array([1], dtype=np.uint64),
        )
    assert book == before
    assert book.version == before.version


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: sor.OrderBook(19, 2),
            r"^price_decimals: must be between 0 and 18",
            id="price_decimals",
        ),
        pytest.param(
            lambda: sor.OrderBook(2, -1),
            r"^size_decimals: must be between 0 and 18",
            id="size_decimals",
        ),
        pytest.param(
            lambda: sor.OrderBook.from_floats([(math.nan, 1.0)], [], 2, 2),
            r"^bids\[0\]\.price: ",
            id="from_floats NaN",
        ),
        pytest.param(
            lambda: sor.OrderBook.from_floats([], [(1.0, -1.0)], 2, 2),
            r"^asks\[0\]\.size: ",
            id="from_floats negative",
        ),
        pytest.param(
            lambda: sor.OrderBook.from_floats([], [(math.inf, 1.0)], 2, 2),
            r"^asks\[0\]\.price: ",
            id="from_floats inf",
        ),
        pytest.param(
            lambda: sample_book().depth_within_bps("bid", -1.0), r"^bps: ", id="negative bps"
        ),
        pytest.param(
            lambda: sample_book().depth_within_bps("ask", math.nan), r"^bps: ", id="NaN bps"
        ),
        pytest.param(
            lambda: sample_book().depth_within_bps(WRONG["buy"], 1.0), r"^side: ", id="depth side"
        ),
        pytest.param(lambda: sample_book().levels(WRONG["asks"]), r"^side: ", id="levels side"),
        pytest.param(
            lambda: sample_book().level_count(WRONG["Bid"]), r"^side: ", id="level_count side"
        ),
        pytest.param(
            lambda: sample_book().price_to_ticks("1.001"), r"^price: ", id="price_to_ticks"
        ),
        pytest.param(lambda: sample_book().size_to_lots(1.0), r"^size: floats", id="size_to_lots"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_refused_with_invalid_input_naming_the_field(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(sor.InvalidInput, match=message):
        call()


def test_unsorted_snapshot_from_floats_is_refused_as_a_book_error() -> None:
    # 100.004 and 100.001 both round to 100.00 at two decimals: two levels at one price.
    with pytest.raises(sor.BookError, match=r"^bids\[1\]"):
        sor.OrderBook.from_floats([(100.004, 1.0), (100.001, 1.0)], [], 2, 2)


# ------------------------------------------------------------------------------------------------
# sequence, updated_at_ns, version, copy and equality


def test_new_book_starts_empty_at_version_zero() -> None:
    book = sor.OrderBook(2, 8)
    assert (book.price_decimals, book.size_decimals) == (2, 8)
    assert (book.sequence, book.updated_at_ns, book.version) == (0, 0, 0)


def test_every_successful_update_bumps_version_and_stamps_time_and_sequence() -> None:
    book = sor.OrderBook(2, 2)
    book.apply_snapshot([("100", "1")], [("101", "1")], sequence=10, timestamp_ns=5_000)
    assert (book.sequence, book.updated_at_ns, book.version) == (10, 5_000, 1)
    book.apply_delta("bid", "99", "1", sequence=11, timestamp_ns=6_000)
    assert (book.sequence, book.updated_at_ns, book.version) == (11, 6_000, 2)
    # No sequence given: the last one stays; no timestamp given: now.
    start = time.time_ns()
    book.apply_deltas([("ask", "102", "1")])
    end = time.time_ns()
    assert book.sequence == 11
    assert start <= book.updated_at_ns <= end
    assert book.version == 3
    book.apply_deltas_array(*arrays([0], [9800], [5]), sequence=12, timestamp_ns=7_000)
    assert (book.sequence, book.updated_at_ns, book.version) == (12, 7_000, 4)
    book.apply_deltas([], sequence=13, timestamp_ns=8_000)
    assert (book.sequence, book.updated_at_ns, book.version) == (13, 8_000, 5)
    book.apply_snapshot([], [], timestamp_ns=9_000)
    assert (book.sequence, book.updated_at_ns, book.version) == (0, 9_000, 6)


def test_refused_update_bumps_nothing() -> None:
    book = sample_book()
    state = (book.sequence, book.updated_at_ns, book.version)
    calls: list[Callable[[], object]] = [
        lambda: book.apply_delta("bid", "101", "1", sequence=1, timestamp_ns=1),
        lambda: book.apply_deltas([("ask", "1", "1")], sequence=1, timestamp_ns=1),
        lambda: book.apply_snapshot([("1", "1"), ("2", "1")], [], sequence=1, timestamp_ns=1),
        lambda: book.apply_delta("bid", "x", "1", sequence=1, timestamp_ns=1),
    ]
    for call in calls:
        with pytest.raises(ValueError):  # noqa: PT011 - the class is pinned by the table above
            call()
        assert (book.sequence, book.updated_at_ns, book.version) == state


def test_clear_empties_the_book_and_restarts_the_sequence() -> None:
    book = sample_book()
    version = book.version
    book.clear(timestamp_ns=123)
    assert book.levels("bid") == []
    assert book.levels("ask") == []
    assert (book.sequence, book.updated_at_ns, book.version) == (0, 123, version + 1)
    assert book == sor.OrderBook(2, 4)


def test_copy_is_independent_and_equality_ignores_bookkeeping() -> None:
    book = sample_book()
    twin = book.copy()
    assert twin == book
    assert (twin.sequence, twin.version) == (book.sequence, book.version)
    twin.apply_delta("bid", "98", "1")
    assert twin != book
    assert book.level_count("bid") == 3
    # Same levels reached differently are equal, whatever the sequence and version.
    again = sor.OrderBook(2, 4)
    again.apply_deltas(
        [("bid", "100", "1.5"), ("bid", "99.5", "2"), ("bid", "99", "0.0001")], sequence=7
    )
    again.apply_deltas([("ask", "100.5", "1"), ("ask", "101", "3")])
    assert again == book
    # Different precisions are different books even with the same values.
    wider = sor.OrderBook(3, 4)
    wider.apply_snapshot(SAMPLE_BIDS, SAMPLE_ASKS)
    assert wider != book
    assert book != "not a book"


def test_level_values_are_exact_decimals() -> None:
    book = sor.OrderBook(8, 8)
    book.apply_snapshot([("0.00000001", "1E-8")], [("65000.01000000", "0.01000000")])
    bid = book.best_bid()
    ask = book.best_ask()
    assert bid is not None
    assert ask is not None
    assert (bid.price, bid.size, bid.price_ticks, bid.size_lots) == (
        Decimal("1E-8"),
        Decimal("1E-8"),
        1,
        1,
    )
    assert (ask.price, ask.size) == (Decimal("65000.01"), Decimal("0.01"))
    assert ask.price_ticks == 6_500_001_000_000
    assert book.spread() == Decimal("65000.00999999")
    assert Fraction(ask.price) == Fraction(6_500_001, 100)


def test_arrays_of_the_wrong_dtype_are_refused_naming_the_argument() -> None:
    book = sor.OrderBook(2, 8)
    book.apply_snapshot([("100.00", "1")], [("101.00", "1")])
    before = book.copy()
    good_u8 = np.array([0], dtype=np.uint8)
    good_u64 = np.array([10_000], dtype=np.uint64)
    cases = [
        ((np.array([0], dtype=np.int64), good_u64, good_u64), "sides"),
        ((good_u8, np.array([10_000.0]), good_u64), "prices"),
        ((good_u8, good_u64, [5]), "sizes"),
    ]
    for arrays, name in cases:
        with pytest.raises(sor.InvalidInput, match=f"^{name}: expected a one-dimensional"):
            book.apply_deltas_array(*arrays)  # type: ignore[arg-type]
        assert book == before
