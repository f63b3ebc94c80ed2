"""A seeded, evolving order book that keeps the exact truth, for the exchange simulators.

Prices are integer ticks and sizes integer lots at the market's precision. Each :meth:`step`
is one exchange event: a burst of level changes (sizes drawn log-normal, activity concentrated
near the top of the book), sometimes with a move of the mid price that sweeps the levels it
passes. Bids always stay below the mid and asks above it, so the book never crosses; each side
keeps about ``levels_per_side`` levels (thousands in all), trimming or refilling far levels with
explicit changes so that a client that applies every event sees exactly the same book.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sor._core import OrderBook
from sor._decimal import EXACT
from sor.errors import InvalidInput

__all__ = ["BookModel", "Side", "SimMarket", "Step", "TopLevels", "format_decimal"]

Side = Literal["bid", "ask"]


@dataclass(frozen=True)
class SimMarket:
    """A simulated market: unified symbol, precision, starting mid price and depth."""

    symbol: str
    price_decimals: int = 2
    size_decimals: int = 8
    mid: str = "65000"
    """Starting mid price, in quote units."""
    levels_per_side: int = 1_000
    median_size: float = 0.25
    """Median level size, in base units (sizes are log-normal around it)."""

    def __post_init__(self) -> None:
        if self.levels_per_side < 10:
            raise InvalidInput(f"levels_per_side: expected >= 10, got {self.levels_per_side}")
        if not self.median_size > 0:
            raise InvalidInput(f"median_size: expected > 0, got {self.median_size}")
        ticks = Decimal(self.mid).scaleb(self.price_decimals, EXACT)
        if ticks != ticks.to_integral_value(context=EXACT) or ticks < 10 * self.levels_per_side:
            raise InvalidInput(
                f"mid: {self.mid} is not a whole number of ticks far enough from 0 for the depth"
            )


@dataclass(frozen=True)
class Step:
    """One event: update IDs ``first..=final`` and its ``(side, ticks, lots)`` changes."""

    first: int
    final: int
    changes: list[tuple[Side, int, int]]


def format_decimal(units: int, decimals: int, places: int | None = None) -> str:
    """Writes ``units * 10**-decimals`` with ``places`` decimals (default ``decimals``)."""
    places = decimals if places is None else max(places, decimals)
    whole, fraction = divmod(units, 10**decimals)
    if places == 0:
        return str(whole)
    return f"{whole}.{fraction * 10 ** (places - decimals):0{places}d}"


class BookModel:
    """The true book of one simulated market and the random process that moves it."""

    def __init__(self, market: SimMarket, rng: random.Random) -> None:
        self.market = market
        self.rng = rng
        self.update_id = rng.randrange(1_000_000, 100_000_000)
        """The last update ID, as an exchange numbers its book updates."""
        self.mid = int(Decimal(market.mid).scaleb(market.price_decimals, EXACT))
        """Mid price in ticks: every bid is below it, every ask above it."""
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        # Ascending ticks of each side; the best bid is the last, the best ask the first.
        self._bid_ticks: list[int] = []
        self._ask_ticks: list[int] = []
        self._changes: dict[tuple[Side, int], int] = {}
        self._size_mu = math.log(market.median_size * 10**market.size_decimals)
        for side in ("bid", "ask"):
            self._refill(side)
        self._changes.clear()

    # -- reading ------------------------------------------------------------------------------

    def best(self, side: Side) -> int | None:
        """The best price of ``side`` in ticks."""
        ticks = self._bid_ticks if side == "bid" else self._ask_ticks
        if not ticks:
            return None
        return ticks[-1] if side == "bid" else ticks[0]

    def levels(self, side: Side, limit: int | None = None) -> list[tuple[int, int]]:
        """The best ``limit`` levels of ``side`` (all if None) as ``(ticks, lots)``, best first."""
        if side == "bid":
            ticks = self._bid_ticks[::-1]
            sizes = self.bids
        else:
            ticks = self._ask_ticks
            sizes = self.asks
        return [(tick, sizes[tick]) for tick in ticks[:limit]]

    def fits(self, depth: int) -> bool:
        """True if neither side has more than ``depth`` levels."""
        return len(self.bids) <= depth and len(self.asks) <= depth

    def to_order_book(self) -> OrderBook:
        """The true book as a :class:`sor.OrderBook` (sequence = the last update ID)."""
        market = self.market
        book = OrderBook(market.price_decimals, market.size_decimals)
        book.apply_snapshot(
            [self._format(level) for level in self.levels("bid")],
            [self._format(level) for level in self.levels("ask")],
            sequence=self.update_id,
        )
        return book

    # -- evolving -----------------------------------------------------------------------------

    def step(self) -> Step:
        """Moves the book by one event and returns it."""
        rng = self.rng
        if rng.random() < 0.3:
            self._move_mid()
        if rng.random() < 0.03:
            count = 30 + int(rng.expovariate(1 / 60))  # a burst
        else:
            count = 1 + int(rng.expovariate(1 / 4))
        for _ in range(count):
            self._random_change()
        for side in ("bid", "ask"):
            self._refill(side)
        return self._finish(extra_ids=int(rng.expovariate(1.0)))

    def skip_ids(self, count: int = 1) -> tuple[int, int]:
        """Consumes ``count`` update IDs without changing the book (for injected faults)."""
        first = self.update_id + 1
        self.update_id += count
        return first, self.update_id

    def crossing_change(self) -> tuple[Side, int, int]:
        """A bid at the best ask: a change that would cross the book (never applied here)."""
        best_ask = self.best("ask")
        assert best_ask is not None
        return ("bid", best_ask, self._random_lots())

    def _finish(self, extra_ids: int) -> Step:
        changes = [(side, tick, lots) for (side, tick), lots in self._changes.items()]
        self._changes.clear()
        # Several updates of one level within an event are coalesced, so an event spans at
        # least as many update IDs as it has changes.
        first = self.update_id + 1
        self.update_id += max(1, len(changes)) + extra_ids
        return Step(first, self.update_id, changes)

    def _move_mid(self) -> None:
        rng = self.rng
        move = rng.choice((-1, 1)) * (1 + int(rng.expovariate(1 / 3)))
        self.mid += move
        if move > 0:
            while self._ask_ticks and self._ask_ticks[0] <= self.mid:
                self._set("ask", self._ask_ticks[0], 0)
            if rng.random() < 0.8:
                self._insert_near_top("bid")
        else:
            while self._bid_ticks and self._bid_ticks[-1] >= self.mid:
                self._set("bid", self._bid_ticks[-1], 0)
            if rng.random() < 0.8:
                self._insert_near_top("ask")

    def _random_change(self) -> None:
        rng = self.rng
        side: Side = "bid" if rng.random() < 0.5 else "ask"
        ticks = self._bid_ticks if side == "bid" else self._ask_ticks
        if not ticks:
            self._insert_near_top(side)
            return
        depth = min(int(rng.expovariate(1 / 15)), len(ticks) - 1)
        tick = ticks[-1 - depth] if side == "bid" else ticks[depth]
        action = rng.random()
        if action < 0.55:
            self._set(side, tick, self._random_lots())
        elif action < 0.75 and len(ticks) > self.market.levels_per_side // 2:
            self._set(side, tick, 0)
        else:
            self._insert_near(side, tick)

    def _insert_near_top(self, side: Side) -> None:
        offset = int(self.rng.expovariate(1 / 2))
        tick = self.mid - 1 - offset if side == "bid" else self.mid + 1 + offset
        if tick > 0 and tick not in (self.bids if side == "bid" else self.asks):
            self._set(side, tick, self._random_lots())

    def _insert_near(self, side: Side, tick: int) -> None:
        """Adds a level a few ticks outside ``tick`` (on the far side, so never crossing)."""
        offset = 1 + int(self.rng.expovariate(1 / 3))
        new = tick - offset if side == "bid" else tick + offset
        if new > 0 and new not in (self.bids if side == "bid" else self.asks):
            self._set(side, new, self._random_lots())

    def _refill(self, side: Side) -> None:
        """Trims the far end of ``side`` to ``levels_per_side`` or extends it back to 95% of it."""
        target = self.market.levels_per_side
        ticks = self._bid_ticks if side == "bid" else self._ask_ticks
        while len(ticks) > target:
            self._set(side, ticks[0] if side == "bid" else ticks[-1], 0)
        rng = self.rng
        while len(ticks) < target * 0.95 or not ticks:
            count = len(ticks)
            gap = 1 + int(rng.expovariate(1.0) * (1 + count / 200))
            if side == "bid":
                tick = (ticks[0] if ticks else self.mid) - gap
                if tick <= 0:
                    break
            else:
                tick = (ticks[-1] if ticks else self.mid) + gap
            self._set(side, tick, self._random_lots())

    def _set(self, side: Side, tick: int, lots: int) -> None:
        """Sets a level's size (0 removes it) and records the change."""
        sizes = self.bids if side == "bid" else self.asks
        ticks = self._bid_ticks if side == "bid" else self._ask_ticks
        if lots:
            if tick not in sizes:
                bisect.insort(ticks, tick)
            sizes[tick] = lots
        else:
            if tick not in sizes:
                return
            del sizes[tick]
            del ticks[bisect.bisect_left(ticks, tick)]
        self._changes[(side, tick)] = lots

    def _random_lots(self) -> int:
        return max(1, int(self.rng.lognormvariate(self._size_mu, 1.2)))

    def _format(self, level: tuple[int, int]) -> tuple[str, str]:
        market = self.market
        return (
            format_decimal(level[0], market.price_decimals),
            format_decimal(level[1], market.size_decimals),
        )


