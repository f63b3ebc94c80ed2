"""Walking a side (by quantity, notional, limit price) and fee-inclusive execution cost.

Exact figures (lots, raw notional, prices, levels, complete) must equal the model in
``reference.py``; derived floats (average price, slippage, fee, total, effective price) must be
within 1e-9 relative of the model's exact values.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from helpers import build, close, exact_bps, ref_books, render, renderings
from reference import (
    TAKER_SIDES,
    RefBook,
    RefWalk,
    TakerSide,
    as_decimal,
    bps_units,
    consumed_side,
    execution_cost,
    from_units,
    walk,
)

# ------------------------------------------------------------------------------------------------
# Helpers


def assert_walk_matches(got: sor.WalkResult, want: RefWalk) -> None:
    """A core walk equals the model's: exact fields exactly, derived floats within 1e-9."""
    pd, sd = want.price_decimals, want.size_decimals
    assert got.side == want.side
    assert (got.price_decimals, got.size_decimals) == (pd, sd)
    assert got.filled_lots == want.filled_lots
    assert got.notional_raw == want.notional_raw
    assert got.filled == as_decimal(want.filled)
    assert got.notional == as_decimal(want.notional)
    assert got.best_price == (
        None if want.best_ticks is None else as_decimal(from_units(want.best_ticks, pd))
    )
    assert got.worst_price == (
        None if want.worst_ticks is None else as_decimal(from_units(want.worst_ticks, pd))
    )
    assert got.levels_consumed == want.levels_consumed
    assert got.complete is want.complete
    assert close(got.average_price, want.average_price, rel=1e-9, abs_tol=0.0)
    assert close(got.slippage_bps, want.slippage_bps)


def price_near(book: RefBook, side: TakerSide) -> st.SearchStrategy[int]:
    """Limit prices (ticks) around the levels a taker on ``side`` would consume."""
    prices = list(book.side(consumed_side(side))) or [100]
    return st.integers(max(1, min(prices) - 40), max(prices) + 40)


def quantities(book: RefBook, side: TakerSide) -> st.SearchStrategy[int]:
    """Quantities (lots) from zero to a little more than the side holds."""
    depth = book.total_lots(consumed_side(side))
    return st.one_of(st.integers(0, depth + 3), st.integers(0, 2**63))


