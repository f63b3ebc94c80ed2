"""Properties of ``SmartOrderRouter.route`` on random venues, checked against the exact model in
``reference_router.py``:

* every strategy qualifies exactly the venues the model qualifies, rejects the others for the
  model's reason, and orders them as the strategy says (preferred venues first, in the order
  given);
* every part of every route respects its venue's lot size, minimums, maximum, balance, the
  slippage bound and the limit price, and the parts sum to the order;
* a split never costs more than the cheapest single venue, and with one lot size everywhere it
  is the model's optimum; when it cannot be made, the error states what is available;
* a cached decision is never older than the books it used.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import reference_router as model
from hypothesis import given, note
from hypothesis import strategies as st
from router_support import T0, Clock, market, sample_router

import sor
from helpers import snapshot_args
from reference import BookSide, RefBook, TakerSide, consumed_side
from sor.errors import NoRouteError
from sor.health import InMemoryHealth
from sor.health.metrics import ExchangeMetrics
from sor.markets import Venue
from sor.orders import OrderRequest
from sor.routing.decision import NoRouteReason, RejectReason, RoutingDecision
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings
from sor.samples import sample_venues

NAMES = ("ant", "bee", "cat", "dog")
SINGLE_STRATEGIES = ("best_execution", "lowest_latency", "best_liquidity", "cost_optimization")


# ------------------------------------------------------------------------------------------------
# Random worlds


@st.composite
def ref_books(draw: st.DrawFn) -> RefBook:
    """A small book at 1 price decimal and 1 size decimal around 100."""
    book = RefBook(model.PRICE_DECIMALS, model.SIZE_DECIMALS)
    best_ask = draw(st.integers(990, 1_010))
    best_bid = best_ask - draw(st.integers(1, 10))
    for side, best, sign in (("ask", best_ask, 1), ("bid", best_bid, -1)):
        side_name: BookSide = "ask" if side == "ask" else "bid"
        price = best
        for index in range(draw(st.integers(0 if side == "bid" else 1, 5))):
            if index:
                price += sign * draw(st.integers(1, 30))
            book.side(side_name)[price] = draw(st.integers(1, 15))
    return book


@st.composite
def ref_venues(draw: st.DrawFn, name: str, steps: st.SearchStrategy[int]) -> model.RefVenue:
    """One random venue."""
    step = draw(steps)
    min_lots = step * draw(st.sampled_from((0, 1, 3)))
    return model.RefVenue(
        name=name,
        book=draw(ref_books()),
        fee_bps=draw(st.sampled_from((0, 5, 10, 30))),
        step_lots=step,
        min_lots=min_lots,
        max_lots=draw(st.one_of(st.none(), st.integers(max(min_lots, 5), 40))),
        min_cost=Fraction(draw(st.sampled_from((0, 50, 300)))),
        latency_ms=float(draw(st.integers(1, 300))),
        success=draw(st.sampled_from((0.5, 0.9, 0.99, 1.0))),
        circuit_open=draw(st.booleans()) and draw(st.booleans()),
        quote_balance=draw(st.one_of(st.none(), st.integers(50, 3_000).map(Fraction))),
        base_balance=draw(st.one_of(st.none(), st.integers(0, 40).map(lambda n: n * model.LOT))),
    )


@dataclass(frozen=True)
class World:
    """Venues, an order and settings."""

    venues: tuple[model.RefVenue, ...]
    order: model.RefOrder
    settings: model.RefSettings


@st.composite
def worlds(
    draw: st.DrawFn,
    strategies: tuple[model.Strategy, ...] = (*SINGLE_STRATEGIES, "split"),  # type: ignore[assignment]
    same_step: bool = False,
    max_amount_lots: int = 40,
) -> World:
    """A random world: 1-4 venues (at most 3 for a split), an order and settings."""
    strategy = draw(st.sampled_from(strategies))
    count = draw(st.integers(1, 3 if strategy == "split" else 4))
    steps = st.just(draw(st.sampled_from((1, 2)))) if same_step else st.sampled_from((1, 2, 5))
    venues = tuple(draw(ref_venues(NAMES[i], steps)) for i in range(count))
    names = [v.name for v in venues]
    preferred = tuple(draw(st.permutations(names))[: draw(st.integers(0, count))])
    excluded = tuple(
        n for n in names if n not in preferred and draw(st.booleans()) and draw(st.booleans())
    )
    side: TakerSide = draw(st.sampled_from(("buy", "sell")))
    limit = None
    if draw(st.booleans()) and draw(st.booleans()):
        limit = draw(st.integers(960, 1_060))
    order = model.RefOrder(
        side=side,
        amount_lots=draw(st.integers(1, max_amount_lots)),
        strategy=strategy,
        slippage_bps=draw(st.sampled_from((10.0, 50.0, 100.0, 500.0))),
        preferred=preferred,
        excluded=excluded,
        only_preferred=bool(preferred) and draw(st.booleans()),
        limit_ticks=limit,
    )
    settings = model.RefSettings(
        min_liquidity=Fraction(draw(st.sampled_from((0, 1, 2)))),
        max_latency_ms=250.0,
    )
    return World(venues, order, settings)


def core_book(ref: RefBook) -> sor.OrderBook:
    """The model book as a core book updated at the tests' clock time."""
    book = sor.OrderBook(ref.price_decimals, ref.size_decimals)
    bids, asks = snapshot_args(ref)
    book.apply_snapshot(bids, asks, sequence=1, timestamp_ns=T0)
    return book


