"""A venue as the router sees it: its markets (ccxt rules) and the balances that cap orders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from sor._validate import DecimalInput, quote, to_decimal
from sor.errors import InvalidInput
from sor.markets.market import Market, PrecisionMode

__all__ = ["Venue"]


@dataclass(frozen=True, init=False, eq=False)
class Venue:
    """A named venue: the markets it lists (by ccxt symbol) and its free balances.

    ``balances`` maps an asset (``"BTC"``, ``"USDT"``) to the free balance that caps orders on
    this venue: a sell of BTC/USDT can route at most the BTC balance; a buy at most what the
    USDT balance pays for, fees included, at the book's prices. An asset without an entry is not
    capped (until the execution layer reports real balances).
    """

    name: str
    markets: Mapping[str, Market]
    balances: Mapping[str, Decimal]

    def __init__(
        self,
        name: str,
        markets: Iterable[Market] | Mapping[str, Market],
        balances: Mapping[str, DecimalInput] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name or name != name.strip():
            raise InvalidInput(f"venue name: expected a non-empty str, got {quote(name)}")
        listed = markets.values() if isinstance(markets, Mapping) else markets
        by_symbol: dict[str, Market] = {}
        for market in listed:
            if not isinstance(market, Market):
                raise InvalidInput(f"{name}: markets must be Market values, got {quote(market)}")
            if market.symbol in by_symbol:
                raise InvalidInput(f"{name}: market {quote(market.symbol)} is listed twice")
            by_symbol[market.symbol] = market
        funds = {
            asset: to_decimal(amount, f"{name}: balances[{quote(asset)}]")
            for asset, amount in (balances or {}).items()
        }
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "markets", MappingProxyType(by_symbol))
        object.__setattr__(self, "balances", MappingProxyType(funds))

    @classmethod
    def from_ccxt(
        cls,
        name: str,
        markets: Mapping[str, Mapping[str, object]] | Iterable[Mapping[str, object]],
        precision_mode: PrecisionMode | int = PrecisionMode.TICK_SIZE,
        balances: Mapping[str, DecimalInput] | None = None,
        symbols: Iterable[str] | None = None,
    ) -> Venue:
        """A venue from ccxt's ``exchange.markets`` (or a list of unified markets).

        ``symbols`` keeps only those markets (every one of them must be listed); without it
        every market is read, and one that cannot be read is refused with its symbol named.
        """
        listed = list(markets.values() if isinstance(markets, Mapping) else markets)
        if symbols is not None:
            wanted = list(symbols)
            found = {m.get("symbol"): m for m in listed}
            if missing := [s for s in wanted if s not in found]:
                raise InvalidInput(f"{name}: does not list {', '.join(missing)}")
            listed = [found[s] for s in wanted]
        return cls(name, [Market.from_ccxt(m, precision_mode) for m in listed], balances)

    def market(self, symbol: str) -> Market | None:
        """The rules of ``symbol`` on this venue, or None if it does not list it."""
        return self.markets.get(symbol)

    def with_balances(self, balances: Mapping[str, DecimalInput]) -> Venue:
        """The same venue with new balances."""
        return Venue(self.name, self.markets, balances)

    def __repr__(self) -> str:
        return (
            f"Venue({self.name!r}, markets={sorted(self.markets)}, balances={dict(self.balances)})"
        )
