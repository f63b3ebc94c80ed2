"""Multi-venue allocation (``sor.allocate``, ``sor.allocate_many``).

Every allocation must be valid (parts are whole lots of their venue, within its minimums and cap,
never more than its book holds; parts plus unfilled make the order), never cost more than the
cheapest single venue that could take the whole order, and - whenever it says
``proven_optimal``, whatever the venues' lots - be optimal: a brute-force search over every split
finds none that fills more, or fills the same for less (exact ``Fraction`` arithmetic from
``notional_raw`` and the fee).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from helpers import build, close
from reference import (
    TAKER_SIDES,
    RefBook,
    RefRules,
    TakerSide,
    as_decimal,
    brute_force_allocate,
    consumed_side,
    execution_cost,
    from_units,
    single_venue_totals,
    walk,
)

# ------------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Case:
    """An allocation problem: books, side, quantity (base units) and each venue's rules."""

    books: tuple[RefBook, ...]
    side: TakerSide
    requested: Fraction
    rules: tuple[RefRules, ...]

    def core_books(self) -> list[sor.OrderBook]:
        """The books as core books."""
        return [build(book) for book in self.books]

    def core_rules(self) -> list[sor.VenueRules]:
        """The rules as core ``VenueRules`` (decimal text)."""
        return [core_rules(rule) for rule in self.rules]

    def quantity(self) -> str:
        """The order quantity as decimal text."""
        return str(as_decimal(self.requested))

    def allocate(self) -> sor.Allocation:
        """``sor.allocate`` for this case."""
        return sor.allocate(self.core_books(), self.side, self.quantity(), self.core_rules())


def text(value: Fraction | None) -> str | None:
    """An exact decimal ``Fraction`` as text (None stays None)."""
    return None if value is None else str(as_decimal(value))


def core_rules(rule: RefRules) -> sor.VenueRules:
    """Model rules as core ``VenueRules``."""
    return sor.VenueRules(
        taker_fee_bps=rule.taker_fee_bps,
        lot_size=text(rule.lot_size),
        min_quantity=text(rule.min_quantity) if rule.min_quantity else None,
        min_notional=text(rule.min_notional) if rule.min_notional else None,
        max_quantity=text(rule.max_quantity),
    )


fees = st.sampled_from([0.0, 1.0, 2.5, 5.0, 7.5, 10.0, 40.0])


@st.composite
def small_book(draw: st.DrawFn, side: TakerSide, size_decimals: int, lot_units: int) -> RefBook:
    """A 1-4 level book around 100 quote on the side ``side`` consumes (sizes up to ~6 lots)."""
    pd = draw(st.integers(0, 2))
    book = RefBook(pd, size_decimals)
    levels = draw(st.integers(1, 4))
    price = 100 * 10**pd + draw(st.integers(-3, 3)) * 10 ** max(0, pd - 1)
    for _ in range(levels):
        # Sizes are usually whole lots of the venue, sometimes with a remainder.
        size = draw(st.integers(1, 3)) * lot_units + draw(st.sampled_from([0, 0, 1]))
        book.side(consumed_side(side))[price] = size
        step = draw(st.integers(1, 3)) * 10 ** max(0, pd - 1)
        price = price + step if side == "buy" else price - step
    # One level on the other side keeps the book realistic (never crossed).
    asks_min = min(book.asks, default=10**9)
    bids_max = max(book.bids, default=0)
    if side == "buy":
        book.bids[max(1, asks_min - 5 * 10**pd)] = 1
    else:
        book.asks[bids_max + 5 * 10**pd] = 1
    return book


@st.composite
def rules_for(draw: st.DrawFn, lot: Fraction | None, unit: Fraction) -> RefRules:
    """Random rules: fee, optional minimum quantity / notional (finer than the book sometimes)
    and an optional cap; ``unit`` is the venue's typical lot (base), worth about 100x in quote."""
    return RefRules(
        taker_fee_bps=draw(fees),
        lot_size=lot,
        min_quantity=draw(st.sampled_from([*[Fraction(0)] * 4, 2 * unit, 3 * unit + unit / 10])),
        min_notional=draw(
            st.sampled_from(
                [
                    *[Fraction(0)] * 4,
                    150 * unit,
                    Fraction(2505, 10) * unit + Fraction(1, 10**7),
                ]
            )
        ),
        max_quantity=draw(
            st.sampled_from([*[None] * 6, 3 * unit, 5 * unit - unit / 10, Fraction(0)])
        ),
    )


