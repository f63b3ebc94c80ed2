"""Five simulated exchanges on 127.0.0.1, with live feeds into sor books: sor without the internet.

:class:`EmbeddedExchanges` starts the Binance, Coinbase, Kraken, OKX and Bybit simulators (each
speaking its exchange's real wire protocol, streaming an evolving BTC/USDT book), connects one
:class:`sor.feeds.Feed` per exchange through its native adapter, and waits until every book is
live. It then hands a :class:`sor.SmartOrderRouter` everything it needs: one :class:`Venue` per
exchange (the market's tick, lot, minimum order value and taker fee, of the order of each
exchange's published BTC/USDT rules and base-tier fees), health figures, and the books the feeds
keep exact. This is what ``sor demo`` runs, and the default of the service when no real exchange
is configured::

    async with EmbeddedExchanges(seed=7) as exchanges:
        router = exchanges.router()
        decision = router.route(sor.OrderRequest("BTC/USDT", "buy", "2.5"))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Protocol

from sor.feeds import (
    BinanceSpotAdapter,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    Feed,
    FeedConfig,
    KrakenAdapter,
    OkxAdapter,
)
from sor.feeds import Market as FeedMarket
from sor.health import InMemoryHealth
from sor.health.metrics import ExchangeMetrics
from sor.markets import Market, Venue
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings
from sor.sim.binance import BinanceSimulator
from sor.sim.book_model import SimMarket
from sor.sim.bybit import BybitSimulator
from sor.sim.coinbase import CoinbaseSimulator
from sor.sim.kraken import KrakenSimulator
from sor.sim.okx import OkxSimulator

__all__ = ["EXCHANGES", "EmbeddedExchange", "EmbeddedExchanges"]

SYMBOL = "BTC/USDT"


class _Simulator(Protocol):
    """What the embedded exchanges need of a simulator."""

    @property
    def ws_url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class EmbeddedExchange:
    """One simulated exchange: its BTC/USDT market rules, fee and health figures."""

    name: str
    price_decimals: int
    size_decimals: int
    amount_step: str
    min_cost: str
    taker_fee_bps: str
    latency_ms: float
    success_rate: float
    mid_offset: str
    """Where its book starts versus the others (USDT), so that venues differ."""

    def market(self) -> Market:
        """The router's view of its BTC/USDT market."""
        return Market(
            symbol=SYMBOL,
            base="BTC",
            quote="USDT",
            price_tick=Decimal(1).scaleb(-self.price_decimals),
            amount_step=Decimal(self.amount_step),
            taker_fee=Decimal(self.taker_fee_bps) / 10_000,
            min_cost=Decimal(self.min_cost),
        )

    def sim_market(self, mid: Decimal, levels: int) -> SimMarket:
        """The simulator's market."""
        start = (mid + Decimal(self.mid_offset)).quantize(Decimal(1).scaleb(-self.price_decimals))
        return SimMarket(
            SYMBOL,
            price_decimals=self.price_decimals,
            size_decimals=self.size_decimals,
            mid=str(start),
            levels_per_side=levels,
            median_size=0.05,
        )


#: The five exchanges: BTC/USDT tick and lot, minimum order value, base-tier taker fee (bps),
#: and illustrative latency and success figures (health monitoring replaces them when live).
EXCHANGES: tuple[EmbeddedExchange, ...] = (
    EmbeddedExchange("binance", 2, 5, "0.00001", "5", "10", 22.0, 0.998, "0"),
    EmbeddedExchange("coinbase", 2, 8, "0.00000001", "1", "60", 48.0, 0.995, "4.5"),
    EmbeddedExchange("kraken", 1, 8, "0.00000001", "0.5", "40", 71.0, 0.990, "-3"),
    EmbeddedExchange("okx", 1, 8, "0.00000001", "1", "10", 35.0, 0.997, "1.5"),
    EmbeddedExchange("bybit", 2, 6, "0.000001", "1", "10", 41.0, 0.996, "-1"),
)