class TopLevels:
    """The best ``depth`` levels of each side of a model, as a subscriber to them holds them.

    A subscriber whose levels hold the whole book (a depth of 1,000 over a book of fewer
    levels) follows each step by the step's own changes (:meth:`follow`); any other is
    brought up to date by taking its levels again and comparing, which costs a pass over
    ``depth`` levels a side.
    """

    __slots__ = ("depth", "sides", "whole")

    def __init__(self, model: BookModel, depth: int) -> None:
        self.depth = depth
        self.sides: dict[Side, dict[int, int]] = {
            side: dict(model.levels(side, depth)) for side in ("bid", "ask")
        }
        self.whole = model.fits(depth)
        """True if these are every level of the book they were taken from."""

    def follow(self, model: BookModel, step: Step) -> dict[Side, dict[int, int]] | None:
        """Applies ``step`` (the model's last) to these levels and returns what it changed per
        side (the new size, 0 for a level gone), if they held the whole book before the step
        and the model still fits the depth; None otherwise (nothing is changed then)."""
        if not self.whole or not model.fits(self.depth):
            return None
        changed: dict[Side, dict[int, int]] = {"bid": {}, "ask": {}}
        for side, tick, lots in step.changes:
            levels = self.sides[side]
            if lots == levels.get(tick, 0):
                continue
            changed[side][tick] = lots
            if lots:
                levels[tick] = lots
            else:
                del levels[tick]
        return changed
