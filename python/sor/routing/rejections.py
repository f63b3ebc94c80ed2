"""Why a venue was not used, and why an order could not be routed, in a trader's words."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sor._core import (
    Candidate,
)
from sor._decimal import EXACT, fmt, ratio, total
from sor.errors import NoRouteError
from sor.routing.context import Context, Live
from sor.routing.decision import (
    REJECT_TO_NO_ROUTE,
    NoRouteReason,
    Rejection,
    RejectReason,
)

#: Order-level reasons from the earliest to the latest stage of routing: the headline of a
#: NoRouteError is the latest stage any venue reached.
_STAGES = (
    NoRouteReason.NO_VENUE_AVAILABLE,
    NoRouteReason.INVALID_AMOUNT,
    NoRouteReason.INSUFFICIENT_BALANCE,
    NoRouteReason.LIMIT_PRICE,
    NoRouteReason.INSUFFICIENT_LIQUIDITY,
)


# Single venues: every venue that could take the whole order, screened in one core call

#: Core verdicts that belong to the gate (the venue's book was not walked for the order).
GATE_VERDICTS = frozenset({"never_updated", "stale", "empty_book"})


#: Core verdicts on the amount, judged before walking.
AMOUNT_VERDICTS = frozenset({"lot_size", "below_minimum", "above_maximum", "balance"})


def gate_rejection(ctx: Context, venue: Live, verdict: str, updated_at_ns: int) -> Rejection:
    """Why the core's gate left the venue out (stale or never updated book, empty side)."""
    if verdict == "empty_book":
        return Rejection(venue.name, RejectReason.EMPTY_BOOK, f"no {ctx.consumed}s in the book")
    limit = ctx.settings.max_book_age_s
    when = (
        "never updated"
        if verdict == "never_updated"
        else f"last updated {(ctx.now_ns - updated_at_ns) / 1e9:.1f} s ago"
    )
    return Rejection(venue.name, RejectReason.STALE_BOOK, f"stale book: {when} (limit {limit:g} s)")


def amount_rejection(ctx: Context, venue: Live, verdict: str, cap: Decimal | None) -> Rejection:
    """Why the venue cannot take the whole amount as one valid order (lot size, minimum,
    maximum, balance), judged before walking its book; ``cap`` is the balance cap the core's
    screen applied to it (``Screen.balance_caps``)."""
    amount, market, name = ctx.order.amount, venue.market, venue.name
    if verdict == "lot_size":
        return Rejection(
            name,
            RejectReason.LOT_SIZE,
            f"amount {fmt(amount)} is not a multiple of the lot size {fmt(market.amount_step)}",
        )
    if verdict == "below_minimum":
        return Rejection(
            name,
            RejectReason.BELOW_MINIMUM,
            f"amount {fmt(amount)} {ctx.base} is below the minimum {fmt(market.min_amount)}",
        )
    if verdict == "above_maximum":
        return Rejection(
            name,
            RejectReason.ABOVE_MAXIMUM,
            f"amount {fmt(amount)} {ctx.base} is above the maximum "
            f"{fmt(market.max_amount or Decimal(0))}",
        )
    cap = cap or Decimal(0)
    asset = market.quote if ctx.buy else market.base
    held = venue.balances.get(asset, Decimal(0))
    return Rejection(
        name,
        RejectReason.BALANCE,
        f"balance of {fmt(held)} {asset} covers {fmt(cap)} of {fmt(amount)} {ctx.base}",
    )


