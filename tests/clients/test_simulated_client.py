"""SimulatedClient fills like a venue and fails like one, exactly."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import btc_usdt
from sor import InvalidInput, OrderBook
from sor.clients import (
    ErrorOutcome,
    Fault,
    FaultRates,
    OrderStatus,
    PlaceOrder,
    SimulatedClient,
    classify_error,
)
from sor.orders import OrderSide

SYMBOL = "BTC/USDT"
MARKET = btc_usdt(min_cost="5")


def book() -> OrderBook:
    b = OrderBook(2, 3)
    b.apply_snapshot(
        bids=[("99.00", "1.000"), ("98.00", "2.000")],
        asks=[("100.00", "1.000"), ("101.00", "2.000")],
    )
    return b


def client(**kwargs: object) -> SimulatedClient:
    return SimulatedClient("venue", [MARKET], {SYMBOL: book()}, **kwargs)  # type: ignore[arg-type]


def order(amount: str, side: str = "buy", price: str | None = None, cid: str = "c1") -> PlaceOrder:
    return PlaceOrder(
        SYMBOL, OrderSide(side), Decimal(amount), cid, None if price is None else Decimal(price)
    )


async def test_a_market_buy_walks_the_book_and_pays_the_fee() -> None:
    venue = client(balances={"USDT": "1000"})
    placed = await venue.create_order(order("1.5"))
    assert placed.status is OrderStatus.CLOSED
    assert (placed.filled, placed.cost) == (Decimal("1.5"), Decimal("150.5"))
    assert placed.fee == Decimal("0.1505")
    assert placed.average_price is not None
    assert str(placed.average_price).startswith("100.33333333333333333333333333333333")
    assert await venue.fetch_balance() == {"USDT": Decimal("849.3495"), "BTC": Decimal("1.5")}
    assert await venue.fetch_order(SYMBOL, "c1") == placed


async def test_an_ioc_limit_fills_what_the_limit_allows_and_cancels_the_rest() -> None:
    venue = client()
    placed = await venue.create_order(order("2", "sell", price="99.00"))
    assert placed.status is OrderStatus.CANCELED
    assert (placed.filled, placed.remaining, placed.cost) == (Decimal(1), Decimal(1), Decimal(99))
    assert placed.is_final
    assert await venue.fetch_open_orders() == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.REJECT, ccxt.InvalidOrder),
        (Fault.INSUFFICIENT_FUNDS, ccxt.InsufficientFunds),
        (Fault.RATE_LIMIT, ccxt.RateLimitExceeded),
        (Fault.DOWN, ccxt.ExchangeNotAvailable),
        (Fault.LOST, ccxt.RequestTimeout),
    ],
)
async def test_refusals_place_nothing(fault: Fault, error: type[Exception]) -> None:
    venue = client(balances={"USDT": "1000"})
    venue.fail_next(fault)
    with pytest.raises(error):
        await venue.create_order(order("1"))
    assert await venue.fetch_order(SYMBOL, "c1") is None
    assert venue.placed() == []
    assert await venue.fetch_balance() == {"USDT": Decimal(1000)}
    # The script is used up: the next order fills.
    assert (await venue.create_order(order("1", cid="c2"))).filled == 1


async def test_a_timeout_after_placing_leaves_a_filled_order_to_find() -> None:
    venue = client()
    venue.fail_next(Fault.TIMEOUT_FILLED)
    with pytest.raises(ccxt.RequestTimeout) as raised:
        await venue.create_order(order("1"))
    assert classify_error(raised.value) is ErrorOutcome.UNKNOWN
    found = await venue.fetch_order(SYMBOL, "c1")
    assert found is not None
    assert (found.status, found.filled) == (OrderStatus.CLOSED, Decimal(1))


async def test_a_partial_fill_takes_its_share_rounded_down_to_the_lot() -> None:
    venue = client(faults=FaultRates(partial_ratio=0.3333))
    venue.fail_next(Fault.PARTIAL)
    placed = await venue.create_order(order("2"))
    assert placed.filled == Decimal("0.666")
    assert placed.cost == Decimal("66.6")
    assert placed.status is OrderStatus.CANCELED


async def test_the_markets_rules_and_balances_are_checked_as_a_venue_would() -> None:
    venue = client(balances={"USDT": "100", "BTC": "0.5"})
    with pytest.raises(ccxt.InvalidOrder, match=r"multiple of 0\.001"):
        await venue.create_order(order("1.0005"))
    with pytest.raises(ccxt.InvalidOrder, match=r"multiple of 0\.01"):
        await venue.create_order(order("1", price="100.001"))
    with pytest.raises(ccxt.InvalidOrder, match="below the minimum"):
        await venue.create_order(order("0.01", price="100.00"))
    with pytest.raises(ccxt.BadSymbol):
        await venue.create_order(PlaceOrder("ETH/USDT", OrderSide.BUY, Decimal(1), "x"))
    with pytest.raises(ccxt.InsufficientFunds):
        await venue.create_order(order("1"))  # 100 + 0.1 fee > 100 USDT
    with pytest.raises(ccxt.InsufficientFunds):
        await venue.create_order(order("0.6", "sell"))
    assert venue.placed() == []
    assert await venue.fetch_balance() == {"USDT": Decimal(100), "BTC": Decimal("0.5")}


async def test_a_venue_that_is_down_answers_nothing() -> None:
    venue = client()
    venue.down = True
    for call in (venue.ping(), venue.fetch_balance(), venue.fetch_order(SYMBOL, "c1")):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await call
    venue.down = False
    assert await venue.ping() >= 0


def test_fault_rates_are_probabilities() -> None:
    with pytest.raises(InvalidInput, match=r"sum to 1\.2"):
        FaultRates(reject=0.6, lost=0.6)
    with pytest.raises(InvalidInput, match="reject"):
        FaultRates(reject=-0.1)
    with pytest.raises(InvalidInput, match="books: no book for BTC/USDT"):
        SimulatedClient("v", [MARKET], {})


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(1, 4_000), min_size=1, max_size=12),
    sides=st.lists(st.sampled_from(["buy", "sell"]), min_size=12, max_size=12),
    seed=st.integers(0, 2**32),
)
async def test_random_faults_never_fill_more_than_sent_and_balances_add_up(
    amounts: list[int], sides: list[str], seed: int
) -> None:
    rates = FaultRates(reject=0.1, rate_limit=0.1, lost=0.1, timeout_filled=0.15, partial=0.2)
    venue = client(balances={"USDT": "100000", "BTC": "100"}, faults=rates, seed=seed)
    for n, (lots, side) in enumerate(zip(amounts, sides, strict=False)):
        with contextlib.suppress(ccxt.BaseError):
            await venue.create_order(order(str(Decimal(lots) / 1000), side, cid=f"c{n}"))
    base, quote = Decimal(100), Decimal(100_000)
    for placed in venue.placed():
        assert placed.filled <= placed.amount
        if placed.side is OrderSide.BUY:
            base, quote = base + placed.filled, quote - placed.cost - placed.fee
        else:
            base, quote = base - placed.filled, quote + placed.cost - placed.fee
    assert await venue.fetch_balance() == {"USDT": quote, "BTC": base}
    assert len({o.client_order_id for o in venue.sent}) == len(venue.sent)
