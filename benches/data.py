"""Seeded, realistic BTC/USDT-like order books and delta streams for the benchmarks.

Books look like a large spot market's depth feed: mid about 65,000 USDT, prices with 2 decimals
(one tick = 0.01 USDT), sizes with 8 decimals in the exchange's strings ("0.01000000") on a real
lot step of 0.00001 BTC. Near the top the levels are one tick apart and the gaps widen with
depth; sizes are log-normal and grow with depth. Everything is a pure function of its seed.

This module also holds the exact oracles (integer arithmetic in ticks and lots) that every
benchmark checks its result against, so a benchmark run with ``--benchmark-disable`` is a smoke
test of every implementation.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import NDArray

PRICE_DECIMALS = 2
"""Decimal places of prices (a tick is 0.01 USDT)."""
SIZE_DECIMALS = 8
"""Decimal places of sizes (a lot is 0.00000001 BTC)."""
TICKS_PER_UNIT: int = 10**PRICE_DECIMALS
"""Ticks in one USDT."""
LOTS_PER_UNIT: int = 10**SIZE_DECIMALS
"""Lots in one BTC."""
LOT_STEP = 1_000
"""The venue's quantity step, in lots (0.00001 BTC): every generated size is a multiple of it."""
MID = 65_000.0
"""Mid price of the generated books, in USDT."""
BOOK_LEVELS = 1_000
"""Levels per side of a generated book."""

