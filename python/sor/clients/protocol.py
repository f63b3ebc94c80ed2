"""What sor needs of a venue to place orders: the :class:`VenueClient` protocol and its data.

Every order sor sends carries a client order id that sor chose, so that an order whose outcome is
unknown (a timeout, a dropped connection) can be looked up at the venue before anything else is
sent. A client never re-sends an order on its own: re-sending a client order id is not
idempotent on every venue (Binance refuses a duplicate only while the first order is open).

Errors: a client raises ccxt's exception classes (``ccxt.InsufficientFunds``,
``ccxt.RequestTimeout``, ...) for what the venue said or did, as ccxt itself does, so that one
classification (:func:`sor.clients.classify_error`) serves every client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sor._decimal import APPROX, EXACT
from sor._validate import StrEnum
from sor.errors import InvalidInput
from sor.markets import Market
from sor.orders import OrderSide

__all__ = ["OrderStatus", "PlaceOrder", "VenueClient", "VenueOrder"]


class OrderStatus(StrEnum):
    """An order's state at the venue, in ccxt's terms."""

    OPEN = "open"
    """Resting on the book (an IOC order never is, once the venue has answered)."""
    CLOSED = "closed"
    """Filled in full."""
    CANCELED = "canceled"
    """Cancelled, possibly after a partial fill (an IOC order's unfilled rest is cancelled)."""
    EXPIRED = "expired"
    """Expired, possibly after a partial fill (Binance's IOC remainder)."""
    REJECTED = "rejected"
    """Refused by the venue: nothing filled."""


@dataclass(frozen=True)
class PlaceOrder:
    """One order to send: limit IOC at ``price``, or market when ``price`` is None."""

    symbol: str
    side: OrderSide
    amount: Decimal
    client_order_id: str
    price: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount <= 0:
            raise InvalidInput(f"amount: expected a positive Decimal, got {self.amount!r}")
        if self.price is not None and (
            not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0
        ):
            raise InvalidInput(f"price: expected a positive Decimal or None, got {self.price!r}")
        if not self.client_order_id or not self.client_order_id.isascii():
            raise InvalidInput(
                f"client_order_id: expected a non-empty ASCII id, got {self.client_order_id!r}"
            )


@dataclass(frozen=True)
class VenueOrder:
    """What a venue says of one order: how much filled, at what cost and fee, and its state.

    ``cost`` is the quote notional filled (before fees); ``fee`` is in ``fee_currency``.
    """

    venue: str
    symbol: str
    side: OrderSide
    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str
    price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        """What did not fill (and, once the order is no longer open, never will)."""
        return EXACT.subtract(self.amount, self.filled)

    @property
    def average_price(self) -> Decimal | None:
        """``cost / filled``, rounded to 100 significant digits (None if nothing filled)."""
        if not self.filled:
            return None
        return APPROX.divide(self.cost, self.filled)

    @property
    def is_final(self) -> bool:
        """True once the order can fill no more (anything but open)."""
        return self.status is not OrderStatus.OPEN


class VenueClient(Protocol):
    """An exchange account sor can place orders on (async).

    ``name`` is the venue's name, as the router knows it (:class:`sor.Venue`).
    """

    @property
    def name(self) -> str:
        """The venue's name."""
        ...

    async def load_markets(self) -> Mapping[str, Market]:
        """The venue's markets, by unified symbol."""
        ...

    async def create_order(self, order: PlaceOrder) -> VenueOrder:
        """Sends ``order`` once; returns what the venue answered (an IOC order is final)."""
        ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The venue's latest word on the order sent with ``client_order_id``, or None when the
        venue has no such order (it was never placed)."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Cancels the order if it is open; returns its final state (None: no such order)."""
        ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Every open order (of ``symbol``, or of all symbols)."""
        ...

    async def fetch_balance(self) -> dict[str, Decimal]:
        """Free balance of each currency held."""
        ...

    async def ping(self) -> float:
        """Round trip to the venue, in milliseconds (raises when it does not answer)."""
        ...

    async def close(self) -> None:
        """Releases the client's connections."""
        ...
