"""The gate: the order-independent checks on each venue (market status, book, health, circuit,
latency), prepared once per router generation and health version, and the per-order ones."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple, Protocol

from sor._core import (
    VenueSet,
    Weights,
)
from sor._decimal import EXACT
from sor.health.source import HealthSource
from sor.orders import OrderRequest, RoutingStrategy
from sor.routing.context import Context, Listing, Live, by_venue_index
from sor.routing.decision import (
    Rejection,
    RejectReason,
)
from sor.routing.settings import RouterSettings


class Gated(Protocol):
    """Venues past the gate: the live ones, their listing positions, and the gate's rejections
    of the others (with their positions)."""

    @property
    def live(self) -> list[Live]:
        """The venues past the gate, in listing order."""
        ...

    @property
    def positions(self) -> list[int]:
        """Each live venue's position in the symbol's listings."""
        ...

    @property
    def rejections(self) -> list[tuple[int, Rejection]]:
        """The gate's rejections, each with its venue's listing position."""
        ...


class Plan(NamedTuple):
    """The venues one strategy screens without preferences or exclusions: the live venues,
    their listing positions, the gate's rejections (with their positions), the core's set of
    them, and their balances as the core's screen caps orders by them (None: no venue has
    one): each venue's base balance, rounded down to its market's step, for a sell; its quote
    balance for a buy (the core works out what it pays for at the screened book's prices)."""

    live: list[Live]
    positions: list[int]
    rejections: list[tuple[int, Rejection]]
    venue_set: VenueSet
    sell_caps: list[Decimal | None] | None
    buy_funds: list[Decimal | None] | None
    #: Each venue's position in ``live``, by name.
    index_of: dict[str, int]

    def preferences(self, preferred: Sequence[str]) -> list[int | None]:
        """Each venue's place among an order's ``preferred`` venues (None: not preferred)."""
        places: list[int | None] = [None] * len(self.live)
        for place, name in enumerate(preferred):
            index = self.index_of.get(name)
            if index is not None and places[index] is None:
                places[index] = place
        return places

    @classmethod
    def of(
        cls, entries: Sequence[tuple[int, Live]], rejections: list[tuple[int, Rejection]]
    ) -> Plan:
        """The plan over ``entries`` (listing position, live venue), in listing order."""
        live = [venue for _, venue in entries]
        sell_caps = [base_cap(venue) for venue in live]
        buy_funds = [venue.balances.get(venue.market.quote) for venue in live]
        return cls(
            live,
            [position for position, _ in entries],
            rejections,
            VenueSet(
                [v.book for v in live],
                [v.market.rules(v.market.max_amount) for v in live],
                [v.metrics.latency_ema_ms for v in live],
                [v.metrics.success_rate for v in live],
            ),
            sell_caps if any(cap is not None for cap in sell_caps) else None,
            buy_funds if any(funds is not None for funds in buy_funds) else None,
            {venue.name: index for index, venue in enumerate(live)},
        )


class Preferring:
    """A plan's venues under an order's preferences (:class:`Gated`): each live venue carries
    its place among the order's preferred venues (``preferences``, as the core's screen was
    given them). The venues are rebuilt with their places when first read (an explanation),
    not when the order is routed."""

    __slots__ = ("_live", "plan", "preferences")

    _live: list[Live]

    def __init__(self, plan: Plan, preferences: list[int | None]) -> None:
        self.plan = plan
        self.preferences = preferences

    @property
    def live(self) -> list[Live]:
        """The plan's live venues, each with its place among the preferred venues."""
        try:
            return self._live
        except AttributeError:
            live = self._live = [
                venue if place is None else venue._replace(preference=place)
                for venue, place in zip(self.plan.live, self.preferences, strict=True)
            ]
            return live

    @property
    def positions(self) -> list[int]:
        """Each live venue's listing position."""
        return self.plan.positions

    @property
    def rejections(self) -> list[tuple[int, Rejection]]:
        """The plan's gate rejections."""
        return self.plan.rejections


def base_cap(venue: Live) -> Decimal | None:
    """Most base quantity a sell on the venue may take by its base balance (rounded down to
    its market's step), or None if that binds nothing."""
    held = venue.balances.get(venue.market.base)
    if held is None or held >= MAX_LOTS[venue.book.size_decimals]:
        return None  # more than any walk can fill: no effective cap
    return venue.market.round_amount(held)


#: The core's quantities are u64 counts of lots: a base balance of this many lots (by the
#: book's size decimals) or more can never cap a fill.
MAX_LOTS = tuple(Decimal(2**64 - 1).scaleb(-places, EXACT) for places in range(64))


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
        "narrowed",
        "plans",
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
        # The lowest_latency strategy's gate also leaves out venues not under its threshold.
        low = settings.low_latency_ms
        fast = [(p, v) for p, v in self.entries if v.metrics.latency_ema_ms < low]
        slow = [
            (p, latency_rejection(v, low))
            for p, v in self.entries
            if v.metrics.latency_ema_ms >= low
        ]
        self.low_latency = Plan.of(fast, sorted(self.rejections + slow, key=by_venue_index))
        every = Plan.of(self.entries, self.rejections)
        self.venue_set = every.venue_set
        #: The plans of orders that exclude venues or take only their preferred ones, by
        #: their choice of venues (see :meth:`narrowed_plan`).
        self.narrowed: dict[tuple[bool, tuple[str, ...], tuple[str, ...], bool], Plan] = {}
        #: Each single-venue strategy's plan (``lowest_latency``'s leaves the slow out).
        self.plans: dict[RoutingStrategy, Plan] = {
            strategy: self.low_latency if strategy is RoutingStrategy.LOWEST_LATENCY else every
            for strategy in RoutingStrategy
        }

    def narrowed_plan(
        self, order: OrderRequest, settings: RouterSettings, weights: Weights
    ) -> Plan:
        """The plan of an order that excludes venues or takes only its preferred ones: the
        venues the gate lets it use (:func:`order_gate`) and its rejections of the others,
        built once per choice of venues and kept with these prepared venues (at most
        :data:`NARROWED_PLANS` choices)."""
        strategy = order.strategy or settings.default_strategy
        key = (
            strategy is RoutingStrategy.LOWEST_LATENCY,
            order.preferred_exchanges,
            order.excluded_exchanges,
            order.only_preferred,
        )
        plan = self.narrowed.get(key)
        if plan is None:
            # The gate reads no clock: the context's is left at 0.
            ctx = Context(order, settings, weights, 0)
            live, positions, rejections = order_gate(ctx, self)
            plan = Plan.of(list(zip(positions, live, strict=True)), rejections)
            if len(self.narrowed) >= NARROWED_PLANS:
                self.narrowed.clear()
            self.narrowed[key] = plan
        return plan


#: How many choices of venues (exclusions, only-preferred lists) a symbol's prepared venues
#: keep the plans of; past it they start again.
NARROWED_PLANS = 64


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