def notionals(book: RefBook, side: TakerSide) -> st.SearchStrategy[int]:
    """Notionals (raw units) up to a little more than the side is worth, often just past the
    worth of the first few levels (where whole-lot rounding and level changes meet)."""
    levels = book.levels(consumed_side(side))
    worth = sum(p * s for p, s in levels)
    prefixes = [sum(p * s for p, s in levels[:k]) for k in range(len(levels) + 1)]
    prices = [p for p, _ in levels] or [1]
    near_level = st.builds(
        lambda base, price, nudge: min(max(0, base + price + nudge), 2**63),
        st.sampled_from(prefixes),
        st.sampled_from([0, *prices]),
        st.integers(-3, 3),
    )
    return st.one_of(st.integers(0, min(worth + worth // 10 + 10, 2**63)), near_level)


# ------------------------------------------------------------------------------------------------
# Walks against the model


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_by_quantity_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    lots = data.draw(quantities(book, side))
    got = core.walk(side, data.draw(renderings(lots, book.size_decimals)))
    assert_walk_matches(got, walk(book, side, quantity=lots))


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_by_notional_takes_whole_lots_and_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    raw = data.draw(notionals(book, side))
    text = data.draw(renderings(raw, book.price_decimals + book.size_decimals))
    assert_walk_matches(core.walk(side, notional=text), walk(book, side, notional=raw))


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_up_to_a_limit_price_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    limit = data.draw(price_near(book, side))
    got = core.walk(side, limit_price=data.draw(renderings(limit, book.price_decimals)))
    want = walk(book, side, limit_price=limit)
    assert_walk_matches(got, want)
    assert got.complete


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_with_combined_limits_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    pd, sd = book.price_decimals, book.size_decimals
    lots = data.draw(st.none() | quantities(book, side))
    raw = data.draw(st.none() | notionals(book, side))
    limit = data.draw(st.none() | price_near(book, side))
    got = core.walk(
        side,
        None if lots is None else data.draw(renderings(lots, sd)),
        notional=None if raw is None else data.draw(renderings(raw, pd + sd)),
        limit_price=None if limit is None else data.draw(renderings(limit, pd)),
    )
    assert_walk_matches(got, walk(book, side, quantity=lots, notional=raw, limit_price=limit))


# ------------------------------------------------------------------------------------------------
# Invariants that hold whatever the model says


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_never_reports_more_than_the_book_holds_and_partial_fills_say_so(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    pd, sd = book.price_decimals, book.size_decimals
    levels = book.levels(consumed_side(side))
    lots = data.draw(st.none() | quantities(book, side))
    raw = data.draw(st.none() | notionals(book, side))
    limit = data.draw(st.none() | price_near(book, side))
    got = core.walk(
        side,
        None if lots is None else render(lots, sd),
        notional=None if raw is None else render(raw, pd + sd),
        limit_price=None if limit is None else render(limit, pd),
    )
    depth = sum(size for _, size in levels)
    assert got.filled_lots <= depth
    assert got.levels_consumed <= len(levels)
    # The notional is exactly what the levels taken are worth, level by level.
    taken = levels[: got.levels_consumed]
    full = sum(p * s for p, s in taken[:-1])
    if taken:
        last_price = taken[-1][0]
        assert got.worst_price == as_decimal(from_units(last_price, pd))
        partial = got.filled_lots - sum(s for _, s in taken[:-1])
        assert 0 < partial <= taken[-1][1]
        assert got.notional_raw == full + partial * last_price
    else:
        assert got.filled_lots == got.notional_raw == 0
        assert got.worst_price is None
    if lots is not None:
        assert got.filled_lots <= lots
        if got.filled_lots < lots and raw is None:
            assert not got.complete
    if raw is not None:
        assert got.notional_raw <= raw
    if limit is not None and taken:
        assert taken[-1][0] <= limit if side == "buy" else taken[-1][0] >= limit
    if lots is not None and raw is None and limit is None:
        assert got.complete is (lots <= depth)
        assert got.filled_lots == min(lots, depth)
    if lots is None and raw is None:
        assert got.complete


# ------------------------------------------------------------------------------------------------
# Worked examples


def ladder() -> sor.OrderBook:
    """Asks 100 x 2, 101 x 3, 105 x 10; bids 99 x 1, 90 x 4 (whole units)."""
    book = sor.OrderBook(0, 0)
    book.apply_snapshot([("99", "1"), ("90", "4")], [("100", "2"), ("101", "3"), ("105", "10")])
    return book


def test_walk_fills_across_levels_and_reports_average_worst_and_slippage() -> None:
    got = ladder().walk("buy", "4")
    assert (got.filled, got.notional, got.worst_price, got.levels_consumed, got.complete) == (
        Decimal(4),
        Decimal(402),
        Decimal(101),
        2,
        True,
    )
    assert got.best_price == Decimal(100)
    assert got.average_price == pytest.approx(100.5, rel=1e-12)
    assert got.slippage_bps == pytest.approx(50.0, rel=1e-12)


def test_walk_reports_partial_fill_when_book_is_thin() -> None:
    got = ladder().walk("sell", "10")
    assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
        5,
        459,
        2,
        False,
    )
    assert got.worst_price == Decimal(90)
    assert got.slippage_bps == pytest.approx((99 - 459 / 5) / 99 * 1e4, rel=1e-12)


def test_walk_by_notional_never_spends_more_than_the_notional() -> None:
    # 350 buys 2 @ 100 and 1 @ 101 (301); a fourth unit would cost 402.
    got = ladder().walk("buy", notional="350")
    assert (got.filled_lots, got.notional_raw, got.complete) == (3, 301, True)


def test_sell_by_notional_continues_to_lower_bids_that_still_fit() -> None:
    # Bids 100 x 1, 40 x 5; receive up to 150: one unit at 100 leaves 50, which still sells
    # one unit at 40 (total 140 <= 150). Price priority is respected: the 100 level is taken
    # whole before the 40 level is touched. The 10 left cannot sell another unit at 40, and the
    # walk may not skip that level, so it is complete.
    book = sor.OrderBook(0, 0)
    book.apply_snapshot([("100", "1"), ("40", "5")], [("101", "1")])
    got = book.walk("sell", notional="150")
    assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
        2,
        140,
        2,
        True,
    )


def test_sell_by_notional_never_skips_a_level_it_has_not_emptied() -> None:
    # Bids 186 x 2, 100 x 5; receive up to 287: one unit at 186 leaves 101, too little for the
    # second unit at 186. Selling a unit at 100 while a bid at 186 is still there would break
    # price priority: the walk stops, complete, at 186.
    book = sor.OrderBook(0, 0)
    book.apply_snapshot([("186", "2"), ("100", "5")], [])
    got = book.walk("sell", notional="287")
    assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
        1,
        186,
        1,
        True,
    )
    assert got.worst_price == Decimal(186)


def test_walk_up_to_a_limit_price_stops_before_worse_levels() -> None:
    got = ladder().walk("buy", "10", limit_price="101")
    assert (got.filled_lots, got.worst_price, got.complete) == (5, Decimal(101), False)
    got = ladder().walk("buy", limit_price="101")
    assert (got.filled_lots, got.complete) == (5, True)
    got = ladder().walk("buy", "3", limit_price="99")
    assert (got.filled_lots, got.worst_price, got.levels_consumed, got.complete) == (
        0,
        None,
        0,
        False,
    )


def test_walk_without_any_limit_takes_the_whole_side() -> None:
    got = ladder().walk("buy")
    assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
        15,
        200 + 303 + 1050,
        3,
        True,
    )


