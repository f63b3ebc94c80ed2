"""Hypothesis strategies and comparison helpers shared by the tests.

Books are drawn as :class:`reference.RefBook` values (integer ticks and lots) and handed to the
core as decimal text in every form an exchange or ``str(Decimal)`` produces, so a test compares
the core against the model of exactly the same book.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeAlias

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

import sor
from reference import (
    BOOK_SIDES,
    BookSide,
    DecimalLike,
    Delta,
    Level,
    RefBook,
    as_decimal,
    from_units,
)

__all__ = ["BOOK_SIDES"]

Style: TypeAlias = Literal[
    "plain",
    "padded",
    "normalized",
    "scientific",
    "lower_e",
    "decimal",
    "decimal_padded",
    "int",
    "plus",
]
STYLES: tuple[Style, ...] = (
    "plain",
    "padded",
    "normalized",
    "scientific",
    "lower_e",
    "decimal",
    "decimal_padded",
    "int",
    "plus",
)


def render(units: int, decimals: int, style: Style = "plain", extra: int = 3) -> DecimalLike:
    """``units * 10**-decimals`` written the way ``style`` says.

    ``padded`` adds ``extra`` trailing zeros (Binance's ``"0.01000000"``); ``normalized`` is
    ``str(Decimal.normalize())`` (``"1E-8"``, ``"1E+2"``); ``int`` falls back to plain text when
    the value is not whole.
    """
    value = Decimal(units).scaleb(-decimals)
    if style == "plain":
        return f"{value:.{decimals}f}"
    if style == "padded":
        return f"{value:.{decimals + extra}f}"
    if style == "normalized":
        return str(value.normalize())
    if style == "scientific":
        return f"{value:E}"
    if style == "lower_e":
        return f"{value:e}"
    if style == "decimal":
        return value
    if style == "decimal_padded":
        return Decimal(f"{value:.{decimals + extra}f}")
    if style == "int":
        return int(value) if value == value.to_integral_value() else f"{value:.{decimals}f}"
    return f"+{value:.{decimals}f}"


styles = st.sampled_from(STYLES)


@st.composite
def renderings(draw: st.DrawFn, units: int, decimals: int) -> DecimalLike:
    """``units`` at ``decimals`` in a randomly drawn textual form."""
    return render(units, decimals, draw(styles), draw(st.integers(1, 8)))


def best_first(side: BookSide, best: int, steps: list[int]) -> list[int]:
    """Prices best first starting at ``best`` and moving away by ``steps`` (bids stop at 1)."""
    prices = [best]
    for step in steps:
        nxt = prices[-1] - step if side == "bid" else prices[-1] + step
        if nxt < 1:
            break
        prices.append(nxt)
    return prices


@st.composite
def ref_books(
    draw: st.DrawFn,
    max_levels: int = 12,
    price_decimals: st.SearchStrategy[int] | None = None,
    size_decimals: st.SearchStrategy[int] | None = None,
    max_size: int = 10**6,
    min_levels: int = 0,
) -> RefBook:
    """An uncrossed model book with random precisions, prices and sizes."""
    pd = draw(price_decimals if price_decimals is not None else st.integers(0, 8))
    sd = draw(size_decimals if size_decimals is not None else st.integers(0, 8))
    best_bid = draw(st.one_of(st.integers(1, 2_000), st.integers(1, 10**13)))
    best_ask = best_bid + draw(st.integers(1, 50))
    book = RefBook(pd, sd)
    for side, best in zip(BOOK_SIDES, (best_bid, best_ask), strict=True):
        count = draw(st.integers(min_levels, max_levels))
        if count == 0:
            continue
        steps = draw(st.lists(st.integers(1, 30), min_size=count - 1, max_size=count - 1))
        for price in best_first(side, best, steps):
            book.side(side)[price] = draw(st.integers(1, max_size))
    return book


@st.composite
def deltas_for(draw: st.DrawFn, book: RefBook, max_deltas: int = 12) -> list[Delta]:
    """Deltas touching existing levels and new prices around the book (some will cross)."""
    prices = [*book.bids, *book.asks]
    low = max(1, min(prices, default=100) - 20)
    high = max(prices, default=100) + 20
    out: list[Delta] = []
    for _ in range(draw(st.integers(0, max_deltas))):
        side: BookSide = draw(st.sampled_from(("bid", "ask")))
        existing = list(book.side(side))
        reuse = draw(st.booleans())
        if existing and reuse:
            price = draw(st.sampled_from(existing))
        else:
            price = draw(st.integers(low, high))
        size = draw(st.one_of(st.just(0), st.integers(1, 10**6)))
        out.append((side, price, size))
    return out


def snapshot_args(
    book: RefBook, style: Style = "plain"
) -> tuple[list[tuple[DecimalLike, DecimalLike]], list[tuple[DecimalLike, DecimalLike]]]:
    """The model book as best-first ``(price, size)`` decimal text for ``apply_snapshot``."""
    pd, sd = book.price_decimals, book.size_decimals
    bids = [(render(p, pd, style), render(s, sd, style)) for p, s in book.levels("bid")]
    asks = [(render(p, pd, style), render(s, sd, style)) for p, s in book.levels("ask")]
    return bids, asks


def build(book: RefBook, style: Style = "plain", sequence: int = 0) -> sor.OrderBook:
    """A core book holding the same levels as a model book."""
    core = sor.OrderBook(book.price_decimals, book.size_decimals)
    bids, asks = snapshot_args(book, style)
    core.apply_snapshot(bids, asks, sequence=sequence)
    return core


def core_levels(book: sor.OrderBook, side: BookSide) -> list[Level]:
    """A core book's levels as ``(ticks, lots)``, best first."""
    return [(level.price_ticks, level.size_lots) for level in book.levels(side)]


def assert_same_book(core: sor.OrderBook, ref: RefBook) -> None:
    """The core book holds exactly the model's levels (ticks, lots and decimal values)."""
    assert (core.price_decimals, core.size_decimals) == (ref.price_decimals, ref.size_decimals)
    for side in BOOK_SIDES:
        want = ref.levels(side)
        got = core.levels(side)
        assert [(lv.price_ticks, lv.size_lots) for lv in got] == want, side
        assert [(lv.price, lv.size) for lv in got] == [
            (
                as_decimal(from_units(p, ref.price_decimals)),
                as_decimal(from_units(s, ref.size_decimals)),
            )
            for p, s in want
        ], side
        assert core.level_count(side) == len(want)


def delta_arrays(
    deltas: list[Delta],
) -> tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]]:
    """Deltas as the numpy arrays ``apply_deltas_array`` takes (0 = bid, 1 = ask)."""
    sides = np.array([0 if side == "bid" else 1 for side, _, _ in deltas], dtype=np.uint8)
    prices = np.array([price for _, price, _ in deltas], dtype=np.uint64)
    sizes = np.array([size for _, _, size in deltas], dtype=np.uint64)
    return sides, prices, sizes