@st.composite
def common_lot_cases(draw: st.DrawFn) -> Case:
    """1-3 venues that all trade in one lot (books of possibly different size precisions)."""
    side: TakerSide = draw(st.sampled_from(TAKER_SIDES))
    lot_decimals = draw(st.integers(0, 2))
    lot = Fraction(draw(st.sampled_from([1, 2, 5])), 10**lot_decimals)
    books = []
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        sd = lot_decimals + draw(st.integers(0, 1))
        lot_units = int(lot * 10**sd)
        books.append(draw(small_book(side, sd, lot_units)))
        rules.append(draw(rules_for(lot, lot)))
    depth = sum(
        from_units(book.total_lots(consumed_side(side)), book.size_decimals) for book in books
    )
    lots = draw(st.integers(1, int(depth / lot) + 2))
    requested = lots * lot + draw(st.sampled_from([Fraction(0)] * 3 + [lot / 10]))
    return Case(tuple(books), side, requested, tuple(rules))


@st.composite
def mixed_lot_cases(draw: st.DrawFn) -> Case:
    """1-3 venues with their own lots (0.01 to 0.05 base, or the book's lot)."""
    side: TakerSide = draw(st.sampled_from(TAKER_SIDES))
    books = []
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        sd = draw(st.integers(2, 3))
        lot = draw(st.sampled_from([None, *(Fraction(k, 100) for k in (1, 2, 3, 5))]))
        venue_lot = lot if lot is not None else Fraction(1, 10**sd)
        lot_units = int(venue_lot * 10**sd)
        books.append(draw(small_book(side, sd, max(lot_units, 3))))
        rules.append(draw(rules_for(lot, Fraction(1, 100))))
    requested = Fraction(draw(st.integers(1, 20)), 100) + draw(
        st.sampled_from([Fraction(0), Fraction(0), Fraction(1, 1000)])
    )
    return Case(tuple(books), side, requested, tuple(rules))


# ------------------------------------------------------------------------------------------------
# Checks


def exact_total(case: Case, part: sor.AllocationPart) -> Fraction:
    """A part's fee-inclusive total, exact, from its raw notional and the venue's fee."""
    book = case.books[part.index]
    lots = Fraction(part.quantity) * 10**book.size_decimals
    assert lots.denominator == 1
    want = walk(book, case.side, quantity=int(lots))
    assert part.walk.notional_raw == want.notional_raw
    return execution_cost(want, case.rules[part.index].taker_fee_bps).total


def assert_valid(case: Case, got: sor.Allocation) -> Fraction:
    """The allocation keeps every rule; returns its exact total."""
    requested = as_decimal(case.requested)
    assert got.requested == requested
    indices = [part.index for part in got.parts]
    assert indices == sorted(set(indices)), "one part per venue, by venue index"
    filled = Fraction(0)
    total = Fraction(0)
    for part in got.parts:
        book, rule = case.books[part.index], case.rules[part.index]
        quantity = Fraction(part.quantity)
        lot = rule.lot_size if rule.lot_size is not None else from_units(1, book.size_decimals)
        assert quantity > 0
        assert (quantity / lot).denominator == 1, f"part {part.index} is not whole lots"
        assert quantity >= rule.min_quantity
        if rule.max_quantity is not None:
            assert quantity <= rule.max_quantity
        want = walk(book, case.side, quantity=int(quantity * 10**book.size_decimals))
        assert want.complete, "a part never exceeds its book"
        assert part.walk.complete
        assert part.walk.filled == part.quantity
        assert (part.walk.filled_lots, part.walk.notional_raw, part.walk.levels_consumed) == (
            want.filled_lots,
            want.notional_raw,
            want.levels_consumed,
        )
        assert part.walk.side == case.side
        assert want.notional >= rule.min_notional
        cost = execution_cost(want, rule.taker_fee_bps)
        assert close(part.cost.total, cost.total)
        assert close(part.cost.fee, cost.fee)
        assert part.cost.walk.notional_raw == want.notional_raw
        filled += quantity
        total += cost.total
    assert Fraction(got.filled) == filled
    assert Fraction(got.filled) + Fraction(got.unfilled) == case.requested
    assert Fraction(got.unfilled) >= 0
    assert got.complete is (Fraction(got.unfilled) == 0)
    assert close(got.total, total)
    return total


