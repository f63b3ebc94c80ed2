"""A venue's trading rules for one market, read from ccxt's unified market structure.

ccxt describes every market the same way (``exchange.markets["BTC/USDT"]``)::

    {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "active": True, "taker": 0.001,
     "precision": {"amount": 1e-05, "price": 0.01},
     "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0, "max": None}}}

``precision`` means different things depending on the exchange's ``precisionMode``:

- ``TICK_SIZE`` (ccxt's default for most exchanges today): the step itself, ``0.01``;
- ``DECIMAL_PLACES``: a number of decimals, ``2``;
- ``SIGNIFICANT_DIGITS``: significant digits. A rule that depends on the price cannot be a fixed
  lot or tick, so such markets are refused with a message saying so.

A step need not be a power of ten (``0.5``, ``0.0005``): the book then keeps as many decimals as
the step has, and every routed quantity is a multiple of the step (the core's ``lot_size``).
ccxt gives numbers as floats; they are read through their shortest ``repr`` (``1e-05`` becomes
exactly ``0.00001``), never through binary arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from functools import cached_property

from sor._core import VenueRules
from sor._decimal import APPROX, EXACT, MAX_PLACES, fmt, parse, unit
from sor._validate import quote, to_decimal
from sor.errors import InvalidInput

__all__ = ["Market", "PrecisionMode", "decimals_of"]


class PrecisionMode(IntEnum):
    """ccxt's ``precisionMode`` constants (same values as ``ccxt.DECIMAL_PLACES`` etc.)."""

    DECIMAL_PLACES = 2
    SIGNIFICANT_DIGITS = 3
    TICK_SIZE = 4


def decimals_of(step: Decimal) -> int:
    """How many decimal places multiples of ``step`` need (``0.0005`` -> 4, ``5`` -> 0)."""
    exponent = APPROX.normalize(step).as_tuple().exponent
    assert isinstance(exponent, int)  # finite by construction
    return max(0, -exponent)


def _number(value: object, field: str, *, positive: bool = False) -> Decimal:
    """A ccxt number (float, int, str or Decimal) as an exact Decimal, via the float's repr."""
    if isinstance(value, float):
        try:
            value = parse(repr(value))
        except InvalidOperation:  # pragma: no cover - repr of a float is always a number
            raise InvalidInput(f"{field}: not a number: {quote(value)}") from None
    return to_decimal(value, field, positive=positive)


def _optional(value: object, field: str) -> Decimal | None:
    return None if value is None else _number(value, field)


