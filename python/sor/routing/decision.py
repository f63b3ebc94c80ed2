"""What the router returns: a decision, its parts, its explanation and each venue's rejection.

Every model is a frozen dataclass validated at construction: a bad field raises
:class:`sor.InvalidInput` whose message names the field. Quantities and prices are exact
``Decimal`` values; derived figures such as average prices and costs are floats, as the core
reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sor._core import ExecutionCost, FactorScores, VenueScore, WalkResult
from sor._decimal import ratio, total
from sor._validate import (
    StrEnum,
)
from sor.errors import InvalidInput
from sor.health.metrics import LatencyCategory
from sor.orders import OrderRequest, RoutingStrategy

__all__ = [
    "REJECT_TO_NO_ROUTE",
    "CandidateScore",
    "Explanation",
    "NoRouteReason",
    "RejectReason",
    "Rejection",
    "RoutePart",
    "RoutingDecision",
    "RoutingReason",
]


class RoutingReason(StrEnum):
    """Why a decision chose its primary venue (or its split)."""

    BEST_PRICE = "best_price"
    """Best composite score, and also the best all-in price."""
    BEST_SCORE = "best_score"
    """Best composite score, won on liquidity, latency or reliability over a better price."""
    BEST_LIQUIDITY = "best_liquidity"
    """Most depth within the slippage bound."""
    LOWEST_LATENCY = "lowest_latency"
    """Fastest venue under the low-latency threshold."""
    LOWEST_COST = "lowest_cost"
    """Lowest all-in cost (a split that ended up on one venue also says this)."""
    PREFERRED_EXCHANGE = "preferred_exchange"
    """The order's preferred venue, where the strategy alone would have chosen another."""
    SPLIT = "split"
    """Split across several venues for the lowest total all-in cost."""
    ONLY_VENUE = "only_venue"
    """The only venue that could take the order under its constraints."""


class RejectReason(StrEnum):
    """Why one venue was not used for an order."""

    EXCLUDED = "excluded"
    NOT_PREFERRED = "not_preferred"
    MARKET_INACTIVE = "market_inactive"
    NO_BOOK = "no_book"
    STALE_BOOK = "stale_book"
    NO_HEALTH = "no_health"
    CIRCUIT_OPEN = "circuit_open"
    LATENCY = "latency"
    EMPTY_BOOK = "empty_book"
    LOT_SIZE = "lot_size"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    BALANCE = "balance"
    LIMIT_PRICE = "limit_price"
    INSUFFICIENT_LIQUIDITY = "insufficient_liquidity"
    SLIPPAGE = "slippage"
    LIQUIDITY_SCORE = "liquidity_score"


class NoRouteReason(StrEnum):
    """Why an order could not be routed at all (the headline of :class:`sor.NoRouteError`)."""

    NO_VENUE_AVAILABLE = "no_venue_available"
    """Every venue was excluded, stale, unhealthy or too slow before its book was looked at."""
    INVALID_AMOUNT = "invalid_amount"
    """The amount fits no venue's lot size, minimums or maximum."""
    INSUFFICIENT_BALANCE = "insufficient_balance"
    """No venue has the balance for the order."""
    LIMIT_PRICE = "limit_price"
    """Not enough is offered at or better than the limit price."""
    INSUFFICIENT_LIQUIDITY = "insufficient_liquidity"
    """Not enough depth within the slippage bound (or below the minimum liquidity score)."""


#: The order-level reason each venue-level reason contributes to.
REJECT_TO_NO_ROUTE: dict[RejectReason, NoRouteReason] = {
    RejectReason.EXCLUDED: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.NOT_PREFERRED: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.MARKET_INACTIVE: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.NO_BOOK: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.STALE_BOOK: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.NO_HEALTH: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.CIRCUIT_OPEN: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.LATENCY: NoRouteReason.NO_VENUE_AVAILABLE,
    RejectReason.EMPTY_BOOK: NoRouteReason.INSUFFICIENT_LIQUIDITY,
    RejectReason.LOT_SIZE: NoRouteReason.INVALID_AMOUNT,
    RejectReason.BELOW_MINIMUM: NoRouteReason.INVALID_AMOUNT,
    RejectReason.ABOVE_MAXIMUM: NoRouteReason.INVALID_AMOUNT,
    RejectReason.BALANCE: NoRouteReason.INSUFFICIENT_BALANCE,
    RejectReason.LIMIT_PRICE: NoRouteReason.LIMIT_PRICE,
    RejectReason.INSUFFICIENT_LIQUIDITY: NoRouteReason.INSUFFICIENT_LIQUIDITY,
    RejectReason.SLIPPAGE: NoRouteReason.INSUFFICIENT_LIQUIDITY,
    RejectReason.LIQUIDITY_SCORE: NoRouteReason.INSUFFICIENT_LIQUIDITY,
}


