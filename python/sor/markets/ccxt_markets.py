"""Markets of any exchange ccxt supports, as the router and the feeds need them.

ccxt's ``load_markets()`` returns every market of an exchange in its unified structure
(https://docs.ccxt.com/#/README?id=market-structure); :meth:`sor.markets.Market.from_ccxt` reads
one of them (precision in ``TICK_SIZE`` or ``DECIMAL_PLACES`` mode, limits, taker fee). This
module loads them through a ccxt exchange instance and gives each spot market twice:

- the router's rules, a :class:`sor.markets.Market` (tick, step, minimums, fee);
- a feed's book precision, a :class:`sor.markets.BookMarket` (decimal places of the tick and the
  step), so that a book built from the exchange's levels is exact.

Example::

    exchange = ccxt.async_support.binance()
    markets = await load_ccxt_markets(exchange, ["BTC/USDT"])
    markets.venue["BTC/USDT"].price_tick      # Decimal('0.01')
    markets.feed_market("BTC/USDT")           # Market('BTC/USDT', price_decimals=2, ...)

Loading without symbols keeps every spot market that sor can use and lists the others in
:attr:`CcxtMarkets.skipped` with the reason (for example a ``SIGNIFICANT_DIGITS`` exchange, or a
market without a taker fee); a symbol asked for by name that cannot be used is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sor._validate import quote
from sor.errors import InvalidInput
from sor.markets.book_market import BookMarket
from sor.markets.market import Market as VenueMarket

__all__ = ["CcxtExchange", "CcxtMarkets", "feed_market", "load_ccxt_markets", "venue_market"]


class CcxtExchange(Protocol):
    """The parts of a ccxt exchange instance (``ccxt.async_support`` or ``ccxt.pro``) sor uses."""

    id: str
    markets: Mapping[str, Mapping[str, Any]] | None
    precisionMode: int  # noqa: N815 (ccxt's name)
    has: Mapping[str, Any]
    rateLimit: float  # noqa: N815 (ccxt's name)

    async def load_markets(self, reload: bool = False, params: dict[str, Any] = ...) -> Any:
        """Fetches (or returns the cached) unified markets, by symbol."""

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] = ...
    ) -> Any:
        """Fetches one order book over REST."""

    async def close(self) -> None:
        """Closes the instance's HTTP sessions and websocket connections."""


def venue_market(exchange: CcxtExchange, symbol: str) -> VenueMarket:
    """The router's rules of ``symbol`` from the exchange's loaded markets.

    Raises :class:`sor.InvalidInput` if the markets are not loaded, the symbol is not one of
    them, it is not a spot market, or its precision or fee cannot be read.
    """
    markets = exchange.markets
    if not markets:
        raise InvalidInput(f"{exchange.id}: markets are not loaded (await load_ccxt_markets)")
    market = markets.get(symbol)
    if market is None:
        raise InvalidInput(f"symbol: {quote(symbol)} is not a market of {exchange.id}")
    if market.get("spot") is False:
        kind = market.get("type") or "derivative"
        raise InvalidInput(f"symbol: {quote(symbol)} on {exchange.id} is a {kind} market, not spot")
    return VenueMarket.from_ccxt(market, exchange.precisionMode)


def feed_market(market: VenueMarket) -> BookMarket:
    """The book precision of a venue market: the decimal places of its tick and its step."""
    return BookMarket(market.symbol, market.price_decimals, market.amount_decimals)


@dataclass(frozen=True)
class CcxtMarkets:
    """One exchange's usable spot markets, as read by :func:`load_ccxt_markets`."""

    exchange: str
    """The ccxt exchange id (``"binance"``)."""
    venue: Mapping[str, VenueMarket]
    """The router's rules of each market, by unified symbol."""
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Spot markets that could not be read, by symbol, with the reason."""

    @property
    def symbols(self) -> list[str]:
        """The usable markets' unified symbols."""
        return list(self.venue)

    def feed_market(self, symbol: str) -> BookMarket:
        """The book precision of ``symbol``."""
        try:
            return feed_market(self.venue[symbol])
        except KeyError:
            raise InvalidInput(
                f"symbol: {quote(symbol)} is not one of the loaded {self.exchange} markets"
            ) from None

    def feed_markets(self) -> list[BookMarket]:
        """The book precision of every usable market."""
        return [feed_market(market) for market in self.venue.values()]


async def load_ccxt_markets(
    exchange: CcxtExchange, symbols: Iterable[str] | None = None, *, reload: bool = False
) -> CcxtMarkets:
    """Loads the exchange's markets through ccxt and reads the spot ones sor can use.

    With ``symbols``, exactly those are read and any that cannot be used raises
    :class:`sor.InvalidInput` naming it and why; without, every spot market is tried and the
    unusable ones are listed in :attr:`CcxtMarkets.skipped`. ccxt's own errors (network,
    exchange) propagate as ccxt raises them. ``reload`` fetches the markets again even if the
    exchange instance has them cached.
    """
    await exchange.load_markets(reload)
    loaded = exchange.markets or {}
    venue: dict[str, VenueMarket] = {}
    skipped: dict[str, str] = {}
    if symbols is not None:
        for symbol in symbols:
            venue[symbol] = venue_market(exchange, symbol)
            feed_market(venue[symbol])  # refuses a precision no book can keep
        if not venue:
            raise InvalidInput("symbols: expected at least one symbol")
        return CcxtMarkets(exchange.id, venue)
    for symbol, market in loaded.items():
        if market.get("spot") is not True:
            continue
        try:
            venue[symbol] = venue_market(exchange, symbol)
            feed_market(venue[symbol])  # a symbol a feed cannot keep is not usable either
        except InvalidInput as error:
            venue.pop(symbol, None)
            skipped[symbol] = str(error)
    return CcxtMarkets(exchange.id, venue, skipped)