def _get(market: Mapping[str, object], *path: str) -> object:
    node: object = market
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Market:
    """One market's rules on one venue: steps, minimums, maximum and taker fee.

    ``price_tick`` and ``amount_step`` are the smallest price and quantity increments (quote and
    base units); ``min_amount``/``max_amount`` bound an order's base quantity, ``min_cost`` its
    quote value (0 = no minimum, None = no maximum); ``taker_fee`` is a fraction
    (0.001 = 10 bps). ``active`` False means the venue does not trade it now.
    """

    symbol: str
    base: str
    quote: str
    price_tick: Decimal
    amount_step: Decimal
    taker_fee: Decimal
    min_amount: Decimal = Decimal(0)
    max_amount: Decimal | None = None
    min_cost: Decimal = Decimal(0)
    active: bool = True

    def __post_init__(self) -> None:
        for name in ("symbol", "base", "quote"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"market.{name}: expected a non-empty str, got {quote(value)}")
        if self.symbol.partition(":")[0] != f"{self.base}/{self.quote}":
            raise InvalidInput(
                f"market.symbol: {quote(self.symbol)} does not match base {quote(self.base)} and "
                f"quote {quote(self.quote)}"
            )
        for name, positive in (("price_tick", True), ("amount_step", True), ("taker_fee", False)):
            object.__setattr__(
                self, name, _number(getattr(self, name), f"market.{name}", positive=positive)
            )
        if self.taker_fee >= 1:
            raise InvalidInput(
                f"market.taker_fee: a fraction below 1 (0.001 = 10 bps), got {self.taker_fee}"
            )
        if EXACT.remainder(EXACT.scaleb(self.taker_fee, 8), 1):
            raise InvalidInput(
                f"market.taker_fee: {self.taker_fee} is finer than 1e-8 (1e-4 bps), the "
                "resolution at which sor holds fees exactly"
            )
        object.__setattr__(self, "min_amount", _number(self.min_amount, "market.min_amount"))
        object.__setattr__(self, "min_cost", _number(self.min_cost, "market.min_cost"))
        if self.max_amount is not None:
            maximum = _number(self.max_amount, "market.max_amount", positive=True)
            if maximum < self.min_amount:
                raise InvalidInput(
                    f"market.max_amount: {fmt(maximum)} is below min_amount {fmt(self.min_amount)}"
                )
            object.__setattr__(self, "max_amount", maximum)
        if not isinstance(self.active, bool):
            raise InvalidInput(f"market.active: expected a bool, got {quote(self.active)}")

    @classmethod
    def from_ccxt(
        cls,
        market: Mapping[str, object],
        precision_mode: PrecisionMode | int = PrecisionMode.TICK_SIZE,
    ) -> Market:
        """Reads a ccxt unified market (``exchange.markets[symbol]``).

        ``precision_mode`` is the exchange's ``precisionMode``. A missing ``taker`` fee or
        ``precision`` is refused (the router cannot price or size an order without them); a
        missing minimum counts as none; ``active: None`` (unknown) counts as active.
        """
        try:
            mode = PrecisionMode(precision_mode)
        except ValueError:
            raise InvalidInput(
                f"precision_mode: expected 2 (DECIMAL_PLACES), 3 (SIGNIFICANT_DIGITS) or "
                f"4 (TICK_SIZE), got {quote(precision_mode)}"
            ) from None
        symbol = market.get("symbol")
        where = f"market {quote(symbol)}"
        if mode is PrecisionMode.SIGNIFICANT_DIGITS:
            raise InvalidInput(
                f"{where}: precision mode SIGNIFICANT_DIGITS is not supported: its steps depend "
                "on the price, and sor needs a fixed price tick and amount step"
            )
        steps: dict[str, Decimal] = {}
        for key in ("price", "amount"):
            raw = _get(market, "precision", key)
            if raw is None:
                raise InvalidInput(f"{where}: precision.{key} is missing")
            if mode is PrecisionMode.TICK_SIZE:
                steps[key] = _number(raw, f"{where}: precision.{key}", positive=True)
            else:
                places = _number(raw, f"{where}: precision.{key}")
                if places != places.to_integral_value(context=APPROX) or places > MAX_PLACES:
                    raise InvalidInput(
                        f"{where}: precision.{key} must be a whole number of decimal places "
                        f"(at most {MAX_PLACES}) in DECIMAL_PLACES mode, got {quote(raw)} "
                        "(is the exchange in TICK_SIZE mode?)"
                    )
                steps[key] = unit(int(places))
        taker = market.get("taker")
        if taker is None:
            raise InvalidInput(f"{where}: taker fee is missing")
        active = market.get("active")
        max_amount = _optional(
            _get(market, "limits", "amount", "max"), f"{where}: limits.amount.max"
        )
        return cls(
            symbol=str(symbol),
            base=str(market.get("base")),
            quote=str(market.get("quote")),
            price_tick=steps["price"],
            amount_step=steps["amount"],
            taker_fee=_number(taker, f"{where}: taker"),
            min_amount=_optional(
                _get(market, "limits", "amount", "min"), f"{where}: limits.amount.min"
            )
            or Decimal(0),
            max_amount=max_amount or None,
            min_cost=_optional(_get(market, "limits", "cost", "min"), f"{where}: limits.cost.min")
            or Decimal(0),
            active=active is not False,
        )

    @cached_property
    def price_decimals(self) -> int:
        """Decimal places a price needs (a book for this market has at least as many)."""
        return decimals_of(self.price_tick)

    @cached_property
    def amount_decimals(self) -> int:
        """Decimal places a quantity needs (a book for this market has at least as many)."""
        return decimals_of(self.amount_step)

    @cached_property
    def taker_fee_bps(self) -> float:
        """The taker fee in basis points."""
        return float(EXACT.multiply(self.taker_fee, 10_000))

    def round_amount(self, amount: Decimal) -> Decimal:
        """``amount`` rounded down to a multiple of the amount step."""
        step = self.amount_step
        return EXACT.multiply(EXACT.divide_int(amount, step), step)

    def rules(self, max_quantity: Decimal | None = None) -> VenueRules:
        """These rules for :func:`sor.allocate`, with an optional cap in base units."""
        return VenueRules(
            taker_fee_bps=EXACT.multiply(self.taker_fee, 10_000),  # exact: 0.00075 -> 7.50000
            lot_size=self.amount_step,
            min_quantity=self.min_amount or None,
            min_notional=self.min_cost or None,
            max_quantity=max_quantity,
        )
