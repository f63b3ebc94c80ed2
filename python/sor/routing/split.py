"""The split strategy: the exact multi-venue allocation of the whole order, capped per venue by
depth within the slippage bound, maximum amount and balance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sor._core import (
    Allocation,
    allocate,
)
from sor._decimal import APPROX, EXACT, fixed, fmt, total
from sor.routing.context import Context, Live, Single
from sor.routing.decision import (
    NoRouteReason,
    Rejection,
    RoutePart,
    RoutingReason,
)
from sor.routing.rejections import no_route, plural
from sor.routing.screening import balance_cap, limit_ticks

# Split


def split_cap(ctx: Context, venue: Live) -> Decimal:
    """Most the venue may take in a split: depth within the slippage bound (and within the
    limit price), its maximum amount and its balance, rounded down to its lot."""
    book, market = venue.book, venue.market
    cap = book.depth_within_bps(ctx.consumed, ctx.max_slippage_bps)
    limit = limit_ticks(ctx, book)
    if limit is not None:
        cap = min(cap, book.depth_up_to(ctx.consumed, limit))
    if market.max_amount is not None:
        cap = min(cap, market.max_amount)
    balance = balance_cap(ctx, venue)
    if balance is not None:
        cap = min(cap, balance)
    return market.round_amount(cap)


def split(
    ctx: Context, live: Sequence[Live], singles: Sequence[Single], rejections: list[Rejection]
) -> tuple[RoutingReason, tuple[RoutePart, ...], tuple[RoutePart, ...], bool]:
    """The lowest-cost allocation of the whole order across the live venues (preferred venues
    filled first when the order names some): ``(reason, parts, alternatives, proven)``, where
    ``proven`` says every allocation was proven optimal (see ``Allocation.proven_optimal``).

    The split never costs more than the cheapest venue that could take the whole order alone
    (without preferences, that venue is used instead if the allocation were to cost more).
    """
    order = ctx.order
    amount = order.amount
    caps = {venue.name: split_cap(ctx, venue) for venue in live}
    depth = total(caps.values())
    minimum = Decimal(repr(ctx.settings.min_liquidity_score))
    slippage, venues = f"{ctx.max_slippage_bps:g} bps", plural(len(live), "venue")
    if depth < amount:
        raise no_route(
            ctx,
            rejections,
            NoRouteReason.INSUFFICIENT_LIQUIDITY,
            f"insufficient liquidity: {fmt(depth)} of {amount:f} {ctx.base} available within "
            f"{slippage} on {venues}",
            depth,
        )
    if depth < APPROX.multiply(amount, minimum):
        raise no_route(
            ctx,
            rejections,
            NoRouteReason.INSUFFICIENT_LIQUIDITY,
            f"insufficient liquidity: {fmt(depth)} {ctx.base} within {slippage} on {venues} is "
            f"{fixed(APPROX.divide(depth, amount), 2)}x the {amount:f} {ctx.base} order, below "
            "the minimum "
            f"liquidity score {ctx.settings.min_liquidity_score:g}x",
            depth,
        )
    preferred = sorted(
        (v for v in live if v.preference is not None), key=lambda v: v.preference or 0
    )
    others = [v for v in live if v.preference is None]
    parts: list[RoutePart] = []
    remaining = amount
    proven = True
    for group in (preferred, others) if preferred else (others,):
        if remaining == 0 or not group:
            continue
        allocation = allocate_group(ctx, group, remaining, caps)
        parts += [
            RoutePart(group[part.index].name, part.quantity, part.walk, part.cost)
            for part in allocation.parts
        ]
        remaining = EXACT.subtract(remaining, allocation.filled)
        proven = proven and allocation.proven_optimal
    if remaining:
        filled = EXACT.subtract(amount, remaining)
        raise no_route(
            ctx,
            rejections,
            NoRouteReason.INVALID_AMOUNT,
            f"{amount:f} {ctx.base} does not fit the venues' lot sizes and minimums: at most "
            f"{fmt(filled)} {ctx.base} can be routed",
            filled,
        )
    cheapest = cheapest_single(ctx, singles)
    if not preferred and cheapest is not None and better(ctx, cheapest.part.total, parts):
        parts = [cheapest.part]
    rank = {v.name: v.preference for v in live}
    parts.sort(
        key=lambda p: (rank[p.venue] is None, rank[p.venue] or 0, EXACT.minus(p.quantity), p.venue)
    )
    sole = parts[0].venue if len(parts) == 1 else None
    alternatives = tuple(
        s.part
        for s in sorted(singles, key=lambda s: ((1 if ctx.buy else -1) * s.part.total, s.rank))
        if s.live.name != sole
    )
    if len(parts) > 1:
        reason = RoutingReason.SPLIT
    elif rank[parts[0].venue] is not None:
        reason = RoutingReason.PREFERRED_EXCHANGE
    else:
        reason = RoutingReason.LOWEST_COST
    return reason, tuple(parts), alternatives, proven


def allocate_group(
    ctx: Context, group: Sequence[Live], quantity: Decimal, caps: Mapping[str, Decimal]
) -> Allocation:
    """``sor.allocate`` over one group of venues, each capped."""
    return allocate(
        [venue.book for venue in group],
        ctx.order.taker_side,
        quantity,
        [venue.market.rules(caps[venue.name]) for venue in group],
    )


def cheapest_single(ctx: Context, singles: Sequence[Single]) -> Single | None:
    """The single venue with the best all-in total, if any."""
    if not singles:
        return None
    if ctx.buy:
        return min(singles, key=lambda s: (s.part.total, s.rank))
    return max(singles, key=lambda s: (s.part.total, -s.rank))


def better(ctx: Context, total: float, parts: Sequence[RoutePart]) -> bool:
    """True if ``total`` beats the parts' combined total (pays less, or receives more)."""
    combined = sum(part.total for part in parts)
    return total < combined if ctx.buy else total > combined
