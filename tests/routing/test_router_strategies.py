"""Every strategy and constraint of ``SmartOrderRouter.route`` on small books whose right answer
is worked out by hand below (prices with 1 decimal, sizes in lots of 0.1 BTC).

The three venues of the main scenario, for a buy of 2 BTC within 100 bps:

========  =====================  ===  =======  =======  ====================================
venue     asks                   fee  latency  success  walk of 2 BTC
========  =====================  ===  =======  =======  ====================================
alpha     1 @ 100.0, 29 @ 101.0  5    10 ms    0.95     100 + 101 = 201, x1.0005 = 201.1005
beta      5 @ 100.0, 10 @ 103.0  20   50 ms    0.99     2 x 100 = 200, x1.002 = 200.4
gamma     4 @ 100.1, 20 @ 105.0  0    900 ms   0.90     2 x 100.1 = 200.2
========  =====================  ===  =======  =======  ====================================

Depth within 100 bps of the best ask: alpha 30 (101.0 is on the bound), beta 5, gamma 4
(bound 101.101), so the liquidity ratios are 10 (capped), 2.5 and 2.0: all meet the minimum 2.0.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from router_support import Clock, Spec, make_book, make_router, market

import sor
from sor.errors import NoRouteError
from sor.health import InMemoryHealth
from sor.health.metrics import LatencyCategory
from sor.markets import Market
from sor.orders import OrderRequest, RoutingStrategy
from sor.routing.decision import NoRouteReason, RejectReason, RoutingDecision, RoutingReason
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings, ScoringWeights

# All-in totals of 2 BTC (see the module docstring).
ALPHA_TOTAL = 201 * 1.0005
BETA_TOTAL = 200 * 1.002
GAMMA_TOTAL = 200.2


def specs(**markets: Market) -> list[Spec]:
    """The three venues of the scenario (a venue's market can be replaced by keyword)."""
    default = {
        "alpha": market(fee_bps=5),
        "beta": market(fee_bps=20),
        "gamma": market(fee_bps=0),
    }
    default.update(markets)
    return [
        Spec(
            "alpha",
            make_book(asks=[("100.0", "1"), ("101.0", "29")], bids=[("99.0", "5")]),
            default["alpha"],
            10.0,
            0.95,
        ),
        Spec(
            "beta",
            make_book(asks=[("100.0", "5"), ("103.0", "10")], bids=[("99.5", "5")]),
            default["beta"],
            50.0,
            0.99,
        ),
        Spec(
            "gamma",
            make_book(asks=[("100.1", "4"), ("105.0", "20")]),
            default["gamma"],
            900.0,
            0.90,
        ),
    ]


def router(settings: RouterSettings | None = None, **markets: Market) -> SmartOrderRouter:
    """A router over the scenario's venues."""
    return make_router(specs(**markets), settings)


def buy(amount: str = "2", **kwargs: object) -> OrderRequest:
    """A BTC/USDT buy."""
    return OrderRequest("BTC/USDT", "buy", amount, **kwargs)  # type: ignore[arg-type]


def ranked(decision: RoutingDecision) -> list[str]:
    """The primary venue then the alternatives, in order."""
    return [decision.primary.venue, *(part.venue for part in decision.alternatives)]


def rejected(decision_or_error: RoutingDecision | NoRouteError) -> dict[str, RejectReason]:
    """Venue -> reason of every rejection."""
    return {r.venue: r.reason for r in decision_or_error.rejections}


# ------------------------------------------------------------------------------------------------
# best_execution


def test_best_execution_picks_the_best_composite_score_computed_by_hand() -> None:
    decision = router().route(buy())
    # Effective prices: alpha 100.55025, beta 100.2, gamma 100.1 (higher-is-better: negated).
    price_span = 100.55025 - 100.1
    price = {"alpha": 0.0, "beta": (100.55025 - 100.2) / price_span, "gamma": 1.0}
    liquidity = {"alpha": 1.0, "beta": (2.5 - 2.0) / (10 - 2.0), "gamma": 0.0}
    latency = {"alpha": 1.0, "beta": (900 - 50) / (900 - 10), "gamma": 0.0}
    reliability = {"alpha": (0.95 - 0.90) / 0.09, "beta": 1.0, "gamma": 0.0}
    expected = {
        v: 0.4 * price[v] + 0.3 * liquidity[v] + 0.2 * latency[v] + 0.1 * reliability[v]
        for v in price
    }
    # beta 0.6209 > alpha 0.5556 > gamma 0.4
    assert ranked(decision) == ["beta", "alpha", "gamma"]
    for score in decision.scores:
        assert score.total == pytest.approx(expected[score.venue], abs=1e-9)
        parts = score.contributions
        assert parts.price == pytest.approx(0.4 * price[score.venue], abs=1e-9)
        assert parts.liquidity == pytest.approx(0.3 * liquidity[score.venue], abs=1e-9)
        assert parts.latency == pytest.approx(0.2 * latency[score.venue], abs=1e-9)
        assert parts.reliability == pytest.approx(0.1 * reliability[score.venue], abs=1e-9)
        assert score.qualified
    # beta won on liquidity, latency and reliability although gamma is cheaper.
    assert decision.reason is RoutingReason.BEST_SCORE
    assert decision.strategy is RoutingStrategy.BEST_EXECUTION


def test_best_execution_reports_the_expected_fill_of_every_route() -> None:
    decision = router().route(buy())
    part = decision.primary
    assert (part.venue, part.quantity) == ("beta", Decimal("2"))
    assert part.average_price == pytest.approx(100.0)
    assert part.notional == Decimal("200.00")
    assert part.fee == pytest.approx(0.4)
    assert part.total == pytest.approx(BETA_TOTAL)
    assert part.slippage_bps == 0.0
    assert part.levels == 1
    alpha, gamma = decision.alternatives
    assert alpha.average_price == pytest.approx(100.5)
    assert alpha.total == pytest.approx(ALPHA_TOTAL)
    assert alpha.worst_price == Decimal("101.0")
    assert gamma.total == pytest.approx(GAMMA_TOTAL)
    assert decision.quantity == Decimal("2")
    assert decision.book_versions == (("alpha", 1), ("beta", 1), ("gamma", 1))
    assert decision.decision_time_us > 0
    assert not decision.cached
    assert not decision.is_split


def test_best_execution_says_best_price_when_the_winner_is_also_cheapest() -> None:
    # Without beta, alpha (0.6) beats gamma (0.4), but gamma is cheaper: BEST_SCORE. Weighting
    # price alone makes gamma win, and it is the cheapest: BEST_PRICE.
    settings = RouterSettings(
        weights=ScoringWeights(price=1, liquidity=0, latency=0, reliability=0)
    )
    decision = router(settings).route(buy())
    assert ranked(decision) == ["gamma", "beta", "alpha"]
    assert decision.reason is RoutingReason.BEST_PRICE
    two = router().route(buy(excluded_exchanges=["beta"]))
    assert ranked(two) == ["alpha", "gamma"]
    assert two.score_of("alpha").total == pytest.approx(0.6)  # type: ignore[union-attr]
    assert two.reason is RoutingReason.BEST_SCORE


# ------------------------------------------------------------------------------------------------
# lowest_latency, best_liquidity, cost_optimization


def test_lowest_latency_uses_only_venues_under_the_threshold_fastest_first() -> None:
    decision = router().route(buy(strategy="lowest_latency"))
    assert ranked(decision) == ["alpha", "beta"]
    assert decision.reason is RoutingReason.LOWEST_LATENCY
    assert rejected(decision) == {"gamma": RejectReason.LATENCY}
    assert "900 ms not under the 100 ms low-latency threshold" in str(decision.rejections[0])
    categories = {s.venue: s.latency_category for s in decision.scores}
    assert categories == {"alpha": LatencyCategory.EXCELLENT, "beta": LatencyCategory.GOOD}


def test_latency_categories_follow_the_thresholds() -> None:
    decision = router().route(buy())
    categories = {s.venue: s.latency_category for s in decision.scores}
    # 10 ms < 50; 50 ms is not < 50 but < 100; 900 ms >= 500.
    assert categories == {
        "alpha": LatencyCategory.EXCELLENT,
        "beta": LatencyCategory.GOOD,
        "gamma": LatencyCategory.UNACCEPTABLE,
    }


def test_best_liquidity_picks_the_deepest_book_within_the_slippage_bound() -> None:
    decision = router().route(buy(strategy=RoutingStrategy.BEST_LIQUIDITY))
    # Depth within 100 bps: alpha 30, beta 5, gamma 4.
    assert ranked(decision) == ["alpha", "beta", "gamma"]
    assert decision.reason is RoutingReason.BEST_LIQUIDITY
    # Within 50 bps alpha only holds 1 BTC (101.0 is 100 bps away): it cannot fill 2 within the
    # bound at all, and beta (5 within 100.5) is the deepest left.
    narrow = router().route(buy(strategy="best_liquidity", max_slippage_bps=50))
    assert ranked(narrow) == ["beta", "gamma"]
    assert rejected(narrow) == {"alpha": RejectReason.SLIPPAGE}


def test_cost_optimization_picks_the_lowest_all_in_cost() -> None:
    decision = router().route(buy(strategy="cost_optimization"))
    # 200.2 (gamma) < 200.4 (beta) < 201.1005 (alpha).
    assert ranked(decision) == ["gamma", "beta", "alpha"]
    assert decision.reason is RoutingReason.LOWEST_COST
    assert decision.total == pytest.approx(GAMMA_TOTAL)


def test_cost_optimization_of_a_sell_picks_the_highest_proceeds_after_fees() -> None:
    venues = [
        Spec("s1", make_book(bids=[("100.0", "2")]), market(fee_bps=0)),
        Spec("s2", make_book(bids=[("100.2", "2")]), market(fee_bps=30)),
        Spec("s3", make_book(bids=[("100.1", "2")]), market(fee_bps=0)),
    ]
    order = OrderRequest("BTC/USDT", "sell", "1", strategy="cost_optimization")
    decision = make_router(venues).route(order)
    # s3 receives 100.1; s1 100.0; s2 100.2 x (1 - 0.003) = 99.8994.
    assert ranked(decision) == ["s3", "s1", "s2"]
    assert [p.total for p in (decision.primary, *decision.alternatives)] == pytest.approx(
        [100.1, 100.0, 100.2 * 0.997]
    )


# ------------------------------------------------------------------------------------------------
# split


def test_split_takes_the_cheapest_fee_adjusted_levels_across_venues() -> None:
    decision = router().route(buy(strategy="split"))
    # Per-unit all-in prices: alpha 100 x 1.0005 = 100.05 for 1 BTC, gamma 100.1 for 4, beta
    # 100 x 1.002 = 100.2: 1 from alpha and 1 from gamma cost 200.15 < gamma alone (200.2).
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("alpha", Decimal("1.0")),
        ("gamma", Decimal("1.0")),
    ]
    assert decision.reason is RoutingReason.SPLIT
    assert decision.is_split
    assert decision.total == pytest.approx(100.05 + 100.1)
    assert decision.fee == pytest.approx(0.05)
    assert decision.average_price == pytest.approx(100.05)
    # Failover alternatives: the venues that could take all 2 BTC alone, cheapest first.
    assert [p.venue for p in decision.alternatives] == ["gamma", "beta", "alpha"]