def walk_rejection(ctx: Context, venue: Live, verdict: str, candidate: Candidate) -> Rejection:
    """Why the walked venue cannot take the whole order (depth, limit price, slippage,
    liquidity score, minimum order value)."""
    walk, market, name = candidate.walk, venue.market, venue.name
    amount, slippage = ctx.order.amount, ctx.max_slippage_bps
    if verdict == "insufficient_liquidity":
        return Rejection(
            name,
            RejectReason.INSUFFICIENT_LIQUIDITY,
            f"the book holds {fmt(walk.filled)} of {fmt(amount)} {ctx.base}",
        )
    if verdict == "limit_price":
        return Rejection(
            name,
            RejectReason.LIMIT_PRICE,
            f"filling {fmt(amount)} {ctx.base} takes prices up to "
            f"{fmt(walk.worst_price or Decimal(0))}, past the limit "
            f"{fmt(ctx.order.limit_price or Decimal(0))}",
        )
    if verdict == "slippage":
        return Rejection(
            name,
            RejectReason.SLIPPAGE,
            f"filling {fmt(amount)} {ctx.base} reaches "
            f"{worst_bps(walk.best_price, walk.worst_price):.1f} bps from the best price "
            f"(limit {slippage:g} bps)",
        )
    if verdict == "liquidity_score":
        ratio, minimum = candidate.liquidity_ratio, ctx.settings.min_liquidity_score
        return Rejection(
            name,
            RejectReason.LIQUIDITY_SCORE,
            f"depth within {slippage:g} bps is {ratio:.2f}x the order (minimum {minimum:g}x)",
        )
    return Rejection(
        name,
        RejectReason.BELOW_MINIMUM,
        f"order value {fmt(walk.notional)} {market.quote} is below the minimum "
        f"{fmt(market.min_cost)}",
    )


def worst_bps(best: Decimal | None, worst: Decimal | None) -> float:
    """Distance of the worst price from the best, in basis points."""
    if best is None or worst is None or best == 0:
        return 0.0
    return ratio(EXACT.multiply(EXACT.abs(EXACT.subtract(worst, best)), 10_000), best)


# No route


def plural(count: int, noun: str) -> str:
    """``"1 venue"``, ``"3 venues"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def no_route(
    ctx: Context,
    rejections: Sequence[Rejection],
    reason: NoRouteReason,
    headline: str,
    available: Decimal | None = None,
) -> NoRouteError:
    """The error: the headline, then each venue's own reason."""
    details = "; ".join(str(rejection) for rejection in rejections)
    return NoRouteError(
        f"{headline} ({details})" if details else headline,
        reason=reason,
        order=ctx.order,
        rejections=tuple(rejections),
        available=available,
    )


def no_single_route(
    ctx: Context, live: Sequence[Live], rejections: Sequence[Rejection]
) -> NoRouteError:
    """Why no venue can take the whole order on its own, in a trader's words.

    The headline is the latest stage of routing any venue reached (see ``_STAGES``).
    """
    order, slippage = ctx.order, f"{ctx.max_slippage_bps:g} bps"
    amount, base = f"{order.amount:f}", ctx.base
    reached = [REJECT_TO_NO_ROUTE[r.reason] for r in rejections]
    reason = max(reached, key=_STAGES.index, default=NoRouteReason.NO_VENUE_AVAILABLE)
    available: Decimal | None = None
    if reason is NoRouteReason.INSUFFICIENT_LIQUIDITY:
        available = total(v.book.depth_within_bps(ctx.consumed, ctx.max_slippage_bps) for v in live)
        empty = sum(1 for r in rejections if r.reason is RejectReason.EMPTY_BOOK)
        venues = plural(len(live) + empty, "venue")
        if available < order.amount:
            headline = (
                f"insufficient liquidity: {fmt(available)} of {amount} {base} available within "
                f"{slippage} on {venues}"
            )
        else:
            headline = (
                f"no single venue can take {amount} {base} within the constraints "
                f"({fmt(available)} {base} available within {slippage} across {venues}; "
                "the split strategy can combine them)"
            )
    elif reason is NoRouteReason.INVALID_AMOUNT:
        headline = f"amount {amount} {base} is not a valid order size on any venue"
    elif reason is NoRouteReason.INSUFFICIENT_BALANCE:
        headline = f"insufficient balance for {amount} {base} on every venue"
    elif reason is NoRouteReason.LIMIT_PRICE:
        headline = (
            f"not enough offered at the limit price {fmt(order.limit_price or Decimal(0))} for "
            f"{amount} {base}"
        )
    else:
        headline = f"no venue available for {order.symbol}"
    return no_route(ctx, rejections, reason, headline, available)