def build_router(world: World, cache: bool = False, clock: Clock | None = None) -> SmartOrderRouter:
    """A router over the world's venues."""
    settings = RouterSettings(
        min_liquidity_score=float(world.settings.min_liquidity),
        max_latency_ms=world.settings.max_latency_ms,
        low_latency_ms=world.settings.low_latency_ms,
        cache_ttl_s=5.0 if cache else 0.0,
    )
    health = InMemoryHealth(
        ExchangeMetrics(v.name, v.latency_ms, v.success, circuit_open=v.circuit_open)
        for v in world.venues
    )
    venues = []
    for v in world.venues:
        balances = {}
        if v.quote_balance is not None:
            balances["USDT"] = str(Decimal(v.quote_balance.numerator))
        if v.base_balance is not None:
            balances["BTC"] = str(Decimal(v.base_balance.numerator) / v.base_balance.denominator)
        rules = market(
            fee_bps=v.fee_bps,
            step=str(v.step_lots * Decimal("0.1")),
            min_amount=str(v.min_lots * Decimal("0.1")),
            max_amount=None if v.max_lots is None else str(v.max_lots * Decimal("0.1")),
            min_cost=str(v.min_cost),
        )
        venues.append(Venue(v.name, [rules], balances))
    router = SmartOrderRouter(venues, settings=settings, health=health, clock_ns=clock or Clock())
    for v in world.venues:
        router.set_book(v.name, "BTC/USDT", core_book(v.book))
    return router


def core_order(order: model.RefOrder) -> OrderRequest:
    """The model order as an ``OrderRequest``."""
    limit = None if order.limit_ticks is None else str(Decimal(order.limit_ticks) / 10)
    return OrderRequest(
        "BTC/USDT",
        order.side,
        str(order.amount_lots * Decimal("0.1")),
        order_type="market" if limit is None else "limit",
        limit_price=limit,
        strategy=order.strategy,
        max_slippage_bps=order.slippage_bps,
        preferred_exchanges=order.preferred,
        excluded_exchanges=order.excluded,
        only_preferred=order.only_preferred,
    )


def route(router: SmartOrderRouter, order: OrderRequest) -> RoutingDecision | NoRouteError:
    """The decision, or the error."""
    try:
        return router.route(order)
    except NoRouteError as err:
        return err


# ------------------------------------------------------------------------------------------------
# Single-venue strategies against the model


def ordered_keys(world: World, decision: RoutingDecision) -> None:
    """Preferred venues first in the order given, then the others by the strategy's key."""
    order = world.order
    qualified = {
        s.venue.name: s for s in model.singles(world.venues, order, world.settings).qualified
    }
    ranked = [decision.primary.venue, *(p.venue for p in decision.alternatives)]
    preferred = [name for name in order.preferred if name in qualified]
    assert ranked[: len(preferred)] == preferred
    rest = ranked[len(preferred) :]
    keys = [model.strategy_key(qualified[name], order) for name in rest]
    tolerance = Fraction(1, 10**9) if order.strategy == "best_execution" else Fraction(0)
    for earlier, later in itertools.pairwise(keys):
        assert earlier <= later + tolerance, (rest, keys)


