"""What one routing decision works with: the router's venue listings, the live venues of a symbol,
and the order's context (its settings and defaults applied once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from sor._core import (
    OrderBook,
    Weights,
)
from sor.health.metrics import ExchangeMetrics
from sor.markets.market import Market
from sor.orders import OrderRequest, OrderSide, RoutingStrategy
from sor.routing.decision import (
    Rejection,
)
from sor.routing.settings import RouterSettings


@dataclass(frozen=True)
class Listing:
    """A venue listing the order's symbol: its market rules, balances and book (if any)."""

    venue: str
    market: Market
    balances: Mapping[str, Decimal]
    book: OrderBook | None


class Live(NamedTuple):
    """A venue that passed the gate: healthy, fast enough, not excluded (``preference``: its
    position among the order's preferred exchanges)."""

    name: str
    market: Market
    balances: Mapping[str, Decimal]
    book: OrderBook
    metrics: ExchangeMetrics
    preference: int | None


class Context:
    """One order with the settings resolved (``buy``, ``consumed`` and ``base`` derived)."""

    __slots__ = (
        "buy",
        "consumed",
        "max_slippage_bps",
        "now_ns",
        "order",
        "settings",
        "strategy",
        "weights",
    )

    def __init__(
        self, order: OrderRequest, settings: RouterSettings, weights: Weights, now_ns: int
    ) -> None:
        self.order = order
        self.strategy: RoutingStrategy = order.strategy or settings.default_strategy
        slippage = order.max_slippage_bps
        self.max_slippage_bps: float = (
            slippage if slippage is not None else settings.max_slippage_bps
        )
        self.settings = settings
        self.weights = weights
        self.now_ns = now_ns
        self.buy = order.side is OrderSide.BUY
        self.consumed: Literal["bid", "ask"] = "ask" if self.buy else "bid"

    @property
    def base(self) -> str:
        """The order's base asset."""
        return self.order.base


def by_venue_index(item: tuple[int, Rejection]) -> int:
    """Sort key of a (venue index, rejection) pair: the venue's position."""
    return item[0]