Side = Literal["bid", "ask"]
Action = Literal["insert", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Level:
    """One price level in exact integers: price in ticks, size in lots."""

    price: int
    size: int


@dataclass(frozen=True, slots=True)
class BookData:
    """Both sides of a book, best level first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    def bid_strings(self) -> list[tuple[str, str]]:
        """The bids as exchange-style ``(price, size)`` strings, best first."""
        return level_strings(self.bids)

    def ask_strings(self) -> list[tuple[str, str]]:
        """The asks as exchange-style ``(price, size)`` strings, best first."""
        return level_strings(self.asks)


def price_str(ticks: int) -> str:
    """A price in ticks as an exchange string with 2 decimals (``"65000.01"``)."""
    return f"{ticks // TICKS_PER_UNIT}.{ticks % TICKS_PER_UNIT:02d}"


def size_str(lots: int) -> str:
    """A size in lots as an exchange string with 8 decimals (``"0.01000000"``)."""
    return f"{lots // LOTS_PER_UNIT}.{lots % LOTS_PER_UNIT:08d}"


def quantity_str(lots: int) -> str:
    """A quantity in lots as a user would type it, without trailing zeros (``"1.2345"``)."""
    text = size_str(lots).rstrip("0")
    return text[:-1] if text.endswith(".") else text


def level_strings(levels: tuple[Level, ...]) -> list[tuple[str, str]]:
    """Levels as exchange-style ``(price, size)`` string pairs, in the same order."""
    return [(price_str(level.price), size_str(level.size)) for level in levels]


_SIZE_MEDIAN_BTC = 0.02
"""Median level size at the top of a book, in BTC."""
_SIZE_SIGMA = 1.4
"""Log-normal shape of level sizes."""


def _to_lots(btc: NDArray[np.float64]) -> list[int]:
    """Sizes in BTC rounded to the lot step (at least one step), in lots."""
    steps = np.maximum(1, np.rint(btc * (LOTS_PER_UNIT / LOT_STEP)).astype(np.int64))
    return [int(step) * LOT_STEP for step in steps]


def _random_size(rng: np.random.Generator, depth_fraction: float) -> int:
    """A log-normal level size in lots (a multiple of the lot step), larger deeper in the book."""
    mean = math.log(_SIZE_MEDIAN_BTC) + 1.5 * depth_fraction
    return _to_lots(rng.lognormal(mean=mean, sigma=_SIZE_SIGMA, size=1))[0]


def make_book(seed: int, levels: int = BOOK_LEVELS, mid: float = MID) -> BookData:
    """A realistic book with ``levels`` levels a side around ``mid`` (USDT), from ``seed``."""
    rng = np.random.default_rng(seed)
    best_bid = round(mid * TICKS_PER_UNIT) - 1
    best_ask = best_bid + 1 + int(rng.poisson(0.3))
    depth = np.arange(levels) / levels

    def side(best: int, direction: int) -> tuple[Level, ...]:
        # One tick apart at the top, gaps of tens of ticks a thousand levels down.
        gaps = 1 + rng.poisson(0.25 + 40.0 * depth[1:] ** 1.5)
        offsets = np.concatenate(([0], np.cumsum(gaps)))
        sizes = _to_lots(
            rng.lognormal(mean=math.log(_SIZE_MEDIAN_BTC) + 1.5 * depth, sigma=_SIZE_SIGMA)
        )
        return tuple(
            Level(best + direction * int(offset), size)
            for offset, size in zip(offsets, sizes, strict=True)
        )

    return BookData(bids=side(best_bid, -1), asks=side(best_ask, +1))


# --- Walks -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExactWalk:
    """What taking a quantity from one side fills, in exact integers."""

    filled: int
    """Base filled, in lots."""
    notional: int
    """Quote notional, in ticks times lots (units of 1e-10 USDT)."""
    levels: int
    """Levels taken from, including a partly taken last one."""
    complete: bool
    """True if the side held the whole quantity."""

    @property
    def average_price(self) -> float:
        """Average fill price in USDT (correctly rounded)."""
        return self.notional / (self.filled * TICKS_PER_UNIT) if self.filled else 0.0

    @property
    def filled_decimal(self) -> Decimal:
        """Base filled, in BTC."""
        return Decimal(self.filled).scaleb(-SIZE_DECIMALS)

    @property
    def notional_decimal(self) -> Decimal:
        """Quote notional, in USDT."""
        return Decimal(self.notional).scaleb(-(PRICE_DECIMALS + SIZE_DECIMALS))


def walk_exact(levels: tuple[Level, ...], quantity: int) -> ExactWalk:
    """The oracle walk: take ``quantity`` lots from best-first ``levels``."""
    remaining, notional, taken = quantity, 0, 0
    for level in levels:
        if remaining == 0:
            break
        take = min(level.size, remaining)
        notional += take * level.price
        remaining -= take
        taken += 1
    return ExactWalk(quantity - remaining, notional, taken, remaining == 0)


def quantity_for_levels(levels: tuple[Level, ...], n: int) -> int:
    """A quantity in lots (a multiple of the lot step) that takes exactly ``n`` levels, taking
    about half of the ``n``-th."""
    before = sum(level.size for level in levels[: n - 1])
    last = levels[n - 1].size
    part = max(LOT_STEP, (last // 2) // LOT_STEP * LOT_STEP)
    return before + part


# --- Venues ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Venue:
    """One venue's book and the figures a router scores it by."""

    name: str
    book: BookData
    taker_fee_bps: float
    latency_ms: float
    reliability: float

    @property
    def fee_factor(self) -> float:
        """What one unit of notional costs a buyer once the taker fee is added."""
        return 1.0 + self.taker_fee_bps / 1e4


_FEES_BPS = (10.0, 7.5, 8.0, 6.0, 10.0, 5.0, 9.0, 7.5, 4.0, 10.0)


def make_venues(
    count: int, seed: int, mid_spread: float = 2e-4, fees_bps: tuple[float, ...] = _FEES_BPS
) -> list[Venue]:
    """``count`` venues with 1,000-level books whose mids differ by about ``mid_spread``
    (relative standard deviation; the default is 2 bps) and fees drawn from ``fees_bps``."""
    rng = np.random.default_rng(seed)
    venues = []
    for index in range(count):
        mid = MID * (1.0 + float(rng.normal(0.0, mid_spread)))
        venues.append(
            Venue(
                name=f"venue{index}",
                book=make_book(seed * 1_000 + index, mid=mid),
                taker_fee_bps=fees_bps[int(rng.integers(len(fees_bps)))],
                latency_ms=float(rng.uniform(5.0, 120.0)),
                reliability=float(rng.uniform(0.95, 1.0)),
            )
        )
    return venues


def decision_quantity(venues: list[Venue], levels: int) -> int:
    """An order size in lots that takes about ``levels`` ask levels on a typical venue."""
    sizes = sorted(quantity_for_levels(v.book.asks, levels) for v in venues)
    return sizes[len(sizes) // 2]


def best_venue_exact(venues: list[Venue], quantity: int) -> int:
    """The oracle best-execution pick for a buy: the venue with the lowest fee-inclusive average
    price among those that fill the whole quantity (exact rational arithmetic)."""
    best: tuple[Fraction, int] | None = None
    for index, venue in enumerate(venues):
        walk = walk_exact(venue.book.asks, quantity)
        if not walk.complete:
            continue
        price = Fraction(walk.notional, walk.filled) * (1 + Fraction(venue.taker_fee_bps) / 10_000)
        if best is None or price < best[0]:
            best = (price, index)
    if best is None:
        raise ValueError("no venue can fill the quantity")
    return best[1]


# --- Delta streams -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delta:
    """One book update: set the size at a price (0 removes the level)."""

    side: Side
    price: int
    size: int
    action: Action


@dataclass(frozen=True, slots=True)
class DeltaStream:
    """A stream of deltas and the book it leaves when applied to its starting book."""

    start: BookData
    deltas: tuple[Delta, ...]
    final: BookData

    def tuples(self) -> list[tuple[Side, str, str]]:
        """The deltas as ``(side, price, size)`` exchange strings (size "0.00000000" deletes)."""
        return [(d.side, price_str(d.price), size_str(d.size)) for d in self.deltas]

    def arrays(self) -> tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]]:
        """The deltas as arrays: side (0 bid, 1 ask), price in ticks, size in lots."""
        sides = np.array([0 if d.side == "bid" else 1 for d in self.deltas], dtype=np.uint8)
        prices = np.array([d.price for d in self.deltas], dtype=np.uint64)
        sizes = np.array([d.size for d in self.deltas], dtype=np.uint64)
        return sides, prices, sizes


