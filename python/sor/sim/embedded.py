"""Five simulated exchanges on 127.0.0.1: sor without the internet.

:class:`EmbeddedExchanges` runs the Binance, Coinbase, Kraken, OKX and Bybit simulators, one per
demo venue (:data:`sor.samples.DEMO_VENUES`), each speaking its exchange's real wire protocol and
streaming an evolving BTC/USDT book. It says what a runtime needs to trade on them: one
:class:`sor.Venue` per exchange (tick, lot, minimum order value, taker fee), the feed adapter
that reads each simulator through sor's native adapter, and health figures.
:meth:`sor.runtime.Runtime.embedded` runs them with live feeds and a router: that is what
``sor demo`` runs, and the default of the service when no real exchange is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Context, Decimal, localcontext
from typing import Protocol

from sor._core import OrderBook
from sor._decimal import EXACT
from sor._lifecycle import AsyncService
from sor.feeds import (
    BinanceSpotAdapter,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    KrakenAdapter,
    OkxAdapter,
)
from sor.health import ExchangeMetrics, InMemoryHealth
from sor.markets import BookMarket, Market, Venue
from sor.samples import DEMO_VENUES, DemoVenue
from sor.sim.binance import BinanceSimulator
from sor.sim.book_model import SimMarket
from sor.sim.bybit import BybitSimulator
from sor.sim.coinbase import CoinbaseSimulator
from sor.sim.kraken import KrakenSimulator
from sor.sim.okx import OkxSimulator

__all__ = ["SYMBOL", "EmbeddedExchanges", "TrueBooks", "demo_market"]

#: The market every embedded exchange lists.
SYMBOL = "BTC/USDT"

#: Depth each book keeps per side where the exchange lets a subscriber choose (Kraken keeps at
#: most 1,000 levels a side; the router needs depth, not just the top).
DEPTH = 1_000


class _Simulator(Protocol):
    """What the embedded exchanges need of a simulator."""

    @property
    def ws_url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def true_book(self, symbol: str) -> OrderBook: ...

    published_at: float | None


class TrueBooks(Mapping[str, OrderBook]):
    """A simulator's true books by symbol, built afresh at every lookup: what the exchange
    itself fills against (a feed's copy of it may lag by the messages in flight)."""

    def __init__(self, simulator: _Simulator, symbols: Sequence[str]) -> None:
        self._simulator = simulator
        self._symbols = tuple(symbols)

    def __getitem__(self, symbol: str) -> OrderBook:
        if symbol not in self._symbols:
            raise KeyError(symbol)
        return self._simulator.true_book(symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._symbols

    def __iter__(self) -> Iterator[str]:
        return iter(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)


def demo_market(venue: DemoVenue) -> Market:
    """The router's view of a demo venue's BTC/USDT market."""
    return Market(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        price_tick=Decimal(1).scaleb(-venue.price_decimals, EXACT),
        amount_step=Decimal(venue.amount_step),
        taker_fee=EXACT.divide(Decimal(venue.taker_fee_bps), 10_000),
        min_cost=Decimal(venue.min_cost),
    )


def _sim_market(venue: DemoVenue, mid: Decimal, levels: int) -> SimMarket:
    tick = Decimal(1).scaleb(-venue.price_decimals, EXACT)
    start = EXACT.add(mid, Decimal(venue.mid_offset)).quantize(tick, context=EXACT)
    return SimMarket(
        SYMBOL,
        price_decimals=venue.price_decimals,
        size_decimals=venue.size_decimals,
        mid=str(start),
        levels_per_side=levels,
        median_size=0.05,
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
    return BybitSimulator([market], seed=seed, interval=interval, depth=DEPTH)


def _adapter(name: str, market: BookMarket, sim: _Simulator) -> ExchangeAdapter:
    if name == "binance":
        assert isinstance(sim, BinanceSimulator)
        return BinanceSpotAdapter([market], ws_url=sim.ws_url, rest_url=sim.rest_url)
    if name == "coinbase":
        return CoinbaseAdvancedAdapter([market], ws_url=sim.ws_url)
    if name == "kraken":
        return KrakenAdapter([market], depth=DEPTH, ws_url=sim.ws_url)
    if name == "okx":
        return OkxAdapter([market], ws_url=sim.ws_url)
    return BybitSpotAdapter([market], ws_url=sim.ws_url, depth=DEPTH)


class EmbeddedExchanges(AsyncService):
    """The five simulated exchanges (an async context manager that starts and stops them).

    ``seed`` makes the books reproducible; ``levels`` is each book's depth per side;
    ``interval`` how often each simulator publishes an update (seconds). The simulators are
    built and run in Python's default decimal context, whatever the caller's (their tasks
    inherit it), so a program with its own context gets the same exchanges.
    """

    def __init__(
        self,
        seed: int = 7,
        *,
        levels: int = 1_000,
        interval: float = 0.05,
        mid: str = "65000",
        venues: Sequence[DemoVenue] = DEMO_VENUES,
    ) -> None:
        self.demo_venues = tuple(venues)
        with localcontext(Context()):
            self._simulators: dict[str, _Simulator] = {
                venue.name: _simulator(
                    venue.name,
                    _sim_market(venue, Decimal(mid), levels),
                    seed * 31 + index,
                    interval,
                )
                for index, venue in enumerate(self.demo_venues)
            }

    async def start(self) -> None:
        """Starts the simulators (each on a free port of 127.0.0.1)."""
        try:
            with localcontext(Context()):  # the simulators' tasks copy this context
                for simulator in self._simulators.values():
                    await simulator.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stops the simulators."""
        for simulator in self._simulators.values():
            await simulator.stop()

    @property
    def names(self) -> list[str]:
        """The exchanges' names, in order."""
        return [venue.name for venue in self.demo_venues]

    def sent_at(self, venue: str) -> Callable[[], float | None]:
        """Reads when ``venue``'s simulator last began to publish an update (monotonic s)."""
        simulator = self._simulators[venue]
        return lambda: simulator.published_at

    def venues(self) -> list[Venue]:
        """What the router knows of each exchange: its BTC/USDT market."""
        return [Venue(venue.name, [demo_market(venue)]) for venue in self.demo_venues]

    def adapters(self) -> dict[str, ExchangeAdapter]:
        """One native feed adapter per exchange, reading its simulator (once started)."""
        return {
            venue.name: _adapter(
                venue.name,
                BookMarket(SYMBOL, venue.price_decimals, venue.size_decimals),
                self._simulators[venue.name],
            )
            for venue in self.demo_venues
        }

    def true_books(self, venue: str) -> TrueBooks:
        """The true books of ``venue``'s simulator (what a simulated client of it fills on)."""
        return TrueBooks(self._simulators[venue], [SYMBOL])

    def health(self) -> InMemoryHealth:
        """Health figures of the five exchanges (illustrative; a health monitor replaces them)."""
        return InMemoryHealth(
            ExchangeMetrics(v.name, v.latency_ms, v.success_rate) for v in self.demo_venues
        )
