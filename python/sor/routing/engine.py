"""The routing computation for one order: gate the venues, screen them in the core, apply the
strategy, and either return the decision or raise :class:`sor.NoRouteError` saying why.

Pure computation over what the router hands in (books, markets, balances, health figures, the
time): no I/O. The order-independent part of the gate (market status, health, circuit, latency)
is prepared once per router generation and health version (:class:`Prepared`); per order, one
``screen_venues`` call checks every venue's book freshness, the amount's lot size and limits,
walks, prices, scores and ranks every book, and checks depth, slippage, limit price, liquidity
and minimum notional. A single-venue decision builds its explanation (parts, alternatives,
scores, rejections) only when it is read (:class:`Singles`); a split is one ``allocate`` call
(two when the order prefers some venues).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, NamedTuple

from sor._core import (
    Allocation,
    Candidate,
    OrderBook,
    Screen,
    VenueRules,
    VenueSet,
    Weights,
    allocate,
    screen_set,
    screen_venues,
)
from sor._decimal import APPROX, EXACT, ceil_to, fixed, floor_to, fmt, ratio, total
from sor.errors import NoRouteError
from sor.health.metrics import ExchangeMetrics
from sor.health.source import HealthSource
from sor.markets.market import Market
from sor.orders import OrderRequest, OrderSide, RoutingStrategy
from sor.routing.decision import (
    REJECT_TO_NO_ROUTE,
    CandidateScore,
    NoRouteReason,
    Rejection,
    RejectReason,
    RoutePart,
    RoutingDecision,
    RoutingReason,
)
from sor.routing.settings import RouterSettings

if TYPE_CHECKING:
    from sor._core import Verdict

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
    """A venue that passed the gate: healthy, fast enough, not excluded (``preference``: its
    position among the order's preferred exchanges)."""

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


class Context:
    """One order with the settings resolved (``buy``, ``consumed`` and ``base`` derived)."""

    __slots__ = (
        "buy",
        "consumed",
        "max_slippage_bps",
        "now_ns",
        "order",
        "settings",
        "strategy",
        "weights",
    )

    def __init__(
        self, order: OrderRequest, settings: RouterSettings, weights: Weights, now_ns: int
    ) -> None:
        self.order = order
        self.strategy: RoutingStrategy = order.strategy or settings.default_strategy
        slippage = order.max_slippage_bps
        self.max_slippage_bps: float = (
            slippage if slippage is not None else settings.max_slippage_bps
        )
        self.settings = settings
        self.weights = weights
        self.now_ns = now_ns
        self.buy = order.side is OrderSide.BUY
        self.consumed: Literal["bid", "ask"] = "ask" if self.buy else "bid"

    @property
    def base(self) -> str:
        """The order's base asset."""
        return self.order.base


class Prepared:
    """What routing a symbol needs that only changes with the venues, books or health figures.

    Built once per router generation and health version: the gate's order-independent checks
    (market status, book registered, health figures, circuit, latency) and the core's inputs for
    the venues that pass them.
    """

    __slots__ = (
        "books",
        "entries",
        "has_balances",
        "health_version",
        "latencies",
        "live",
        "low_latency",
        "max_age_ns",
        "positions",
        "rejections",
        "reliabilities",
        "rules",
        "venue_set",
    )

    def __init__(
        self, listings: Sequence[Listing], health: HealthSource, settings: RouterSettings
    ) -> None:
        self.health_version = health.version
        self.max_age_ns = int(settings.max_book_age_s * 1e9)
        #: Static rejections with their listing position.
        self.rejections: list[tuple[int, Rejection]] = []
        #: Venues that pass the static gate: (listing position, live venue without preference).
        self.entries: list[tuple[int, Live]] = []
        for position, listing in enumerate(listings):
            outcome = static_gate(listing, health, settings)
            if isinstance(outcome, Rejection):
                self.rejections.append((position, outcome))
            else:
                self.entries.append((position, outcome))
        self.live = [live for _, live in self.entries]
        self.positions = [position for position, _ in self.entries]
        self.books = [live.book for _, live in self.entries]
        self.rules = [live.market.rules(live.market.max_amount) for _, live in self.entries]
        self.latencies = [live.metrics.latency_ema_ms for _, live in self.entries]
        self.reliabilities = [live.metrics.success_rate for _, live in self.entries]
        self.has_balances = any(live.balances for _, live in self.entries)
        self.venue_set = VenueSet(self.books, self.rules, self.latencies, self.reliabilities)
        # The lowest_latency strategy's gate also leaves out venues not under its threshold.
        low = settings.low_latency_ms
        fast = [(p, v) for p, v in self.entries if v.metrics.latency_ema_ms < low]
        slow = [
            (p, latency_rejection(v, low))
            for p, v in self.entries
            if v.metrics.latency_ema_ms >= low
        ]
        self.low_latency = (
            [v for _, v in fast],
            [p for p, _ in fast],
            sorted(self.rejections + slow, key=_first),
            VenueSet(
                [v.book for _, v in fast],
                [v.market.rules(v.market.max_amount) for _, v in fast],
                [v.metrics.latency_ema_ms for _, v in fast],
                [v.metrics.success_rate for _, v in fast],
            ),
        )


def static_gate(
    listing: Listing, health: HealthSource, settings: RouterSettings
) -> Live | Rejection:
    """The venue as a live candidate, or why it is left out whatever the order."""
    name, market, book = listing.venue, listing.market, listing.book
    if not market.active:
        return Rejection(
            name, RejectReason.MARKET_INACTIVE, f"market {market.symbol} is not active"
        )
    if book is None:
        return Rejection(name, RejectReason.NO_BOOK, f"no order book for {market.symbol}")
    metrics = health.metrics(name)
    if metrics is None:
        return Rejection(name, RejectReason.NO_HEALTH, "no health figures")
    if metrics.circuit_open:
        return Rejection(
            name,
            RejectReason.CIRCUIT_OPEN,
            f"circuit breaker open ({metrics.consecutive_failures} consecutive failures)",
        )
    latency = metrics.latency_ema_ms
    if latency > settings.max_latency_ms:
        return Rejection(
            name,
            RejectReason.LATENCY,
            f"latency {latency:,.0f} ms above the {settings.max_latency_ms:,.0f} ms limit",
        )
    return Live(name, market, listing.balances, book, metrics, None)


def latency_rejection(venue: Live, threshold_ms: float) -> Rejection:
    """The lowest_latency strategy leaves the venue out: not under its threshold."""
    latency = venue.metrics.latency_ema_ms
    return Rejection(
        venue.name,
        RejectReason.LATENCY,
        f"latency {latency:,.0f} ms not under the {threshold_ms:,.0f} ms low-latency threshold",
    )


def order_gate(
    ctx: Context, prepared: Prepared
) -> tuple[list[Live], list[int], list[tuple[int, Rejection]]]:
    """The venues the order may use (with its preferences), their listing positions, and the
    gate's rejections with their listing positions (in listing order)."""
    order, settings = ctx.order, ctx.settings
    excluded, preferred = order.excluded_exchanges, order.preferred_exchanges
    low_latency = ctx.strategy is RoutingStrategy.LOWEST_LATENCY
    if not (excluded or preferred or low_latency):
        return (
            [live for _, live in prepared.entries],
            [p for p, _ in prepared.entries],
            list(prepared.rejections),
        )
    static = dict(prepared.rejections)
    entries = dict(prepared.entries)
    live: list[Live] = []
    positions: list[int] = []
    rejections: list[tuple[int, Rejection]] = []
    for position in sorted(static.keys() | entries.keys()):
        venue = entries.get(position)
        name = venue.name if venue is not None else static[position].venue
        preference = preferred.index(name) if name in preferred else None
        if name in excluded:
            rejection: Rejection | None = Rejection(
                name, RejectReason.EXCLUDED, "excluded by the order"
            )
        elif order.only_preferred and preference is None:
            rejection = Rejection(
                name, RejectReason.NOT_PREFERRED, "not a preferred exchange (only_preferred)"
            )
        elif venue is None:
            rejection = static[position]
        elif low_latency and venue.metrics.latency_ema_ms >= settings.low_latency_ms:
            rejection = latency_rejection(venue, settings.low_latency_ms)
        else:
            rejection = None
        if rejection is not None:
            rejections.append((position, rejection))
        elif venue is not None:
            live.append(venue._replace(preference=preference) if preference is not None else venue)
            positions.append(position)
    return live, positions, rejections


class Pending(NamedTuple):
    """An order gated and ready for the core's screen (``request`` is its argument tuple)."""

    ctx: Context
    live: list[Live]
    positions: list[int]
    gate_rejections: list[tuple[int, Rejection]]
    request: ScreenRequest


def begin(
    order: OrderRequest, prepared: Prepared, settings: RouterSettings, weights: Weights, now_ns: int
) -> Pending:
    """Gates the venues for ``order`` and prepares the core's screen of the others."""
    ctx = Context(order, settings, weights, now_ns)
    live, positions, gate_rejections = order_gate(ctx, prepared)
    return Pending(ctx, live, positions, gate_rejections, screen_request(ctx, live, prepared))


def finish(pending: Pending, screen: Screen, started_ns: int) -> RoutingDecision:
    """The decision on a screened order; raises :class:`NoRouteError` if there is none."""
    ctx, live = pending.ctx, pending.live
    singles = Singles(ctx, live, pending.positions, pending.gate_rejections, screen)
    if ctx.strategy is RoutingStrategy.SPLIT:
        return singles.split_decision(started_ns)
    qualified = screen.qualified
    if not qualified:
        raise no_single_route(ctx, singles.walkable(), singles.rejections())
    reason, ordered = order_qualified(ctx, live, screen, qualified)
    singles.ordered = ordered
    return RoutingDecision.explained(
        ctx.order,
        ctx.strategy,
        reason,
        ctx.max_slippage_bps,
        (time.perf_counter_ns() - started_ns) / 1_000,
        ctx.now_ns,
        singles,
    )


def route_order(
    order: OrderRequest,
    prepared: Prepared,
    settings: RouterSettings,
    weights: Weights,
    now_ns: int,
    started_ns: int,
) -> tuple[RoutingDecision, list[Live], Screen]:
    """Routes one order across the venues listing its symbol: the decision, the venues whose
    books it was made on and the core's screen of them (whose book versions and update times
    serve the cache).

    Raises :class:`NoRouteError` when the whole order cannot be routed.
    """
    strategy = order.strategy or settings.default_strategy
    if (
        order.preferred_exchanges
        or order.excluded_exchanges
        or strategy is RoutingStrategy.SPLIT
        or prepared.has_balances
    ):
        pending = begin(order, prepared, settings, weights, now_ns)
        screen = screen_venues(*pending.request, now_ns, prepared.max_age_ns)
        return finish(pending, screen, started_ns), pending.live, screen
    # The common case, kept lean: the venues that passed the static gate (and, for
    # lowest_latency, its threshold), no preferences or exclusions, no balances.
    slippage = order.max_slippage_bps
    if slippage is None:
        slippage = settings.max_slippage_bps
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        live, positions, rejections, venue_set = prepared.low_latency
    else:
        live, positions, rejections = prepared.live, prepared.positions, prepared.rejections
        venue_set = prepared.venue_set
    screen = screen_set(
        venue_set,
        order.taker_side,
        order.amount,
        None,
        weights,
        slippage,
        order.limit_price,
        settings.min_liquidity_score,
        now_ns,
        prepared.max_age_ns,
    )
    singles = Singles(
        Context(order, settings, weights, now_ns), live, positions, rejections, screen
    )
    qualified = screen.qualified
    if not qualified:
        raise no_single_route(singles.ctx, singles.walkable(), singles.rejections())
    if strategy is RoutingStrategy.BEST_EXECUTION:
        if len(qualified) == 1:
            reason = RoutingReason.ONLY_VENUE
        elif screen.has_best_price(qualified[0]):
            reason = RoutingReason.BEST_PRICE
        else:
            reason = RoutingReason.BEST_SCORE
        singles.ordered = qualified
    else:
        reason, singles.ordered = order_qualified(singles.ctx, live, screen, qualified)
    decision = RoutingDecision.explained(
        order,
        strategy,
        reason,
        slippage,
        (time.perf_counter_ns() - started_ns) / 1_000,
        now_ns,
        singles,
    )
    return decision, live, screen


# ------------------------------------------------------------------------------------------------
# Caps: balances and limit prices


def balance_cap(ctx: Context, venue: Live) -> Decimal | None:
    """Most base quantity the venue's balance allows (rounded down to the lot), or None.

    A sell is capped by the base balance; a buy by what the quote balance pays for at this
    book's prices, taker fee included (:meth:`OrderBook.affordable`: exact integers in the
    core), or None if the book runs out first (its depth, not the balance, is then the limit).
    """
    market, balances = venue.market, venue.balances
    if not ctx.buy:
        held = balances.get(market.base)
        if held is None or held >= _MAX_LOTS[venue.book.size_decimals]:
            return None  # more than any walk can fill: no effective cap
        return market.round_amount(held)
    funds = balances.get(market.quote)
    if funds is None:
        return None
    # Exact integers in the core: funds at the book's notional unit, fee on top, whole lots.
    affordable = venue.book.affordable(funds, EXACT.multiply(market.taker_fee, 10_000))
    return None if affordable is None else market.round_amount(affordable)


#: The core's quantities are u64 counts of lots: a base balance of this many lots (by the
#: book's size decimals) or more can never cap a fill.
_MAX_LOTS = tuple(Decimal(2**64 - 1).scaleb(-places, EXACT) for places in range(64))


def limit_ticks(ctx: Context, book: OrderBook) -> Decimal | None:
    """The order's limit price at the book's precision, rounded inwards (None: market order)."""
    limit = ctx.order.limit_price
    if limit is None:
        return None
    if ctx.buy:
        return floor_to(limit, book.price_decimals)
    return ceil_to(limit, book.price_decimals)


# ------------------------------------------------------------------------------------------------
# Single venues: every venue that could take the whole order, screened in one core call

#: Core verdicts that belong to the gate (the venue's book was not walked for the order).
GATE_VERDICTS = frozenset({"never_updated", "stale", "empty_book"})
#: Core verdicts on the amount, judged before walking.
AMOUNT_VERDICTS = frozenset({"lot_size", "below_minimum", "above_maximum", "balance"})


#: ``screen_venues``' arguments for one order, up to ``min_liquidity_ratio``.
ScreenRequest = tuple[
    list[OrderBook],
    Literal["buy", "sell"],
    Decimal,
    list[VenueRules],
    list[float],
    list[float],
    "list[Decimal | None] | None",
    Weights,
    float,
    "Decimal | None",
    float,
]


def screen_request(ctx: Context, live: Sequence[Live], prepared: Prepared) -> ScreenRequest:
    """The core's screen request for the live venues and the whole order."""
    if len(live) == len(prepared.entries):
        books, rules = prepared.books, prepared.rules
        latencies, reliabilities = prepared.latencies, prepared.reliabilities
    else:
        books = [venue.book for venue in live]
        rules = [venue.market.rules(venue.market.max_amount) for venue in live]
        latencies = [venue.metrics.latency_ema_ms for venue in live]
        reliabilities = [venue.metrics.success_rate for venue in live]
    caps = None
    if prepared.has_balances:
        # The caps and the screen read one version of each book: copies (O(1), copy-on-write)
        # that a feed writing the books meanwhile does not change.
        live = [venue._replace(book=venue.book.copy()) for venue in live]
        books = [venue.book for venue in live]
        caps = [balance_cap(ctx, venue) for venue in live]
    order = ctx.order
    return (
        books,
        order.taker_side,
        order.amount,
        rules,
        latencies,
        reliabilities,
        caps,
        ctx.weights,
        ctx.max_slippage_bps,
        order.limit_price,
        ctx.settings.min_liquidity_score,
    )


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


def amount_rejection(ctx: Context, venue: Live, verdict: str) -> Rejection:
    """Why the venue cannot take the whole amount as one valid order (lot size, minimum,
    maximum, balance), judged before walking its book."""
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
    cap = balance_cap(ctx, venue) or Decimal(0)
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


class Singles:
    """One order's screened venues, and the explanation of its decision, built when asked for.

    Everything here comes from the core's screen (walks, costs, scores, book versions and
    update times captured when the order was routed) and the router's immutable venue data,
    so an explanation built later says what it would have said at once.
    """

    __slots__ = ("_verdicts", "ctx", "gate_rejections", "live", "ordered", "positions", "screen")

    def __init__(
        self,
        ctx: Context,
        live: list[Live],
        positions: list[int],
        gate_rejections: list[tuple[int, Rejection]],
        screen: Screen,
    ) -> None:
        self.ctx = ctx
        self.live = live
        self.positions = positions
        self.gate_rejections = gate_rejections
        self.screen = screen
        #: Positions in ``live`` of the qualified venues, in the strategy's order.
        self.ordered: list[int] = []
        self._verdicts: list[Verdict] | None = None

    @property
    def verdicts(self) -> list[Verdict]:
        """The core's verdict on each live venue."""
        if self._verdicts is None:
            self._verdicts = self.screen.verdicts
        return self._verdicts

    def part(self, index: int) -> RoutePart:
        """The whole order on the venue at ``index`` in ``live``."""
        candidate = self.screen.candidate(index)
        assert candidate is not None
        return RoutePart(
            self.live[index].name, self.ctx.order.amount, candidate.walk, candidate.cost
        )

    def parts(self) -> tuple[RoutePart, ...]:
        """The primary venue's part."""
        return (self.part(self.ordered[0]),)

    def alternatives(self) -> tuple[RoutePart, ...]:
        """The other qualified venues' parts, in the strategy's order."""
        return tuple(self.part(index) for index in self.ordered[1:])

    def walkable(self) -> list[Live]:
        """The live venues the core's gate let through (fresh book, non-empty side)."""
        return [
            venue
            for venue, verdict in zip(self.live, self.verdicts, strict=True)
            if verdict not in GATE_VERDICTS
        ]

    def gate_stage(self) -> list[Rejection]:
        """The gate's rejections, the core's included, in listing order."""
        updated = self.screen.updated_at_ns
        core = [
            (self.positions[i], gate_rejection(self.ctx, self.live[i], verdict, updated[i]))
            for i, verdict in enumerate(self.verdicts)
            if verdict in GATE_VERDICTS
        ]
        if not core:
            return [rejection for _, rejection in self.gate_rejections]
        return [rejection for _, rejection in sorted(self.gate_rejections + core, key=_first)]

    def rejection(self, index: int) -> Rejection | None:
        """Why the venue at ``index`` in ``live`` cannot take the whole order alone, if so."""
        verdict = self.verdicts[index]
        if verdict == "qualified":
            return None
        venue = self.live[index]
        if verdict in GATE_VERDICTS:
            return gate_rejection(self.ctx, venue, verdict, self.screen.updated_at_ns[index])
        if verdict in AMOUNT_VERDICTS:
            return amount_rejection(self.ctx, venue, verdict)
        candidate = self.screen.candidate(index)
        assert candidate is not None
        return walk_rejection(self.ctx, venue, verdict, candidate)

    def single_stage(self) -> list[Rejection]:
        """Why the walkable venues cannot go alone: amount problems in venue order, then walk
        problems in ranking order."""
        amount = [
            amount_rejection(self.ctx, self.live[i], verdict)
            for i, verdict in enumerate(self.verdicts)
            if verdict in AMOUNT_VERDICTS
        ]
        walked = [
            self.rejection(candidate.index)
            for candidate in self.screen.candidates
            if self.verdicts[candidate.index] != "qualified"
        ]
        return amount + [r for r in walked if r is not None]

    def rejections(self) -> tuple[Rejection, ...]:
        """Every venue left out of a single-venue route, and why."""
        return tuple(self.gate_stage() + self.single_stage())

    def scores(self) -> tuple[CandidateScore, ...]:
        """Every walked candidate's score, best first."""
        categorize = self.ctx.settings.latency_thresholds.categorize
        scores = []
        for candidate in self.screen.candidates:
            venue = self.live[candidate.index]
            problem = self.rejection(candidate.index)
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
        return tuple(scores)

    def book_versions(self) -> tuple[tuple[str, int], ...]:
        """Each screened venue with its book's version then."""
        return tuple(
            (venue.name, version)
            for venue, version in zip(self.live, self.screen.versions, strict=True)
        )

    def singles(self) -> list[Single]:
        """The qualified venues in ranking order, as the split needs them."""
        return [
            Single(self.live[index], candidate, self.part(index), rank)
            for rank, index in enumerate(self.screen.qualified)
            if (candidate := self.screen.candidate(index)) is not None
        ]

    def split_decision(self, started_ns: int) -> RoutingDecision:
        """The split strategy's decision (built at once)."""
        ctx = self.ctx
        screen = self.screen
        # The split reads the versions of the books that the screen walked, whatever a feed
        # has written since: one consistent version of each book for the whole decision.
        walkable = [
            venue._replace(book=screen.book(index))
            for index, (venue, verdict) in enumerate(zip(self.live, self.verdicts, strict=True))
            if verdict not in GATE_VERDICTS
        ]
        gate = self.gate_stage()
        # A venue that cannot take the whole order alone may still take a part: only the gate's
        # rejections concern a split (the scores say why each venue could not go alone).
        if not walkable:
            raise no_single_route(ctx, walkable, gate)
        reason, parts, alternatives, proven = split(ctx, walkable, self.singles(), gate)
        return RoutingDecision(
            order=ctx.order,
            strategy=ctx.strategy,
            reason=reason,
            parts=parts,
            alternatives=alternatives,
            scores=self.scores(),
            rejections=tuple(gate),
            max_slippage_bps=ctx.max_slippage_bps,
            book_versions=self.book_versions(),
            decision_time_us=(time.perf_counter_ns() - started_ns) / 1_000,
            decided_at_ns=ctx.now_ns,
            proven_optimal=proven,
        )


def _first(item: tuple[int, Rejection]) -> int:
    return item[0]


def order_qualified(
    ctx: Context, live: Sequence[Live], screen: Screen, qualified: list[int]
) -> tuple[RoutingReason, list[int]]:
    """The qualified venues (positions in ``live``, given in ranking order) in the strategy's
    order, preferred venues first, and why the first won."""
    strategy = ctx.strategy
    by_strategy = qualified
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        rank = {index: r for r, index in enumerate(qualified)}
        by_strategy = sorted(qualified, key=lambda i: (live[i].metrics.latency_ema_ms, rank[i]))
    elif strategy is RoutingStrategy.BEST_LIQUIDITY:
        rank = {index: r for r, index in enumerate(qualified)}
        depth = {  # on the versions the screen walked
            i: screen.book(i).depth_within_bps(ctx.consumed, ctx.max_slippage_bps)
            for i in qualified
        }
        by_strategy = sorted(qualified, key=lambda i: (EXACT.minus(depth[i]), rank[i]))
    elif strategy is RoutingStrategy.COST_OPTIMIZATION:
        rank = {index: r for r, index in enumerate(qualified)}
        sign = 1.0 if ctx.buy else -1.0
        total = {i: sign * _total(screen, i) for i in qualified}
        by_strategy = sorted(qualified, key=lambda i: (total[i], rank[i]))
    ordered = by_strategy
    if ctx.order.preferred_exchanges:
        preferred = sorted(
            (i for i in by_strategy if live[i].preference is not None),
            key=lambda i: live[i].preference or 0,
        )
        if preferred:
            ordered = preferred + [i for i in by_strategy if live[i].preference is None]
    primary = ordered[0]
    if primary != by_strategy[0]:
        return RoutingReason.PREFERRED_EXCHANGE, ordered
    if len(ordered) == 1:
        return RoutingReason.ONLY_VENUE, ordered
    if strategy is RoutingStrategy.LOWEST_LATENCY:
        return RoutingReason.LOWEST_LATENCY, ordered
    if strategy is RoutingStrategy.BEST_LIQUIDITY:
        return RoutingReason.BEST_LIQUIDITY, ordered
    if strategy is RoutingStrategy.COST_OPTIMIZATION:
        return RoutingReason.LOWEST_COST, ordered
    if screen.has_best_price(primary):
        return RoutingReason.BEST_PRICE, ordered
    return RoutingReason.BEST_SCORE, ordered


def _total(screen: Screen, index: int) -> float:
    candidate = screen.candidate(index)
    assert candidate is not None
    return candidate.cost.total


# ------------------------------------------------------------------------------------------------
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
