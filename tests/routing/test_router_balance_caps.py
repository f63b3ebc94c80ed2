"""Balance caps of the router computed in the core from exact integers (issue 9, item 3).

A buy is capped by what the quote balance pays for, taker fee on top: the core walks the asks by
``funds / (1 + fee)`` in the book's own notional unit, however many digits that takes, so no
figure sor computes itself can come back as an input error.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from router_support import Spec, make_book, make_router, market

import sor
from helpers import build, ref_books, render
from reference import RefBook, affordable_lots
from sor.errors import NoRouteError
from sor.orders import OrderRequest, RoutingStrategy
from sor.routing.decision import RejectReason

DOGE_ASKS = [("0.1234100", "50000.5"), ("0.1234200", "500000")]


def doge_router(usd: str) -> sor.SmartOrderRouter:
    """One DOGE/USD venue (tick 1e-7, step 1e-8, fee 26 bps) holding ``usd`` dollars."""
    doge = market(fee_bps=26, step="0.00000001", tick="0.0000001", symbol="DOGE/USD")
    book = make_book(
        asks=DOGE_ASKS, bids=[("0.1234000", "1000")], price_decimals=7, size_decimals=8
    )
    return make_router([Spec("kraken", book, doge, balances={"USD": usd})])


@pytest.mark.parametrize(
    "strategy",
    [RoutingStrategy.BEST_EXECUTION, RoutingStrategy.SPLIT, RoutingStrategy.COST_OPTIMIZATION],
)
@pytest.mark.parametrize("usd", ["100000", "10000"])
def test_ordinary_order_routes_under_a_balance_whose_cap_has_many_digits(
    strategy: RoutingStrategy, usd: str
) -> None:
    # 100000 / 1.0026 = 99740.674246957909435... at 15 decimal places: past 64 bits.
    decision = doge_router(usd).route(OrderRequest("DOGE/USD", "buy", "100", strategy=strategy))
    assert decision.quantity == Decimal(100)
    assert decision.venues == ("kraken",)


def test_balance_cap_is_what_the_funds_pay_for_with_the_fee_on_top() -> None:
    book = make_book(asks=DOGE_ASKS, price_decimals=7, size_decimals=8)
    cap = book.affordable("50000", 26.0)
    # 50000.5 DOGE cost 6170.67; the rest of the 49870.33... buys at 0.12342.
    want = Decimal("50000.5") + (
        (Decimal(50000) / Decimal("1.0026") - Decimal("50000.5") * Decimal("0.12341"))
        / Decimal("0.12342")
    ).quantize(Decimal("1E-8"), rounding="ROUND_FLOOR")
    assert cap == want
    assert cap is not None
    fee = Decimal("1.0026")
    assert book.walk("buy", cap).notional * fee <= 50000
    assert book.walk("buy", cap + Decimal("1E-8")).notional * fee > 50000
    # Funds past the book's worth (100000 > 67900.4 with the fee): the depth limits, no cap.
    assert book.affordable("100000", 26.0) is None
    assert book.affordable("0", 26.0) == Decimal(0)
    # Funds past 2**128 units (1e30 at 7 + 8 decimals) are more than any book: no cap, no error.
    assert book.affordable("1e30", 26.0) is None
    # Funds finer than the notional unit are rounded down, never refused.
    assert book.affordable("50000.0000000000000000001", 26.0) == cap


def test_balance_too_small_is_reported_as_a_balance_rejection() -> None:
    with pytest.raises(NoRouteError) as raised:
        doge_router("10").route(OrderRequest("DOGE/USD", "buy", "100"))
    reasons = [r.reason for r in raised.value.rejections]
    assert reasons == [RejectReason.BALANCE]


@given(
    book=ref_books(max_levels=5, max_size=30, min_levels=1),
    funds=st.fractions(0, 10**9).map(lambda f: f.limit_denominator(10**12)),
    fee=st.sampled_from([0.0, 1.0, 10.0, 26.0, 100.0, 2.5]),
)
def test_affordable_matches_reference(book: RefBook, funds: Fraction, fee: float) -> None:
    core = build(book)
    want = affordable_lots(book, funds, fee)
    got = core.affordable(render_fraction(funds), fee)
    if want is None:
        assert got is None
    else:
        assert got == Decimal(render(want, book.size_decimals))


@given(
    book=ref_books(max_levels=5, max_size=30, min_levels=1),
    funds=st.fractions(0, 10**9).map(lambda f: f.limit_denominator(10**12)),
    fee=st.sampled_from([0.0, 10.0, 26.0]),
    at_most=st.integers(0, 200),
)
def test_affordable_up_to_a_bound_is_the_reference_capped_at_it(
    book: RefBook, funds: Fraction, fee: float, at_most: int
) -> None:
    """Counting stops at ``at_most`` lots (what the router asks for a single-venue strategy,
    whose cap binds nothing beyond the order): the bound when the funds buy at least that many
    and the asks hold them, the reference's count below it, None when the asks run out first."""
    core = build(book)
    uncapped = affordable_lots(book, funds, fee)
    if uncapped is not None:
        want: int | None = min(uncapped, at_most)
    else:
        want = at_most if book.total_lots("ask") >= at_most else None
    bound = render(at_most, book.size_decimals)
    got = core.affordable(render_fraction(funds), fee, bound)
    assert got == (None if want is None else Decimal(render(want, book.size_decimals)))


def render_fraction(value: Fraction) -> str:
    """A non-negative fraction as decimal text, cut after 30 places (the core rounds down)."""
    whole, rest = divmod(value.numerator * 10**30 // value.denominator, 10**30)
    return f"{whole}.{rest:030d}"