@given(worlds(strategies=SINGLE_STRATEGIES))  # type: ignore[arg-type]
def test_single_venue_strategies_agree_with_the_model(world: World) -> None:
    note(repr(world))
    outcome = model.singles(world.venues, world.order, world.settings)
    result = route(build_router(world), core_order(world.order))
    got_rejections = {r.venue: str(r.reason) for r in result.rejections}
    assert got_rejections == outcome.rejections
    if not outcome.qualified:
        assert isinstance(result, NoRouteError)
        assert str(result)
        return
    assert isinstance(result, RoutingDecision)
    ranked = {result.primary.venue, *(p.venue for p in result.alternatives)}
    assert ranked == {s.venue.name for s in outcome.qualified}
    ordered_keys(world, result)
    for part in (result.primary, *result.alternatives):
        single = next(s for s in outcome.qualified if s.venue.name == part.venue)
        assert (
            part.notional
            == Decimal(single.walk.notional.numerator) / single.walk.notional.denominator
        )
        assert abs(Fraction(part.total) - single.cost.total) <= Fraction(1, 10**6)


# ------------------------------------------------------------------------------------------------
# Every route is valid


def assert_valid(world: World, decision: RoutingDecision) -> None:
    """Every part respects its venue's rules, caps, the bound and the limit; parts sum up."""
    order = world.order
    venues = {v.name: v for v in world.venues}
    assert sum((p.quantity for p in decision.parts), Decimal(0)) == Decimal(order.amount_lots) / 10
    assert len({p.venue for p in decision.parts}) == len(decision.parts)
    for part in decision.parts:
        venue = venues[part.venue]
        assert part.venue not in order.excluded
        assert not order.only_preferred or part.venue in order.preferred
        lots = Fraction(part.quantity) / model.LOT
        assert lots.denominator == 1
        assert lots % venue.step_lots == 0
        assert lots >= venue.min_lots
        assert venue.max_lots is None or lots <= venue.max_lots
        assert Fraction(part.notional) >= venue.min_cost
        assert lots <= model.depth_lots(venue, order)
        if order.limit_ticks is not None:
            worst = part.worst_price
            assert worst is not None
            assert not model.beyond_limit(order, int(worst * 10))
        if order.side == "sell" and venue.base_balance is not None:
            assert Fraction(part.quantity) <= venue.base_balance
        if order.side == "buy" and venue.quote_balance is not None:
            assert Fraction(part.notional) * (1 + venue.fee) <= venue.quote_balance


@given(worlds())
def test_every_part_of_every_route_is_valid(world: World) -> None:
    note(repr(world))
    order = core_order(world.order)
    result = route(build_router(world), order)
    if isinstance(result, RoutingDecision):
        assert_valid(world, result)
        return
    # The error says why: the amount in the headline (unless no venue was available at all),
    # and what is available when liquidity is short.
    if result.reason is NoRouteReason.NO_VENUE_AVAILABLE:
        assert str(result).startswith("no venue available for BTC/USDT")
    else:
        amount = re.escape(f"{order.amount:f} BTC")
        assert re.search(rf"(^|\s){amount}", str(result)), str(result)
    if result.reason is NoRouteReason.INSUFFICIENT_LIQUIDITY:
        assert result.available is not None


# ------------------------------------------------------------------------------------------------
# Split


@given(worlds(strategies=("split",), max_amount_lots=20))
def test_split_never_costs_more_than_the_cheapest_single_venue(world: World) -> None:
    note(repr(world))
    order = world.order
    router = build_router(world)
    result = route(router, core_order(order))
    single = model.singles(
        world.venues, dataclasses.replace(order, strategy="cost_optimization"), world.settings
    )
    if isinstance(result, NoRouteError):
        assert (
            result.available is None
            or result.available < Decimal(order.amount_lots) / 10
            or ("minimum liquidity score" in str(result))
        )
        # With preferences aside, a venue that can take it all alone is a valid split.
        assert not (single.qualified and not order.preferred and world.settings.min_liquidity <= 1)
        return
    assert_valid(world, result)
    preferred = [p.venue for p in result.parts if p.venue in order.preferred]
    assert [p.venue for p in result.parts][: len(preferred)] == sorted(
        preferred, key=order.preferred.index
    )
    if single.qualified and not order.preferred:
        sign = 1 if order.side == "buy" else -1
        cheapest = min(sign * s.cost.total for s in single.qualified)
        assert sign * Fraction(result.total) <= cheapest + Fraction(1, 10**6)