def test_walk_of_zero_fills_nothing_and_is_complete() -> None:
    for got in (ladder().walk("buy", "0"), ladder().walk("sell", notional="0")):
        assert (got.filled_lots, got.notional_raw, got.levels_consumed) == (0, 0, 0)
        assert got.complete
        assert got.average_price == 0.0
        assert got.slippage_bps == 0.0


def test_walk_of_an_empty_side_fills_nothing_and_is_incomplete() -> None:
    book = sor.OrderBook(2, 2)
    got = book.walk("buy", "1")
    assert (got.filled_lots, got.best_price, got.worst_price, got.complete) == (
        0,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda b: b.walk("buy", "0.5"), r"^quantity: .*beyond 0", id="quantity"),
        pytest.param(lambda b: b.walk("buy", "-1"), r"^quantity: .*negative", id="negative"),
        pytest.param(lambda b: b.walk("buy", 1.0), r"^quantity: floats", id="float"),
        pytest.param(lambda b: b.walk("buy", "NaN"), r"^quantity: .*not finite", id="NaN"),
        pytest.param(
            lambda b: b.walk("sell", notional="0.5"), r"^notional: .*decimal places", id="notional"
        ),
        pytest.param(
            lambda b: b.walk("sell", notional="inf"), r"^notional: .*not finite", id="inf notional"
        ),
        pytest.param(
            lambda b: b.walk("buy", limit_price="100.5"), r"^limit_price: .*beyond 0", id="limit"
        ),
        pytest.param(lambda b: b.walk("bid", "1"), r"^side: expected 'buy' or 'sell'", id="side"),
        pytest.param(lambda b: b.cost("buy", "1", -1.0), r"^taker_fee_bps: ", id="negative fee"),
        pytest.param(lambda b: b.cost("buy", "1", float("nan")), r"^taker_fee_bps: ", id="NaN fee"),
        pytest.param(lambda b: b.cost("buy", "1.5", 1.0), r"^quantity: ", id="cost quantity"),
    ],
)
def test_bad_walk_arguments_are_refused_by_name(
    call: Callable[[sor.OrderBook], object], message: str
) -> None:
    with pytest.raises(sor.InvalidInput, match=message):
        call(ladder())


# ------------------------------------------------------------------------------------------------
# Cost