def test_split_of_a_larger_order_orders_parts_largest_first() -> None:
    decision = router().route(buy("5", strategy="split"))
    # alpha 1 @ 100.05, then gamma's 4 @ 100.1 (cheaper than beta's 100.2).
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("gamma", Decimal("4.0")),
        ("alpha", Decimal("1.0")),
    ]
    assert decision.total == pytest.approx(100.05 + 4 * 100.1)


def test_split_on_one_venue_says_lowest_cost() -> None:
    # 0.5 BTC: alpha's first level alone is the cheapest (100.05 per BTC).
    decision = router().route(buy("0.5", strategy="split"))
    assert [(p.venue, p.quantity) for p in decision.parts] == [("alpha", Decimal("0.5"))]
    assert decision.reason is RoutingReason.LOWEST_COST
    assert "alpha" not in [p.venue for p in decision.alternatives]


def test_split_respects_lot_sizes_and_minimum_amounts() -> None:
    # v1 sells in whole BTC, v2 in 0.1 BTC with a 1 BTC minimum. For 2.5 BTC: v1 2 + v2 0.5
    # would be cheapest (250.5) but v2's part is under its minimum; v1 1 + v2 1.5 costs 251.5,
    # v2 alone 252.5, v1 cannot take 2.5 (whole lots): 1 + 1.5 is the best valid split.
    venues = [
        Spec("v1", make_book(asks=[("100.0", "2"), ("110.0", "10")]), market(step="1")),
        Spec("v2", make_book(asks=[("101.0", "5")]), market(min_amount="1")),
    ]
    settings = RouterSettings(min_liquidity_score=0, max_slippage_bps=1_000)
    decision = make_router(venues, settings).route(buy("2.5", strategy="split"))
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("v2", Decimal("1.5")),
        ("v1", Decimal("1")),
    ]
    assert decision.total == pytest.approx(251.5)


