"""The one core screen of an order in a batch: its plan's venues (its strategy's, or those of
its choice of venues), their balances and the order's preferences, as a request the core
screens with the batch's others."""

from __future__ import annotations

from typing import NamedTuple

from sor._core import ScreenRequest
from sor.routing.context import Context
from sor.routing.gate import Gated, Plan, Preferring, Prepared


class Pending(NamedTuple):
    """An order gated and ready for the core's screen (``request``): the venues it may use,
    and each one's place among its preferred venues (None: it prefers none)."""

    ctx: Context
    gated: Gated
    preferences: list[int | None] | None
    request: ScreenRequest


def begin(ctx: Context, prepared: Prepared) -> Pending:
    """The venues the order of ``ctx`` may use, as :meth:`SmartOrderRouter.route` screens them
    (the plan of its strategy, or of its exclusions and only-preferred venues; each venue's
    place among its preferred ones; the plan's balances), and the core's request to screen
    them."""
    order = ctx.order
    plan: Plan
    if order.excluded_exchanges or order.only_preferred:
        plan = prepared.narrowed_plan(order, ctx.settings, ctx.weights)
    else:
        plan = prepared.plans[ctx.strategy]
    preferences = None
    if order.preferred_exchanges:
        preferences = plan.preferences(order.preferred_exchanges)
    gated: Gated = plan if preferences is None else Preferring(plan, preferences)
    caps = funds = None
    if prepared.has_balances:
        if ctx.buy:
            funds = plan.buy_funds
        else:
            caps = plan.sell_caps
    request = ScreenRequest.over(
        plan.venue_set,
        order.taker_side,
        order.amount,
        max_slippage_bps=ctx.max_slippage_bps,
        min_liquidity_ratio=ctx.settings.min_liquidity_score,
        balance_caps=caps,
        weights=ctx.weights,
        limit_price=order.limit_price,
        ranking=ctx.strategy,
        preferences=preferences,
        quote_funds=funds,
    )
    return Pending(ctx, gated, preferences, request)
