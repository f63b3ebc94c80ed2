"""A decision as ccxt's ``RouteResult``: so that a ccxt user can put sor where ccxt's hosted
routing service was, offline, and keep ccxt's own ``OrderRouter.build_execution_plan`` and
``check_execution_plan_safety`` (https://docs.ccxt.com, the order router).

One hop (sor routes one market), one leg per part: ``exchangeId`` is the venue's name (so the
markets given to ``check_execution_plan_safety`` are keyed by the venue names of the router),
``amount`` the base quantity as a number, ``averagePrice`` the expected average price before
fees, ``effectivePrice`` the all-in price per unit, ``feeCost`` the taker fee in quote units.
A buy spends the quote (``from``) for the base (``to``); a sell the reverse. The amounts are
floats, as ccxt's contract says: sor's exact figures stay in the decision.
"""

from __future__ import annotations

from sor.orders import OrderSide
from sor.routing import RoutingDecision

__all__ = ["route_result"]


def route_result(decision: RoutingDecision, request_id: str = "") -> dict[str, object]:
    """``decision`` as a ccxt ``RouteResult`` (a dict of JSON values)."""
    order = decision.order
    base, quote = order.symbol.split("/", 1)
    buy = order.side is OrderSide.BUY
    parts = decision.parts
    legs = [
        {
            "exchangeId": part.venue,
            "amount": float(part.quantity),
            "averagePrice": part.average_price,
            "effectivePrice": part.effective_price,
            "feeCost": part.fee,
        }
        for part in parts
    ]
    quote_total = sum(part.total for part in parts)
    amount = float(order.amount)
    spends, gets = (quote, base) if buy else (base, quote)
    return {
        "requestId": request_id,
        "calculatedAt": decision.decided_at_ns // 1_000_000,
        "from": spends,
        "to": gets,
        "clientRequestedFrom": spends,
        "clientRequestedTo": gets,
        "strategy": decision.strategy.value,
        # sor's amount is always in base units: what a buy receives, what a sell spends.
        "exactSide": "out" if buy else "in",
        "amountIn": quote_total if buy else amount,
        "amountOut": amount if buy else quote_total,
        "fullyFillable": True,  # a decision always routes the whole order
        "fillRatio": 1.0,
        "unroutableReason": "",
        "hops": [
            {
                "pair": order.symbol,
                "side": order.side.value,
                "base": base,
                "quote": quote,
                "legs": legs,
            }
        ],
    }