def _filled(value: float | None, figure: str) -> float:
    """A price figure of a part, which always fills a positive quantity (so it has one)."""
    if value is None:
        raise InvalidInput(f"{figure}: the part fills nothing, so it has no price")
    return value


@dataclass(frozen=True)
class RoutePart:
    """What one venue is expected to fill: the quantity and the core's walk and cost of it."""

    venue: str
    quantity: Decimal
    walk: WalkResult
    cost: ExecutionCost

    @property
    def average_price(self) -> float:
        """Expected average fill price before fees, in quote units."""
        return _filled(self.walk.average_price, "average_price")

    @property
    def worst_price(self) -> Decimal | None:
        """Price of the last level the fill takes from."""
        return self.walk.worst_price

    @property
    def notional(self) -> Decimal:
        """Quote notional before fees (exact)."""
        return self.walk.notional

    @property
    def fee(self) -> float:
        """Expected taker fee, in quote units."""
        return self.cost.fee

    @property
    def total(self) -> float:
        """All-in quote amount: paid for a buy (notional + fee), received for a sell."""
        return self.cost.total

    @property
    def effective_price(self) -> float:
        """All-in price per unit of base (``total / quantity``)."""
        return _filled(self.cost.effective_price, "effective_price")

    @property
    def slippage_bps(self) -> float:
        """Average price versus the best price, in basis points."""
        return _filled(self.walk.slippage_bps, "slippage_bps")

    @property
    def levels(self) -> int:
        """Price levels the fill takes from."""
        return self.walk.levels_consumed


@dataclass(frozen=True)
class Rejection:
    """One venue that was not used, and why in words (``detail``)."""

    venue: str
    reason: RejectReason
    detail: str

    def __str__(self) -> str:
        return f"{self.venue}: {self.detail}"


@dataclass(frozen=True)
class CandidateScore:
    """One venue scored for an order: the composite score and each factor's contribution.

    Every candidate the core evaluated is reported, whatever the strategy, with the composite
    score under the router's weights (``score.contributions`` sum to ``score.total``), the raw
    higher-is-better factors, and the venue's latency and its category. ``qualified`` says
    whether it met every constraint for the whole order on its own (else ``rejection`` says why).
    """

    venue: str
    score: VenueScore
    raw: FactorScores
    liquidity_ratio: float
    latency_ms: float
    latency_category: LatencyCategory
    qualified: bool
    rejection: Rejection | None

    @property
    def total(self) -> float:
        """The composite score, in [0, 1]."""
        return self.score.total

    @property
    def contributions(self) -> FactorScores:
        """Each factor's weight times its normalised value."""
        return self.score.contributions


class Explanation(Protocol):
    """The parts of a decision that are built only when asked for (see :class:`RoutingDecision`)."""

    def parts(self) -> tuple[RoutePart, ...]:
        """The route."""
        ...

    def alternatives(self) -> tuple[RoutePart, ...]:
        """The other venues that could take the whole order, best first."""
        ...

    def scores(self) -> tuple[CandidateScore, ...]:
        """Every evaluated candidate's score."""
        ...

    def rejections(self) -> tuple[Rejection, ...]:
        """Every venue left out, and why."""
        ...

    def book_versions(self) -> tuple[tuple[str, int], ...]:
        """Each consulted venue with the version of its book."""
        ...


#: Makes an instance without calling its ``__init__`` (the fast path's constructor), looked up
#: once.
_new = object.__new__

#: An explanation not built yet: the function that builds it, then its arguments (a tuple, the
#: cheapest object to make on the router's fast path), called when the decision is first
#: explained.
Deferred = tuple[Any, ...]