def assert_no_worse_than_any_single_venue(case: Case, got: sor.Allocation, total: Fraction) -> None:
    """If one venue could take the whole order alone, the allocation is complete and no dearer."""
    singles = single_venue_totals(case.books, case.side, case.requested, case.rules)
    if not singles:
        return
    assert got.complete
    if case.side == "buy":
        assert total <= min(singles)
    else:
        assert total >= max(singles)


# ------------------------------------------------------------------------------------------------
# Properties


@given(case=common_lot_cases())
def test_allocation_with_a_common_lot_is_valid_and_no_split_beats_it(case: Case) -> None:
    got = case.allocate()
    total = assert_valid(case, got)
    assert_no_worse_than_any_single_venue(case, got, total)
    best = brute_force_allocate(case.books, case.side, case.requested, case.rules)
    assert Fraction(got.filled) == best.filled, "a split exists that fills more"
    assert total == best.total, (
        f"a split fills the same for {'less' if case.side == 'buy' else 'more'}: {best}"
    )
    assert got.proven_optimal


@given(case=mixed_lot_cases())
def test_allocation_with_different_lots_is_valid_and_no_dearer_than_one_venue(case: Case) -> None:
    got = case.allocate()
    total = assert_valid(case, got)
    assert_no_worse_than_any_single_venue(case, got, total)


@given(case=mixed_lot_cases())
def test_allocation_with_different_lots_proven_optimal_equals_brute_force(case: Case) -> None:
    got = case.allocate()
    total = assert_valid(case, got)
    best = brute_force_allocate(case.books, case.side, case.requested, case.rules)
    if got.proven_optimal:
        assert Fraction(got.filled) == best.filled, "a split exists that fills more"
        assert total == best.total, f"a split fills the same at a better total: {best}"
    # Cases this small stay far below the search's node limit.
    assert got.proven_optimal, f"not proven: {got}, best {best}"


@given(
    cases=common_lot_cases(),
    extra=st.lists(st.integers(0, 30), min_size=0, max_size=4),
)
def test_allocate_many_equals_individual_allocations(cases: Case, extra: list[int]) -> None:
    books = cases.core_books()
    rules = cases.core_rules()
    quantities = [cases.quantity(), *(str(Decimal(k) / 10) for k in extra if k)]
    batch = sor.allocate_many(books, cases.side, quantities, rules)
    assert len(batch) == len(quantities)
    for got, quantity in zip(batch, quantities, strict=True):
        single = sor.allocate(books, cases.side, quantity, rules)
        assert (got.requested, got.filled, got.unfilled, got.complete) == (
            single.requested,
            single.filled,
            single.unfilled,
            single.complete,
        )
        assert got.total == single.total
        assert [(p.index, p.quantity, p.walk.notional_raw, p.cost.total) for p in got.parts] == [
            (p.index, p.quantity, p.walk.notional_raw, p.cost.total) for p in single.parts
        ]


# ------------------------------------------------------------------------------------------------
# Worked examples


def asks(*levels: tuple[str, str], decimals: tuple[int, int] = (2, 2)) -> sor.OrderBook:
    """A book with the given asks (and one bid far below)."""
    book = sor.OrderBook(*decimals)
    book.apply_snapshot([("1", "1")], list(levels))
    return book


