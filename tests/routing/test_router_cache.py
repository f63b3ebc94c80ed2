"""The routing cache: a decision is served again only while nothing it depended on has changed
(book versions, book freshness, health, venues), within its TTL, from a bounded LRU."""

from __future__ import annotations

from dataclasses import replace

import pytest
from router_support import Clock, Spec, make_book, make_router, market

from sor.errors import NoRouteError
from sor.health import InMemoryHealth
from sor.health.metrics import ExchangeMetrics
from sor.markets import Venue
from sor.orders import OrderRequest
from sor.routing.decision import RejectReason
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings


def two_venues(
    settings: RouterSettings | None = None, clock: Clock | None = None
) -> SmartOrderRouter:
    """``cheap`` asks 100.0, ``dear`` asks 101.0, both deep; no fees."""
    return make_router(
        [
            Spec("cheap", make_book(asks=[("100.0", "50")], bids=[("99.0", "50")]), market()),
            Spec("dear", make_book(asks=[("101.0", "50")], bids=[("98.5", "50")]), market()),
        ],
        settings,
        clock,
    )


def order(amount: str = "1", **kwargs: object) -> OrderRequest:
    """A cost-optimised BTC/USDT buy."""
    kwargs.setdefault("strategy", "cost_optimization")
    return OrderRequest("BTC/USDT", "buy", amount, **kwargs)  # type: ignore[arg-type]


def test_the_same_order_is_served_from_the_cache() -> None:
    router = two_venues()
    first = router.route(order())
    second = router.route(order())
    assert not first.cached
    assert second.cached
    assert second.parts == first.parts
    assert second.decision_time_us == first.decision_time_us
    assert router.cache_stats().hits == 1


def test_a_cached_decision_carries_the_new_orders_client_id() -> None:
    router = two_venues()
    router.route(order(client_id="a"))
    again = router.route(order(client_id="b"))
    assert again.cached
    assert again.order.client_id == "b"


def test_orders_differing_in_any_routing_parameter_are_routed_separately() -> None:
    router = two_venues()
    router.route(order())
    for other in (
        order("2"),
        order(strategy="best_execution"),
        order(max_slippage_bps=50),
        order(excluded_exchanges=["dear"]),
        order(preferred_exchanges=["dear"]),
        order(order_type="limit", limit_price="100.0"),
        OrderRequest("BTC/USDT", "sell", "1", strategy="cost_optimization"),
    ):
        assert not router.route(other).cached, other


def test_updating_the_chosen_book_makes_the_next_route_recompute() -> None:
    router = two_venues()
    before = router.route(order())
    assert before.primary.venue == "cheap"
    book = router.book("cheap", "BTC/USDT")
    assert book is not None
    book.apply_delta("ask", "100.0", "0", timestamp_ns=Clock().now_ns)
    book.apply_delta("ask", "102.0", "50", timestamp_ns=Clock().now_ns)
    after = router.route(order())
    assert not after.cached
    assert after.primary.venue == "dear"
    assert dict(after.book_versions)["cheap"] == book.version == 3


def test_updating_an_alternatives_book_makes_the_next_route_recompute() -> None:
    router = two_venues()
    router.route(order())
    book = router.book("dear", "BTC/USDT")
    assert book is not None
    book.apply_delta("ask", "99.0", "5", timestamp_ns=Clock().now_ns)
    after = router.route(order())
    assert not after.cached
    assert after.primary.venue == "dear"


def test_updating_a_stale_book_brings_its_venue_back() -> None:
    clock = Clock()
    router = make_router(
        [
            Spec("cheap", make_book(asks=[("100.0", "50")], timestamp_ns=clock.now_ns - 10**10)),
            Spec("dear", make_book(asks=[("101.0", "50")])),
        ],
        clock=clock,
    )
    first = router.route(order())
    assert first.primary.venue == "dear"
    assert {r.venue: r.reason for r in first.rejections} == {"cheap": RejectReason.STALE_BOOK}
    book = router.book("cheap", "BTC/USDT")
    assert book is not None
    book.apply_delta("ask", "100.0", "50", timestamp_ns=clock.now_ns)
    assert router.route(order()).primary.venue == "cheap"


def test_a_decision_expires_after_its_ttl() -> None:
    clock = Clock()
    router = two_venues(RouterSettings(cache_ttl_s=5, max_book_age_s=60), clock)
    router.route(order())
    clock.advance(4.9)
    assert router.route(order()).cached
    clock.advance(0.2)
    assert not router.route(order()).cached


def test_a_decision_is_not_served_once_a_book_it_used_went_stale() -> None:
    clock = Clock()
    router = two_venues(RouterSettings(cache_ttl_s=5, max_book_age_s=2), clock)
    router.route(order())
    clock.advance(2.5)
    with pytest.raises(NoRouteError) as info:
        router.route(order())
    assert {r.reason for r in info.value.rejections} == {RejectReason.STALE_BOOK}


def test_a_health_change_makes_the_next_route_recompute() -> None:
    router = two_venues()
    assert router.route(order()).primary.venue == "cheap"
    health = router.health
    assert isinstance(health, InMemoryHealth)
    health.open_circuit("cheap")
    after = router.route(order())
    assert not after.cached
    assert after.primary.venue == "dear"
    metrics = health.metrics("cheap")
    assert metrics is not None
    health.set(replace(metrics, circuit_open=False))
    assert router.route(order()).primary.venue == "cheap"


def test_a_venue_change_makes_the_next_route_recompute() -> None:
    router = two_venues()
    assert router.route(order("2")).primary.venue == "cheap"
    cheap = router.venue("cheap")
    router.add_venue(cheap.with_balances({"USDT": "150"}))
    after = router.route(order("2"))
    assert not after.cached
    assert after.primary.venue == "dear"


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    router = two_venues(RouterSettings(cache_size=2))
    router.route(order("1"))
    router.route(order("2"))
    router.route(order("1"))  # 1 is now the most recently used
    router.route(order("3"))  # drops 2
    assert router.cache_stats().size == 2
    assert router.route(order("1")).cached
    assert not router.route(order("2")).cached


@pytest.mark.parametrize("settings", [RouterSettings(cache_ttl_s=0), RouterSettings(cache_size=0)])
def test_a_disabled_cache_never_serves(settings: RouterSettings) -> None:
    router = two_venues(settings)
    router.route(order())
    assert not router.route(order()).cached
    assert router.cache_stats().size == 0


def test_clear_cache_drops_every_decision() -> None:
    router = two_venues()
    router.route(order())
    router.clear_cache()
    assert not router.route(order()).cached


def test_route_many_uses_the_cache_too() -> None:
    router = two_venues()
    results = router.route_many([order(), order(), order("2")])
    assert [getattr(r, "cached", None) for r in results] == [False, True, False]


def test_removing_a_venue_is_seen_by_the_next_route() -> None:
    router = two_venues()
    router.route(order())
    router.remove_venue("cheap")
    after = router.route(order())
    assert after.primary.venue == "dear"
    assert router.venues == (router.venue("dear"),)
    router.add_venue(Venue("cheap", [market()]))
    assert router.book("cheap", "BTC/USDT") is None
    health = router.health
    assert isinstance(health, InMemoryHealth)
    health.set(ExchangeMetrics("cheap", 5.0))
    assert router.route(order()).primary.venue == "dear"
