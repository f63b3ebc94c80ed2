"""Realistic sample order books for demos, examples and benchmarks (no network needed).

Books are generated from a seed: a BTC/USDT-like market with prices one tick apart near the top
and wider gaps further out, and log-normal level sizes, so walks of realistic orders consume
tens of levels as they do on real venues.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sor._core import OrderBook, VenueRules

__all__ = [
    "DEMO_VENUES",
    "DemoVenue",
    "SampleVenue",
    "format_units",
    "sample_book",
    "sample_levels",
    "sample_venues",
]


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


@dataclass(frozen=True)
class DemoVenue:
    """One of the five demo venues: its BTC/USDT market rules, base-tier taker fee and
    illustrative health figures (of the order of each exchange's published figures).

    The embedded simulators (:mod:`sor.sim.embedded`) run one exchange per demo venue, and
    :func:`sample_venues` builds static books from the same figures.
    """

    name: str
    price_decimals: int
    size_decimals: int
    amount_step: str
    """Lot size (BTC)."""
    min_cost: str
    """Minimum order value (USDT)."""
    taker_fee_bps: str
    latency_ms: float
    success_rate: float
    mid_offset: str
    """Where its book starts versus the others (USDT), so that venues differ."""
    spread_ticks: int
    """Spread of its sample book, in ticks."""

    def rules(self) -> VenueRules:
        """The core's rules of its market."""
        return VenueRules(
            taker_fee_bps=float(self.taker_fee_bps),
            lot_size=self.amount_step,
            min_notional=self.min_cost,
        )


#: The five demo venues.
DEMO_VENUES: tuple[DemoVenue, ...] = (
    DemoVenue("binance", 2, 5, "0.00001", "5", "10", 22.0, 0.998, "0", 1),
    DemoVenue("coinbase", 2, 8, "0.00000001", "1", "60", 48.0, 0.995, "4.5", 3),
    DemoVenue("kraken", 1, 8, "0.00000001", "0.5", "40", 71.0, 0.990, "-3", 10),
    DemoVenue("okx", 1, 8, "0.00000001", "1", "10", 35.0, 0.997, "1.5", 1),
    DemoVenue("bybit", 2, 6, "0.000001", "1", "10", 41.0, 0.996, "-1", 2),
)


def sample_venues(seed: int = 7, levels: int = 1_000, mid: float = 65_000.0) -> list[SampleVenue]:
    """The five demo venues with BTC/USDT-like books (2 price and 8 size decimals), generated
    from ``seed``."""
    venues: list[SampleVenue] = []
    for index, demo in enumerate(DEMO_VENUES):
        offset = float(demo.mid_offset)
        book = sample_book(seed * 31 + index, mid + offset, levels, demo.spread_ticks)
        fee = float(demo.taker_fee_bps)
        venues.append(
            SampleVenue(demo.name, book, fee, demo.latency_ms, demo.success_rate, demo.rules())
        )
    return venues
