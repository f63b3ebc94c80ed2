"""The one core screen of an order: its arguments (balance caps, limit prices in ticks) and the
start of a decision."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from sor._core import OrderBook, ScreenRequest
from sor._decimal import EXACT, ceil_to, floor_to
from sor.orders import RoutingStrategy
from sor.routing.context import Context, Live
from sor.routing.decision import (
    Rejection,
)
from sor.routing.gate import Prepared, base_cap, order_gate


class Pending(NamedTuple):
    """An order gated and ready for the core's screen (``request``)."""

    ctx: Context
    live: list[Live]
    positions: list[int]
    rejections: list[tuple[int, Rejection]]
    request: ScreenRequest


def begin(ctx: Context, prepared: Prepared) -> Pending:
    """Gates the venues for the order of ``ctx`` and prepares the core's screen of the others."""
    live, positions, rejections = order_gate(ctx, prepared)
    return Pending(ctx, live, positions, rejections, screen_request(ctx, live, prepared))


# Caps: balances and limit prices


def balance_cap(ctx: Context, venue: Live) -> Decimal | None:
    """Most base quantity the venue's balance allows (rounded down to the lot), or None.

    A sell is capped by the base balance; a buy by what the quote balance pays for at this
    book's prices, taker fee included (:meth:`OrderBook.affordable`: exact integers in the
    core; for a single-venue strategy, counted no further than the order's amount, as a larger
    cap binds nothing), or None if the book runs out first (its depth, not the balance, is then
    the limit).
    """
    if not ctx.buy:
        return base_cap(venue)
    market = venue.market
    funds = venue.balances.get(market.quote)
    if funds is None:
        return None
    # Exact integers in the core: funds at the book's notional unit, fee on top, whole lots.
    # A single-venue strategy counts no further than the order's amount (a cap at or above it
    # binds nothing); the split's depth check reads caps beyond it.
    at_most = None if ctx.strategy is RoutingStrategy.SPLIT else ctx.order.amount
    affordable = venue.book.affordable(funds, EXACT.multiply(market.taker_fee, 10_000), at_most)
    return None if affordable is None else market.round_amount(affordable)


def limit_ticks(ctx: Context, book: OrderBook) -> Decimal | None:
    """The order's limit price at the book's precision, rounded inwards (None: market order)."""
    limit = ctx.order.limit_price
    if limit is None:
        return None
    if ctx.buy:
        return floor_to(limit, book.price_decimals)
    return ceil_to(limit, book.price_decimals)


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
    return ScreenRequest(
        books,
        order.taker_side,
        order.amount,
        rules,
        latencies,
        reliabilities,
        balance_caps=caps,
        weights=ctx.weights,
        max_slippage_bps=ctx.max_slippage_bps,
        limit_price=order.limit_price,
        min_liquidity_ratio=ctx.settings.min_liquidity_score,
        ranking=ctx.strategy,
        preferences=[venue.preference for venue in live] if ctx.order.preferred_exchanges else None,
    )
