"""The order the router takes: symbol, side, amount and its constraints.

An :class:`OrderRequest` is a frozen dataclass validated at construction: a bad field raises
:class:`sor.InvalidInput` (a ``ValueError``) whose message names the field. Quantities and prices
are exact ``Decimal`` values (floats are refused, as everywhere in sor).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sor._validate import (
    DecimalInput,
    StrEnum,
    quote,
    to_bps,
    to_decimal,
    to_enum,
    to_names,
)
from sor.errors import InvalidInput

__all__ = ["DecimalInput", "OrderRequest", "OrderSide", "OrderType", "RoutingStrategy"]


class RoutingStrategy(StrEnum):
    """How the router chooses among venues."""

    BEST_EXECUTION = "best_execution"
    """Composite score: price, liquidity, latency and reliability, weighted (see ``Weights``)."""
    LOWEST_LATENCY = "lowest_latency"
    """Only venues under the low-latency threshold, fastest first."""
    BEST_LIQUIDITY = "best_liquidity"
    """The venue with the most depth within the slippage bound (for large orders)."""
    COST_OPTIMIZATION = "cost_optimization"
    """The lowest all-in cost, fees included."""
    SPLIT = "split"
    """The multi-venue allocation with the lowest total all-in cost."""


class OrderSide(StrEnum):
    """Direction of an order (the router only routes taker orders)."""

    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    """Market order (takes what the books hold) or limit order (takes nothing past its price)."""

    MARKET = "market"
    LIMIT = "limit"


@dataclass(frozen=True, init=False)
class OrderRequest:
    """An order to route: ``OrderRequest("BTC/USDT", "buy", "2.5")``.

    ``symbol`` is in ccxt's unified form (``BASE/QUOTE``, e.g. ``"BTC/USDT"``); ``amount`` is in
    base units (str, Decimal or int; floats are refused). ``strategy`` and ``max_slippage_bps``
    default (None) to the router's settings. The slippage bound limits the *worst* price taken,
    in basis points from the best price of the side (so the average slippage is within it too).
    ``preferred_exchanges`` are tried first, in the order given; other venues follow unless
    ``only_preferred``. ``excluded_exchanges`` are never used. ``client_id`` is carried through.
    """

    symbol: str
    side: OrderSide
    amount: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    strategy: RoutingStrategy | None
    max_slippage_bps: float | None
    preferred_exchanges: tuple[str, ...]
    excluded_exchanges: tuple[str, ...]
    only_preferred: bool
    client_id: str | None

    def __init__(
        self,
        symbol: str,
        side: OrderSide | Literal["buy", "sell"],
        amount: DecimalInput,
        order_type: OrderType | Literal["market", "limit"] = OrderType.MARKET,
        limit_price: DecimalInput | None = None,
        strategy: RoutingStrategy | str | None = None,
        max_slippage_bps: float | None = None,
        preferred_exchanges: Iterable[str] | None = None,
        excluded_exchanges: Iterable[str] | None = None,
        only_preferred: bool = False,
        client_id: str | None = None,
    ) -> None:
        if not isinstance(symbol, str) or not _is_symbol(symbol):
            raise InvalidInput(
                "symbol: expected ccxt's unified form BASE/QUOTE such as 'BTC/USDT', "
                f"got {quote(symbol)}"
            )
        kind = to_enum(OrderType, order_type, "order_type")
        limit: Decimal | None = None
        if kind is OrderType.LIMIT:
            if limit_price is None:
                raise InvalidInput("limit_price: required for a limit order")
            limit = to_decimal(limit_price, "limit_price", positive=True)
        elif limit_price is not None:
            raise InvalidInput("limit_price: only a limit order has one (order_type is 'market')")
        preferred = to_names(preferred_exchanges, "preferred_exchanges")
        excluded = to_names(excluded_exchanges, "excluded_exchanges")
        if overlap := sorted(set(preferred) & set(excluded)):
            raise InvalidInput(f"preferred_exchanges: also excluded: {', '.join(overlap)}")
        if not isinstance(only_preferred, bool):
            raise InvalidInput(f"only_preferred: expected a bool, got {quote(only_preferred)}")
        if only_preferred and not preferred:
            raise InvalidInput("only_preferred: needs at least one venue in preferred_exchanges")
        if client_id is not None and (not isinstance(client_id, str) or not client_id):
            raise InvalidInput(f"client_id: expected a non-empty str, got {quote(client_id)}")
        set_ = object.__setattr__
        set_(self, "symbol", symbol)
        set_(self, "side", to_enum(OrderSide, side, "side"))
        set_(self, "amount", to_decimal(amount, "amount", positive=True))
        set_(self, "order_type", kind)
        set_(self, "limit_price", limit)
        set_(
            self,
            "strategy",
            None if strategy is None else to_enum(RoutingStrategy, strategy, "strategy"),
        )
        set_(
            self,
            "max_slippage_bps",
            None if max_slippage_bps is None else to_bps(max_slippage_bps, "max_slippage_bps"),
        )
        set_(self, "preferred_exchanges", preferred)
        set_(self, "excluded_exchanges", excluded)
        set_(self, "only_preferred", only_preferred)
        set_(self, "client_id", client_id)

    @property
    def base(self) -> str:
        """The base asset (``"BTC"`` in ``"BTC/USDT"``)."""
        return self.symbol.split("/", 1)[0]

    @property
    def taker_side(self) -> Literal["buy", "sell"]:
        """The side as the core spells it."""
        return "buy" if self.side is OrderSide.BUY else "sell"


def _is_symbol(symbol: str) -> bool:
    base, slash, rest = symbol.partition("/")
    quote = rest.partition(":")[0]
    return bool(slash and base and quote) and "/" not in rest and symbol == symbol.strip()
