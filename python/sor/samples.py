"""Realistic sample order books for demos, examples and benchmarks (no network needed).

Books are generated from a seed: a BTC/USDT-like market with prices one tick apart near the top
and wider gaps further out, and log-normal level sizes, so walks of realistic orders consume
tens of levels as they do on real venues.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sor._core import OrderBook, VenueRules


@dataclass(frozen=True)
class SampleVenue:
    """A named venue with its book, fee, latency and reliability figures."""

    name: str
    book: OrderBook
    taker_fee_bps: float
    latency_ms: float
    reliability: float
    rules: VenueRules


def format_units(units: int, decimals: int) -> str:
    """Writes an integer count of ``10**-decimals`` units as a decimal string."""
    if decimals == 0:
        return str(units)
    whole, frac = divmod(units, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def sample_levels(
    rng: random.Random,
    best_ticks: int,
    direction: int,
    count: int,
    size_decimals: int,
) -> list[tuple[str, str]]:
    """``count`` best-first levels starting at ``best_ticks`` and moving by ``direction``."""
    levels: list[tuple[str, str]] = []
    ticks = best_ticks
    for index in range(count):
        if index:
            # One tick apart near the top, gaps grow with distance from the best price.
            gap = 1 + int(rng.expovariate(1.0) * (1 + index / 200))
            ticks += direction * gap
        if ticks <= 0:
            break
        size = max(1, int(rng.lognormvariate(-2.3, 1.1) * 10**size_decimals))
        levels.append((format_units(ticks, 2), format_units(size, size_decimals)))
    return levels


def sample_book(
    seed: int,
    mid: float = 65_000.0,
    levels: int = 1_000,
    spread_ticks: int = 1,
    size_decimals: int = 8,
) -> OrderBook:
    """A 2 x ``levels`` BTC/USDT-like book (prices with 2 decimals) around ``mid``."""
    rng = random.Random(seed)
    best_bid = round(mid * 100) - spread_ticks // 2 - spread_ticks % 2
    best_ask = best_bid + spread_ticks
    book = OrderBook(2, size_decimals)
    book.apply_snapshot(
        sample_levels(rng, best_bid, -1, levels, size_decimals),
        sample_levels(rng, best_ask, +1, levels, size_decimals),
        sequence=1,
    )
    return book


# name, taker fee (bps), latency (ms), reliability, lot size (BTC), min notional (USDT),
# mid offset (USDT), spread (ticks): figures of the order of each venue's published
# base-tier fees and market rules.
_VENUES: tuple[tuple[str, float, float, float, str, str, float, int], ...] = (
    ("binance", 10.0, 22.0, 0.998, "0.00001", "5", 0.0, 1),
    ("coinbase", 60.0, 48.0, 0.995, "0.00000001", "1", 4.5, 3),
    ("kraken", 40.0, 71.0, 0.990, "0.00000001", "0.5", -3.0, 10),
    ("okx", 10.0, 35.0, 0.997, "0.00000001", "1", 1.5, 1),
    ("bybit", 10.0, 41.0, 0.996, "0.000001", "1", -1.0, 2),
)


def sample_venues(seed: int = 7, levels: int = 1_000, mid: float = 65_000.0) -> list[SampleVenue]:
    """Five venues with BTC/USDT-like books, fees and market rules, generated from ``seed``."""
    venues: list[SampleVenue] = []
    for index, (name, fee, latency, reliability, lot, min_notional, offset, spread) in enumerate(
        _VENUES
    ):
        book = sample_book(seed * 31 + index, mid + offset, levels, spread)
        rules = VenueRules(taker_fee_bps=fee, lot_size=lot, min_notional=min_notional)
        venues.append(SampleVenue(name, book, fee, latency, reliability, rules))
    return venues
