"""sor's results do not depend on the caller's decimal context (``decimal.getcontext()``).

A program may set any precision, rounding mode, exponent limits or traps for its own decimal
arithmetic; routing, markets, venues, orders, feeds and decisions must give exactly the same
figures (and the same errors) as under Python's default context.
"""

from __future__ import annotations

import decimal
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from reference import BOOK_SIDES
from sor import InvalidInput, NoRouteError, OrderRequest, RouterSettings
from sor.feeds.ccxt_feed import exact_decimal
from sor.feeds.events import MalformedMessage
from sor.feeds.exchanges.coinbase import levels_best_first
from sor.samples import sample_book

ROUNDINGS = [
    decimal.ROUND_CEILING,
    decimal.ROUND_DOWN,
    decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_UP,
    decimal.ROUND_05UP,
]
SIGNALS = [
    decimal.Clamped,
    decimal.DivisionByZero,
    decimal.Inexact,
    decimal.InvalidOperation,
    decimal.Overflow,
    decimal.Rounded,
    decimal.Subnormal,
    decimal.Underflow,
    decimal.FloatOperation,
]


@st.composite
def caller_contexts(draw: st.DrawFn) -> decimal.Context:
    """Any decimal context a calling program might install."""
    emax = draw(st.sampled_from([decimal.MAX_EMAX, 999_999, 100, 20]))
    return decimal.Context(
        prec=draw(st.integers(1, 50)),
        rounding=draw(st.sampled_from(ROUNDINGS)),
        Emax=emax,
        Emin=-emax,
        capitals=draw(st.sampled_from([0, 1])),
        clamp=draw(st.sampled_from([0, 1])),
        flags=[],
        traps=[signal for signal in SIGNALS if draw(st.booleans())],
    )


@contextmanager
def caller(context: decimal.Context) -> Iterator[None]:
    """Runs the block under ``context`` as the thread's decimal context."""
    with decimal.localcontext(context):
        yield


def default_context() -> decimal.Context:
    return decimal.Context()


def outcome(run: Callable[[], Any]) -> Any:
    """What ``run`` returns, or the type and message of the sor error it raises."""
    try:
        return run()
    except (InvalidInput, NoRouteError) as error:
        return type(error).__name__, str(error)


# ------------------------------------------------------------------------------------------------
# Routing


def market(step: str = "0.00001") -> sor.Market:
    return sor.Market(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        price_tick=Decimal("0.01"),
        amount_step=Decimal(step),
        taker_fee=Decimal("0.001"),
        min_cost=Decimal("5"),
    )


#: The routers' clock: the books, built once, never age.
NOW_NS = time.time_ns()


@functools.cache
def sample(seed: int, mid: float, size_decimals: int) -> sor.OrderBook:
    book = sample_book(seed=seed, mid=mid, size_decimals=size_decimals)
    levels = [[(level.price, level.size) for level in book.levels(side)] for side in BOOK_SIDES]
    book.apply_snapshot(*levels, sequence=1, timestamp_ns=NOW_NS)
    return book


def readme_router(balances: dict[str, str] | None = None, size_decimals: int = 5) -> Any:
    """The README's two-venue router (okx's USDT balance capped), cache off."""
    step = "0." + "0" * (size_decimals - 1) + "1"
    health = sor.InMemoryHealth(
        [
            sor.ExchangeMetrics("binance", latency_ema_ms=22.0, success_rate=0.998),
            sor.ExchangeMetrics("okx", latency_ema_ms=35.0, success_rate=0.997),
        ]
    )
    router = sor.SmartOrderRouter(
        [
            sor.Venue("binance", [market(step)]),
            sor.Venue("okx", [market(step)], balances=balances or {"USDT": "250000"}),
        ],
        health=health,
        settings=RouterSettings(cache_size=0),
        clock_ns=lambda: NOW_NS,
    )
    router.set_book("binance", "BTC/USDT", sample(1, 65_000.0, size_decimals))
    router.set_book("okx", "BTC/USDT", sample(2, 65_001.0, size_decimals))
    return router


def part_figures(part: sor.RoutePart) -> tuple[object, ...]:
    """Every figure of a part (the core's result types compare by identity)."""
    walk, cost = part.walk, part.cost
    return (
        part.venue,
        part.quantity.as_tuple(),
        walk.filled.as_tuple(),
        walk.average_price,
        walk.worst_price,
        walk.notional.as_tuple(),
        walk.levels_consumed,
        walk.slippage_bps,
        walk.complete,
        cost.total,
        cost.fee,
        cost.effective_price,
    )