def test_split_caps_a_buy_by_what_the_quote_balance_pays_for() -> None:
    # v1 is cheapest but its 150 USDT only pay for 1.5 BTC at 100: the rest comes from v2 at
    # 101.
    venues = [
        Spec("v1", make_book(asks=[("100.0", "5")]), market(), balances={"USDT": "150"}),
        Spec("v2", make_book(asks=[("101.0", "5")]), market()),
    ]
    settings = RouterSettings(min_liquidity_score=0)
    decision = make_router(venues, settings).route(buy("2", strategy="split"))
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("v1", Decimal("1.5")),
        ("v2", Decimal("0.5")),
    ]
    assert decision.parts[0].total <= 150


def test_split_keeps_every_part_within_the_slippage_bound_and_limit_price() -> None:
    venues = [
        Spec("v1", make_book(asks=[("100.0", "1"), ("100.5", "1"), ("102.0", "9")]), market()),
        Spec("v2", make_book(asks=[("100.8", "1"), ("101.0", "9")]), market()),
    ]
    settings = RouterSettings(min_liquidity_score=0)
    # Within 50 bps: v1 up to 100.5 (2 BTC), v2 up to 101.304 (10 BTC). Limit 100.9: v2 1 BTC.
    decision = make_router(venues, settings).route(
        buy("3", strategy="split", max_slippage_bps=50, order_type="limit", limit_price="100.9")
    )
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("v1", Decimal("2.0")),
        ("v2", Decimal("1.0")),
    ]
    assert all(p.worst_price is not None and p.worst_price <= 100.9 for p in decision.parts)


