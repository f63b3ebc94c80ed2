"""The baselines sor is measured against, written as a competent Python developer would.

- ``SortedBook``: a pure-Python book, two ``sortedcontainers.SortedDict`` (price -> size), with
  float or ``Decimal`` keys parsed from the exchange's strings.
- ``numpy_walk``: a vectorised walk over price and size arrays (cumsum + searchsorted).
- ``best_venue_python`` and ``allocate_python``: the best-execution decision and the greedy
  multi-venue split over ``SortedBook`` books.

nautilus_trader's baselines are in ``nautilus_books`` (it is an optional dependency).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray
from sortedcontainers import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
    SortedDict,
)

from .data import BookData, Level, Side, level_strings

Num = TypeVar("Num", float, Decimal)


@dataclass(slots=True)
class SortedBook(Generic[Num]):
    """A pure-Python order book: price -> size, ascending keys on both sides (best bid last)."""

    bids: SortedDict  # SortedDict[Num, Num]
    asks: SortedDict  # SortedDict[Num, Num]
    parse: Callable[[str], Num]

    @staticmethod
    def from_strings(
        bids: Iterable[tuple[str, str]],
        asks: Iterable[tuple[str, str]],
        parse: Callable[[str], Num],
    ) -> SortedBook[Num]:
        """Builds a book from exchange-style ``(price, size)`` strings, parsing with ``parse``."""
        return SortedBook(
            bids=SortedDict((parse(p), parse(s)) for p, s in bids),
            asks=SortedDict((parse(p), parse(s)) for p, s in asks),
            parse=parse,
        )

    @staticmethod
    def from_data(data: BookData, parse: Callable[[str], Num]) -> SortedBook[Num]:
        """Builds a book holding the levels of ``data``."""
        return SortedBook.from_strings(data.bid_strings(), data.ask_strings(), parse)

    def apply_delta(self, side: Side, price: str, size: str) -> None:
        """Sets the size at a price from the exchange's strings (size 0 removes the level)."""
        ladder = self.bids if side == "bid" else self.asks
        key = self.parse(price)
        value = self.parse(size)
        if value:
            ladder[key] = value
        else:
            ladder.pop(key, None)

    def copy(self) -> SortedBook[Num]:
        """An independent copy."""
        return SortedBook(self.bids.copy(), self.asks.copy(), self.parse)

    def levels(self, side: Side) -> list[tuple[Num, Num]]:
        """A side's ``(price, size)`` levels, best first."""
        if side == "bid":
            return list(reversed(self.bids.items()))
        return list(self.asks.items())


def sorted_walk_buy(book: SortedBook[Num], quantity: Num) -> tuple[Num, Num, int]:
    """Takes ``quantity`` from the asks: ``(filled, notional, levels taken)``."""
    remaining = quantity
    notional = quantity - quantity  # a zero of the book's number type
    taken = 0
    for price, size in book.asks.items():
        take = size if size < remaining else remaining
        notional += take * price
        remaining -= take
        taken += 1
        if remaining <= 0:
            break
    return quantity - remaining, notional, taken


@dataclass(frozen=True, slots=True)
class NumpySide:
    """One side of a book as float64 arrays, best first."""

    prices: NDArray[np.float64]
    sizes: NDArray[np.float64]

    @staticmethod
    def from_levels(levels: Sequence[Level]) -> NumpySide:
        """Float arrays (USDT, BTC) parsed from the levels' exchange strings."""
        strings = level_strings(tuple(levels))
        return NumpySide(
            prices=np.array([float(p) for p, _ in strings]),
            sizes=np.array([float(s) for _, s in strings]),
        )


def numpy_walk(side: NumpySide, quantity: float) -> tuple[float, float, int]:
    """Takes ``quantity`` from a side, vectorised: ``(filled, notional, levels taken)``."""
    cumulative = np.cumsum(side.sizes)
    k = int(np.searchsorted(cumulative, quantity))
    if k >= len(cumulative):
        return float(cumulative[-1]), float(np.dot(side.prices, side.sizes)), len(cumulative)
    before = float(cumulative[k - 1]) if k else 0.0
    full = float(np.dot(side.prices[:k], side.sizes[:k]))
    return quantity, full + (quantity - before) * float(side.prices[k]), k + 1


def best_venue_python(
    books: Sequence[SortedBook[float]], quantity: float, fee_factors: Sequence[float]
) -> int:
    """Index of the venue with the lowest fee-inclusive average price for a buy of ``quantity``
    among those that can fill it all (-1 if none can)."""
    best_index, best_price = -1, float("inf")
    for index, book in enumerate(books):
        filled, notional, _ = sorted_walk_buy(book, quantity)
        if filled < quantity:
            continue
        price = notional / filled * fee_factors[index]
        if price < best_price:
            best_index, best_price = index, price
    return best_index


@dataclass(frozen=True, slots=True)
class PythonAllocation:
    """A buy split across venues: base quantity per venue and the fee-inclusive total paid."""

    quantities: list[Decimal]
    notionals: list[Decimal]
    total: Decimal


def allocate_python(
    books: Sequence[SortedBook[Decimal]], quantity: Decimal, fee_bps: Sequence[float]
) -> PythonAllocation:
    """Greedy cheapest-level-first split of a buy across venues (optimal for market orders
    when every level size is a multiple of every venue's lot step; exact ``Decimal`` math)."""
    factors = [1 + Decimal(fee) / 10_000 for fee in fee_bps]
    iterators = [iter(book.asks.items()) for book in books]
    heap: list[tuple[Decimal, int, Decimal, Decimal]] = []
    for index, levels in enumerate(iterators):
        first = next(levels, None)
        if first is not None:
            price, size = first
            heap.append((price * factors[index], index, price, size))
    heapq.heapify(heap)
    quantities = [Decimal(0)] * len(books)
    notionals = [Decimal(0)] * len(books)
    remaining = quantity
    while remaining > 0 and heap:
        _, index, price, size = heapq.heappop(heap)
        take = min(size, remaining)
        quantities[index] += take
        notionals[index] += take * price
        remaining -= take
        following = next(iterators[index], None)
        if following is not None:
            next_price, next_size = following
            heapq.heappush(heap, (next_price * factors[index], index, next_price, next_size))
    total = sum(
        (notional * factor for notional, factor in zip(notionals, factors, strict=True)),
        Decimal(0),
    )
    return PythonAllocation(quantities, notionals, total)