def bids(*levels: tuple[str, str], decimals: tuple[int, int] = (2, 2)) -> sor.OrderBook:
    """A book with the given bids (and one ask far above)."""
    book = sor.OrderBook(*decimals)
    book.apply_snapshot(list(levels), [("100000", "1")])
    return book


def split(got: sor.Allocation) -> dict[int, Decimal]:
    """The allocation as venue index -> quantity."""
    return {part.index: part.quantity for part in got.parts}


def test_allocation_takes_the_cheapest_levels_across_books() -> None:
    a = asks(("100", "1"), ("102", "5"))
    b = asks(("101", "1"), ("103", "5"))
    got = sor.allocate([a, b], "buy", "3", [sor.VenueRules(), sor.VenueRules()])
    assert split(got) == {0: Decimal(2), 1: Decimal(1)}
    assert got.total == pytest.approx(100 + 101 + 102)
    assert got.complete
    assert got.unfilled == Decimal(0)


def test_allocation_compares_prices_after_fees() -> None:
    # 100 + 1% fee = 101 per unit is dearer than 100.5 with no fee.
    a = asks(("100", "10"))
    b = asks(("100.5", "10"))
    got = sor.allocate([a, b], "buy", "2", [sor.VenueRules(100.0), sor.VenueRules(0.0)])
    assert split(got) == {1: Decimal(2)}
    assert got.total == pytest.approx(201.0)


def test_sell_allocation_maximises_proceeds_net_of_fees() -> None:
    a = bids(("100", "1"), ("90", "5"))
    b = bids(("99", "2"))
    got = sor.allocate([a, b], "sell", "3", [sor.VenueRules(), sor.VenueRules(10.0)])
    assert split(got) == {0: Decimal(1), 1: Decimal(2)}
    assert got.total == pytest.approx(100 + 2 * 99 * (1 - 0.001))


def test_allocation_respects_lot_size_minimums_and_cap() -> None:
    cheap = asks(("100", "10"))
    dear = asks(("101", "10"))
    rules = [sor.VenueRules(lot_size="0.5", max_quantity="1.7"), sor.VenueRules()]
    got = sor.allocate([cheap, dear], "buy", "2.25", rules)
    # The cheap venue may take at most 1.5 (whole half-units under its 1.7 cap).
    assert split(got) == {0: Decimal("1.5"), 1: Decimal("0.75")}
    rules = [sor.VenueRules(min_notional="160"), sor.VenueRules()]
    got = sor.allocate([cheap, dear], "buy", "1.5", rules)
    # 1.5 at 100 = 150 quote is below the cheap venue's minimum notional.
    assert split(got) == {1: Decimal("1.5")}
    rules = [sor.VenueRules(min_quantity="2"), sor.VenueRules()]
    got = sor.allocate([cheap, dear], "buy", "1.5", rules)
    assert split(got) == {1: Decimal("1.5")}


def test_allocation_says_how_much_could_not_be_placed() -> None:
    got = sor.allocate(
        [asks(("100", "1")), asks(("101", "0.5"))],
        "buy",
        "2.005",
        [sor.VenueRules(), sor.VenueRules()],
    )
    assert got.filled == Decimal("1.5")
    assert got.unfilled == Decimal("0.505")
    assert got.requested == Decimal("2.005")
    assert not got.complete


