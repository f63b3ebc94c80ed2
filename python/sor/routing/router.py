"""``SmartOrderRouter``: where to execute an order, and why.

The router holds the venues (their markets in ccxt's format and their balances), a reference to
each venue's :class:`sor.OrderBook` per symbol (written by the market-data feeds, only read
here), and a health source (latency, reliability, circuit state). ``route(order)`` is pure
computation in microseconds::

    router = SmartOrderRouter([binance, kraken], health=InMemoryHealth([...]))
    router.set_book("binance", "BTC/USDT", binance_book)
    decision = router.route(OrderRequest("BTC/USDT", "buy", "2.5"))
    decision.primary.venue, decision.reason, decision.alternatives

Either the decision routes the whole order, or :class:`sor.NoRouteError` says why not: the
router never returns a partial or infeasible route (``route_many`` returns the error in place of
the decision instead, so one order cannot sink a batch). Bad input (an unknown symbol or venue,
a book of the wrong precision) raises :class:`sor.InvalidInput` naming the field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from time import perf_counter_ns

from sor._core import OrderBook, Screen, screen_batch, screen_set
from sor._decimal import fmt
from sor._validate import quote
from sor.errors import InvalidInput, NoRouteError
from sor.health.source import HealthSource, InMemoryHealth
from sor.markets.venue import Venue
from sor.orders import OrderRequest, OrderSide
from sor.routing.cache import CacheStats, RouteCache, cache_key
from sor.routing.context import Context, Listing, Live
from sor.routing.decision import RoutingDecision
from sor.routing.gate import Preferring, Prepared
from sor.routing.screening import Pending, begin
from sor.routing.settings import RouterSettings
from sor.routing.strategies import REASONS, SPLIT, Singles, decide_screened, finish

__all__ = ["SmartOrderRouter"]

#: The fast path's decision constructor, looked up once (a class attribute and a classmethod's
#: binding cost a lookup per use).
explained = RoutingDecision.explained


class SmartOrderRouter:
    """Routes orders across venues by strategy, under constraints, with explainable decisions.

    ``settings`` defaults to :class:`RouterSettings` (the requirements' defaults); ``health`` to
    an empty :class:`InMemoryHealth` (a venue without health figures is not routed to);
    ``clock_ns`` gives the wall-clock time in nanoseconds since the epoch, the clock of
    ``OrderBook.updated_at_ns`` (tests replace it to age books and cache entries).
    """

    def __init__(
        self,
        venues: Iterable[Venue] = (),
        *,
        settings: RouterSettings | None = None,
        health: HealthSource | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._settings = settings if settings is not None else RouterSettings()
        if not isinstance(self._settings, RouterSettings):
            raise InvalidInput(f"settings: expected RouterSettings, got {quote(settings)}")
        self._health: HealthSource = health if health is not None else InMemoryHealth()
        self._clock_ns = clock_ns
        self._weights = self._settings.weights.to_core()
        self._venues: dict[str, Venue] = {}
        self._books: dict[tuple[str, str], OrderBook] = {}
        self._listings: dict[str, tuple[Listing, ...]] = {}
        self._prepared: dict[str, Prepared] = {}
        self._generation = 0
        self._cache = RouteCache(self._settings.cache_ttl_s, self._settings.cache_size)
        self._cache_enabled = self._cache.enabled
        for venue in venues:
            self.add_venue(venue)

    # -- configuration ------------------------------------------------------------------------

    @property
    def settings(self) -> RouterSettings:
        """The routing settings."""
        return self._settings

    @property
    def health(self) -> HealthSource:
        """Where latency, reliability and circuit state come from."""
        return self._health

    @property
    def venues(self) -> tuple[Venue, ...]:
        """The venues, in the order they were added."""
        return tuple(self._venues.values())

    def venue(self, name: str) -> Venue:
        """One venue by name."""
        try:
            return self._venues[name]
        except KeyError:
            raise InvalidInput(f"venue: unknown venue {quote(name)}{self._known()}") from None

    def add_venue(self, venue: Venue) -> None:
        """Adds a venue, or replaces the one of the same name (e.g. with new balances).

        Books already set for the venue stay, for the symbols it still lists.
        """
        if not isinstance(venue, Venue):
            raise InvalidInput(f"venue: expected Venue, got {quote(venue)}")
        kept = [(s, b) for s, b in self._books_of(venue.name) if s in venue.markets]
        for symbol, book in kept:
            self._check_precision(venue, symbol, book)  # before changing anything
        for key in [k for k in self._books if k[0] == venue.name]:
            del self._books[key]
        self._books.update(((venue.name, symbol), book) for symbol, book in kept)
        self._venues[venue.name] = venue
        self._changed()

    def remove_venue(self, name: str) -> None:
        """Removes a venue and its books."""
        self.venue(name)
        del self._venues[name]
        for key in [k for k in self._books if k[0] == name]:
            del self._books[key]
        self._changed()

    def set_book(self, venue: str, symbol: str, book: OrderBook) -> None:
        """Registers the book the router reads for ``symbol`` on ``venue`` (it never writes it).

        The book must have at least the market's price and amount decimals.
        """
        known = self.venue(venue)
        if symbol not in known.markets:
            raise InvalidInput(f"symbol: {venue} does not list {quote(symbol)}")
        if not isinstance(book, OrderBook):
            raise InvalidInput(f"book: expected sor.OrderBook, got {type(book).__name__}")
        self._check_precision(known, symbol, book)
        self._books[(venue, symbol)] = book
        self._changed()

    def remove_book(self, venue: str, symbol: str) -> None:
        """Forgets a book (the venue is then not routed to for that symbol)."""
        if self._books.pop((venue, symbol), None) is not None:
            self._changed()

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """The book registered for ``symbol`` on ``venue``, if any."""
        return self._books.get((venue, symbol))

    def with_settings(self, settings: RouterSettings) -> SmartOrderRouter:
        """A router over the same venues, books (the very objects the feeds keep live), health
        source and clock, under other ``settings``: for instance an executor's emergency stage,
        with the quality thresholds relaxed. Venues and books set on this router afterwards are
        not seen by it."""
        other = SmartOrderRouter(
            self._venues.values(), settings=settings, health=self._health, clock_ns=self._clock_ns
        )
        for (venue, symbol), book in self._books.items():
            other.set_book(venue, symbol, book)
        return other

    # -- routing ------------------------------------------------------------------------------

    def route(self, order: OrderRequest) -> RoutingDecision:
        """Where to execute ``order``: the route, its expected costs, alternatives and reasons.

        Raises :class:`sor.NoRouteError` (a ``RoutingError``) if the whole order cannot be
        routed under its constraints, and :class:`sor.InvalidInput` for an unknown symbol or
        venue name.
        """
        # The symbol's prepared venues, checked again only when an order names venues or the
        # health figures changed (an unknown symbol has none: _prepared_for says why).
        prepared = self._prepared.get(order.symbol) if type(order) is OrderRequest else None
        if (
            prepared is None
            or prepared.health_version != self._health.version
            or order.preferred_exchanges
            or order.excluded_exchanges
        ):
            prepared = self._prepared_for(order)
        now_ns = self._clock_ns()
        cache_enabled = self._cache_enabled
        if cache_enabled:
            hit = self._cache.get(
                cache_key(order), now_ns, prepared.health_version, self._generation
            )
            if hit is not None:
                return hit.served_from_cache(order)
        started = perf_counter_ns()
        settings, weights = self._settings, self._weights
        # Inline (a call costs a tenth of the Python around the core's): the venues the
        # strategy's gate let through (an order that excludes venues or takes only its
        # preferred ones has a plan of its own, built once per such choice); one core call
        # caps them by their balances, ranks them by the strategy (or splits the order,
        # preferred venues first), and the explanation is built when read.
        strategy = order.strategy or settings.default_strategy
        if order.excluded_exchanges or order.only_preferred:
            plan = prepared.narrowed_plan(order, settings, weights)
        else:
            plan = prepared.plans[strategy]
        slippage = order.max_slippage_bps
        if slippage is None:
            slippage = settings.max_slippage_bps
        caps = funds = preferences = None
        if order.preferred_exchanges:
            preferences = plan.preferences(order.preferred_exchanges)
        if prepared.has_balances:
            if order.side is OrderSide.BUY:
                funds = plan.buy_funds
            else:
                caps = plan.sell_caps
        screen = screen_set(
            plan.venue_set,
            order.side,  # type: ignore[arg-type]  # a str enum of "buy" and "sell"
            order.amount,
            caps,
            weights,
            slippage,
            order.limit_price,
            settings.min_liquidity_score,
            now_ns,
            prepared.max_age_ns,
            strategy,
            preferences,
            funds,
        )
        reason = screen.reason
        if reason is None or strategy is SPLIT or preferences is not None:
            decision = decide_screened(
                order,
                strategy,
                slippage,
                settings,
                weights,
                now_ns,
                started,
                plan if preferences is None else Preferring(plan, preferences),
                screen,
                preferences,
            )
        else:
            decision = explained(
                order,
                strategy,
                REASONS[reason],
                slippage,
                (perf_counter_ns() - started) / 1_000,
                now_ns,
                # Deferred: the explanation is made from these when first read.
                (Singles, order, settings, weights, now_ns, plan, screen),
            )
        live = plan.live
        if cache_enabled:
            self._remember(order, decision, live, screen, prepared, now_ns)
        return decision

    def route_many(self, orders: Iterable[OrderRequest]) -> list[RoutingDecision | NoRouteError]:
        """Routes a batch: one result per order, in order, with one call into the core for
        every order the cache does not answer (the books are walked without holding the GIL).

        An order that cannot be routed gives its :class:`sor.NoRouteError` in place of a
        decision (one order does not sink the batch); a malformed order or unknown symbol or
        venue raises :class:`sor.InvalidInput` before anything is routed. Every decision of the
        batch is made at the same clock time; ``decision_time_us`` is the batch's time so far.
        """
        batch = list(orders)
        prepared = [self._prepared_for(order) for order in batch]
        now_ns = self._clock_ns()
        started = perf_counter_ns()
        cache = self._cache
        results: list[RoutingDecision | NoRouteError | None] = [None] * len(batch)
        waiting: list[tuple[int, Pending]] = []
        # With the cache on, an order repeated in the batch is served the first one's decision.
        first: dict[Hashable, int] = {}
        repeats: list[tuple[int, int]] = []
        for index, (order, table) in enumerate(zip(batch, prepared, strict=True)):
            if cache.enabled:
                key = cache_key(order)
                hit = cache.get(key, now_ns, table.health_version, self._generation)
                if hit is not None:
                    results[index] = hit.served_from_cache(order)
                    continue
                if key in first:
                    repeats.append((index, first[key]))
                    continue
                first[key] = index
            pending = begin(Context(order, self._settings, self._weights, now_ns), table)
            waiting.append((index, pending))
        max_age_ns = int(self._settings.max_book_age_s * 1e9)
        screens = screen_batch([pending.request for _, pending in waiting], now_ns, max_age_ns)
        for (index, pending), screen in zip(waiting, screens, strict=True):
            try:
                decision = finish(pending, screen, started)
            except NoRouteError as err:
                results[index] = err
                continue
            results[index] = decision
            if cache.enabled:
                self._remember(
                    batch[index], decision, pending.gated.live, screen, prepared[index], now_ns
                )
        for index, original in repeats:
            earlier = results[original]
            if isinstance(earlier, RoutingDecision):
                results[index] = earlier.served_from_cache(batch[index])
            else:
                try:
                    results[index] = self.route(batch[index])
                except NoRouteError as err:
                    results[index] = err
        return [result for result in results if result is not None]

    def clear_cache(self) -> None:
        """Drops every cached decision."""
        self._cache.clear()

    def cache_stats(self) -> CacheStats:
        """How the routing cache has served."""
        return self._cache.stats()

    # -- internals ----------------------------------------------------------------------------

    def _check(self, order: OrderRequest) -> tuple[Listing, ...]:
        """The venues listing the order's symbol; refuses unknown symbols and venue names."""
        if not isinstance(order, OrderRequest):
            raise InvalidInput(f"order: expected OrderRequest, got {type(order).__name__}")
        listings = self._listings.get(order.symbol)
        if not listings:
            raise InvalidInput(f"symbol: no venue lists {quote(order.symbol)}{self._known()}")
        if order.preferred_exchanges or order.excluded_exchanges:
            for field in ("preferred_exchanges", "excluded_exchanges"):
                unknown = [name for name in getattr(order, field) if name not in self._venues]
                if unknown:
                    raise InvalidInput(
                        f"{field}: unknown venue {', '.join(unknown)}{self._known()}"
                    )
        return listings

    def _remember(
        self,
        order: OrderRequest,
        decision: RoutingDecision,
        live: list[Live],
        screen: Screen,
        prepared: Prepared,
        now_ns: int,
    ) -> None:
        """Caches ``decision`` with the versions of the books it was made on."""
        self._cache.put(
            cache_key(order),
            decision,
            now_ns,
            tuple(zip([venue.book for venue in live], screen.versions, strict=True)),
            self._fresh_until_ns(screen.updated_at_ns, now_ns),
            prepared.health_version,
            self._generation,
        )

    def _fresh_until_ns(self, updated_at_ns: list[int], now_ns: int) -> int:
        """When the first of the books fresh at ``now_ns`` goes stale without an update."""
        max_age_ns = int(self._settings.max_book_age_s * 1e9)
        limits = [
            updated + max_age_ns
            for updated in updated_at_ns
            if updated and updated + max_age_ns >= now_ns
        ]
        return min(limits, default=now_ns + max_age_ns)

    def _prepared_for(self, order: OrderRequest) -> Prepared:
        """The symbol's prepared gate, rebuilt if the venues or the health figures changed."""
        prepared = self._prepared.get(order.symbol) if type(order) is OrderRequest else None
        if (
            prepared is not None
            and prepared.health_version == self._health.version
            and not (order.preferred_exchanges or order.excluded_exchanges)
        ):
            return prepared  # a known symbol and an order naming no venue: nothing to check
        listings = self._check(order)
        prepared = self._prepared.get(order.symbol)
        if prepared is None or prepared.health_version != self._health.version:
            prepared = Prepared(listings, self._health, self._settings)
            self._prepared[order.symbol] = prepared
        return prepared

    def _books_of(self, venue: str) -> list[tuple[str, OrderBook]]:
        return [(symbol, book) for (name, symbol), book in self._books.items() if name == venue]

    @staticmethod
    def _check_precision(venue: Venue, symbol: str, book: OrderBook) -> None:
        market = venue.markets[symbol]
        for what, have, need, step in (
            ("price", book.price_decimals, market.price_decimals, market.price_tick),
            ("size", book.size_decimals, market.amount_decimals, market.amount_step),
        ):
            if have < need:
                raise InvalidInput(
                    f"book: {venue.name} {symbol} book has {have} {what} decimals, but the "
                    f"market's step {fmt(step)} needs {need}"
                )

    def _changed(self) -> None:
        """Rebuilds the per-symbol listings and invalidates cached decisions."""
        listings: dict[str, list[Listing]] = {}
        for venue in self._venues.values():
            for symbol, market in venue.markets.items():
                listings.setdefault(symbol, []).append(
                    Listing(
                        venue.name, market, venue.balances, self._books.get((venue.name, symbol))
                    )
                )
        self._listings = {symbol: tuple(items) for symbol, items in listings.items()}
        self._prepared.clear()
        self._generation += 1

    def _known(self) -> str:
        names = ", ".join(self._venues) or "none"
        return f" (venues: {names})"
