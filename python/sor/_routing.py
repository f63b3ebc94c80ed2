"""The routing computation for one order: gate the venues, evaluate them in the core, apply the
strategy, and either return the route or raise :class:`sor.NoRouteError` saying why.

Pure computation over what the router hands in (books, markets, balances, health figures, the
time): no state, no I/O. Every loop over price levels happens in the core: one ``rank_venues``
call evaluates every venue that could take the whole order (walk, fee-inclusive cost, depth
within the slippage bound, composite score), and a split is one ``allocate`` call (two when the
order prefers some venues).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, NamedTuple

from sor._core import Allocation, Candidate, OrderBook, Weights, allocate, rank_venues
from sor.config import RouterSettings
from sor.errors import NoRouteError
from sor.models import (
    REJECT_TO_NO_ROUTE,
    CandidateScore,
    ExchangeMetrics,
    NoRouteReason,
    OrderRequest,
    OrderSide,
    Rejection,
    RejectReason,
    RoutePart,
    RoutingReason,
    RoutingStrategy,
)
from sor.venues.health import HealthSource
from sor.venues.market import Market

#: Order-level reasons from the earliest to the latest stage of routing: the headline of a
#: NoRouteError is the latest stage any venue reached.
_STAGES = (
    NoRouteReason.NO_VENUE_AVAILABLE,
    NoRouteReason.INVALID_AMOUNT,
    NoRouteReason.INSUFFICIENT_BALANCE,
    NoRouteReason.LIMIT_PRICE,
    NoRouteReason.INSUFFICIENT_LIQUIDITY,
)


@dataclass(frozen=True)
class Listing:
    """A venue listing the order's symbol: its market rules, balances and book (if any)."""

    venue: str
    market: Market
    balances: Mapping[str, Decimal]
    book: OrderBook | None


class Live(NamedTuple):
    """A venue that passed the gate: fresh book, healthy, fast enough, not excluded."""

    name: str
    market: Market
    balances: Mapping[str, Decimal]
    book: OrderBook
    metrics: ExchangeMetrics
    preference: int | None


class Single(NamedTuple):
    """A venue that can take the whole order on its own under every constraint."""

    live: Live
    candidate: Candidate
    part: RoutePart
    rank: int


@dataclass(frozen=True)
class Route:
    """What :func:`route_order` found (the router adds versions and timing)."""

    strategy: RoutingStrategy
    max_slippage_bps: float
    reason: RoutingReason
    parts: tuple[RoutePart, ...]
    alternatives: tuple[RoutePart, ...]
    scores: tuple[CandidateScore, ...]
    rejections: tuple[Rejection, ...]


class Context(NamedTuple):
    """One order with the settings resolved (``buy``, ``consumed`` and ``base`` derived)."""

    order: OrderRequest
    strategy: RoutingStrategy
    max_slippage_bps: float
    settings: RouterSettings
    weights: Weights
    now_ns: int
    buy: bool
    consumed: Literal["bid", "ask"]
    base: str


