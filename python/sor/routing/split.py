"""The split strategy's decision: the core splits the whole order in the screen's own call
(``Screen.split``: caps, the exact allocation in preference groups, the cheapest-single check);
here its refusals become the router's errors and its parts the decision's, when read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sor._core import Split
from sor._decimal import APPROX, fixed, fmt
from sor.errors import NoRouteError
from sor.routing.decision import (
    CandidateScore,
    NoRouteReason,
    Rejection,
    RoutePart,
)
from sor.routing.rejections import no_route, no_single_route, plural

if TYPE_CHECKING:
    from sor.routing.strategies import Singles


def refused(singles: Singles, split: Split) -> NoRouteError:
    """The router's error for a split the core refused (``split.refusal`` is set)."""
    ctx = singles.ctx
    gate = singles.gate_stage()
    walkable = singles.walkable()
    if split.refusal == "no_venue":
        return no_single_route(ctx, walkable, gate)
    amount, base = ctx.order.amount, ctx.base
    figure = split.figure
    assert figure is not None  # every other refusal has its figure
    slippage, venues = f"{ctx.max_slippage_bps:g} bps", plural(len(walkable), "venue")
    if split.refusal == "depth":
        return no_route(
            ctx,
            gate,
            NoRouteReason.INSUFFICIENT_LIQUIDITY,
            f"insufficient liquidity: {fmt(figure)} of {amount:f} {base} available within "
            f"{slippage} on {venues}",
            figure,
        )
    if split.refusal == "liquidity_ratio":
        return no_route(
            ctx,
            gate,
            NoRouteReason.INSUFFICIENT_LIQUIDITY,
            f"insufficient liquidity: {fmt(figure)} {base} within {slippage} on {venues} is "
            f"{fixed(APPROX.divide(figure, amount), 2)}x the {amount:f} {base} order, below "
            f"the minimum liquidity score {ctx.settings.min_liquidity_score:g}x",
            figure,
        )
    return no_route(
        ctx,
        gate,
        NoRouteReason.INVALID_AMOUNT,
        f"{amount:f} {base} does not fit the venues' lot sizes and minimums: at most "
        f"{fmt(figure)} {base} can be routed",
        figure,
    )


class SplitExplanation:
    """A split decision's explanation, built when first read from the core's split (whose
    parts route exactly the order's amount) and the screen it was made with."""

    __slots__ = ("_singles", "_split")

    def __init__(self, singles: Singles, split: Split) -> None:
        self._singles = singles
        self._split = split

    def parts(self) -> tuple[RoutePart, ...]:
        """The split's parts: preferred venues first in preference order, then the larger
        quantity first, then by venue name."""
        singles, core = self._singles, self._split.parts
        live = singles.live
        if len(core) == 1:  # the whole order on one venue, in the order's own figure
            (part,) = core
            return (RoutePart(live[part.index].name, singles.amount, part.walk, part.cost),)
        parts = [RoutePart(live[p.index].name, p.quantity, p.walk, p.cost) for p in core]
        rank = {venue.name: venue.preference for venue in live}
        parts.sort(key=lambda p: (rank[p.venue] is None, rank[p.venue] or 0, -p.quantity, p.venue))
        return tuple(parts)

    def alternatives(self) -> tuple[RoutePart, ...]:
        """The venues that could take the whole order alone, cheapest first."""
        return tuple(self._singles.part(index) for index in self._split.alternatives)

    def scores(self) -> tuple[CandidateScore, ...]:
        """Every walked candidate's score, best first."""
        return self._singles.scores()

    def rejections(self) -> tuple[Rejection, ...]:
        """The gate's rejections: the only ones that concern a split (the scores say why each
        venue could not go alone)."""
        return tuple(self._singles.gate_stage())

    def book_versions(self) -> tuple[tuple[str, int], ...]:
        """Each screened venue with its book's version then."""
        return self._singles.book_versions()
