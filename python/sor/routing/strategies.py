"""Single-venue strategies over the core's screen, the decision they return (its explanation built
when read), and the routing of one order from gate to decision."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from time import perf_counter_ns
from typing import TYPE_CHECKING

from sor._core import (
    Screen,
    Weights,
)
from sor.orders import OrderRequest, RoutingStrategy
from sor.routing.decision import (
    CandidateScore,
    Rejection,
    RoutePart,
    RoutingDecision,
    RoutingReason,
)
from sor.routing.settings import RouterSettings

if TYPE_CHECKING:
    from sor._core import Verdict

from sor.routing.context import Context, Live, by_venue_index
from sor.routing.gate import Gated
from sor.routing.rejections import (
    AMOUNT_VERDICTS,
    GATE_VERDICTS,
    amount_rejection,
    gate_rejection,
    no_single_route,
    walk_rejection,
)
from sor.routing.screening import Pending
from sor.routing.split import SplitExplanation, refused

#: The router's reason for each of the core's (``Screen.reason``).
REASONS: dict[str, RoutingReason] = {reason.value: reason for reason in RoutingReason}

#: The split strategy, looked up once (an enum member's class attribute costs a lookup per use).
SPLIT = RoutingStrategy.SPLIT


def finish(pending: Pending, screen: Screen, started_ns: int) -> RoutingDecision:
    """The decision on an order of a batch, screened; raises :class:`NoRouteError` if there is
    none."""
    ctx = pending.ctx
    return decide_screened(
        ctx.order,
        ctx.strategy,
        ctx.max_slippage_bps,
        ctx.settings,
        ctx.weights,
        ctx.now_ns,
        started_ns,
        pending.gated,
        screen,
        pending.preferences,
    )


def decide_screened(
    order: OrderRequest,
    strategy: RoutingStrategy,
    slippage: float,
    settings: RouterSettings,
    weights: Weights,
    now_ns: int,
    started_ns: int,
    gated: Gated,
    screen: Screen,
    preferences: list[int | None] | None = None,
) -> RoutingDecision:
    """The decision on an order screened over ``gated`` (the venues its strategy's gate and
    its exclusions let through) at ``slippage``, ``preferences`` giving each venue's place
    among the order's preferred ones as the screen was given them: the core's order and reason
    (the explanation made when first read), the split strategy's, one that puts the preferred
    venues first, or the error of an order no venue can take alone. :meth:`SmartOrderRouter.route`
    inlines the first case."""
    if strategy is not SPLIT and preferences is None and screen.reason is not None:
        return RoutingDecision.explained(
            order,
            strategy,
            REASONS[screen.reason],
            slippage,
            (perf_counter_ns() - started_ns) / 1_000,
            now_ns,
            (Singles, order, settings, weights, now_ns, gated, screen),
        )
    singles = Singles(order, settings, weights, now_ns, gated, screen)
    if strategy is SPLIT:
        return split_decision(singles, slippage, started_ns)
    if screen.reason is None:
        raise no_single_route(singles.ctx, singles.walkable(), singles.rejections())
    reason, ordered = order_qualified(screen, preferences)
    singles.ordered = ordered
    return RoutingDecision.explained(
        order,
        strategy,
        reason,
        slippage,
        (perf_counter_ns() - started_ns) / 1_000,
        now_ns,
        singles,
    )


class Singles:
    """One order's screened venues, and the explanation of its decision, built when asked for.

    Everything here comes from the core's screen (walks, costs, scores, book versions and
    update times captured when the order was routed) and the router's immutable venue data,
    so an explanation built later says what it would have said at once. What only an
    explanation reads (the order's context, the core's order and verdicts) is read when first
    asked for: a slot left unset until then costs the router's fast path nothing.
    """

    __slots__ = ("_ctx", "_ordered", "_origin", "_verdicts", "gated", "screen")

    _ctx: Context
    _ordered: list[int]
    _verdicts: list[Verdict]

    def __init__(
        self,
        order: OrderRequest,
        settings: RouterSettings,
        weights: Weights,
        now_ns: int,
        gated: Gated,
        screen: Screen,
    ) -> None:
        """The router's fast path: the order, settings, weights and clock are what the order's
        :class:`Context` is built from when an explanation first needs it; ``gated`` the
        venues screened."""
        self._origin = (order, settings, weights, now_ns)
        self.gated = gated
        self.screen = screen

    @property
    def live(self) -> list[Live]:
        """The venues screened, in listing order."""
        return self.gated.live

    @property
    def positions(self) -> list[int]:
        """Each screened venue's listing position."""
        return self.gated.positions

    @property
    def order(self) -> OrderRequest:
        """The order screened."""
        return self._origin[0]

    @property
    def amount(self) -> Decimal:
        """The order's amount."""
        return self._origin[0].amount

    @property
    def now_ns(self) -> int:
        """When the order was routed."""
        return self._origin[3]

    @property
    def ordered(self) -> list[int]:
        """Positions in ``live`` of the qualified venues, in the strategy's order (the core's,
        unless preferences reorder it)."""
        try:
            return self._ordered
        except AttributeError:
            ordered = self._ordered = self.screen.ordered
            return ordered

    @ordered.setter
    def ordered(self, ordered: list[int]) -> None:
        self._ordered = ordered

    @property
    def ctx(self) -> Context:
        """The order with its settings resolved."""
        try:
            return self._ctx
        except AttributeError:
            ctx = self._ctx = Context(*self._origin)
            return ctx

    @property
    def caps(self) -> list[Decimal | None]:
        """Each live venue's balance cap as the core's screen applied it."""
        return self.screen.balance_caps

    @property
    def verdicts(self) -> list[Verdict]:
        """The core's verdict on each live venue."""
        try:
            return self._verdicts
        except AttributeError:
            verdicts = self._verdicts = self.screen.verdicts
            return verdicts

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
            return [rejection for _, rejection in self.gated.rejections]
        return [
            rejection for _, rejection in sorted(self.gated.rejections + core, key=by_venue_index)
        ]

    def rejection(self, index: int) -> Rejection | None:
        """Why the venue at ``index`` in ``live`` cannot take the whole order alone, if so."""
        verdict = self.verdicts[index]
        if verdict == "qualified":
            return None
        venue = self.live[index]
        if verdict in GATE_VERDICTS:
            return gate_rejection(self.ctx, venue, verdict, self.screen.updated_at_ns[index])
        if verdict in AMOUNT_VERDICTS:
            return amount_rejection(self.ctx, venue, verdict, self.caps[index])
        candidate = self.screen.candidate(index)
        assert candidate is not None
        return walk_rejection(self.ctx, venue, verdict, candidate)

    def single_stage(self) -> list[Rejection]:
        """Why the walkable venues cannot go alone: amount problems in venue order, then walk
        problems in ranking order."""
        amount = [
            amount_rejection(self.ctx, self.live[i], verdict, self.caps[i])
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


def split_decision(singles: Singles, max_slippage_bps: float, started_ns: int) -> RoutingDecision:
    """The split strategy's decision on the core's split (``Screen.split``, made in the
    screen's call on the books it read); raises :class:`NoRouteError` if it was refused."""
    split = singles.screen.split
    assert split is not None  # a split screen always has one
    if split.refusal is not None:
        raise refused(singles, split)
    assert split.reason is not None  # set whenever the split was made
    order = singles.order
    return RoutingDecision.explained(
        order,
        SPLIT,
        REASONS[split.reason],
        max_slippage_bps,
        (perf_counter_ns() - started_ns) / 1_000,
        singles.now_ns,
        SplitExplanation(singles, split),
        proven_optimal=split.proven_optimal,
    )


def order_qualified(
    screen: Screen, preferences: Sequence[int | None] | None
) -> tuple[RoutingReason, list[int]]:
    """The qualified venues (positions in the screen's input) in the strategy's order (the
    core's ranking), preferred venues first (``preferences``: each venue's place among the
    order's preferred venues, or None for an order that prefers none), and why the first won."""
    by_strategy = screen.ordered
    ordered = by_strategy
    if preferences is not None:
        preferred = [i for i in by_strategy if preferences[i] is not None]
        if len(preferred) > 1:
            preferred.sort(key=lambda i: preferences[i] or 0)
        if preferred:
            ordered = preferred + [i for i in by_strategy if preferences[i] is None]
    if ordered[0] != by_strategy[0]:
        return RoutingReason.PREFERRED_EXCHANGE, ordered
    assert screen.reason is not None  # set whenever a venue qualified
    return REASONS[screen.reason], ordered