# ------------------------------------------------------------------------------------------------
# Constraints on every strategy


def test_max_slippage_rejects_venues_whose_fill_goes_past_the_bound() -> None:
    decision = router().route(buy(max_slippage_bps=50))
    assert rejected(decision) == {"alpha": RejectReason.SLIPPAGE}
    assert "reaches 100.0 bps from the best price (limit 50 bps)" in str(decision.rejections[0])
    assert decision.max_slippage_bps == 50
    assert "alpha" not in ranked(decision)


def test_min_liquidity_score_rejects_venues_too_thin_for_the_order() -> None:
    decision = router(RouterSettings(min_liquidity_score=3)).route(buy())
    assert rejected(decision) == {
        "beta": RejectReason.LIQUIDITY_SCORE,
        "gamma": RejectReason.LIQUIDITY_SCORE,
    }
    assert ranked(decision) == ["alpha"]
    assert decision.reason is RoutingReason.ONLY_VENUE
    beta = decision.score_of("beta")
    assert beta is not None
    assert not beta.qualified
    assert beta.liquidity_ratio == 2.5
    assert "2.50x the order (minimum 3x)" in str(beta.rejection)


def test_max_latency_rejects_slow_venues_before_looking_at_their_book() -> None:
    decision = router(RouterSettings(max_latency_ms=500)).route(buy())
    assert rejected(decision) == {"gamma": RejectReason.LATENCY}
    assert decision.score_of("gamma") is None
    assert "latency 900 ms above the 500 ms limit" in str(decision.rejections[0])


