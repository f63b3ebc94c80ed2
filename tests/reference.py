"""A slow, obviously-correct model of the core, with exact arithmetic: the tests' oracle.

Everything here is plain Python over ``fractions.Fraction``, dicts and sorted lists, written for
readability rather than speed. Prices are integer *ticks* (``10**-price_decimals`` quote) and
sizes integer *lots* (``10**-size_decimals`` base), exactly like the core; quantities that span
books of different precisions are ``Fraction`` values in base units.

The rules written down here are the contract the tests hold the core to:

* A book side maps price -> size; a snapshot replaces both sides (zero sizes skipped; levels must
  be strictly sorted best first, prices positive, best bid below best ask); a batch of deltas is
  applied in order and refused as a whole (nothing changes) if it leaves the book crossed.
* A walk consumes levels in price order and never skips one: at each level it takes as many
  whole lots as the remaining quantity and notional allow, and stops at the first level it does
  not take completely (or at a level beyond the limit price, or when the side runs out).
* Scoring min-max normalises each higher-is-better factor across the candidates (all equal -> 1),
  weights are scaled to sum to 1; ``rank_venues`` normalises over the eligible venues only.
* The allocator enumerates every split of the order in lot units and keeps the one that fills
  the most, then costs the least (buy) or yields the most (sell), fees included.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal, TypeAlias

BookSide: TypeAlias = Literal["bid", "ask"]
TakerSide: TypeAlias = Literal["buy", "sell"]
DecimalLike: TypeAlias = str | Decimal | int
Factors: TypeAlias = tuple[Fraction, Fraction, Fraction, Fraction]

BOOK_SIDES: tuple[BookSide, BookSide] = ("bid", "ask")
TAKER_SIDES: tuple[TakerSide, TakerSide] = ("buy", "sell")
FACTOR_NAMES = ("price", "liquidity", "latency", "reliability")
DEFAULT_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
#: Units of exact basis points in one whole: 1 = 10,000 bps = 10**8 units of 1e-4 bps.
BPS_UNITS_PER_ONE = 100_000_000
#: Depth beyond this many times the order does not make a venue more liquid for that order.
LIQUIDITY_RATIO_CAP = 10

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class RefusedError(ValueError):
    """The model refuses an input: ``kind`` says which exception class the core must raise."""

    def __init__(self, kind: Literal["invalid", "book"], field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.kind = kind
        self.field = field
        self.reason = reason


def attempt(call: Callable[[], object]) -> RefusedError | None:
    """Runs a model call; returns its refusal, or None if it succeeded."""
    try:
        call()
    except RefusedError as refusal:
        return refusal
    return None


# ------------------------------------------------------------------------------------------------
# Exact numbers


def exact(value: DecimalLike, field: str = "value") -> Fraction:
    """The exact value of a decimal string, ``Decimal`` or ``int`` (floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise RefusedError("invalid", field, f"expected str, Decimal or int, got {type(value)}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RefusedError("invalid", field, "not finite")
        number = Fraction(value)
    elif isinstance(value, int):
        number = Fraction(value)
    else:
        if value.strip().lower().lstrip("+-") in {"nan", "snan", "inf", "infinity"}:
            raise RefusedError("invalid", field, "not finite")
        if not _NUMBER.fullmatch(value):
            raise RefusedError("invalid", field, "not a decimal number")
        number = Fraction(Decimal(value))
    if number < 0:
        raise RefusedError("invalid", field, "negative")
    return number


def to_units(value: DecimalLike, decimals: int, field: str = "value") -> int:
    """``value`` as an integer count of ``10**-decimals``; refused if it does not fit exactly."""
    scaled = exact(value, field) * 10**decimals
    if scaled.denominator != 1:
        raise RefusedError("invalid", field, f"non-zero digits beyond {decimals} decimal places")
    if scaled >= 2**64:
        raise RefusedError("invalid", field, "too large")
    return int(scaled)


def from_units(units: int, decimals: int) -> Fraction:
    """The exact value of ``units * 10**-decimals``."""
    return Fraction(units, 10**decimals)


def as_decimal(value: Fraction) -> Decimal:
    """A ``Fraction`` whose denominator is a power of ten, as an exact ``Decimal``."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
        if digits > 60:
            raise ValueError(f"{value} is not a finite decimal")
    # Exact however many digits: scaleb would round to the context's 28 significant digits.
    units = int(value * 10**digits)
    return Decimal((0, tuple(int(d) for d in str(units)), -digits))


def round_half_away(value: Fraction) -> int:
    """Rounds a non-negative ``Fraction`` to the nearest integer, ties away from zero."""
    return math.floor(value + Fraction(1, 2))


def float_to_units(value: float, decimals: int) -> int:
    """The nearest ``10**-decimals`` unit to a float's shortest decimal text (ties away)."""
    if not math.isfinite(value) or value < 0:
        raise RefusedError("invalid", "value", "not a finite non-negative number")
    shortest = Decimal(repr(value))
    return int(shortest.scaleb(decimals).to_integral_value(rounding=ROUND_HALF_UP))


BpsLike: TypeAlias = str | Decimal | int | float
"""What a number of basis points may be given as (a float is read as the decimal it prints as)."""


def bps_units(bps: BpsLike, field: str = "bps") -> int:
    """A number of basis points in exact units of 1e-4 bps; anything finer is refused, never
    rounded. A float counts as the decimal ``repr`` writes (``7.5``, ``0.1``)."""
    if isinstance(bps, bool) or not isinstance(bps, (str, Decimal, int, float)):
        raise RefusedError("invalid", field, f"expected a number, got {type(bps).__name__}")
    try:
        number = Decimal(repr(bps) if isinstance(bps, float) else bps)
    except ArithmeticError:
        raise RefusedError("invalid", field, "not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise RefusedError("invalid", field, "must be a finite number >= 0")
    units = Fraction(number) * 10**4
    if units.denominator != 1:
        raise RefusedError("invalid", field, "has non-zero digits beyond 4 decimal places")
    if units >= 2**64:
        raise RefusedError("invalid", field, "too large")
    return int(units)


def fee_units(fee: BpsLike, field: str = "taker_fee_bps") -> int:
    """A taker fee in exact units of 1e-4 bps: as :func:`bps_units`, and below 10,000 bps."""
    units = bps_units(fee, field)
    if units >= BPS_UNITS_PER_ONE:
        raise RefusedError("invalid", field, "not below 10000 bps (a fee of 100% or more)")
    return units


# ------------------------------------------------------------------------------------------------
# The book

Level: TypeAlias = tuple[int, int]
"""``(price_ticks, size_lots)``."""

Delta: TypeAlias = tuple[BookSide, int, int]
"""``(side, price_ticks, size_lots)``; size 0 removes the level."""


def _better(side: BookSide, a: int, b: int) -> bool:
    """True if price ``a`` is strictly better than ``b`` on ``side``."""
    return a > b if side == "bid" else a < b


@dataclass
class RefBook:
    """The model order book: one dict price -> size per side."""

    price_decimals: int
    size_decimals: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    sequence: int = 0
    version: int = 0

    def copy(self) -> RefBook:
        """An independent copy."""
        return RefBook(
            self.price_decimals,
            self.size_decimals,
            dict(self.bids),
            dict(self.asks),
            self.sequence,
            self.version,
        )

    def side(self, side: BookSide) -> dict[int, int]:
        """The dict of one side."""
        return self.bids if side == "bid" else self.asks

    def levels(self, side: BookSide) -> list[Level]:
        """The levels of a side, best first."""
        return sorted(self.side(side).items(), reverse=side == "bid")

    def best(self, side: BookSide) -> Level | None:
        """The best level of a side."""
        levels = self.levels(side)
        return levels[0] if levels else None

    def is_crossed(self) -> bool:
        """True if the best bid is at or above the best ask."""
        bid, ask = self.best("bid"), self.best("ask")
        return bid is not None and ask is not None and bid[0] >= ask[0]

    def spread_ticks(self) -> int | None:
        """Best ask minus best bid, in ticks."""
        bid, ask = self.best("bid"), self.best("ask")
        return None if bid is None or ask is None else ask[0] - bid[0]

    def mid(self) -> Fraction | None:
        """Average of the best prices, in quote units."""
        bid, ask = self.best("bid"), self.best("ask")
        if bid is None or ask is None:
            return None
        return from_units(bid[0] + ask[0], self.price_decimals) / 2

    def total_lots(self, side: BookSide) -> int:
        """Total size of a side, in lots."""
        return sum(self.side(side).values())

    def depth_within_bps(self, side: BookSide, bps: float) -> int:
        """Lots on ``side`` priced no further than ``bps`` from its best price."""
        best = self.best(side)
        if best is None:
            return 0
        bound = bps_bound(best[0], side, bps_units(bps))
        if side == "ask":
            return sum(size for price, size in self.asks.items() if price <= bound)
        return sum(size for price, size in self.bids.items() if price >= bound)

    def apply_snapshot(
        self, bids: Sequence[Level], asks: Sequence[Level], sequence: int = 0
    ) -> None:
        """Replaces both sides from best-first levels, or refuses and changes nothing.

        Checked in this order: bids sorted, bid prices positive, asks sorted, ask prices
        positive, not crossed.
        """
        sides: tuple[tuple[str, BookSide, Sequence[Level]], ...] = (
            ("bids", "bid", bids),
            ("asks", "ask", asks),
        )
        for name, side, levels in sides:
            for index in range(1, len(levels)):
                if not _better(side, levels[index - 1][0], levels[index][0]):
                    raise RefusedError("book", f"{name}[{index}]", "not strictly sorted best first")
            for index, (price, _) in enumerate(levels):
                if price == 0:
                    raise RefusedError("invalid", f"{name}[{index}].price", "must be positive")
        new_bids = {price: size for price, size in bids if size > 0}
        new_asks = {price: size for price, size in asks if size > 0}
        if new_bids and new_asks and max(new_bids) >= min(new_asks):
            raise RefusedError("book", "snapshot", "crossed")
        self.bids, self.asks = new_bids, new_asks
        self.sequence = sequence
        self.version += 1

    def apply_deltas(self, deltas: Sequence[Delta], sequence: int | None = None) -> None:
        """Applies deltas in order, all or nothing (refused if the result is crossed)."""
        for index, (_, price, _) in enumerate(deltas):
            if price == 0:
                raise RefusedError("invalid", f"deltas[{index}].price", "must be positive")
        trial = self.copy()
        for side, price, size in deltas:
            book_side = trial.side(side)
            if size == 0:
                book_side.pop(price, None)
            else:
                book_side[price] = size
        if trial.is_crossed():
            raise RefusedError("book", "deltas", "crossed")
        self.bids, self.asks = trial.bids, trial.asks
        if sequence is not None:
            self.sequence = sequence
        self.version += 1

    def apply_delta(self, delta: Delta, sequence: int | None = None) -> None:
        """Applies one delta (a batch of one)."""
        self.apply_deltas([delta], sequence)

    def clear(self) -> None:
        """Removes every level; the sequence restarts at 0."""
        self.bids, self.asks = {}, {}
        self.sequence = 0
        self.version += 1


def bps_bound(best: int, side: BookSide, units: int) -> int:
    """The worst price (ticks) within ``units`` (1e-4 bps) of ``best``; bounds count as inside."""
    one = BPS_UNITS_PER_ONE
    if side == "ask":
        return best * (one + units) // one
    factor = max(0, one - units)
    return max(1, -(-(best * factor) // one))


# ------------------------------------------------------------------------------------------------
# Walking and cost


@dataclass(frozen=True)
class RefWalk:
    """The outcome of a walk, exact."""

    side: TakerSide
    price_decimals: int
    size_decimals: int
    filled_lots: int
    notional_raw: int
    best_ticks: int | None
    worst_ticks: int | None
    levels_consumed: int
    complete: bool

    @property
    def filled(self) -> Fraction:
        """Base quantity filled."""
        return from_units(self.filled_lots, self.size_decimals)

    @property
    def notional(self) -> Fraction:
        """Quote notional of the fill."""
        return from_units(self.notional_raw, self.price_decimals + self.size_decimals)

    @property
    def average_price(self) -> Fraction | None:
        """Average fill price in quote units (None if nothing filled: no price is not 0)."""
        if self.filled_lots == 0:
            return None
        return self.notional / self.filled

    @property
    def slippage_bps(self) -> Fraction | None:
        """Average price versus the best price, in basis points (None if nothing filled)."""
        average = self.average_price
        if average is None or self.best_ticks is None:
            return None
        best = from_units(self.best_ticks, self.price_decimals)
        diff = average - best if self.side == "buy" else best - average
        return diff / best * 10_000


def consumed_side(side: TakerSide) -> BookSide:
    """The book side a taker order consumes."""
    return "ask" if side == "buy" else "bid"


def walk(
    book: RefBook,
    side: TakerSide,
    quantity: int | None = None,
    notional: int | None = None,
    limit_price: int | None = None,
) -> RefWalk:
    """Walks the side ``side`` consumes: quantity in lots, notional in raw units, limit in ticks.

    Levels are taken in price order and none is skipped: the walk stops at the first level it
    does not take whole. Complete means a target was reached: the quantity filled, or the
    notional spent exactly, or the walk stopped at a level still in the book (partly taken, or
    past the limit price) where one more lot costs more than the notional left. A side that
    runs out before its target is incomplete however little is left; so is a walk the limit
    stopped while the next level was still affordable. A walk without a quantity or notional
    target is always complete.

    This is the walk itself (zero targets fill nothing, complete); :func:`walk_request` adds
    what the public ``OrderBook.walk`` refuses.
    """
    levels = book.levels(consumed_side(side))
    best = levels[0][0] if levels else None
    targeted = quantity is not None or notional is not None
    left_qty = quantity
    left_notional = notional
    filled = spent = taken = 0
    worst: int | None = None
    reached = False
    if quantity == 0 or notional == 0:
        return RefWalk(side, book.price_decimals, book.size_decimals, 0, 0, best, None, 0, True)
    for price, size in levels:
        if limit_price is not None and (
            price > limit_price if side == "buy" else price < limit_price
        ):
            # Stopped by the limit: the notional target binds anyway if a lot here is too dear.
            reached = left_notional is not None and left_notional < price
            break
        take = size
        if left_qty is not None:
            take = min(take, left_qty)
        if left_notional is not None:
            take = min(take, left_notional // price)
        if take > 0:
            filled += take
            spent += take * price
            taken += 1
            worst = price
            if left_qty is not None:
                left_qty -= take
            if left_notional is not None:
                left_notional -= take * price
        if take < size:
            reached = True
            break
    complete = not targeted or reached or left_qty == 0 or left_notional == 0
    return RefWalk(
        side,
        book.price_decimals,
        book.size_decimals,
        filled,
        spent,
        best,
        worst,
        taken,
        complete,
    )


#: The most lots a walk can report, and the bound of its notional (raw units).
MAX_LOTS = 2**64 - 1
MAX_NOTIONAL = 2**128 - 1


def walk_request(
    book: RefBook,
    side: TakerSide,
    quantity: int | None = None,
    notional: int | None = None,
    limit_price: int | None = None,
) -> RefWalk:
    """``OrderBook.walk``: :func:`walk`, refusing a walk with no bound, a zero quantity or
    notional, and a fill past ``2**64 - 1`` lots (or a notional past ``2**128 - 1``)."""
    if quantity == 0:
        raise RefusedError("invalid", "quantity", "must be positive")
    if notional == 0:
        raise RefusedError("invalid", "notional", "must be positive")
    if quantity is None and notional is None and limit_price is None:
        raise RefusedError("invalid", "quantity, notional or limit_price", "one is required")
    result = walk(book, side, quantity, notional, limit_price)
    if result.filled_lots > MAX_LOTS or result.notional_raw > MAX_NOTIONAL:
        raise RefusedError("invalid", "walk", "more lots than a walk can report")
    return result


def affordable_lots(book: RefBook, funds: Fraction, taker_fee_bps: float) -> int | None:
    """Most lots ``funds`` (quote) buy from the asks with the fee on top, or None if the asks
    run out first (their depth, not the funds, limits).

    The funds are first rounded down to the book's notional unit; the result is the largest
    quantity whose raw notional ``n`` has ``n * (1 + fee) <= funds``. The whole side counts as
    running out unless its notional is exactly the most the funds allow.
    """
    fee = Fraction(bps_units(taker_fee_bps), BPS_UNITS_PER_ONE)
    funds_raw = math.floor(funds * 10 ** (book.price_decimals + book.size_decimals))
    budget = math.floor(Fraction(funds_raw) / (1 + fee))
    total = book.total_lots("ask")
    if walk(book, "buy", quantity=total).notional_raw < budget:
        return None
    lots = 0
    while lots < total and walk(book, "buy", quantity=lots + 1).notional_raw <= budget:
        lots += 1
    return lots


@dataclass(frozen=True)
class RefCost:
    """A walk priced with a taker fee, exact (quote units)."""

    fee: Fraction
    total: Fraction
    effective_price: Fraction | None


def execution_cost(result: RefWalk, taker_fee_bps: BpsLike) -> RefCost:
    """Fee = notional * fee_bps / 1e4; a buy pays notional + fee, a sell receives notional - fee."""
    fee = result.notional * fee_units(taker_fee_bps, "taker_fee_bps") / BPS_UNITS_PER_ONE
    total = result.notional + fee if result.side == "buy" else result.notional - fee
    effective = total / result.filled if result.filled_lots else None
    return RefCost(fee, total, effective)


# ------------------------------------------------------------------------------------------------
# Scoring


def scaled_weights(weights: Sequence[float] = DEFAULT_WEIGHTS) -> Factors:
    """Validates weights (finite, >= 0, not all zero) and scales them to sum to 1."""
    for name, value in zip(FACTOR_NAMES, weights, strict=True):
        if not math.isfinite(value) or value < 0:
            raise RefusedError("invalid", name, "weight must be a finite number >= 0")
    total = sum(Fraction(w) for w in weights)
    if total == 0:
        raise RefusedError("invalid", "weights", "at least one weight must be positive")
    a, b, c, d = (Fraction(w) / total for w in weights)
    return (a, b, c, d)


@dataclass(frozen=True)
class RefScore:
    """One candidate's exact score."""

    index: int
    total: Fraction
    normalised: Factors
    contributions: Factors


RELATIVE_TIE = Fraction(1e-12)
"""Factor spreads up to this fraction of the values are ties (``RELATIVE_TIE`` in score.rs)."""


def score_rows(
    raw: Sequence[Factors], weights: Factors, in_range: Sequence[bool] | None = None
) -> list[RefScore]:
    """Scores higher-is-better rows, in input order.

    Each factor is min-max normalised over the rows selected by ``in_range`` (all rows when
    none is selected), clamped to [0, 1]; a factor equal across them, or spread over no more
    than ``RELATIVE_TIE`` of its magnitude (float noise, such as one price computed at two
    precisions), normalises to 1.
    """
    selected = [
        row
        for index, row in enumerate(raw)
        if in_range is None or not any(in_range) or in_range[index]
    ]
    low = [min(row[k] for row in selected) if selected else Fraction(0) for k in range(4)]
    high = [max(row[k] for row in selected) if selected else Fraction(0) for k in range(4)]
    scores = []
    for index, row in enumerate(raw):
        norm = []
        for k in range(4):
            span = high[k] - low[k]
            norm.append(
                min(Fraction(1), max(Fraction(0), (row[k] - low[k]) / span))
                if span > max(abs(high[k]), abs(low[k])) * RELATIVE_TIE
                else Fraction(1)
            )
        contrib = [weights[k] * norm[k] for k in range(4)]
        scores.append(
            RefScore(
                index,
                sum(contrib, Fraction(0)),
                (norm[0], norm[1], norm[2], norm[3]),
                (contrib[0], contrib[1], contrib[2], contrib[3]),
            )
        )
    return scores


def score(
    rows: Sequence[Sequence[float]], weights: Sequence[float] = DEFAULT_WEIGHTS
) -> list[RefScore]:
    """``sor.score``: rows scored, best first (ties by input order)."""
    raw: list[Factors] = []
    for index, row in enumerate(rows):
        for name, value in zip(FACTOR_NAMES, row, strict=True):
            if not math.isfinite(value):
                raise RefusedError("invalid", f"candidate {index}: factor {name}", "must be finite")
        a, b, c, d = (Fraction(v) for v in row)
        raw.append((a, b, c, d))
    scores = score_rows(raw, scaled_weights(weights))
    return sorted(scores, key=lambda s: (-s.total, s.index))


@dataclass(frozen=True)
class RefCandidate:
    """One venue evaluated by :func:`rank_venues`."""

    index: int
    walk: RefWalk
    cost: RefCost
    liquidity_ratio: Fraction
    eligible: bool
    raw: Factors
    score: RefScore


def candidate_factors(
    book: RefBook,
    side: TakerSide,
    quantity: Fraction,
    taker_fee_bps: float,
    latency_ms: float,
    reliability: float,
    max_slippage_bps: float,
) -> tuple[RefWalk, RefCost, Fraction, bool, Factors]:
    """Walk, cost, liquidity ratio, eligibility and raw factors of one venue for one order."""
    lots = quantity * 10**book.size_decimals
    if lots.denominator != 1:
        raise RefusedError("invalid", "quantity", "more decimals than the book's size precision")
    result = walk(book, side, quantity=int(lots))
    cost = execution_cost(result, taker_fee_bps)
    depth = book.depth_within_bps(consumed_side(side), max_slippage_bps)
    ratio = min(Fraction(depth) / lots, Fraction(LIQUIDITY_RATIO_CAP))
    within = result.filled_lots > 0
    if within and result.best_ticks is not None and result.worst_ticks is not None:
        bound = bps_bound(result.best_ticks, consumed_side(side), bps_units(max_slippage_bps))
        within = result.worst_ticks <= bound if side == "buy" else result.worst_ticks >= bound
    # Nothing filled: no price; the core scores it as 0 (the venue is never eligible).
    effective = cost.effective_price if cost.effective_price is not None else Fraction(0)
    price = -effective if side == "buy" else effective
    raw = (price, ratio, -Fraction(latency_ms), Fraction(reliability))
    return result, cost, ratio, result.complete and within, raw


def rank_venues(
    books: Sequence[RefBook],
    side: TakerSide,
    quantity: Fraction,
    taker_fees_bps: Sequence[float],
    latencies_ms: Sequence[float],
    reliabilities: Sequence[float],
    weights: Sequence[float] = DEFAULT_WEIGHTS,
    max_slippage_bps: float = 100.0,
) -> list[RefCandidate]:
    """The best-execution ranking: eligible first, then score, then better price, then index.

    Eligible = the walk fills the whole quantity and its worst price is within
    ``max_slippage_bps`` of the best. Normalisation is over the eligible venues (over all of
    them if none is eligible); values outside that range are clamped to [0, 1].
    """
    n = len(books)
    if not len(taker_fees_bps) == len(latencies_ms) == len(reliabilities) == n:
        raise RefusedError("invalid", "books", "lengths differ")
    if quantity <= 0:
        raise RefusedError("invalid", "quantity", "must be positive")
    parts = []
    for index in range(n):
        if not math.isfinite(latencies_ms[index]) or latencies_ms[index] < 0:
            raise RefusedError("invalid", f"venue {index}", "latency_ms")
        if not 0 <= reliabilities[index] <= 1:
            raise RefusedError("invalid", f"venue {index}", "reliability")
        parts.append(
            candidate_factors(
                books[index],
                side,
                quantity,
                taker_fees_bps[index],
                latencies_ms[index],
                reliabilities[index],
                max_slippage_bps,
            )
        )
    eligible = [p[3] for p in parts]
    scores = score_rows([p[4] for p in parts], scaled_weights(weights), eligible)
    candidates = [
        RefCandidate(i, p[0], p[1], p[2], p[3], p[4], scores[i]) for i, p in enumerate(parts)
    ]
    return sorted(candidates, key=lambda c: (not c.eligible, -c.score.total, -c.raw[0], c.index))


# ------------------------------------------------------------------------------------------------
# Allocation


@dataclass(frozen=True)
class RefRules:
    """A venue's rules in base / quote units (``None`` lot = one lot of the book)."""

    taker_fee_bps: float = 0.0
    lot_size: Fraction | None = None
    min_quantity: Fraction = Fraction(0)
    min_notional: Fraction = Fraction(0)
    max_quantity: Fraction | None = None


@dataclass(frozen=True)
class RefOption:
    """One feasible, non-empty part on one venue."""

    quantity: Fraction
    walk: RefWalk
    total: Fraction


def part_walk(book: RefBook, side: TakerSide, quantity: Fraction) -> RefWalk:
    """The walk of ``book`` for a base quantity (which must be whole lots of the book)."""
    lots = quantity * 10**book.size_decimals
    if lots.denominator != 1:
        raise ValueError(f"{quantity} is not a whole number of lots")
    return walk(book, side, quantity=int(lots))


def venue_options(
    book: RefBook, side: TakerSide, rules: RefRules, requested: Fraction
) -> list[RefOption]:
    """Every quantity one venue may take of an order under its rules, with its exact total.

    A part is a positive multiple of the lot, at least the minimum quantity, at most the cap,
    the order and the side's depth, and its notional is at least the minimum notional.
    """
    lot = rules.lot_size if rules.lot_size is not None else from_units(1, book.size_decimals)
    depth = from_units(book.total_lots(consumed_side(side)), book.size_decimals)
    upper = min(requested, depth)
    if rules.max_quantity is not None:
        upper = min(upper, rules.max_quantity)
    options = []
    k = 1
    while k * lot <= upper:
        quantity = k * lot
        k += 1
        if quantity < rules.min_quantity:
            continue
        result = part_walk(book, side, quantity)
        if not result.complete or result.notional < rules.min_notional:
            continue
        cost = execution_cost(result, rules.taker_fee_bps)
        options.append(RefOption(quantity, result, cost.total))
    return options


@dataclass(frozen=True)
class RefAllocation:
    """The best split found by brute force."""

    filled: Fraction
    total: Fraction
    quantities: tuple[Fraction, ...]


def better_allocation(
    side: TakerSide, filled: Fraction, total: Fraction, than: RefAllocation | None
) -> bool:
    """True if (filled, total) beats ``than``: more filled, then cheaper (buy) / richer (sell)."""
    if than is None:
        return True
    if filled != than.filled:
        return filled > than.filled
    return total < than.total if side == "buy" else total > than.total


def brute_force_allocate(
    books: Sequence[RefBook],
    side: TakerSide,
    requested: Fraction,
    rules: Sequence[RefRules],
) -> RefAllocation:
    """The best split of ``requested`` over ``books``, found by trying every one."""
    choices: list[list[RefOption | None]] = [
        [None, *venue_options(book, side, rule, requested)]
        for book, rule in zip(books, rules, strict=True)
    ]
    best: RefAllocation | None = None
    for combo in itertools.product(*choices):
        parts = [option for option in combo if option is not None]
        filled = sum((p.quantity for p in parts), Fraction(0))
        if filled > requested:
            continue
        total = sum((p.total for p in parts), Fraction(0))
        if better_allocation(side, filled, total, best):
            best = RefAllocation(
                filled,
                total,
                tuple(Fraction(0) if o is None else o.quantity for o in combo),
            )
    assert best is not None  # the empty split is always possible
    return best


def single_venue_totals(
    books: Sequence[RefBook],
    side: TakerSide,
    requested: Fraction,
    rules: Sequence[RefRules],
) -> list[Fraction]:
    """The totals of the venues that can take the whole order alone under their rules."""
    totals = []
    for book, rule in zip(books, rules, strict=True):
        for option in venue_options(book, side, rule, requested):
            if option.quantity == requested:
                totals.append(option.total)
    return totals


def levels_total(levels: Iterable[Level]) -> int:
    """Total lots of a list of levels."""
    return sum(size for _, size in levels)