def test_allocation_over_empty_books_places_nothing() -> None:
    empty = sor.OrderBook(2, 2)
    got = sor.allocate([empty], "sell", "1", [sor.VenueRules()])
    assert got.parts == []
    assert (got.filled, got.unfilled, got.complete, got.total) == (
        Decimal(0),
        Decimal(1),
        False,
        0.0,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "buy", "1", []),
            r"books and rules must have the same length, got 1 and 0",
            id="length",
        ),
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "buy", "0", [sor.VenueRules()]),
            r"quantity must be positive",
            id="zero quantity",
        ),
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "buy", "-1", [sor.VenueRules()]),
            r"^quantity: .*negative",
            id="negative quantity",
        ),
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "buy", 1.0, [sor.VenueRules()]),  # type: ignore[arg-type]
            r"^quantity: floats",
            id="float quantity",
        ),
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "buy", "NaN", [sor.VenueRules()]),
            r"^quantity: .*not finite",
            id="NaN quantity",
        ),
        pytest.param(
            lambda: sor.allocate([asks(("100", "1"))], "hold", "1", [sor.VenueRules()]),  # type: ignore[arg-type]
            r"^side: ",
            id="side",
        ),
        pytest.param(
            lambda: sor.allocate(
                [asks(("100", "1")), asks(("100", "1"))],
                "buy",
                "1",
                [sor.VenueRules(), sor.VenueRules(lot_size="0.001")],
            ),
            r"^rules\[1\]\.lot_size: finer than the book's size precision",
            id="lot finer than book",
        ),
        pytest.param(
            lambda: sor.VenueRules(lot_size="0"), r"^lot_size: must be positive", id="zero lot"
        ),
        pytest.param(
            lambda: sor.VenueRules(taker_fee_bps=-1.0), r"^taker_fee_bps: ", id="negative fee"
        ),
        pytest.param(
            lambda: sor.VenueRules(min_quantity="-1"), r"^min_quantity: .*negative", id="min qty"
        ),
        pytest.param(
            lambda: sor.VenueRules(min_notional="inf"), r"^min_notional: .*finite", id="notional"
        ),
        pytest.param(
            lambda: sor.VenueRules(max_quantity=2.0),  # type: ignore[arg-type]
            r"^max_quantity: floats",
            id="float cap",
        ),
        pytest.param(
            lambda: sor.allocate_many([asks(("100", "1"))], "buy", ["1", "-2"], [sor.VenueRules()]),
            r"^quantities\[1\]: ",
            id="allocate_many quantity",
        ),
    ],
)
def test_bad_allocation_input_is_refused_naming_the_field(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(sor.InvalidInput, match=message):
        call()


def test_venue_rules_keep_what_they_were_given() -> None:
    rules = sor.VenueRules(2.5, "0.001", "0.01", "5", "10")
    assert rules.taker_fee_bps == 2.5
    assert (rules.lot_size, rules.min_quantity, rules.min_notional, rules.max_quantity) == (
        Decimal("0.001"),
        Decimal("0.01"),
        Decimal(5),
        Decimal(10),
    )
    default = sor.VenueRules()
    assert (default.lot_size, default.min_quantity, default.min_notional, default.max_quantity) == (
        None,
        Decimal(0),
        Decimal(0),
        None,
    )


# ------------------------------------------------------------------------------------------------
# Mixed lot sizes (issue 9, item 5): the reproductions


def test_mixed_lots_buy_takes_the_cheap_coarse_venue_when_the_fine_one_can_finish() -> None:
    # Lots 4 and 3, buy 21: 21 on B alone costs 2,100; 12 on A (lot 4) + 9 on B (lot 3) costs
    # 600 + 900 = 1,500, the optimum (20 or 16 on A leave 1 or 5, not multiples of 3).
    a = asks(("50", "20"))
    b = asks(("100", "30"))
    rules = [sor.VenueRules(lot_size="4"), sor.VenueRules(lot_size="3")]
    got = sor.allocate([a, b], "buy", "21", rules)
    assert split(got) == {0: Decimal(12), 1: Decimal(9)}
    assert got.complete
    assert got.total == pytest.approx(1_500.0)
    assert got.proven_optimal


def test_mixed_lots_sell_fills_the_whole_order_when_a_valid_split_exists() -> None:
    # Lots 4 and 3, sell 13: 12 on A leaves 1 that B cannot take; 4 on A + 9 on B fill all 13.
    a = bids(("100", "12"))
    b = bids(("90", "20"))
    rules = [sor.VenueRules(lot_size="4"), sor.VenueRules(lot_size="3")]
    got = sor.allocate([a, b], "sell", "13", rules)
    assert split(got) == {0: Decimal(4), 1: Decimal(9)}
    assert got.complete
    assert got.total == pytest.approx(400.0 + 810.0)
    assert got.proven_optimal