class _SideState:
    """One side of the generator's book: ascending prices and a price -> size map."""

    def __init__(self, side: Side, levels: tuple[Level, ...]) -> None:
        self.side = side
        self.prices = sorted(level.price for level in levels)
        self.sizes = {level.price: level.size for level in levels}

    def nth(self, k: int) -> int:
        """Price of the k-th level from the best."""
        return self.prices[-1 - k] if self.side == "bid" else self.prices[k]

    def set(self, price: int, size: int) -> None:
        if size == 0:
            self.prices.remove(price)
            del self.sizes[price]
        else:
            if price not in self.sizes:
                bisect.insort(self.prices, price)
            self.sizes[price] = size

    def levels(self) -> tuple[Level, ...]:
        ordered = reversed(self.prices) if self.side == "bid" else iter(self.prices)
        return tuple(Level(p, self.sizes[p]) for p in ordered)


def make_deltas(book: BookData, count: int, seed: int) -> DeltaStream:
    """``count`` deltas on ``book``: mostly within the top few levels, about 65% size updates,
    15% new levels and 20% removals; the book never crosses (no bid above the starting best bid,
    no ask below the starting best ask), so any prefix of the stream is valid."""
    rng = np.random.default_rng(seed)
    sides = {"bid": _SideState("bid", book.bids), "ask": _SideState("ask", book.asks)}
    # The outer bound of the top: bids never go above it, asks never below it.
    top = {"bid": book.bids[0].price, "ask": book.asks[0].price}
    out: list[Delta] = []
    while len(out) < count:
        side: Side = "bid" if rng.random() < 0.5 else "ask"
        state = sides[side]
        k = min(int(rng.geometric(0.2)) - 1, len(state.prices) - 1)
        roll = rng.random()
        direction = -1 if side == "bid" else 1
        delta: Delta | None = None
        if roll < 0.2 and len(state.prices) > BOOK_LEVELS // 2:
            delta = Delta(side, state.nth(k), 0, "delete")
        elif roll < 0.5:
            # A new level that becomes the k-th: strictly between levels k-1 and k.
            outer = state.nth(k - 1) if k > 0 else top[side] - direction
            inner = state.nth(k)
            lo, hi = sorted((outer, inner))
            if hi - lo > 1:
                price = int(rng.integers(lo + 1, hi))
                delta = Delta(side, price, _random_size(rng, 0.0), "insert")
        if delta is None:
            delta = Delta(side, state.nth(k), _random_size(rng, 0.0), "update")
        state.set(delta.price, delta.size)
        out.append(delta)
    final = BookData(bids=sides["bid"].levels(), asks=sides["ask"].levels())
    return DeltaStream(start=book, deltas=tuple(out), final=final)