@given(worlds(strategies=("split",), same_step=True, max_amount_lots=12))
def test_split_with_one_lot_size_is_the_models_optimum(world: World) -> None:
    note(repr(world))
    order = world.order
    result = route(build_router(world), core_order(order))
    best = model.split(world.venues, order, world.settings)
    if best is None or best.filled < order.amount:
        assert isinstance(result, NoRouteError)
        if best is not None:
            filled = best.filled / model.LOT
            assert result.available == Decimal(int(filled)) / 10
        return
    assert isinstance(result, RoutingDecision), str(result)
    assert abs(Fraction(result.total) - best.total) <= Fraction(1, 10**6)


# ------------------------------------------------------------------------------------------------
# The cache


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """Routes interleaved with book updates, clock moves and health changes."""
    kinds = st.sampled_from(("route", "route", "route", "delta", "clock", "health"))
    return draw(
        st.lists(st.tuples(kinds, st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=25)
    )


#: Rejections decided without looking at the venue's book.
GATED_BEFORE_BOOK = frozenset(
    {
        RejectReason.EXCLUDED,
        RejectReason.NOT_PREFERRED,
        RejectReason.MARKET_INACTIVE,
        RejectReason.NO_BOOK,
        RejectReason.NO_HEALTH,
        RejectReason.CIRCUIT_OPEN,
        RejectReason.LATENCY,
    }
)


@given(worlds(strategies=(*SINGLE_STRATEGIES, "split")), operations())  # type: ignore[arg-type]
def test_a_cached_decision_is_never_older_than_the_books_it_used(
    world: World, ops: list[tuple[str, int, int]]
) -> None:
    note(repr(world))
    clock = Clock()
    cached = build_router(world, cache=True, clock=clock)
    order = core_order(world.order)
    fresh = SmartOrderRouter(
        cached.venues,
        settings=dataclasses.replace(cached.settings, cache_ttl_s=0),
        health=cached.health,
        clock_ns=clock,
    )
    names = [v.name for v in world.venues]
    for name in names:
        book = cached.book(name, "BTC/USDT")
        assert book is not None
        fresh.set_book(name, "BTC/USDT", book)
    for kind, which, amount in ops:
        name = names[which % len(names)]
        book = cached.book(name, "BTC/USDT")
        assert book is not None
        if kind == "delta":
            side: BookSide = consumed_side(world.order.side)
            levels = book.levels(side)
            if levels:
                price = levels[0].price if amount % 2 else levels[-1].price
                book.apply_delta(side, price, str(Decimal(amount) / 10), timestamp_ns=clock())
        elif kind == "clock":
            clock.advance(amount / 10)
        elif kind == "health":
            health = cached.health
            assert isinstance(health, InMemoryHealth)
            metrics = health.metrics(name)
            assert metrics is not None
            health.set(ExchangeMetrics(name, float(amount * 7), metrics.success_rate))
        else:
            got = route(cached, order)
            want = route(fresh, order)
            if isinstance(want, NoRouteError):
                assert isinstance(got, NoRouteError)
                continue
            assert isinstance(got, RoutingDecision)
            # Every book the decision consulted is still at the version it was computed on, and
            # every venue it did not consult was left out before its book mattered.
            consulted = dict(got.book_versions)
            for n, version in consulted.items():
                b = cached.book(n, "BTC/USDT")
                assert b is not None
                assert b.version == version
            unconsulted = {r.venue for r in got.rejections if r.reason in GATED_BEFORE_BOOK}
            assert consulted.keys() | unconsulted == set(names)
            assert [(p.venue, p.quantity) for p in got.parts] == [
                (p.venue, p.quantity) for p in want.parts
            ]
            assert [p.venue for p in got.alternatives] == [p.venue for p in want.alternatives]


# ------------------------------------------------------------------------------------------------
# Realistic books


_SAMPLE: list[SmartOrderRouter] = []


def sample() -> SmartOrderRouter:
    """A router over the five sample venues of 300 levels a side (built once)."""
    if not _SAMPLE:
        _SAMPLE.append(
            sample_router(sample_venues(seed=11, levels=300), RouterSettings(cache_ttl_s=0))
        )
    return _SAMPLE[0]


@given(
    st.sampled_from(("buy", "sell")),
    st.integers(1, 3_000_000).map(lambda n: Decimal(n).scaleb(-5)),
    st.sampled_from((20.0, 100.0)),
)
def test_on_realistic_books_the_split_is_never_dearer_than_any_single_venue(
    side: str, amount: Decimal, slippage: float
) -> None:
    router = sample()
    orders = [
        OrderRequest("BTC/USDT", side, amount, strategy=s, max_slippage_bps=slippage)  # type: ignore[arg-type]
        for s in (*SINGLE_STRATEGIES, "split")
    ]
    results = router.route_many(orders)
    split = results[-1]
    singles = [r for r in results[:-1] if isinstance(r, RoutingDecision)]
    for decision in singles:
        assert decision.quantity == amount
    if isinstance(split, NoRouteError):
        # A venue that takes it all alone is a valid split (up to its depth rounded to its lot
        # against the minimum liquidity score).
        assert not singles or "minimum liquidity score" in str(split), str(split)
        return
    assert split.quantity == amount
    for part in split.parts:
        rules = router.venue(part.venue).markets["BTC/USDT"]
        assert part.quantity % rules.amount_step == 0
        assert part.notional >= rules.min_cost
    sign = 1 if side == "buy" else -1
    for decision in singles:
        for option in (decision.primary, *decision.alternatives):
            assert sign * split.total <= sign * option.total + 1e-12 * option.total


@given(
    st.lists(
        st.tuples(
            st.sampled_from(("buy", "sell")),
            st.integers(1, 3_000_000).map(lambda n: Decimal(n).scaleb(-5)),
            st.sampled_from((*SINGLE_STRATEGIES, "split")),
            st.sampled_from((20.0, 100.0)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_route_many_decides_each_order_as_route_does(
    specs: list[tuple[str, Decimal, str, float]],
) -> None:
    router = sample()
    orders = [
        OrderRequest("BTC/USDT", side, amount, strategy=s, max_slippage_bps=bps)  # type: ignore[arg-type]
        for side, amount, s, bps in specs
    ]
    batch = router.route_many(orders)
    assert len(batch) == len(orders)
    for order, got in zip(orders, batch, strict=True):
        want = route(router, order)
        assert type(got) is type(want)
        if isinstance(got, NoRouteError):
            assert isinstance(want, NoRouteError)
            assert (got.reason, str(got)) == (want.reason, str(want))
            continue
        assert isinstance(want, RoutingDecision)
        assert got.order is order
        assert [(p.venue, p.quantity, p.total) for p in got.parts] == [
            (p.venue, p.quantity, p.total) for p in want.parts
        ]
        assert [p.venue for p in got.alternatives] == [p.venue for p in want.alternatives]
        assert got.reason == want.reason
        assert got.rejections == want.rejections
        assert [s.total for s in got.scores] == [s.total for s in want.scores]


# ------------------------------------------------------------------------------------------------
# The plans of orders that name venues, kept per choice of venues


@st.composite
def choices(draw: st.DrawFn, world: World) -> list[model.RefOrder]:
    """Variations of the world's order: other preferred, excluded and only-preferred venues
    and strategies, some repeated (the router keeps a plan per choice of venues)."""
    names = [v.name for v in world.venues]
    orders = []
    for _ in range(draw(st.integers(2, 6))):
        preferred = tuple(draw(st.permutations(names))[: draw(st.integers(0, len(names)))])
        excluded = tuple(n for n in names if n not in preferred and draw(st.booleans()))
        strategy = draw(st.sampled_from((*SINGLE_STRATEGIES, "split")))
        orders.append(
            dataclasses.replace(
                world.order,
                preferred=preferred,
                excluded=excluded,
                only_preferred=bool(preferred) and draw(st.booleans()),
                strategy=strategy,
            )
        )
    return orders + orders[: draw(st.integers(0, len(orders)))]


def summary(result: RoutingDecision | NoRouteError) -> object:
    """What a route says, without its timing."""
    rejections = [(r.venue, r.reason, r.detail) for r in result.rejections]
    if isinstance(result, NoRouteError):
        return ("no route", result.reason, rejections, str(result))
    parts = [(p.venue, p.quantity) for p in (*result.parts, *result.alternatives)]
    return (result.reason, parts, rejections, [s.venue for s in result.scores])


@given(st.data())
def test_orders_naming_other_venues_on_one_router_route_as_on_a_fresh_one(
    data: st.DataObject,
) -> None:
    world = data.draw(worlds())
    orders = data.draw(choices(world))
    router = build_router(world)
    for order in orders:
        note(repr(order))
        assert summary(route(router, core_order(order))) == summary(
            route(build_router(world), core_order(order))
        )