def delta_text(
    deltas: list[Delta], book: RefBook, style: Style = "plain"
) -> list[tuple[BookSide, DecimalLike, DecimalLike]]:
    """Deltas as ``(side, price, size)`` decimal text for ``apply_deltas``."""
    return [
        (side, render(price, book.price_decimals, style), render(size, book.size_decimals, style))
        for side, price, size in deltas
    ]


def close(got: float, want: Fraction | float, rel: float = 1e-9, abs_tol: float = 1e-9) -> bool:
    """``got`` is within ``rel`` relative (or ``abs_tol`` absolute) of the exact ``want``."""
    return math.isclose(got, float(want), rel_tol=rel, abs_tol=abs_tol)


def close_or_none(got: float | None, want: Fraction | None, abs_tol: float = 1e-9) -> bool:
    """Both None (nothing filled: no price), or ``got`` within 1e-9 of the exact ``want``."""
    if got is None or want is None:
        return got is None and want is None
    return close(got, want, rel=1e-9, abs_tol=abs_tol)


def exact_bps(max_bps: int) -> st.SearchStrategy[float]:
    """Floats of basis points the core holds exactly (at most 4 decimal places), up to
    ``max_bps``."""
    return st.integers(0, max_bps * 10**4).map(lambda units: units / 10**4)


def btc_usdt(min_cost: str = "0") -> sor.Market:
    """A BTC/USDT market: tick 0.01, lot 0.001, taker fee 0.1%."""
    return sor.Market(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        price_tick=Decimal("0.01"),
        amount_step=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        min_cost=Decimal(min_cost),
    )