@pytest.mark.parametrize("strategy", ["best_execution", "lowest_latency", "cost_optimization"])
def test_preferred_exchanges_come_first_in_the_order_given(strategy: str) -> None:
    decision = router().route(buy(strategy=strategy, preferred_exchanges=["beta", "alpha"]))
    assert ranked(decision)[:2] == ["beta", "alpha"]
    assert decision.primary.venue == "beta"


def test_preferred_exchange_is_the_reason_when_the_strategy_would_choose_another() -> None:
    decision = router().route(buy(preferred_exchanges=["gamma", "alpha"]))
    assert ranked(decision) == ["gamma", "alpha", "beta"]
    assert decision.reason is RoutingReason.PREFERRED_EXCHANGE
    # Preferring the strategy's own choice changes nothing.
    same = router().route(buy(preferred_exchanges=["beta"]))
    assert same.reason is RoutingReason.BEST_SCORE


def test_only_preferred_leaves_every_other_venue_out() -> None:
    decision = router().route(buy(preferred_exchanges=["gamma", "alpha"], only_preferred=True))
    assert ranked(decision) == ["gamma", "alpha"]
    assert rejected(decision) == {"beta": RejectReason.NOT_PREFERRED}


def test_split_fills_preferred_venues_first() -> None:
    # beta is the dearest (100.2 per BTC) but preferred: its 5 BTC go first, then the rest at
    # the cheapest prices elsewhere (alpha's 1 BTC at 100.05).
    decision = router().route(buy("6", strategy="split", preferred_exchanges=["beta"]))
    assert [(p.venue, p.quantity) for p in decision.parts] == [
        ("beta", Decimal("5.0")),
        ("alpha", Decimal("1.0")),
    ]


def test_excluded_exchanges_are_never_used() -> None:
    for strategy in RoutingStrategy:
        decision = router().route(buy(strategy=strategy, excluded_exchanges=["beta", "gamma"]))
        venues = {p.venue for p in (*decision.parts, *decision.alternatives)}
        assert venues == {"alpha"}, strategy
        assert rejected(decision) == {"beta": RejectReason.EXCLUDED, "gamma": RejectReason.EXCLUDED}


def test_lot_size_minimums_and_maximum_rule_venues_out_of_single_venue_routes() -> None:
    with pytest.raises(NoRouteError) as info:
        router(
            alpha=market(fee_bps=5, step="1"),
            beta=market(fee_bps=20, min_amount="3"),
            gamma=market(min_cost="250"),
        ).route(buy("1.5"))
    err = info.value
    assert err.reason is NoRouteReason.INVALID_AMOUNT
    assert rejected(err) == {
        "alpha": RejectReason.LOT_SIZE,
        "beta": RejectReason.BELOW_MINIMUM,
        "gamma": RejectReason.BELOW_MINIMUM,
    }
    assert str(err) == (
        "amount 1.5 BTC is not a valid order size on any venue (alpha: amount 1.5 is not a "
        "multiple of the lot size 1; beta: amount 1.5 BTC is below the minimum 3; gamma: order "
        "value 150.15 USDT is below the minimum 250)"
    )


def test_amount_above_the_market_maximum_is_refused_by_that_venue() -> None:
    decision = router(alpha=market(fee_bps=5, max_amount="1.5")).route(buy())
    assert rejected(decision) == {"alpha": RejectReason.ABOVE_MAXIMUM}