def _simulator(name: str, market: SimMarket, seed: int, interval: float) -> _Simulator:
    if name == "binance":
        return BinanceSimulator([market], seed=seed, interval=interval)
    if name == "coinbase":
        return CoinbaseSimulator([market], seed=seed, interval=interval)
    if name == "kraken":
        return KrakenSimulator([market], seed=seed, interval=interval)
    if name == "okx":
        return OkxSimulator([market], seed=seed, interval=interval)
    return BybitSimulator([market], seed=seed, interval=interval, depth=1000)


def _adapter(name: str, market: FeedMarket, sim: _Simulator) -> ExchangeAdapter:
    if name == "binance":
        assert isinstance(sim, BinanceSimulator)
        return BinanceSpotAdapter([market], ws_url=sim.ws_url, rest_url=sim.rest_url)
    if name == "coinbase":
        return CoinbaseAdvancedAdapter([market], ws_url=sim.ws_url)
    if name == "kraken":
        # Kraken keeps at most 1,000 levels a side; the router needs depth, not just the top.
        return KrakenAdapter([market], depth=1000, ws_url=sim.ws_url)
    if name == "okx":
        return OkxAdapter([market], ws_url=sim.ws_url)
    return BybitSpotAdapter([market], ws_url=sim.ws_url, depth=1000)


class EmbeddedExchanges:
    """The five simulated exchanges and their live feeds (an async context manager).

    ``seed`` makes the books reproducible; ``levels`` is each book's depth per side;
    ``interval`` how often each simulator publishes an update (seconds).
    """

    def __init__(
        self,
        seed: int = 7,
        *,
        levels: int = 1_000,
        interval: float = 0.05,
        mid: str = "65000",
        exchanges: Sequence[EmbeddedExchange] = EXCHANGES,
        clock_ns: Callable[[], int] | None = None,
    ) -> None:
        self.exchanges = tuple(exchanges)
        self._clock_ns = clock_ns
        self._simulators: dict[str, _Simulator] = {}
        self._feeds: dict[str, Feed] = {}
        for index, exchange in enumerate(self.exchanges):
            market = exchange.sim_market(Decimal(mid), levels)
            self._simulators[exchange.name] = _simulator(
                exchange.name, market, seed * 31 + index, interval
            )

    @property
    def feeds(self) -> dict[str, Feed]:
        """The live feeds, by exchange name."""
        return dict(self._feeds)

    async def start(self, timeout: float = 30.0) -> None:
        """Starts the simulators and the feeds, and waits until every book is live."""
        for simulator in self._simulators.values():
            await simulator.start()
        config = FeedConfig(staleness=5.0)
        for exchange in self.exchanges:
            market = FeedMarket(SYMBOL, exchange.price_decimals, exchange.size_decimals)
            adapter = _adapter(exchange.name, market, self._simulators[exchange.name])
            feed = Feed(adapter, config)
            self._feeds[exchange.name] = feed
            await feed.start()
        await asyncio.gather(*(feed.wait_live(timeout=timeout) for feed in self._feeds.values()))

    async def stop(self) -> None:
        """Stops the feeds, then the simulators."""
        for feed in self._feeds.values():
            await feed.stop()
        self._feeds.clear()
        for simulator in self._simulators.values():
            await simulator.stop()

    async def __aenter__(self) -> EmbeddedExchanges:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def health(self) -> InMemoryHealth:
        """Health figures of the five exchanges."""
        return InMemoryHealth(
            ExchangeMetrics(e.name, e.latency_ms, e.success_rate) for e in self.exchanges
        )

    def router(self, settings: RouterSettings | None = None) -> SmartOrderRouter:
        """A router over the five exchanges, reading the books the feeds keep live."""
        venues = [Venue(e.name, [e.market()]) for e in self.exchanges]
        kwargs = {} if self._clock_ns is None else {"clock_ns": self._clock_ns}
        router = SmartOrderRouter(venues, settings=settings, health=self.health(), **kwargs)
        for exchange in self.exchanges:
            router.set_book(exchange.name, SYMBOL, self._feeds[exchange.name].book(SYMBOL))
        return router
