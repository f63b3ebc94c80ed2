"""A venue client that fills against an :class:`sor.OrderBook`: the embedded venues' client and
the paper-trading client.

:class:`SimulatedClient` fills each order as an IOC taker order walking the book it is given (a
simulator's true book, or any book a feed keeps live, for paper trading), checks the market's
rules and the account's balances as a venue would, and fails on demand the way real venues do:
refusals, rate limits, a venue that is down, a request lost before it arrived, a timeout after
the order was in fact placed and filled, partial fills, latency. Its errors are ccxt's exception
classes, so the executor treats it exactly as a real exchange. Faults come from a script (the
next calls' faults, in order) and then from seeded random rates.

Fills do not consume the book's liquidity (the book is the market's, not the client's): a paper
fill is what the book offered at that moment.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import ccxt

from sor._core import OrderBook
from sor._decimal import EXACT
from sor._validate import DecimalInput, StrEnum, to_decimal, to_float
from sor.clients.protocol import OrderStatus, PlaceOrder, VenueOrder
from sor.errors import InvalidInput
from sor.markets import Market
from sor.orders import OrderSide

__all__ = ["Fault", "FaultRates", "SimulatedClient"]


class Fault(StrEnum):
    """One way a call to a venue goes wrong."""

    REJECT = "reject"
    """The venue refuses the order (``ccxt.InvalidOrder``): nothing placed."""
    INSUFFICIENT_FUNDS = "insufficient_funds"
    """The venue says the balance is short (``ccxt.InsufficientFunds``): nothing placed."""
    RATE_LIMIT = "rate_limit"
    """Throttled (``ccxt.RateLimitExceeded``): nothing placed."""
    DOWN = "down"
    """The venue does not answer (``ccxt.ExchangeNotAvailable``): nothing placed."""
    LOST = "lost"
    """The request never arrived (``ccxt.RequestTimeout``): nothing placed."""
    TIMEOUT_FILLED = "timeout_filled"
    """The order was placed and filled, but the answer was lost (``ccxt.RequestTimeout``)."""
    PARTIAL = "partial"
    """The order fills only part of what the book offers."""


#: Faults that leave nothing placed, with the ccxt error each raises.
_REFUSALS: dict[Fault, type[Exception]] = {
    Fault.REJECT: ccxt.InvalidOrder,
    Fault.INSUFFICIENT_FUNDS: ccxt.InsufficientFunds,
    Fault.RATE_LIMIT: ccxt.RateLimitExceeded,
    Fault.DOWN: ccxt.ExchangeNotAvailable,
    Fault.LOST: ccxt.RequestTimeout,
}


@dataclass(frozen=True)
class FaultRates:
    """The chance of each fault on an order, drawn independently per order (in [0, 1], summing
    to at most 1); ``partial_ratio`` is the share of the offered quantity a partial fill takes."""

    reject: float = 0.0
    insufficient_funds: float = 0.0
    rate_limit: float = 0.0
    down: float = 0.0
    lost: float = 0.0
    timeout_filled: float = 0.0
    partial: float = 0.0
    partial_ratio: float = 0.5

    def __post_init__(self) -> None:
        rates = [to_float(getattr(self, fault.value), fault.value, high=1.0) for fault in Fault]
        if sum(rates) > 1.0:
            raise InvalidInput(f"faults: the rates sum to {sum(rates):g}, more than 1")
        to_float(self.partial_ratio, "partial_ratio", high=1.0)

    def draw(self, rng: random.Random) -> Fault | None:
        """One order's fault (None: no fault)."""
        roll = rng.random()
        for fault in Fault:
            rate: float = getattr(self, fault.value)
            if roll < rate:
                return fault
            roll -= rate
        return None