def test_balance_caps_single_venue_routes() -> None:
    # alpha: 150 USDT / 1.0005 = 149.925 of notional: 1 @ 100 + 0.4 @ 101 = 140.4 (0.5 would
    # be 150.5): it covers 1.4 BTC. beta's 0.5 BTC cannot cover a 2 BTC sell... on a buy the
    # base balance does not matter.
    specs_ = specs()
    specs_[0].balances = {"USDT": "150"}
    specs_[1].balances = {"BTC": "0.5"}
    decision = make_router(specs_).route(buy())
    assert rejected(decision) == {"alpha": RejectReason.BALANCE}
    assert "balance of 150 USDT covers 1.4 of 2 BTC" in str(decision.rejections[0])
    sell = make_router(specs_).route(OrderRequest("BTC/USDT", "sell", "1"))
    assert rejected(sell)["beta"] is RejectReason.BALANCE


def test_limit_price_rules_out_venues_that_would_fill_past_it() -> None:
    decision = router().route(buy(order_type="limit", limit_price="100.05"))
    assert rejected(decision) == {
        "alpha": RejectReason.LIMIT_PRICE,
        "gamma": RejectReason.LIMIT_PRICE,
    }
    assert ranked(decision) == ["beta"]


def test_stale_books_unhealthy_and_inactive_venues_are_not_routed_to() -> None:
    clock = Clock()
    specs_ = specs(gamma=market(active=False))
    specs_[0].book.apply_delta("ask", "120.0", "1", timestamp_ns=clock.now_ns - 6 * 10**9)
    routed = make_router(specs_, clock=clock)
    assert isinstance(routed.health, InMemoryHealth)
    routed.health.open_circuit("beta")
    with pytest.raises(NoRouteError) as info:
        routed.route(buy())
    err = info.value
    assert err.reason is NoRouteReason.NO_VENUE_AVAILABLE
    assert rejected(err) == {
        "alpha": RejectReason.STALE_BOOK,
        "beta": RejectReason.CIRCUIT_OPEN,
        "gamma": RejectReason.MARKET_INACTIVE,
    }
    assert str(err).startswith(
        "no venue available for BTC/USDT (alpha: stale book: last updated 6.0 s ago (limit 5 s);"
    )


def test_a_venue_without_health_figures_or_book_is_not_routed_to() -> None:
    routed = router()
    assert isinstance(routed.health, InMemoryHealth)
    routed.health.remove("alpha")
    routed.remove_book("gamma", "BTC/USDT")
    decision = routed.route(buy())
    assert rejected(decision) == {"alpha": RejectReason.NO_HEALTH, "gamma": RejectReason.NO_BOOK}
    empty = sor.OrderBook(1, 1)
    routed.set_book("gamma", "BTC/USDT", empty)
    assert rejected(routed.route(buy()))["gamma"] is RejectReason.STALE_BOOK


def test_a_venue_with_an_empty_side_is_not_routed_to() -> None:
    decision = router().route(OrderRequest("BTC/USDT", "sell", "1"))
    assert rejected(decision) == {"gamma": RejectReason.EMPTY_BOOK}


# ------------------------------------------------------------------------------------------------
# No route


def thin_router() -> SmartOrderRouter:
    """Three venues holding 1.2, 1 and 1 BTC within 100 bps (and more further out)."""
    return make_router(
        [
            Spec("a", make_book(asks=[("100.0", "1.2"), ("120.0", "9")]), market()),
            Spec("b", make_book(asks=[("100.0", "1"), ("120.0", "9")]), market()),
            Spec("c", make_book(asks=[("100.5", "1"), ("120.0", "9")]), market()),
        ]
    )


@pytest.mark.parametrize("strategy", list(RoutingStrategy))
def test_no_route_says_how_much_is_available_within_the_bound(strategy: RoutingStrategy) -> None:
    with pytest.raises(NoRouteError) as info:
        thin_router().route(buy("5.0", strategy=strategy))
    err = info.value
    assert isinstance(err, sor.RoutingError)
    assert err.reason is NoRouteReason.INSUFFICIENT_LIQUIDITY
    assert err.available == Decimal("3.2")
    assert str(err).startswith(
        "insufficient liquidity: 3.2 of 5.0 BTC available within 100 bps on 3 venues"
    )