class RoutingDecision:
    """Where to execute an order, and why (immutable).

    ``parts`` is the route: one part for a single-venue strategy, one per venue for a split,
    always summing exactly to the order's amount (a route that cannot fill the whole order is
    never returned: :class:`sor.NoRouteError` is raised instead). ``alternatives`` are the other
    venues that could take the whole order on their own, best first: what failover walks.
    ``scores`` explains every evaluated candidate, ``rejections`` every venue left out.
    ``book_versions`` pairs each consulted venue with the version of its book the decision was
    computed on. ``decision_time_us`` is how long routing took (the original computation for a
    ``cached`` decision). ``proven_optimal`` is False only for a split whose search stopped at
    its node limit (the split is valid, but a cheaper one may exist); ``notes`` then says so.

    The router builds the explanation (``parts``, ``alternatives``, ``scores``, ``rejections``,
    ``book_versions``) on first access, from figures captured when the decision was made: a
    decision read later says exactly what it said when it was made.
    """

    __slots__ = (
        "_alternatives",
        "_book_versions",
        "_cached",
        "_decided_at_ns",
        "_decision_time_us",
        "_explanation",
        "_max_slippage_bps",
        "_order",
        "_parts",
        "_proven_optimal",
        "_reason",
        "_rejections",
        "_scores",
        "_strategy",
    )

    # The explanation's figures: set by the constructor, or left unset by :meth:`explained`
    # until first read.
    _parts: tuple[RoutePart, ...]
    _alternatives: tuple[RoutePart, ...]
    _scores: tuple[CandidateScore, ...]
    _rejections: tuple[Rejection, ...]
    _book_versions: tuple[tuple[str, int], ...]

    def __init__(
        self,
        order: OrderRequest,
        strategy: RoutingStrategy,
        reason: RoutingReason,
        parts: tuple[RoutePart, ...],
        alternatives: tuple[RoutePart, ...],
        scores: tuple[CandidateScore, ...],
        rejections: tuple[Rejection, ...],
        max_slippage_bps: float,
        book_versions: tuple[tuple[str, int], ...],
        decision_time_us: float,
        decided_at_ns: int,
        cached: bool = False,
        proven_optimal: bool = True,
    ) -> None:
        if not parts:
            raise InvalidInput("parts: a decision routes the order to at least one venue")
        try:
            routed = parts[0].quantity if len(parts) == 1 else total(p.quantity for p in parts)
        except ArithmeticError:  # a part's quantity beyond sor's exact arithmetic
            routed = None
        if routed != order.amount:
            raise InvalidInput(f"parts: route {routed}, but the order is for {order.amount}")
        self._order = order
        self._strategy = strategy
        self._reason = reason
        self._parts = tuple(parts)
        self._alternatives = tuple(alternatives)
        self._scores = tuple(scores)
        self._rejections = tuple(rejections)
        self._max_slippage_bps = max_slippage_bps
        self._book_versions = tuple(book_versions)
        self._decision_time_us = decision_time_us
        self._decided_at_ns = decided_at_ns
        self._cached = cached
        self._proven_optimal = proven_optimal
        self._explanation: Explanation | Deferred | None = None

    @classmethod
    def explained(
        cls,
        order: OrderRequest,
        strategy: RoutingStrategy,
        reason: RoutingReason,
        max_slippage_bps: float,
        decision_time_us: float,
        decided_at_ns: int,
        explanation: Explanation | Deferred,
        *,
        proven_optimal: bool = True,
    ) -> RoutingDecision:
        """A decision whose parts and explanation ``explanation`` builds on first access.

        The router's fast path: the explanation must route exactly the order's amount. It may
        be given :data:`Deferred`, as ``(build, *arguments)``: ``build(*arguments)`` is then the
        explanation, made when the decision is first explained.
        """
        self = _new(cls)
        self._order = order
        self._strategy = strategy
        self._reason = reason
        self._max_slippage_bps = max_slippage_bps
        self._decision_time_us = decision_time_us
        self._decided_at_ns = decided_at_ns
        self._cached = False
        self._proven_optimal = proven_optimal
        self._explanation = explanation
        return self

    def served_from_cache(self, order: OrderRequest) -> RoutingDecision:
        """This decision, for ``order`` (same routing parameters), marked ``cached``.

        The explanation is built once, on this decision, and shared by every copy.
        """
        if self._explanation is not None:
            self._materialize()
        copy = RoutingDecision.__new__(RoutingDecision)
        for name in RoutingDecision.__slots__:
            setattr(copy, name, getattr(self, name))
        copy._order = order
        copy._cached = True
        return copy

    def _materialize(self) -> None:
        """Builds every lazy field now."""
        for name in ("parts", "alternatives", "scores", "rejections", "book_versions"):
            getattr(self, name)
        self._explanation = None

    def _explain(self) -> Explanation:
        explanation = self._explanation
        assert explanation is not None  # set whenever a lazy field is unset
        if type(explanation) is tuple:  # deferred: built now, once
            build: Callable[..., Explanation] = explanation[0]
            built = self._explanation = build(*explanation[1:])
            return built
        return explanation  # type: ignore[return-value]  # not a tuple: an Explanation

    @property
    def order(self) -> OrderRequest:
        """The order routed."""
        return self._order

    @property
    def strategy(self) -> RoutingStrategy:
        """The strategy used."""
        return self._strategy

    @property
    def reason(self) -> RoutingReason:
        """Why the primary venue (or the split) was chosen."""
        return self._reason

    @property
    def parts(self) -> tuple[RoutePart, ...]:
        """The route: what each venue is expected to fill, summing to the order's amount."""
        try:
            return self._parts
        except AttributeError:  # built on first read
            parts = self._parts = self._explain().parts()
            return parts

    @property
    def alternatives(self) -> tuple[RoutePart, ...]:
        """Other venues that could take the whole order alone, best first (for failover)."""
        try:
            return self._alternatives
        except AttributeError:  # built on first read
            alternatives = self._alternatives = self._explain().alternatives()
            return alternatives

    @property
    def scores(self) -> tuple[CandidateScore, ...]:
        """Every evaluated candidate's score and factor contributions."""
        try:
            return self._scores
        except AttributeError:  # built on first read
            scores = self._scores = self._explain().scores()
            return scores

    @property
    def rejections(self) -> tuple[Rejection, ...]:
        """Every venue left out, and why."""
        try:
            return self._rejections
        except AttributeError:  # built on first read
            rejections = self._rejections = self._explain().rejections()
            return rejections

    @property
    def book_versions(self) -> tuple[tuple[str, int], ...]:
        """Each consulted venue with the version of its book the decision was computed on."""
        try:
            return self._book_versions
        except AttributeError:  # built on first read
            book_versions = self._book_versions = self._explain().book_versions()
            return book_versions

    @property
    def max_slippage_bps(self) -> float:
        """The slippage bound the order was routed under."""
        return self._max_slippage_bps

    @property
    def decision_time_us(self) -> float:
        """How long routing took, in microseconds."""
        return self._decision_time_us

    @property
    def decided_at_ns(self) -> int:
        """When the decision was made (the router's clock, ns since the epoch)."""
        return self._decided_at_ns

    @property
    def cached(self) -> bool:
        """True if served from the routing cache."""
        return self._cached

    @property
    def proven_optimal(self) -> bool:
        """True unless this is a split whose search stopped at its node limit: then the split
        is valid (lots, minimums, caps, the whole order) but a cheaper one may exist."""
        return self._proven_optimal

    @property
    def notes(self) -> tuple[str, ...]:
        """Sentences qualifying the decision (empty when there is nothing to add)."""
        if self._proven_optimal:
            return ()
        return (
            "The split is valid but not proven optimal: the search over the venues' lot "
            "multiples stopped at its node limit, so a cheaper split may exist.",
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RoutingDecision):
            return NotImplemented
        return all(
            getattr(self, name) == getattr(other, name)
            for name in (
                "order",
                "strategy",
                "reason",
                "parts",
                "alternatives",
                "scores",
                "rejections",
                "max_slippage_bps",
                "book_versions",
                "decision_time_us",
                "decided_at_ns",
                "cached",
                "proven_optimal",
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        route = ", ".join(f"{p.venue}: {p.quantity}" for p in self.parts)
        return (
            f"RoutingDecision({self._order.side} {self._order.amount} {self._order.symbol}, "
            f"strategy={self._strategy.value}, reason={self._reason.value}, route=[{route}])"
        )

    @property
    def primary(self) -> RoutePart:
        """The first part (the largest one of a split)."""
        return self.parts[0]

    @property
    def is_split(self) -> bool:
        """True if the route uses more than one venue."""
        return len(self.parts) > 1

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues of the route, in the order of ``parts``."""
        return tuple(part.venue for part in self.parts)

    @property
    def quantity(self) -> Decimal:
        """Total quantity routed (equals the order's amount)."""
        return total(part.quantity for part in self.parts)

    @property
    def notional(self) -> Decimal:
        """Total quote notional before fees (exact)."""
        return total(part.notional for part in self.parts)

    @property
    def fee(self) -> float:
        """Total expected fees, in quote units."""
        return sum(part.fee for part in self.parts)

    @property
    def total(self) -> float:
        """All-in quote amount: paid for a buy, received for a sell."""
        return sum(part.total for part in self.parts)

    @property
    def average_price(self) -> float:
        """Expected average price before fees, in quote units."""
        return ratio(self.notional, self.quantity)

    @property
    def effective_price(self) -> float:
        """All-in price per unit of base."""
        return self.total / float(self.quantity)

    def score_of(self, venue: str) -> CandidateScore | None:
        """The score of one venue, if it was evaluated."""
        return next((score for score in self.scores if score.venue == venue), None)