fees = st.one_of(
    st.sampled_from([0.0, 0.1, 1.0, 2.5, 7.5, 10.0, 25.0, 100.0]),
    exact_bps(500),
)


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), fee=fees, data=st.data())
def test_execution_cost_matches_reference_fee_math(
    side: TakerSide, book: RefBook, fee: float, data: st.DataObject
) -> None:
    core = build(book)
    lots = data.draw(quantities(book, side))
    quantity = render(lots, book.size_decimals)
    want_walk = walk(book, side, quantity=lots)
    want = execution_cost(want_walk, fee)
    for got in (sor.execution_cost(core.walk(side, quantity), fee), core.cost(side, quantity, fee)):
        assert_walk_matches(got.walk, want_walk)
        assert got.taker_fee_bps == bps_units(fee) / 1e4
        assert close(got.fee, want.fee)
        assert close(got.total, want.total)
        assert close(got.effective_price, want.effective_price)
        if side == "buy":
            assert got.total >= float(want_walk.notional) * (1 - 1e-12)
        else:
            assert got.total <= float(want_walk.notional) * (1 + 1e-12)


def test_cost_adds_the_fee_for_a_buy_and_takes_it_off_a_sell() -> None:
    book = sor.OrderBook(2, 2)
    book.apply_snapshot([("99.00", "2")], [("100.00", "2")])
    buy = book.cost("buy", "2", 10.0)
    # 2 at 100 = 200 quote; 10 bps = 0.2.
    assert (buy.fee, buy.total, buy.effective_price) == pytest.approx((0.2, 200.2, 100.1))
    sell = book.cost("sell", "2", 10.0)
    assert (sell.fee, sell.total, sell.effective_price) == pytest.approx((0.198, 197.802, 98.901))
    nothing = sor.OrderBook(2, 2).cost("buy", "1", 10.0)
    assert (nothing.fee, nothing.total, nothing.effective_price) == (0.0, 0.0, 0.0)


def test_fee_is_exact_to_a_ten_thousandth_of_a_basis_point() -> None:
    got = ladder().cost("buy", "1", 1.2346)
    assert got.taker_fee_bps == 1.2346
    assert got.fee == float(100 * Fraction(12346, 10**8))
    # Finer than the core holds: refused, never rounded.
    with pytest.raises(sor.InvalidInput, match=r"^taker_fee_bps: .*beyond 4 decimal places"):
        ladder().cost("buy", "1", 1.23456)


# ------------------------------------------------------------------------------------------------
# Batches


@given(
    books=st.lists(ref_books(max_levels=6), min_size=0, max_size=5),
    side=st.sampled_from(TAKER_SIDES),
    data=st.data(),
)
def test_walk_many_equals_individual_walks(
    books: list[RefBook], side: TakerSide, data: st.DataObject
) -> None:
    cores = [build(book) for book in books]
    quantities_ = [
        data.draw(renderings(data.draw(quantities(book, side)), book.size_decimals))
        for book in books
    ]
    batch = sor.walk_many(cores, side, quantities_)
    assert len(batch) == len(books)
    for got, core, book, quantity in zip(batch, cores, books, quantities_, strict=True):
        single = core.walk(side, quantity)
        assert_walk_matches(got, walk(book, side, quantity=book_lots(book, quantity)))
        assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
            single.filled_lots,
            single.notional_raw,
            single.levels_consumed,
            single.complete,
        )
        assert (got.average_price, got.slippage_bps) == (single.average_price, single.slippage_bps)


def book_lots(book: RefBook, quantity: str | Decimal | int) -> int:
    """A rendered quantity back in lots of ``book``."""
    return int(Fraction(Decimal(quantity)) * 10**book.size_decimals)


def test_walk_many_refuses_mismatched_lengths_and_names_the_bad_quantity() -> None:
    books = [ladder(), ladder()]
    with pytest.raises(sor.InvalidInput, match="same length, got 2 and 1"):
        sor.walk_many(books, "buy", ["1"])
    with pytest.raises(sor.InvalidInput, match=r"^quantities\[1\]: "):
        sor.walk_many(books, "buy", ["1", "0.5"])
    with pytest.raises(sor.InvalidInput, match=r"^side: "):
        sor.walk_many(books, "ask", ["1", "1"])  # type: ignore[arg-type]
