"""What a feed needs to know of a market: its unified symbol and its book's precision.

It sits below both the feeds (which keep a book per market) and the ccxt market loader (which
derives it from ccxt's market rules), so neither imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sor._validate import quote
from sor.errors import InvalidInput

__all__ = ["BookMarket"]

_UNIFIED_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class BookMarket:
    """One market a feed keeps a book for: its unified symbol and the book's precision.

    ``symbol`` is ccxt's unified form (``"BTC/USDT"``); ``price_decimals`` and ``size_decimals``
    are the decimal places of the exchange's price tick and size step.
    """

    symbol: str
    price_decimals: int
    size_decimals: int

    def __post_init__(self) -> None:
        if not _UNIFIED_SYMBOL.match(self.symbol):
            raise InvalidInput(
                f"symbol: expected a unified symbol like 'BTC/USDT', got {quote(self.symbol)}"
            )
        for name in ("price_decimals", "size_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 18:
                raise InvalidInput(f"{name}: expected an integer in 0..=18, got {quote(value)}")

    @property
    def base(self) -> str:
        """The base currency (``"BTC"`` in ``"BTC/USDT"``)."""
        return self.symbol.split("/", 1)[0]

    @property
    def quote(self) -> str:
        """The quote currency (``"USDT"`` in ``"BTC/USDT"``)."""
        return self.symbol.split("/", 1)[1]
