"""A slow, obviously-correct model of the router's rules, in exact arithmetic: the oracle of the
router's property tests (and, later, the pure-Python baseline of its benchmarks).

It reuses the core's model (``reference.py``: books, walks, costs, the best-execution ranking
and the brute-force allocator) and writes the router's rules down once more, plainly:

* Gate, in this order: excluded; not preferred under ``only_preferred``; circuit open; latency
  above the maximum; (``lowest_latency``) latency not under the low-latency threshold; the side
  the order takes from is empty.
* A single venue takes the whole amount or nothing. In this order: the amount is a multiple of
  the step, at least the minimum, at most the maximum, covered by the balance (a buy's quote
  balance pays ``notional x (1 + fee)``); then the walk fills it all, within the limit price,
  with the worst price within the slippage bound of the best, depth within the bound at least
  ``min_liquidity`` times the amount, and a notional of at least the minimum cost.
* Strategies order the qualified venues: best_execution by the composite score (the core's
  ranking, normalised over the venues that passed the amount checks), lowest_latency by latency,
  best_liquidity by depth within the bound, cost_optimization by all-in total. Preferred venues
  come first, in the order given.
* A split caps each live venue at its depth within the bound (and within the limit price), its
  maximum and its balance, rounded down to its step; needs depth of at least the amount and
  ``min_liquidity`` times it; fills the preferred venues first (best split among them), then
  the others; and is never worse than the cheapest qualified single venue.

Books here share one precision (prices in ticks of 0.1, sizes in lots of 0.1) so that lots are
comparable across venues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from reference import (
    RefAllocation,
    RefBook,
    RefCost,
    RefRules,
    RefWalk,
    TakerSide,
    bps_bound,
    bps_units,
    brute_force_allocate,
    consumed_side,
    from_units,
    rank_venues,
    walk,
)

PRICE_DECIMALS = 1
SIZE_DECIMALS = 1
LOT = Fraction(1, 10**SIZE_DECIMALS)

Strategy = Literal[
    "best_execution", "lowest_latency", "best_liquidity", "cost_optimization", "split"
]


@dataclass(frozen=True)
class RefVenue:
    """A venue of the model: its book, market rules (in lots), balances and health."""

    name: str
    book: RefBook
    fee_bps: int | float
    step_lots: int
    min_lots: int
    max_lots: int | None
    min_cost: Fraction
    latency_ms: float
    success: float
    circuit_open: bool
    quote_balance: Fraction | None
    base_balance: Fraction | None

    @property
    def fee(self) -> Fraction:
        """The taker fee as a fraction."""
        return Fraction(self.fee_bps) / 10_000


@dataclass(frozen=True)
class RefOrder:
    """An order of the model (amount in lots, limit price in ticks)."""

    side: TakerSide
    amount_lots: int
    strategy: Strategy
    slippage_bps: float
    preferred: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    only_preferred: bool = False
    limit_ticks: int | None = None
    lot: Fraction = LOT
    """The size of one lot of ``amount_lots``, in base units (the books' size precision)."""

    @property
    def amount(self) -> Fraction:
        """The amount in base units."""
        return self.amount_lots * self.lot


@dataclass(frozen=True)
class RefSettings:
    """The router settings the model needs."""

    min_liquidity: Fraction = Fraction(2)
    max_latency_ms: float = 1_000.0
    low_latency_ms: float = 100.0


@dataclass(frozen=True)
class RefSingle:
    """A venue that can take the whole order alone."""

    venue: RefVenue
    walk: RefWalk
    cost: RefCost
    score: Fraction
    depth_lots: int


@dataclass(frozen=True)
class RefSingles:
    """The outcome of the single-venue rules."""

    live: tuple[RefVenue, ...]
    qualified: tuple[RefSingle, ...]
    rejections: dict[str, str]


def depth_lots(venue: RefVenue, order: RefOrder) -> int:
    """Lots within the slippage bound of the best price of the side the order takes from."""
    return venue.book.depth_within_bps(consumed_side(order.side), order.slippage_bps)


def gate(venue: RefVenue, order: RefOrder, settings: RefSettings) -> str | None:
    """Why the venue is left out before its book is walked, or None."""
    if venue.name in order.excluded:
        return "excluded"
    if order.only_preferred and venue.name not in order.preferred:
        return "not_preferred"
    if venue.circuit_open:
        return "circuit_open"
    if venue.latency_ms > settings.max_latency_ms:
        return "latency"
    if order.strategy == "lowest_latency" and venue.latency_ms >= settings.low_latency_ms:
        return "latency"
    if not venue.book.side(consumed_side(order.side)):
        return "empty_book"
    return None


def amount_problem(venue: RefVenue, order: RefOrder) -> str | None:
    """Why the venue cannot take the whole amount judged without walking, or None."""
    lots = order.amount_lots
    if lots % venue.step_lots:
        return "lot_size"
    if lots < venue.min_lots:
        return "below_minimum"
    if venue.max_lots is not None and lots > venue.max_lots:
        return "above_maximum"
    if (
        order.side == "sell"
        and venue.base_balance is not None
        and order.amount > venue.base_balance
    ):
        return "balance"
    if order.side == "buy" and venue.quote_balance is not None:
        notional = walk(venue.book, "buy", quantity=lots).notional
        if notional * (1 + venue.fee) > venue.quote_balance:
            return "balance"
    return None


def beyond_limit(order: RefOrder, ticks: int | None) -> bool:
    """True if a fill at ``ticks`` breaks the limit price."""
    if order.limit_ticks is None or ticks is None:
        return False
    return ticks > order.limit_ticks if order.side == "buy" else ticks < order.limit_ticks


def singles(venues: Sequence[RefVenue], order: RefOrder, settings: RefSettings) -> RefSingles:
    """The live venues, the qualified single venues and every rejection by venue."""
    rejections: dict[str, str] = {}
    live = []
    for venue in venues:
        reason = gate(venue, order, settings)
        if reason is None:
            live.append(venue)
        else:
            rejections[venue.name] = reason
    sized = []
    for venue in live:
        reason = amount_problem(venue, order)
        if reason is None:
            sized.append(venue)
        else:
            rejections[venue.name] = reason
    qualified = []
    if sized:
        ranking = rank_venues(
            [v.book for v in sized],
            order.side,
            order.amount,
            [float(v.fee_bps) for v in sized],
            [v.latency_ms for v in sized],
            [v.success for v in sized],
            max_slippage_bps=order.slippage_bps,
        )
        for candidate in sorted(ranking, key=lambda c: c.index):
            venue = sized[candidate.index]
            result = candidate.walk
            best = result.best_ticks
            within = best is not None and result.worst_ticks is not None
            if within:
                assert best is not None
                assert result.worst_ticks is not None
                side = consumed_side(order.side)
                bound = bps_bound(best, side, bps_units(order.slippage_bps))
                worst = result.worst_ticks
                within = worst <= bound if order.side == "buy" else worst >= bound
            depth = depth_lots(venue, order)
            ratio = min(Fraction(depth, order.amount_lots), Fraction(10))
            if not result.complete:
                rejections[venue.name] = "insufficient_liquidity"
            elif beyond_limit(order, result.worst_ticks):
                rejections[venue.name] = "limit_price"
            elif not within:
                rejections[venue.name] = "slippage"
            elif ratio < settings.min_liquidity:
                rejections[venue.name] = "liquidity_score"
            elif result.notional < venue.min_cost:
                rejections[venue.name] = "below_minimum"
            else:
                qualified.append(
                    RefSingle(venue, result, candidate.cost, candidate.score.total, depth)
                )
    return RefSingles(tuple(live), tuple(qualified), rejections)


def strategy_key(single: RefSingle, order: RefOrder) -> Fraction:
    """What the strategy minimises for a single venue."""
    if order.strategy == "lowest_latency":
        return Fraction(single.venue.latency_ms)
    if order.strategy == "best_liquidity":
        return Fraction(-single.depth_lots)
    if order.strategy == "cost_optimization":
        return single.cost.total if order.side == "buy" else -single.cost.total
    return -single.score


def route_singles(venues: Sequence[RefVenue], order: RefOrder, settings: RefSettings) -> list[str]:
    """A single-venue strategy's route: the qualified venues, preferred venues first in the
    order given, then by the strategy's key (ties in input order)."""
    qualified = singles(venues, order, settings).qualified
    preferred = [s for name in order.preferred for s in qualified if s.venue.name == name]
    others = sorted(
        (s for s in qualified if s.venue.name not in order.preferred),
        key=lambda s: strategy_key(s, order),
    )
    return [s.venue.name for s in preferred + others]


def split_cap_lots(venue: RefVenue, order: RefOrder) -> int:
    """Most lots the venue may take in a split (rounded down to its step)."""
    cap = depth_lots(venue, order)
    if order.limit_ticks is not None:
        cap = min(cap, walk(venue.book, order.side, limit_price=order.limit_ticks).filled_lots)
    if venue.max_lots is not None:
        cap = min(cap, venue.max_lots)
    if order.side == "sell" and venue.base_balance is not None:
        cap = min(cap, int(venue.base_balance / LOT))
    if order.side == "buy" and venue.quote_balance is not None:
        raw = int(venue.quote_balance / (1 + venue.fee) * 10 ** (PRICE_DECIMALS + SIZE_DECIMALS))
        cap = min(cap, walk(venue.book, "buy", notional=raw).filled_lots)
    return cap - cap % venue.step_lots


def venue_rules(venue: RefVenue, order: RefOrder) -> RefRules:
    """The venue's rules for the model's allocator, capped."""
    return RefRules(
        taker_fee_bps=float(venue.fee_bps),
        lot_size=venue.step_lots * LOT,
        min_quantity=venue.min_lots * LOT,
        min_notional=venue.min_cost,
        max_quantity=split_cap_lots(venue, order) * LOT,
    )


@dataclass(frozen=True)
class RefSplit:
    """The model's split: filled quantity, total and quantity per venue (None: refused)."""

    filled: Fraction
    total: Fraction
    quantities: dict[str, Fraction]
    depth: Fraction


def split(venues: Sequence[RefVenue], order: RefOrder, settings: RefSettings) -> RefSplit | None:
    """The best split by brute force (preferred venues first), or None when the depth checks
    refuse it."""
    outcome = singles(venues, order, settings)
    live = outcome.live
    depth = sum((split_cap_lots(v, order) * LOT for v in live), Fraction(0))
    if not live or depth < order.amount or depth < order.amount * settings.min_liquidity:
        return None
    preferred = sorted(
        (v for v in live if v.name in order.preferred), key=lambda v: order.preferred.index(v.name)
    )
    others = [v for v in live if v.name not in order.preferred]
    quantities: dict[str, Fraction] = {}
    remaining = order.amount
    total = Fraction(0)
    for group in (preferred, others):
        if not group or remaining == 0:
            continue
        best: RefAllocation = brute_force_allocate(
            [v.book for v in group], order.side, remaining, [venue_rules(v, order) for v in group]
        )
        for venue, quantity in zip(group, best.quantities, strict=True):
            if quantity:
                quantities[venue.name] = quantity
        remaining -= best.filled
        total += best.total
    if not order.preferred and outcome.qualified:
        sign = 1 if order.side == "buy" else -1
        cheapest = min(outcome.qualified, key=lambda s: sign * s.cost.total)
        if remaining == 0 and sign * cheapest.cost.total < sign * total:
            return RefSplit(
                order.amount, cheapest.cost.total, {cheapest.venue.name: order.amount}, depth
            )
    return RefSplit(order.amount - remaining, total, quantities, depth)


def notional_of(venue: RefVenue, side: TakerSide, quantity: Fraction) -> Fraction:
    """Exact notional of a fill of ``quantity`` on the venue."""
    lots = quantity / LOT
    assert lots.denominator == 1
    return walk(venue.book, side, quantity=int(lots)).notional


def price(ticks: int) -> Fraction:
    """Ticks as a price."""
    return from_units(ticks, PRICE_DECIMALS)
