"""Walking a side (by quantity, notional, limit price) and fee-inclusive execution cost.

Exact figures (lots, raw notional, prices, levels, complete) must equal the model in
``reference.py``; derived floats (average price, slippage, fee, total, effective price) must be
within 1e-9 relative of the model's exact values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from helpers import build, close, close_or_none, exact_bps, ref_books, render, renderings
from reference import (
    TAKER_SIDES,
    RefBook,
    RefWalk,
    TakerSide,
    as_decimal,
    attempt,
    bps_units,
    consumed_side,
    execution_cost,
    from_units,
    walk,
    walk_request,
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
    assert close_or_none(got.average_price, want.average_price, abs_tol=0.0)
    assert close_or_none(got.slippage_bps, want.slippage_bps)


def assert_walk_or_refusal(
    call: Callable[[], sor.WalkResult], model: Callable[[], RefWalk]
) -> sor.WalkResult | None:
    """The core walk equals the model's, or both refuse it (``InvalidInput`` naming the
    model's field); returns the core's walk when there is one."""
    refusal = attempt(model)
    if refusal is not None:
        kind = sor.InvalidInput if refusal.kind == "invalid" else sor.BookError
        with pytest.raises(kind, match=f"^{re.escape(refusal.field)}: "):
            call()
        return None
    want = model()
    got = call()
    assert_walk_matches(got, want)
    return got


def price_near(book: RefBook, side: TakerSide) -> st.SearchStrategy[int]:
    """Limit prices (ticks) around the levels a taker on ``side`` would consume."""
    prices = list(book.side(consumed_side(side))) or [100]
    return st.integers(max(1, min(prices) - 40), max(prices) + 40)


def quantities(book: RefBook, side: TakerSide, low: int = 0) -> st.SearchStrategy[int]:
    """Quantities (lots) from ``low`` to a little more than the side holds."""
    depth = book.total_lots(consumed_side(side))
    return st.one_of(st.integers(low, max(low, depth + 3)), st.integers(low, 2**63))


def notionals(book: RefBook, side: TakerSide, widest: int = 2**63) -> st.SearchStrategy[int]:
    """Notionals (raw units) up to a little more than the side is worth (at most ``widest``),
    often just past the worth of the first few levels (where whole-lot rounding and level
    changes meet)."""
    levels = book.levels(consumed_side(side))
    worth = sum(p * s for p, s in levels)
    prefixes = [sum(p * s for p, s in levels[:k]) for k in range(len(levels) + 1)]
    prices = [p for p, _ in levels] or [1]
    near_level = st.builds(
        lambda base, price, nudge: min(max(0, base + price + nudge), widest),
        st.sampled_from(prefixes),
        st.sampled_from([0, *prices]),
        st.integers(-3, 3),
    )
    return st.one_of(st.integers(0, min(worth + worth // 10 + 10, widest)), near_level)


# ------------------------------------------------------------------------------------------------
# Walks against the model


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_by_quantity_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    lots = data.draw(quantities(book, side))
    text = data.draw(renderings(lots, book.size_decimals))
    assert_walk_or_refusal(
        lambda: core.walk(side, text), lambda: walk_request(book, side, quantity=lots)
    )


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book=ref_books(), data=st.data())
def test_walk_by_notional_takes_whole_lots_and_matches_reference(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    raw = data.draw(notionals(book, side))
    text = data.draw(renderings(raw, book.price_decimals + book.size_decimals))
    assert_walk_or_refusal(
        lambda: core.walk(side, notional=text), lambda: walk_request(book, side, notional=raw)
    )


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
    quantity = None if lots is None else data.draw(renderings(lots, sd))
    notional = None if raw is None else data.draw(renderings(raw, pd + sd))
    limit_price = None if limit is None else data.draw(renderings(limit, pd))
    assert_walk_or_refusal(
        lambda: core.walk(side, quantity, notional=notional, limit_price=limit_price),
        lambda: walk_request(book, side, quantity=lots, notional=raw, limit_price=limit),
    )


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
    lots = data.draw(st.none() | quantities(book, side, low=1))
    raw = data.draw(st.none() | notionals(book, side).filter(bool))
    limit = data.draw(st.none() | price_near(book, side))
    if lots is None and raw is None and limit is None:
        limit = data.draw(price_near(book, side))  # a walk needs a bound
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
        if got.notional_raw < raw and got.filled_lots == depth and (lots is None or depth < lots):
            # The side ran out before the notional (or quantity) was reached: never complete.
            assert not got.complete
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


def test_walk_without_any_bound_is_refused_naming_the_missing_bound() -> None:
    with pytest.raises(sor.InvalidInput, match=r"^quantity, notional or limit_price: "):
        ladder().walk("buy")
    with pytest.raises(sor.InvalidInput, match=r"^quantity, notional or limit_price: "):
        ladder().walk("sell", None, notional=None, limit_price=None)


def test_zero_quantity_or_notional_is_refused_everywhere() -> None:
    book = ladder()
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: book.walk("buy", "0"), "quantity"),
        (lambda: book.walk("buy", Decimal("0.000")), "quantity"),
        (lambda: book.walk("sell", notional="0"), "notional"),
        (lambda: book.walk("buy", "1", notional="0E-8"), "notional"),
        (lambda: book.cost("buy", "0", 1.0), "quantity"),
        (lambda: sor.walk_many([book], "buy", ["0"]), r"quantities\[0\]"),
        (lambda: sor.allocate([book], "buy", "0", [sor.VenueRules()]), "quantity"),
        (lambda: sor.allocate_many([book], "buy", ["0"], [sor.VenueRules()]), r"quantities\[0\]"),
        (lambda: sor.rank_venues([book], "buy", "0", [0.0], [1.0], [1.0]), "quantity"),
    ]
    for call, field in calls:
        with pytest.raises(sor.InvalidInput, match=f"^{field}:? .*positive"):
            call()
    for bad in ("0", "-1"):
        with pytest.raises(sor.InvalidInput, match=r"^amount: "):
            sor.OrderRequest("BTC/USDT", "buy", bad)
    with pytest.raises(sor.InvalidInput, match=r"^(quantity|notional): .*negative"):
        book.walk("buy", notional="-5")


def test_walk_of_an_empty_side_fills_nothing_and_is_incomplete() -> None:
    book = sor.OrderBook(2, 2)
    got = book.walk("buy", "1")
    assert (got.filled_lots, got.best_price, got.worst_price, got.complete) == (
        0,
        None,
        None,
        False,
    )
    # No fill, no price: None, never a price of zero.
    assert (got.average_price, got.slippage_bps) == (None, None)
    assert book.cost("buy", "1", 10.0).effective_price is None
    got = ladder().walk("buy", "3", limit_price="99")
    assert (got.filled_lots, got.average_price, got.slippage_bps) == (0, None, None)
    assert "average_price=None" in repr(got)
    assert "slippage_bps=None" in repr(got)


# ------------------------------------------------------------------------------------------------
# Issue 9: notional completeness, wide notionals, huge sides


def test_notional_walk_that_runs_the_book_out_is_incomplete() -> None:
    book = sor.OrderBook(0, 0)
    book.apply_snapshot(bids=[], asks=[("100", "1")])
    got = book.walk("buy", notional="199")
    # The book held 100 of the 199 asked: the 99 left is less than a lot, but the book ran out.
    assert (got.filled, got.notional, got.complete) == (Decimal(1), Decimal(100), False)
    # Spent exactly as the book runs out: the target was reached.
    assert book.walk("buy", notional="100").complete
    bids = sor.OrderBook(0, 0)
    bids.apply_snapshot(bids=[("100", "1")], asks=[])
    assert not bids.walk("sell", notional="150").complete


def test_notional_walk_stopped_by_the_limit_is_complete_only_if_no_lot_would_fit() -> None:
    # Asks 100 x 2, 101 x 3, 105 x 10. Up to 101 with 700: 503 spent, 197 left buys a 105 lot,
    # so the limit stopped the walk. With 600: 97 left, too little for 105: the target binds.
    book = ladder()
    stopped = book.walk("buy", notional="700", limit_price="101")
    assert (stopped.filled_lots, stopped.notional_raw, stopped.complete) == (5, 503, False)
    reached = book.walk("buy", notional="600", limit_price="101")
    assert (reached.filled_lots, reached.notional_raw, reached.complete) == (5, 503, True)
    assert reached.filled_lots == book.walk("buy", notional="600").filled_lots


def test_a_walks_own_notional_is_accepted_back_at_every_precision() -> None:
    book = sor.OrderBook(8, 10)
    book.apply_snapshot([], [("12345.12345678", "11.1234567891")])
    first = book.walk("buy", "11.1234567891")
    # 18 decimal places and more than 2**64 raw units.
    assert first.notional_raw > 2**64
    again = book.walk("buy", notional=first.notional)
    assert (again.filled, again.notional, again.complete) == (first.filled, first.notional, True)
    assert book.walk("buy", notional=str(first.notional)).notional == first.notional
    assert book.walk("buy", notional="138024.953446637651425098").complete is False


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(
    book=ref_books(
        max_levels=6,
        price_decimals=st.integers(0, 18),
        size_decimals=st.integers(0, 18),
        max_size=10**18,
        min_levels=1,
    ),
    data=st.data(),
)
def test_quantity_walk_notional_walks_back_to_the_same_fill(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    # Buying (or selling) a walk's own notional takes exactly the same lots: the cheapest (or
    # dearest) first, spending it to the last unit.
    core = build(book)
    lots = data.draw(quantities(book, side, low=1))
    first = core.walk(side, render(lots, book.size_decimals))
    if first.filled_lots == 0:
        return
    again = core.walk(side, notional=first.notional)
    assert (again.filled_lots, again.notional_raw, again.levels_consumed, again.complete) == (
        first.filled_lots,
        first.notional_raw,
        first.levels_consumed,
        True,
    )


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(
    book=ref_books(
        price_decimals=st.integers(0, 10),
        size_decimals=st.integers(0, 10),
        max_size=10**15,
    ),
    data=st.data(),
)
def test_notional_walk_matches_reference_at_every_precision_and_wide_notionals(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    pd, sd = book.price_decimals, book.size_decimals
    raw = data.draw(notionals(book, side, widest=2**128 - 1))
    limit = data.draw(st.none() | price_near(book, side))
    notional = data.draw(renderings(raw, pd + sd))
    limit_price = None if limit is None else render(limit, pd)
    assert_walk_or_refusal(
        lambda: core.walk(side, notional=notional, limit_price=limit_price),
        lambda: walk_request(book, side, notional=raw, limit_price=limit),
    )


def test_walk_over_more_lots_than_64_bits_hold_is_refused_not_saturated() -> None:
    book = sor.OrderBook(0, 0)
    book.apply_snapshot([], [("1", "1e19"), ("2", "1e19")])
    for call in (
        lambda: book.walk("buy", limit_price="2"),
        lambda: book.walk("buy", notional="30000000000000000000"),
    ):
        with pytest.raises(sor.InvalidInput, match=r"^walk: .*more than 18446744073709551615"):
            call()
    # What fits is exact; the depth queries are exact however deep.
    got = book.walk("buy", notional="26000000000000000000")
    assert (got.filled_lots, got.notional_raw, got.complete) == (18 * 10**18, 26 * 10**18, True)
    assert book.walk("buy", limit_price="1").filled_lots == 10**19
    assert book.depth_up_to("ask", "2") == Decimal(2 * 10**19)
    assert book.depth_within_bps("ask", 10_000.0) == Decimal(2 * 10**19)


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(
    book=ref_books(max_levels=5, max_size=2**64 - 1, min_levels=1),
    data=st.data(),
)
def test_walks_over_huge_sides_are_exact_or_refused(
    side: TakerSide, book: RefBook, data: st.DataObject
) -> None:
    core = build(book)
    pd, sd = book.price_decimals, book.size_decimals
    limit = data.draw(price_near(book, side))
    raw = data.draw(st.none() | notionals(book, side, widest=2**128 - 1).filter(bool))
    notional = None if raw is None else render(raw, pd + sd)
    assert_walk_or_refusal(
        lambda: core.walk(side, notional=notional, limit_price=render(limit, pd)),
        lambda: walk_request(book, side, notional=raw, limit_price=limit),
    )
    consumed = consumed_side(side)
    inside = [s for p, s in book.levels(consumed) if (p <= limit if side == "buy" else p >= limit)]
    assert core.depth_up_to(consumed, render(limit, pd)) == as_decimal(from_units(sum(inside), sd))


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
    lots = data.draw(quantities(book, side, low=1))
    quantity = render(lots, book.size_decimals)
    want_walk = walk(book, side, quantity=lots)
    want = execution_cost(want_walk, fee)
    for got in (sor.execution_cost(core.walk(side, quantity), fee), core.cost(side, quantity, fee)):
        assert_walk_matches(got.walk, want_walk)
        assert got.taker_fee_bps == bps_units(fee) / 1e4
        assert close(got.fee, want.fee)
        assert close(got.total, want.total)
        assert close_or_none(got.effective_price, want.effective_price)
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
    assert (nothing.fee, nothing.total, nothing.effective_price) == (0.0, 0.0, None)


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
        data.draw(renderings(data.draw(quantities(book, side, low=1)), book.size_decimals))
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