class SimulatedClient:
    """A :class:`sor.clients.VenueClient` filling against ``books`` (by symbol).

    ``books`` is read at every order, never copied: the books a feed keeps live (paper
    trading), or a simulator's true books (:meth:`sor.sim.embedded.EmbeddedExchanges.true_books`).

    ``balances`` (free, by currency) are checked and updated by every fill; None leaves them
    unchecked. ``latency_s`` delays every call. ``faults`` are drawn per order with ``seed``;
    :meth:`fail_next` scripts the next orders' faults first. ``down`` makes every call fail.
    Every order sent is kept in ``sent``, in order.
    """

    def __init__(
        self,
        name: str,
        markets: Sequence[Market],
        books: Mapping[str, OrderBook],
        *,
        balances: Mapping[str, DecimalInput] | None = None,
        latency_s: float = 0.0,
        faults: FaultRates | None = None,
        seed: int = 0,
    ) -> None:
        self._name = name
        self._markets = {market.symbol: market for market in markets}
        missing = [symbol for symbol in self._markets if symbol not in books]
        if missing:
            raise InvalidInput(f"books: no book for {', '.join(missing)}")
        self._books = books
        self._balances = (
            None
            if balances is None
            else {
                currency: to_decimal(v, f"balances.{currency}") for currency, v in balances.items()
            }
        )
        self.latency_s = to_float(latency_s, "latency_s", high=600.0)
        self.faults = FaultRates() if faults is None else faults
        self._rng = random.Random(seed)
        self._script: list[Fault | None] = []
        self._orders: dict[str, VenueOrder] = {}  # the latest by client order id
        self._placed: list[VenueOrder] = []
        self._next_id = 1
        self.down = False
        self.sent: list[PlaceOrder] = []

    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    def fail_next(self, *faults: Fault | None) -> None:
        """The next orders meet these faults, in order (None: that order meets none)."""
        self._script.extend(faults)

    async def _call(self) -> None:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if self.down:
            raise ccxt.ExchangeNotAvailable(f"{self._name} is not answering")

    async def load_markets(self) -> Mapping[str, Market]:
        """The markets the client was given."""
        await self._call()
        return dict(self._markets)

    async def create_order(self, order: PlaceOrder) -> VenueOrder:
        """Fills ``order`` as an IOC taker order on its book, or raises as the venue would."""
        self.sent.append(order)
        await self._call()
        fault = self._script.pop(0) if self._script else self.faults.draw(self._rng)
        if fault in _REFUSALS:
            raise _REFUSALS[fault](f"{self._name}: simulated {fault} ({order.client_order_id})")
        market = self._market(order.symbol)
        self._check_rules(market, order)
        filled, cost = self._fill(market, order, partial=fault is Fault.PARTIAL)
        fee = EXACT.multiply(cost, market.taker_fee)
        self._settle(market, order.side, filled, cost, fee)
        status = OrderStatus.CLOSED if filled == order.amount else OrderStatus.CANCELED
        placed = VenueOrder(
            venue=self._name,
            symbol=order.symbol,
            side=order.side,
            client_order_id=order.client_order_id,
            venue_order_id=str(self._next_id),
            status=status,
            amount=order.amount,
            filled=filled,
            cost=cost,
            fee=fee,
            fee_currency=market.quote,
            price=order.price,
        )
        self._next_id += 1
        self._orders[order.client_order_id] = placed
        self._placed.append(placed)
        if fault is Fault.TIMEOUT_FILLED:
            raise ccxt.RequestTimeout(f"{self._name}: no answer in time ({order.client_order_id})")
        return placed

    def _market(self, symbol: str) -> Market:
        market = self._markets.get(symbol)
        if market is None:
            raise ccxt.BadSymbol(f"{self._name} does not list {symbol!r}")
        return market

    def _check_rules(self, market: Market, order: PlaceOrder) -> None:
        if EXACT.remainder(order.amount, market.amount_step):
            raise ccxt.InvalidOrder(
                f"{self._name}: amount {order.amount} is not a multiple of {market.amount_step}"
            )
        if order.amount < market.min_amount:
            raise ccxt.InvalidOrder(f"{self._name}: amount {order.amount} below the minimum")
        if market.max_amount is not None and order.amount > market.max_amount:
            raise ccxt.InvalidOrder(f"{self._name}: amount {order.amount} above the maximum")
        if order.price is not None:
            if EXACT.remainder(order.price, market.price_tick):
                raise ccxt.InvalidOrder(
                    f"{self._name}: price {order.price} is not a multiple of {market.price_tick}"
                )
            if EXACT.multiply(order.price, order.amount) < market.min_cost:
                raise ccxt.InvalidOrder(
                    f"{self._name}: order value below the minimum {market.min_cost}"
                )

    def _fill(self, market: Market, order: PlaceOrder, *, partial: bool) -> tuple[Decimal, Decimal]:
        book = self._books[order.symbol]
        side = order.side.value
        walk = book.walk(side, order.amount, limit_price=order.price)  # type: ignore[arg-type]
        filled = walk.filled
        if partial and filled:
            share = EXACT.multiply(filled, Decimal(str(self.faults.partial_ratio)))
            filled = EXACT.multiply(EXACT.divide_int(share, market.amount_step), market.amount_step)
            if not filled:
                return Decimal(0), Decimal(0)
            walk = book.walk(side, filled, limit_price=order.price)  # type: ignore[arg-type]
        if filled and EXACT.multiply(walk.notional, 1) < market.min_cost:
            raise ccxt.InvalidOrder(
                f"{self._name}: order value below the minimum {market.min_cost}"
            )
        return walk.filled, walk.notional

    def _settle(
        self, market: Market, side: OrderSide, filled: Decimal, cost: Decimal, fee: Decimal
    ) -> None:
        if self._balances is None or not filled:
            return
        balances = self._balances
        if side is OrderSide.BUY:
            pays, paid, gets, got = market.quote, EXACT.add(cost, fee), market.base, filled
        else:
            pays, paid, gets, got = market.base, filled, market.quote, EXACT.subtract(cost, fee)
        if balances.get(pays, Decimal(0)) < paid:
            raise ccxt.InsufficientFunds(
                f"{self._name}: {paid} {pays} needed, {balances.get(pays, Decimal(0))} free"
            )
        balances[pays] = EXACT.subtract(balances[pays], paid)
        balances[gets] = EXACT.add(balances.get(gets, Decimal(0)), got)

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The order sent with ``client_order_id`` (its latest), or None if none was placed."""
        await self._call()
        self._market(symbol)
        found = self._orders.get(client_order_id)
        return found if found is not None and found.symbol == symbol else None

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Every order here is IOC, so final once placed: its state, or None."""
        return await self.fetch_order(symbol, client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Open orders: none once an IOC order has been answered."""
        await self._call()
        return [
            order
            for order in self._orders.values()
            if order.status is OrderStatus.OPEN and symbol in (None, order.symbol)
        ]

    async def fetch_balance(self) -> dict[str, Decimal]:
        """Free balances (empty when the client does not track them)."""
        await self._call()
        return {} if self._balances is None else dict(self._balances)

    async def ping(self) -> float:
        """The simulated round trip, in milliseconds."""
        started = time.perf_counter()
        await self._call()
        return (time.perf_counter() - started) * 1_000

    async def close(self) -> None:
        """Nothing to release."""

    def placed(self) -> list[VenueOrder]:
        """Every order placed (filled in whole, in part or not at all), in order."""
        return list(self._placed)