def figures(decision: sor.RoutingDecision) -> tuple[object, ...]:
    """Everything a decision says except how long it took."""
    return (
        decision.strategy,
        decision.reason,
        [part_figures(part) for part in decision.parts],
        [part_figures(part) for part in decision.alternatives],
        [repr(score) for score in decision.scores],
        decision.rejections,
        decision.book_versions,
        decision.quantity.as_tuple(),
        decision.notional.as_tuple(),
        decision.fee,
        decision.total,
        decision.average_price,
        decision.effective_price,
    )


def routed(router: Any, order: OrderRequest) -> Any:
    return outcome(lambda: figures(router.route(order)))


def test_route_with_a_low_caller_precision_routes_a_capped_buy() -> None:
    order = OrderRequest("BTC/USDT", "buy", "1")
    expected = routed(readme_router(), order)
    with caller(decimal.Context(prec=12)):
        assert routed(readme_router(), order) == expected


def test_split_notional_does_not_depend_on_the_callers_precision() -> None:
    order = OrderRequest("BTC/USDT", "buy", "2.5", strategy="split")
    reference = readme_router().route(order)
    exact = sum((part.notional for part in reference.parts), Decimal(0))
    with caller(decimal.Context(prec=12)):
        decision = readme_router().route(order)
        assert decision.notional == reference.notional
        assert decision.average_price == reference.average_price
    assert reference.notional == exact


def test_huge_quote_balance_is_no_effective_cap() -> None:
    order = OrderRequest("BTC/USDT", "buy", "2.5")
    uncapped = figures(readme_router({}).route(order))
    assert figures(readme_router({"USDT": "1e30"}).route(order)) == uncapped
    # The widest book precision: a notional of 1e30 USDT no longer fits the core's units.
    wide = figures(readme_router({}, size_decimals=18).route(order))
    assert figures(readme_router({"USDT": "1e30"}, size_decimals=18).route(order)) == wide


def test_huge_base_balance_is_no_effective_cap() -> None:
    order = OrderRequest("BTC/USDT", "sell", "2.5")
    uncapped = figures(readme_router({}).route(order))
    assert figures(readme_router({"BTC": "1e30"}).route(order)) == uncapped


def test_balance_beyond_the_supported_magnitude_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInput, match=r"okx: balances\['USDT'\]: .*below 1e40"):
        sor.Venue("okx", [market()], balances={"USDT": "1e40"})
    with pytest.raises(InvalidInput, match=r"okx: balances\['USDT'\]: .*40 decimal places"):
        sor.Venue("okx", [market()], balances={"USDT": "1e-41"})
    # Trailing zeros are not decimal places that matter.
    venue = sor.Venue("okx", [market()], balances={"USDT": "1." + "0" * 60})
    assert venue.balances["USDT"] == 1


def test_malformed_amount_is_refused_even_when_the_caller_ignores_invalid_operations() -> None:
    context = decimal.Context(traps=[])
    with caller(context), pytest.raises(InvalidInput, match="amount: not a decimal number"):
        OrderRequest("BTC/USDT", "buy", "abc")


def test_slippage_bounds_are_checked_in_sors_context_not_the_callers() -> None:
    # Found by the hypothesis test below: the bps check built its step with the caller's
    # context, which raised decimal.Clamped under clamp=1 with a trap on Clamped.
    context = decimal.Context(prec=26, Emin=-20, Emax=20, clamp=1, traps=[decimal.Clamped])
    with caller(context):
        assert RouterSettings(cache_size=0).max_slippage_bps == 100.0
        assert OrderRequest("BTC/USDT", "buy", "1", max_slippage_bps=12.5).max_slippage_bps == 12.5
        with pytest.raises(InvalidInput, match="more than 4 decimal places"):
            OrderRequest("BTC/USDT", "buy", "1", max_slippage_bps=12.34567)


