"""sor's running parts, wired together: live feeds, the router reading their books, the executor
placing orders through the venues' clients, and the tasks they own.

A :class:`Runtime` is built from :class:`sor.Settings` and the venues it trades on: what the
router knows of each venue (:class:`sor.Venue`), each venue's market data, and where health
figures come from. Started, it runs one feed per venue (a native :class:`sor.feeds.Feed` for an
adapter, or any :class:`sor.feeds.BookSource` given ready, such as a :class:`sor.feeds.CcxtFeed`),
waits until every book is live, and hands a :class:`sor.SmartOrderRouter` the books the feeds
keep exact, and (given venue clients) an :class:`sor.execution.Executor` over them; stopped, it
stops everything it started, in reverse order. The demo, the service and the command line all
run through it; :meth:`Runtime.embedded` runs it on the five embedded exchange simulators, with
simulated clients filling against the simulators' true books::

    async with Runtime.embedded(seed=7) as runtime:
        decision = runtime.router.route(sor.OrderRequest("BTC/USDT", "buy", "2.5"))
        report = await runtime.executor.execute(sor.OrderRequest("BTC/USDT", "buy", "0.5"))
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from sor._lifecycle import AsyncService
from sor.clients import SimulatedClient, VenueClient
from sor.config import Settings
from sor.errors import InvalidInput, JournalError
from sor.execution import ExecutionSettings, Executor
from sor.feeds import BookSource, ExchangeAdapter, Feed
from sor.health import HealthMonitor, HealthSource, InMemoryHealth
from sor.journal import Journal
from sor.markets import Venue
from sor.routing import SmartOrderRouter
from sor.sim.embedded import EmbeddedExchanges

__all__ = ["ClientsFactory", "MarketData", "Runtime", "Service"]

#: A venue's market data: the adapter of a native feed the runtime builds, or a feed of any kind.
MarketData = ExchangeAdapter | BookSource

#: Builds the venue clients once the feeds are live (a paper client fills on their books).
ClientsFactory = Callable[[Mapping[str, BookSource]], Mapping[str, VenueClient]]


class Service(Protocol):
    """Something the runtime starts before its feeds and stops after them (a simulator)."""

    async def start(self) -> None:
        """Starts it."""

    async def stop(self) -> None:
        """Stops it (also when it was started only in part)."""


class Runtime(AsyncService):
    """Feeds and a router over ``venues``, started and stopped together (an async context
    manager).

    ``adapters`` gives the market data of each venue, by venue name (each venue needs one): a
    feed adapter, for which the runtime builds a :class:`sor.feeds.Feed` with
    ``settings.feeds``, or a feed of any kind (a :class:`sor.feeds.BookSource`, such as a
    :class:`sor.feeds.CcxtFeed`), which it starts and stops; or it is a function that gives them
    once the services have started (an adapter of a simulator needs its address).
    ``services`` are started first and stopped last (the simulators a demo runs on).
    ``clients`` places the orders (by venue name, or a function of the live feeds giving them);
    without clients there is no executor. ``health`` is where the router reads health figures;
    by default, with clients, a :class:`sor.health.HealthMonitor` fed by every order and by a
    background ping of each client (the runtime's task), and without clients an empty
    :class:`sor.InMemoryHealth` (no figures: the router routes nowhere). ``journal`` is where
    the executor writes every order before it is sent; at start, what it left in flight is
    looked up first. ``execution`` configures the executor (``settings.execution`` by
    default). ``clock_ns`` is the router's clock.
    """

    def __init__(
        self,
        venues: Sequence[Venue],
        adapters: Mapping[str, MarketData] | Callable[[], Mapping[str, MarketData]],
        *,
        settings: Settings | None = None,
        health: HealthSource | None = None,
        services: Sequence[Service] = (),
        clients: Mapping[str, VenueClient] | ClientsFactory | None = None,
        execution: ExecutionSettings | None = None,
        journal: Journal | None = None,
        clock_ns: Callable[[], int] | None = None,
    ) -> None:
        self.settings = Settings() if settings is None else settings
        self.venues = tuple(venues)
        if not callable(adapters):
            self._check_adapters(adapters)
        self._adapters = adapters
        names = [venue.name for venue in venues]
        if health is not None:
            self.health: HealthSource = health
        elif clients is not None:
            self.health = HealthMonitor(names, self.settings.health)
        else:
            self.health = InMemoryHealth()
        self.journal = journal
        self._tasks: list[asyncio.Task[None]] = []
        self._built_clients: Mapping[str, VenueClient] = {}
        self._services = tuple(services)
        self._clock_ns = clock_ns
        self._feeds: dict[str, BookSource] = {}
        self._router: SmartOrderRouter | None = None
        self._started: list[Service] = []
        self._clients = clients
        self._execution = self.settings.execution if execution is None else execution
        self._executor: Executor | None = None

    @classmethod
    def embedded(
        cls,
        settings: Settings | None = None,
        *,
        seed: int = 7,
        levels: int = 1_000,
        interval: float = 0.05,
        execution: ExecutionSettings | None = None,
        journal: Journal | None = None,
        clock_ns: Callable[[], int] | None = None,
    ) -> Runtime:
        """A runtime on the five embedded exchange simulators (:mod:`sor.sim.embedded`),
        which it starts and stops with its feeds, and simulated clients that fill against the
        simulators' true books, answering with each demo venue's latency. Health figures
        come from a monitor of those clients."""
        exchanges = EmbeddedExchanges(seed, levels=levels, interval=interval)
        venues = exchanges.venues()
        latency_s = {demo.name: demo.latency_ms / 1_000 for demo in exchanges.demo_venues}

        def simulated_clients(feeds: Mapping[str, BookSource]) -> dict[str, VenueClient]:
            # Each exchange fills on its own true book, as a real one does; the router decides
            # on the feeds' copies of them.
            return {
                venue.name: SimulatedClient(
                    venue.name,
                    list(venue.markets.values()),
                    exchanges.true_books(venue.name),
                    latency_s=latency_s[venue.name],
                )
                for venue in venues
            }

        return cls(
            venues,
            exchanges.adapters,
            settings=settings,
            services=(exchanges,),
            clients=simulated_clients,
            execution=execution,
            journal=journal,
            clock_ns=clock_ns,
        )

    def _check_adapters(self, adapters: Mapping[str, MarketData]) -> None:
        missing = [venue.name for venue in self.venues if venue.name not in adapters]
        if missing:
            raise InvalidInput(f"adapters: no feed adapter for {', '.join(missing)}")
        unknown = sorted(set(adapters) - {venue.name for venue in self.venues})
        if unknown:
            raise InvalidInput(f"adapters: {', '.join(unknown)} is not one of the venues")

    @property
    def feeds(self) -> dict[str, BookSource]:
        """The running feeds, by venue name."""
        return dict(self._feeds)

    @property
    def router(self) -> SmartOrderRouter:
        """The router over the live books (raises :class:`sor.InvalidInput` before start)."""
        if self._router is None:
            raise InvalidInput("runtime: not started, so there is no router yet")
        return self._router

    @property
    def executor(self) -> Executor:
        """The executor over the venue clients (raises :class:`sor.InvalidInput` before start,
        or when the runtime has no clients)."""
        if self._executor is None:
            raise InvalidInput("runtime: no executor (not started, or no venue clients given)")
        return self._executor

    async def start(self, timeout: float = 30.0) -> None:
        """Starts the services, then one feed per venue; waits up to ``timeout`` seconds until
        every book is live, then builds the router. On any failure, stops what it started."""
        try:
            for service in self._services:
                self._started.append(service)
                await service.start()
            adapters = self._adapters() if callable(self._adapters) else self._adapters
            self._check_adapters(adapters)
            for venue in self.venues:
                data = adapters[venue.name]
                feed = (
                    Feed(data, self.settings.feeds) if isinstance(data, ExchangeAdapter) else data
                )
                self._feeds[venue.name] = feed
                await feed.start()
            await asyncio.gather(
                *(feed.wait_live(timeout=timeout) for feed in self._feeds.values())
            )
            self._router = self._build_router()
            if self._clients is not None:
                await self._start_execution(self._clients)
        except BaseException:
            await self.stop()
            raise

    async def _start_execution(self, clients: Mapping[str, VenueClient] | ClientsFactory) -> None:
        built = clients(self._feeds) if callable(clients) else clients
        self._built_clients = built
        monitor = self.health if isinstance(self.health, HealthMonitor) else None
        if monitor is not None:
            feeds = dict(self._feeds)
            await monitor.check(built, feeds)  # first figures before the first order
            self._tasks.append(asyncio.create_task(monitor.run(built, feeds, check_first=False)))
        assert self._router is not None
        executor = Executor(
            self._router, built, self._execution, journal=self.journal, health=monitor
        )
        await executor.recover()
        self._executor = executor
        if self.journal is not None:
            self._tasks.append(asyncio.create_task(_renew_lease(self.journal)))

    def _build_router(self) -> SmartOrderRouter:
        kwargs = {} if self._clock_ns is None else {"clock_ns": self._clock_ns}
        router = SmartOrderRouter(
            self.venues, settings=self.settings.router, health=self.health, **kwargs
        )
        for venue in self.venues:
            feed = self._feeds[venue.name]
            for symbol in feed.symbols:
                if symbol in venue.markets:
                    router.set_book(venue.name, symbol, feed.book(symbol))
        return router

    async def stop(self) -> None:
        """Stops the health checks and closes the clients, then stops the feeds, then the
        services, in reverse order of their start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for client in self._built_clients.values():
            await client.close()
        self._built_clients = {}
        for feed in reversed(list(self._feeds.values())):
            await feed.stop()
        self._feeds.clear()
        while self._started:
            await self._started.pop().stop()
        self._router = None
        self._executor = None


async def _renew_lease(journal: Journal) -> None:
    """Renews the journal's lease on this instance's orders three times per lease, so that
    another instance on the same journal never takes over an order this one is still sending
    (writes renew it too; this covers the quiet spells)."""
    while True:
        await asyncio.sleep(max(0.05, journal.lease_s / 3))
        with contextlib.suppress(JournalError):
            journal.renew()