def fmt(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (``5``, ``0.00001``)."""
    return f"{value.normalize():f}"


def route_order(
    order: OrderRequest,
    listings: Sequence[Listing],
    health: HealthSource,
    settings: RouterSettings,
    weights: Weights,
    now_ns: int,
) -> Route:
    """Routes one order across the venues listing its symbol.

    Raises :class:`NoRouteError` when the whole order cannot be routed.
    """
    buy = order.side is OrderSide.BUY
    ctx = Context(
        order=order,
        strategy=order.strategy or settings.default_strategy,
        max_slippage_bps=(
            order.max_slippage_bps
            if order.max_slippage_bps is not None
            else settings.max_slippage_bps
        ),
        settings=settings,
        weights=weights,
        now_ns=now_ns,
        buy=buy,
        consumed="ask" if buy else "bid",
        base=order.base,
    )
    rejections: list[Rejection] = []
    live: list[Live] = []
    for listing in listings:
        outcome = gate(ctx, listing, health)
        if isinstance(outcome, Rejection):
            rejections.append(outcome)
        else:
            live.append(outcome)
    singles, scores, single_rejections = evaluate_singles(ctx, live)
    if ctx.strategy is RoutingStrategy.SPLIT:
        # A venue that cannot take the whole order alone may still take a part: only the gate's
        # rejections concern a split (the scores say why each venue could not go alone).
        if not live:
            raise no_single_route(ctx, live, rejections)
        reason, parts, alternatives = split(ctx, live, singles, rejections)
    else:
        rejections += single_rejections
        if not singles:
            raise no_single_route(ctx, live, rejections)
        reason, ordered = order_singles(ctx, singles)
        parts = (ordered[0].part,)
        alternatives = tuple(single.part for single in ordered[1:])
    return Route(
        strategy=ctx.strategy,
        max_slippage_bps=ctx.max_slippage_bps,
        reason=reason,
        parts=parts,
        alternatives=alternatives,
        scores=tuple(scores),
        rejections=tuple(rejections),
    )


# ------------------------------------------------------------------------------------------------
# Gate: which venues may be looked at at all


def gate(ctx: Context, listing: Listing, health: HealthSource) -> Live | Rejection:
    """The venue as a live candidate, or why it is left out (before its book is walked)."""
    order, settings = ctx.order, ctx.settings
    name, market, book = listing.venue, listing.market, listing.book

    def reject(reason: RejectReason, detail: str) -> Rejection:
        return Rejection(name, reason, detail)

    if name in order.excluded_exchanges:
        return reject(RejectReason.EXCLUDED, "excluded by the order")
    preferred = order.preferred_exchanges
    preference = preferred.index(name) if name in preferred else None
    if order.only_preferred and preference is None:
        return reject(RejectReason.NOT_PREFERRED, "not a preferred exchange (only_preferred)")
    if not market.active:
        return reject(RejectReason.MARKET_INACTIVE, f"market {market.symbol} is not active")
    if book is None:
        return reject(RejectReason.NO_BOOK, f"no order book for {market.symbol}")
    age_s = (ctx.now_ns - book.updated_at_ns) / 1e9
    if book.updated_at_ns == 0 or age_s > settings.max_book_age_s:
        when = "never updated" if book.updated_at_ns == 0 else f"last updated {age_s:.1f} s ago"
        return reject(
            RejectReason.STALE_BOOK, f"stale book: {when} (limit {settings.max_book_age_s:g} s)"
        )
    metrics = health.metrics(name)
    if metrics is None:
        return reject(RejectReason.NO_HEALTH, "no health figures")
    if metrics.circuit_open:
        return reject(
            RejectReason.CIRCUIT_OPEN,
            f"circuit breaker open ({metrics.consecutive_failures} consecutive failures)",
        )
    latency = metrics.latency_ema_ms
    if latency > settings.max_latency_ms:
        return reject(
            RejectReason.LATENCY,
            f"latency {latency:,.0f} ms above the {settings.max_latency_ms:,.0f} ms limit",
        )
    if ctx.strategy is RoutingStrategy.LOWEST_LATENCY and latency >= settings.low_latency_ms:
        return reject(
            RejectReason.LATENCY,
            f"latency {latency:,.0f} ms not under the {settings.low_latency_ms:,.0f} ms "
            "low-latency threshold",
        )
    if book.level_count(ctx.consumed) == 0:
        return reject(RejectReason.EMPTY_BOOK, f"no {ctx.consumed}s in the book")
    return Live(name, market, listing.balances, book, metrics, preference)


# ------------------------------------------------------------------------------------------------
# Caps: balances and limit prices


def balance_cap(ctx: Context, venue: Live) -> Decimal | None:
    """Most base quantity the venue's balance allows (rounded down to the lot), or None.

    A sell is capped by the base balance; a buy by what the quote balance pays for at this
    book's prices, taker fee included (an exact walk by notional), or None if the book runs
    out first (its depth, not the balance, is then the limit).
    """
    market, balances = venue.market, venue.balances
    if not ctx.buy:
        held = balances.get(market.base)
        return None if held is None else market.round_amount(held)
    funds = balances.get(market.quote)
    if funds is None:
        return None
    book = venue.book
    unit = Decimal(1).scaleb(-(book.price_decimals + book.size_decimals))
    notional = (funds / (1 + market.taker_fee)).quantize(unit, rounding=ROUND_FLOOR)
    if notional <= 0:
        return Decimal(0)
    affordable = book.walk("buy", notional=notional)
    # A book that runs out before the balance does is limited by its depth, not the balance.
    return market.round_amount(affordable.filled) if affordable.complete else None


def limit_ticks(ctx: Context, book: OrderBook) -> Decimal | None:
    """The order's limit price at the book's precision, rounded inwards (None: market order)."""
    limit = ctx.order.limit_price
    if limit is None:
        return None
    tick = Decimal(1).scaleb(-book.price_decimals)
    return limit.quantize(tick, rounding=ROUND_FLOOR if ctx.buy else ROUND_CEILING)


def beyond_limit(ctx: Context, price: Decimal | None) -> bool:
    """True if a fill at ``price`` would break the order's limit price."""
    limit = ctx.order.limit_price
    if limit is None or price is None:
        return False
    return price > limit if ctx.buy else price < limit


# ------------------------------------------------------------------------------------------------
# Single venues: every venue that could take the whole order, evaluated in one core call


def amount_problem(ctx: Context, venue: Live) -> Rejection | None:
    """Why the venue cannot take the whole amount as one valid order, judged before walking its
    book (lot size, minimum and maximum amount, balance), or None."""
    amount, market, name = ctx.order.amount, venue.market, venue.name
    if amount % market.amount_step:
        return Rejection(
            name,
            RejectReason.LOT_SIZE,
            f"amount {fmt(amount)} is not a multiple of the lot size {fmt(market.amount_step)}",
        )
    if amount < market.min_amount:
        return Rejection(
            name,
            RejectReason.BELOW_MINIMUM,
            f"amount {fmt(amount)} {ctx.base} is below the minimum {fmt(market.min_amount)}",
        )
    if market.max_amount is not None and amount > market.max_amount:
        return Rejection(
            name,
            RejectReason.ABOVE_MAXIMUM,
            f"amount {fmt(amount)} {ctx.base} is above the maximum {fmt(market.max_amount)}",
        )
    cap = balance_cap(ctx, venue)
    if cap is not None and cap < amount:
        asset = market.quote if ctx.buy else market.base
        held = venue.balances.get(asset, Decimal(0))
        return Rejection(
            name,
            RejectReason.BALANCE,
            f"balance of {fmt(held)} {asset} covers {fmt(cap)} of {fmt(amount)} {ctx.base}",
        )
    return None


def candidate_problem(ctx: Context, venue: Live, candidate: Candidate) -> Rejection | None:
    """Why the walked venue cannot take the whole order (depth, slippage, liquidity score,
    minimum order value, limit price), or None."""
    walk, market, name = candidate.walk, venue.market, venue.name
    amount, slippage = ctx.order.amount, ctx.max_slippage_bps
    if not walk.complete:
        return Rejection(
            name,
            RejectReason.INSUFFICIENT_LIQUIDITY,
            f"the book holds {fmt(walk.filled)} of {fmt(amount)} {ctx.base}",
        )
    if ctx.order.limit_price is not None and beyond_limit(ctx, walk.worst_price):
        assert walk.worst_price is not None
        return Rejection(
            name,
            RejectReason.LIMIT_PRICE,
            f"filling {fmt(amount)} {ctx.base} takes prices up to {fmt(walk.worst_price)}, "
            f"past the limit {fmt(ctx.order.limit_price or Decimal(0))}",
        )
    if not candidate.eligible:
        return Rejection(
            name,
            RejectReason.SLIPPAGE,
            f"filling {fmt(amount)} {ctx.base} reaches "
            f"{worst_bps(walk.best_price, walk.worst_price):.1f} bps from the best price "
            f"(limit {slippage:g} bps)",
        )
    ratio, minimum = candidate.liquidity_ratio, ctx.settings.min_liquidity_score
    if ratio < minimum:
        return Rejection(
            name,
            RejectReason.LIQUIDITY_SCORE,
            f"depth within {slippage:g} bps is {ratio:.2f}x the order (minimum {minimum:g}x)",
        )
    if walk.notional < market.min_cost:
        return Rejection(
            name,
            RejectReason.BELOW_MINIMUM,
            f"order value {fmt(walk.notional)} {market.quote} is below the minimum "
            f"{fmt(market.min_cost)}",
        )
    return None


def worst_bps(best: Decimal | None, worst: Decimal | None) -> float:
    """Distance of the worst price from the best, in basis points."""
    if best is None or worst is None or best == 0:
        return 0.0
    return float(abs(worst - best) / best * 10_000)


def evaluate_singles(
    ctx: Context, live: Sequence[Live]
) -> tuple[list[Single], list[CandidateScore], list[Rejection]]:
    """The venues that can take the whole order alone (in composite-score order), every
    evaluated candidate's score, and why the others cannot."""
    rejections: list[Rejection] = []
    sized: list[Live] = []
    for venue in live:
        problem = amount_problem(ctx, venue)
        if problem is None:
            sized.append(venue)
        else:
            rejections.append(problem)
    if not sized:
        return [], [], rejections
    ranking = rank_venues(
        [venue.book for venue in sized],
        ctx.order.taker_side,
        ctx.order.amount,
        [venue.market.taker_fee_bps for venue in sized],
        [venue.metrics.latency_ema_ms for venue in sized],
        [venue.metrics.success_rate for venue in sized],
        ctx.weights,
        ctx.max_slippage_bps,
    )
    singles: list[Single] = []
    scores: list[CandidateScore] = []
    categorize = ctx.settings.latency_thresholds.categorize
    for candidate in ranking.candidates:
        venue = sized[candidate.index]
        problem = candidate_problem(ctx, venue, candidate)
        if problem is None:
            part = RoutePart(venue.name, ctx.order.amount, candidate.walk, candidate.cost)
            singles.append(Single(venue, candidate, part, len(singles)))
        else:
            rejections.append(problem)
        latency = venue.metrics.latency_ema_ms
        scores.append(
            CandidateScore(
                venue=venue.name,
                score=candidate.score,
                raw=candidate.raw,
                liquidity_ratio=candidate.liquidity_ratio,
                latency_ms=latency,
                latency_category=categorize(latency),
                qualified=problem is None,
                rejection=problem,
            )
        )
    return singles, scores, rejections


def order_singles(ctx: Context, singles: list[Single]) -> tuple[RoutingReason, list[Single]]:
    """The venues in the strategy's order, preferred venues first, and why the first won."""
    strategy = ctx.strategy
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        by_strategy = sorted(singles, key=lambda s: (s.live.metrics.latency_ema_ms, s.rank))
    elif strategy is RoutingStrategy.BEST_LIQUIDITY:
        depth = {
            s.live.name: s.live.book.depth_within_bps(ctx.consumed, ctx.max_slippage_bps)
            for s in singles
        }
        by_strategy = sorted(singles, key=lambda s: (-depth[s.live.name], s.rank))
    elif strategy is RoutingStrategy.COST_OPTIMIZATION:
        sign = 1.0 if ctx.buy else -1.0
        by_strategy = sorted(singles, key=lambda s: (sign * s.candidate.cost.total, s.rank))
    else:
        by_strategy = singles
    preferred = sorted(
        (s for s in by_strategy if s.live.preference is not None),
        key=lambda s: s.live.preference or 0,
    )
    ordered = preferred + [s for s in by_strategy if s.live.preference is None]
    primary = ordered[0]
    if primary is not by_strategy[0]:
        return RoutingReason.PREFERRED_EXCHANGE, ordered
    if len(ordered) == 1:
        return RoutingReason.ONLY_VENUE, ordered
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        return RoutingReason.LOWEST_LATENCY, ordered
    if strategy is RoutingStrategy.BEST_LIQUIDITY:
        return RoutingReason.BEST_LIQUIDITY, ordered
    if strategy is RoutingStrategy.COST_OPTIMIZATION:
        return RoutingReason.LOWEST_COST, ordered
    best_price = max(s.candidate.raw.price for s in singles)
    if primary.candidate.raw.price >= best_price:
        return RoutingReason.BEST_PRICE, ordered
    return RoutingReason.BEST_SCORE, ordered


# ------------------------------------------------------------------------------------------------
# Split


def split_cap(ctx: Context, venue: Live) -> Decimal:
    """Most the venue may take in a split: depth within the slippage bound (and within the
    limit price), its maximum amount and its balance, rounded down to its lot."""
    book, market = venue.book, venue.market
    cap = book.depth_within_bps(ctx.consumed, ctx.max_slippage_bps)
    limit = limit_ticks(ctx, book)
    if limit is not None:
        cap = min(cap, book.walk(ctx.order.taker_side, limit_price=limit).filled)
    if market.max_amount is not None:
        cap = min(cap, market.max_amount)
    balance = balance_cap(ctx, venue)
    if balance is not None:
        cap = min(cap, balance)
    return market.round_amount(cap)


def split(
    ctx: Context, live: Sequence[Live], singles: Sequence[Single], rejections: list[Rejection]
) -> tuple[RoutingReason, tuple[RoutePart, ...], tuple[RoutePart, ...]]:
    """The lowest-cost allocation of the whole order across the live venues (preferred venues
    filled first when the order names some): ``(reason, parts, alternatives)``.

    The split never costs more than the cheapest venue that could take the whole order alone
    (without preferences, that venue is used instead if the allocation were to cost more).
    """
    order = ctx.order
    amount = order.amount
    caps = {venue.name: split_cap(ctx, venue) for venue in live}
    depth = sum(caps.values(), Decimal(0))
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
    if depth < amount * minimum:
        raise no_route(
            ctx,
            rejections,
            NoRouteReason.INSUFFICIENT_LIQUIDITY,
            f"insufficient liquidity: {fmt(depth)} {ctx.base} within {slippage} on {venues} is "
            f"{depth / amount:.2f}x the {amount:f} {ctx.base} order, below the minimum "
            f"liquidity score {ctx.settings.min_liquidity_score:g}x",
            depth,
        )
    preferred = sorted(
        (v for v in live if v.preference is not None), key=lambda v: v.preference or 0
    )
    others = [v for v in live if v.preference is None]
    parts: list[RoutePart] = []
    remaining = amount
    for group in (preferred, others) if preferred else (others,):
        if remaining == 0 or not group:
            continue
        allocation = allocate_group(ctx, group, remaining, caps)
        parts += [
            RoutePart(group[part.index].name, part.quantity, part.walk, part.cost)
            for part in allocation.parts
        ]
        remaining -= allocation.filled
    if remaining:
        filled = amount - remaining
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
    parts.sort(key=lambda p: (rank[p.venue] is None, rank[p.venue] or 0, -p.quantity, p.venue))
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
    return reason, tuple(parts), alternatives


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


# ------------------------------------------------------------------------------------------------
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
        available = sum(
            (v.book.depth_within_bps(ctx.consumed, ctx.max_slippage_bps) for v in live),
            Decimal(0),
        )
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