ORDERS = st.builds(
    lambda side, amount, strategy, limit: OrderRequest(
        "BTC/USDT",
        side,
        amount,
        order_type="market" if limit is None else "limit",
        limit_price=limit,
        strategy=strategy,
    ),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["0.00001", "0.5", "1", "2.5", "7.12345", "40", "1000", "0.000001"]),
    st.sampled_from(
        [None, "best_execution", "split", "cost_optimization", "best_liquidity", "lowest_latency"]
    ),
    st.sampled_from([None, "65000.5", "65010", "64990.123"]),
)
BALANCES = st.sampled_from(
    [
        {},
        {"USDT": "250000"},
        {"USDT": "1e30"},
        {"BTC": "0.7", "USDT": "31000.123456789"},
        {"BTC": "1e30"},
        {"BTC": "0"},
    ]
)


@given(context=caller_contexts(), order=ORDERS, balances=BALANCES)
def test_routing_under_any_caller_context_matches_the_default_context(
    context: decimal.Context, order: OrderRequest, balances: dict[str, str]
) -> None:
    with caller(default_context()):
        expected = routed(readme_router(balances), order)
    with caller(context):
        assert routed(readme_router(balances), order) == expected


# ------------------------------------------------------------------------------------------------
# Inputs: orders, venues, markets; feeds


NUMBERS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=0, places=8).map(str),
    st.sampled_from(["1e30", "1E-8", "0.00001000", "123456789012345678901234567890.5", " 7 "]),
    st.integers(0, 10**30),
)


def order_amount(text: object) -> Any:
    return outcome(lambda: OrderRequest("BTC/USDT", "buy", text).amount.as_tuple())  # type: ignore[arg-type]


def venue_balance(text: object) -> Any:
    return outcome(lambda: sor.Venue("v", [market()], {"BTC": text}).balances["BTC"].as_tuple())  # type: ignore[dict-item]


def ccxt_market(tick: float, step: float, fee: float) -> Any:
    def build() -> tuple[object, ...]:
        parsed = sor.Market.from_ccxt(
            {
                "symbol": "BTC/USDT",
                "base": "BTC",
                "quote": "USDT",
                "taker": fee,
                "precision": {"price": tick, "amount": step},
                "limits": {"amount": {"min": step, "max": 1e6}, "cost": {"min": 5.0}},
            }
        )
        return (
            parsed.price_tick.as_tuple(),
            parsed.amount_step.as_tuple(),
            parsed.taker_fee.as_tuple(),
            parsed.price_decimals,
            parsed.amount_decimals,
            parsed.taker_fee_bps,
            parsed.round_amount(Decimal("1234.567890123456789")).as_tuple(),
        )

    return outcome(build)


@given(context=caller_contexts(), number=NUMBERS)
def test_orders_and_balances_under_any_caller_context_match_the_default_context(
    context: decimal.Context, number: object
) -> None:
    with caller(default_context()):
        expected = (order_amount(number), venue_balance(number))
    with caller(context):
        assert (order_amount(number), venue_balance(number)) == expected


@given(
    context=caller_contexts(),
    tick=st.sampled_from([0.01, 0.5, 1e-8, 0.0005, 10.0]),
    step=st.sampled_from([1e-5, 1e-8, 0.001, 1.0, 0.123456789012345]),
    fee=st.sampled_from([0.001, 0.0006, 0.0, 0.00012345678901234]),
)
def test_market_parsing_under_any_caller_context_matches_the_default_context(
    context: decimal.Context, tick: float, step: float, fee: float
) -> None:
    with caller(default_context()):
        expected = ccxt_market(tick, step, fee)
    with caller(context):
        assert ccxt_market(tick, step, fee) == expected


def feed_figures(value: str, decimals: int) -> Any:
    def run() -> tuple[object, ...]:
        try:
            text: object = exact_decimal(value, decimals)
        except ValueError as error:
            text = str(error)
        changes = [("bid", value, "1"), ("bid", "5", "2"), ("ask", "9", value), ("ask", "x", "1")]
        try:
            levels: object = levels_best_first(changes[:3], "BTC/USD")
            malformed: object = levels_best_first(changes, "BTC/USD")
        except MalformedMessage as error:
            malformed = str(error)
        return text, levels, malformed

    return outcome(run)


@given(
    context=caller_contexts(),
    value=st.sampled_from(["1.25", "0.000123", "123456789.123456789", "1E+3", "7", "1e-30"]),
    decimals=st.integers(0, 18),
)
def test_feed_decimals_under_any_caller_context_match_the_default_context(
    context: decimal.Context, value: str, decimals: int
) -> None:
    with caller(default_context()):
        expected = feed_figures(value, decimals)
    with caller(context):
        assert feed_figures(value, decimals) == expected
