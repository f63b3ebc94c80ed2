"""Venues as the router sees them: markets in ccxt's format, balances, and health figures."""

from sor.venues.ccxt_markets import CcxtMarkets, load_ccxt_markets
from sor.venues.health import HealthSource, InMemoryHealth
from sor.venues.market import Market, PrecisionMode, decimals_of
from sor.venues.venue import Venue

__all__ = [
    "CcxtMarkets",
    "HealthSource",
    "InMemoryHealth",
    "Market",
    "PrecisionMode",
    "Venue",
    "decimals_of",
    "load_ccxt_markets",
]
