"""``route(strategy="split")`` over venues with different lot sizes (issue 9, item 5): the split
is the exact optimum of the allocation and says whether it is proven optimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from router_support import Spec, make_book, make_router, market

from sor.orders import OrderRequest
from sor.routing.decision import RoutingDecision, RoutingReason
from sor.routing.settings import RouterSettings

SETTINGS = RouterSettings(min_liquidity_score=0, max_slippage_bps=1_000)


def test_split_with_mixed_lots_buys_on_the_cheap_coarse_venue_and_finishes_on_the_fine_one() -> (
    None
):
    # Lots 4 and 3, buy 21: B alone costs 2,100; 12 on A + 9 on B costs 1,500.
    venues = [
        Spec("a", make_book(asks=[("50.0", "20")], bids=[("1.0", "1")]), market(step="4")),
        Spec("b", make_book(asks=[("100.0", "30")], bids=[("1.0", "1")]), market(step="3")),
    ]
    order = OrderRequest("BTC/USDT", "buy", "21", strategy="split")
    decision = make_router(venues, SETTINGS).route(order)
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("a", Decimal(12)),
        ("b", Decimal(9)),
    ]
    assert decision.reason is RoutingReason.SPLIT
    assert decision.total == pytest.approx(1_500.0)
    assert decision.proven_optimal
    assert decision.notes == ()


def test_split_with_mixed_lots_sells_the_whole_order_instead_of_refusing_it() -> None:
    # Lots 4 and 3, sell 13: 12 on A leaves 1 nobody can take; 4 on A + 9 on B fill all 13.
    venues = [
        Spec("a", make_book(bids=[("100.0", "12")], asks=[("1000.0", "1")]), market(step="4")),
        Spec("b", make_book(bids=[("90.0", "20")], asks=[("1000.0", "1")]), market(step="3")),
    ]
    order = OrderRequest("BTC/USDT", "sell", "13", strategy="split")
    decision = make_router(venues, SETTINGS).route(order)
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("b", Decimal(9)),
        ("a", Decimal(4)),
    ]
    assert decision.total == pytest.approx(400.0 + 810.0)
    assert decision.proven_optimal


def test_a_decision_not_proven_optimal_says_so_in_a_note_and_compares_unequal() -> None:
    venues = [
        Spec("a", make_book(asks=[("50.0", "20")], bids=[("1.0", "1")]), market(step="4")),
        Spec("b", make_book(asks=[("100.0", "30")], bids=[("1.0", "1")]), market(step="3")),
    ]
    order = OrderRequest("BTC/USDT", "buy", "21", strategy="split")
    proven = make_router(venues, SETTINGS).route(order)
    fields = dict(
        order=proven.order,
        strategy=proven.strategy,
        reason=proven.reason,
        parts=proven.parts,
        alternatives=proven.alternatives,
        scores=proven.scores,
        rejections=proven.rejections,
        max_slippage_bps=proven.max_slippage_bps,
        book_versions=proven.book_versions,
        decision_time_us=proven.decision_time_us,
        decided_at_ns=proven.decided_at_ns,
    )
    unproven = RoutingDecision(**fields, proven_optimal=False)  # type: ignore[arg-type]
    assert not unproven.proven_optimal
    assert len(unproven.notes) == 1
    assert "not proven optimal" in unproven.notes[0]
    assert unproven != proven
    assert RoutingDecision(**fields) == proven  # type: ignore[arg-type]
    assert unproven.served_from_cache(order).proven_optimal is False