def test_no_single_venue_route_points_to_the_split_when_venues_together_suffice() -> None:
    settings = RouterSettings(min_liquidity_score=1)
    with pytest.raises(NoRouteError) as info:
        make_router(
            [
                Spec("a", make_book(asks=[("100.0", "1.2"), ("120.0", "9")]), market()),
                Spec("b", make_book(asks=[("100.0", "1"), ("120.0", "9")]), market()),
            ],
            settings,
        ).route(buy("2"))
    assert str(info.value).startswith(
        "no single venue can take 2 BTC within the constraints (2.2 BTC available within 100 bps"
    )
    assert rejected(info.value) == {
        "a": RejectReason.SLIPPAGE,
        "b": RejectReason.SLIPPAGE,
    }


def test_split_below_the_minimum_liquidity_score_is_refused() -> None:
    with pytest.raises(NoRouteError) as info:
        thin_router().route(buy("2", strategy="split"))
    assert str(info.value) == (
        "insufficient liquidity: 3.2 BTC within 100 bps on 3 venues is 1.60x the 2 BTC order, "
        "below the minimum liquidity score 2x"
    )


def test_amount_finer_than_every_lot_is_an_invalid_amount() -> None:
    with pytest.raises(NoRouteError) as info:
        router().route(buy("2.05"))
    assert info.value.reason is NoRouteReason.INVALID_AMOUNT
    assert "amount 2.05 is not a multiple of the lot size 0.1" in str(info.value)
    with pytest.raises(NoRouteError) as split_info:
        router().route(buy("2.05", strategy="split"))
    assert str(split_info.value) == (
        "2.05 BTC does not fit the venues' lot sizes and minimums: at most 2 BTC can be routed"
    )


def test_insufficient_balance_everywhere_is_named() -> None:
    specs_ = specs()
    for spec in specs_:
        spec.balances = {"USDT": "10"}
    with pytest.raises(NoRouteError) as info:
        make_router(specs_).route(buy())
    assert info.value.reason is NoRouteReason.INSUFFICIENT_BALANCE
    assert str(info.value).startswith("insufficient balance for 2 BTC on every venue")


def test_limit_price_below_every_ask_is_named() -> None:
    with pytest.raises(NoRouteError) as info:
        router().route(buy(order_type="limit", limit_price="99"))
    assert info.value.reason is NoRouteReason.LIMIT_PRICE
    assert str(info.value).startswith("not enough offered at the limit price 99 for 2 BTC")


def test_unknown_symbol_and_unknown_venue_names_are_invalid_input() -> None:
    with pytest.raises(sor.InvalidInput, match="symbol: no venue lists 'ETH/USDT'"):
        router().route(OrderRequest("ETH/USDT", "buy", "1"))
    with pytest.raises(sor.InvalidInput, match="preferred_exchanges: unknown venue bitmex"):
        router().route(buy(preferred_exchanges=["bitmex"]))
    with pytest.raises(sor.InvalidInput, match="order: expected OrderRequest"):
        router().route("buy 2 BTC")  # type: ignore[arg-type]


def test_route_many_returns_a_decision_or_the_error_for_each_order() -> None:
    routed = router()
    results = routed.route_many(
        [buy(), buy("50"), buy("1", strategy="split"), OrderRequest("BTC/USDT", "sell", "1")]
    )
    assert isinstance(results[0], RoutingDecision)
    assert results[0].primary.venue == "beta"
    assert isinstance(results[1], NoRouteError)
    assert isinstance(results[2], RoutingDecision)
    assert isinstance(results[3], RoutingDecision)
    assert results[3].primary.venue == "beta"
    with pytest.raises(sor.InvalidInput):
        routed.route_many([buy(), OrderRequest("ETH/USDT", "buy", "1")])
