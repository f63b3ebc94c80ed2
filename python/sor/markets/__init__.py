"""Markets as the router sees them: ccxt's market rules, venues (markets and balances), and
ccxt loading; also :class:`BookMarket`, what a feed needs to know of a market."""

from sor.markets.book_market import BookMarket
from sor.markets.ccxt_markets import CcxtMarkets, load_ccxt_markets
from sor.markets.market import Market, PrecisionMode, decimals_of
from sor.markets.venue import Venue

__all__ = [
    "BookMarket",
    "CcxtMarkets",
    "Market",
    "PrecisionMode",
    "Venue",
    "decimals_of",
    "load_ccxt_markets",
]
