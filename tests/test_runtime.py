"""The runtime wires feeds into the router and owns what it starts."""

from __future__ import annotations

import asyncio

import ccxt.async_support as ccxt_async
import pytest

from sor import InvalidInput, OrderRequest, Settings
from sor.clients import PlaceOrder, SimulatedClient
from sor.execution import ExecutionStatus
from sor.feeds import BinanceSpotAdapter, BookSource, CcxtFeed, CcxtFeedConfig, Feed
from sor.markets import BookMarket, Venue
from sor.orders import OrderSide
from sor.runtime import Runtime
from sor.samples import DEMO_VENUES
from sor.sim import BinanceSimulator, SimMarket
from sor.sim.embedded import SYMBOL, EmbeddedExchanges, demo_market


class Recorder:
    """A service that records its start and stop, in a shared log."""

    def __init__(self, name: str, log: list[str], *, fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    async def start(self) -> None:
        self.log.append(f"start {self.name}")
        if self.fail:
            raise OSError(f"{self.name} cannot start")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


async def test_embedded_runtime_routes_on_live_books_and_stops_everything() -> None:
    runtime = Runtime.embedded(seed=3, levels=50)
    async with runtime:
        assert sorted(runtime.feeds) == sorted(v.name for v in DEMO_VENUES)
        decision = runtime.router.route(OrderRequest(SYMBOL, "buy", "0.5"))
        primary = runtime.feeds[decision.primary.venue].book(SYMBOL)
        # The decision reads the very books the feeds keep live.
        assert primary.best_ask() is not None
        assert decision.primary.quantity == 0.5
    assert runtime.feeds == {}
    with pytest.raises(InvalidInput, match="not started"):
        _ = runtime.router
    with pytest.raises(InvalidInput, match="no executor"):
        _ = runtime.executor


async def test_embedded_runtime_executes_on_the_books_its_feeds_keep_live() -> None:
    async with Runtime.embedded(seed=5, levels=50) as runtime:
        order = OrderRequest(SYMBOL, "sell", "0.25")
        report = await runtime.executor.execute(order)
        assert report.status is ExecutionStatus.FILLED
        assert report.filled == order.amount
        (attempt,) = report.attempts
        best_bid = runtime.feeds[attempt.venue].book(SYMBOL).best_bid()
        assert best_bid is not None
        assert attempt.price is not None
        assert attempt.price <= best_bid.price  # an IOC limit within the slippage bound


async def test_services_start_first_and_stop_last_in_reverse_order() -> None:
    log: list[str] = []
    exchanges = EmbeddedExchanges(seed=1, levels=20)
    runtime = Runtime(
        exchanges.venues()[:1],
        lambda: {"binance": exchanges.adapters()["binance"]},
        health=exchanges.health(),
        services=(Recorder("a", log), exchanges, Recorder("b", log)),
    )
    async with runtime:
        assert log == ["start a", "start b"]
        assert list(runtime.feeds) == ["binance"]
    assert log == ["start a", "start b", "stop b", "stop a"]


async def test_a_failed_start_stops_what_was_started() -> None:
    log: list[str] = []
    venue = Venue("binance", [demo_market(DEMO_VENUES[0])])
    adapter = BinanceSpotAdapter(
        [BookMarket(SYMBOL, 2, 5)], ws_url="ws://127.0.0.1:9", rest_url="http://127.0.0.1:9"
    )
    runtime = Runtime(
        [venue], {"binance": adapter}, services=(Recorder("a", log), Recorder("b", log, fail=True))
    )
    with pytest.raises(OSError, match="b cannot start"):
        await runtime.start()
    assert log == ["start a", "start b", "stop b", "stop a"]
    # A feed that never comes live: the start times out and leaves nothing running.
    log.clear()
    runtime = Runtime([venue], {"binance": adapter}, services=(Recorder("a", log),))
    with pytest.raises(asyncio.TimeoutError):
        await runtime.start(timeout=0.2)
    assert log == ["start a", "stop a"]
    assert runtime.feeds == {}


def test_every_venue_needs_exactly_one_adapter() -> None:
    venue = Venue("binance", [demo_market(DEMO_VENUES[0])])
    with pytest.raises(InvalidInput, match="no feed adapter for binance"):
        Runtime([venue], {})
    adapter = BinanceSpotAdapter([BookMarket(SYMBOL, 2, 5)])
    with pytest.raises(InvalidInput, match="okx is not one of the venues"):
        Runtime([venue], {"binance": adapter, "okx": adapter})


def test_settings_default_to_sors_defaults() -> None:
    venue = Venue("binance", [demo_market(DEMO_VENUES[0])])
    adapter = BinanceSpotAdapter([BookMarket(SYMBOL, 2, 5)])
    assert Runtime([venue], {"binance": adapter}).settings == Settings()


async def test_a_ccxt_feed_serves_a_venue_through_the_same_protocol_as_a_native_feed() -> None:
    market = demo_market(DEMO_VENUES[0])
    sim = BinanceSimulator([SimMarket(SYMBOL, price_decimals=2, size_decimals=5)], seed=4)
    native = Feed(BinanceSpotAdapter([BookMarket(SYMBOL, 2, 5)]))
    assert isinstance(native, BookSource)
    async with sim:
        exchange = ccxt_async.binance({**sim.ccxt_config(), "enableRateLimit": False})
        try:
            feed = CcxtFeed(exchange, [market], CcxtFeedConfig(poll_interval=0.01, seed=1))
            assert isinstance(feed, BookSource)
            runtime = Runtime(
                [Venue("binance", [market])],
                {"binance": feed},
                health=EmbeddedExchanges(seed=1).health(),
            )
            async with runtime:
                assert feed.running, "the runtime starts the feed it was given"
                decision = runtime.router.route(OrderRequest(SYMBOL, "buy", "0.01"))
                # The simulator's book does not move (no interval): the decision walked it.
                truth = sim.true_book(SYMBOL).walk("buy", quantity="0.01")
                assert decision.primary.venue == "binance"
                assert decision.primary.walk.notional == truth.notional
                assert decision.primary.walk.average_price == truth.average_price
            assert not feed.running, "and stops it"
        finally:
            await exchange.close()


async def test_embedded_clients_fill_on_the_simulators_true_books_read_at_every_order() -> None:
    exchanges = EmbeddedExchanges(seed=2, levels=30, interval=None)
    books = exchanges.true_books("binance")
    assert list(books) == [SYMBOL]
    assert "ETH/USDT" not in books
    with pytest.raises(KeyError):
        books["ETH/USDT"]
    async with exchanges:
        client = SimulatedClient("binance", [demo_market(DEMO_VENUES[0])], books)
        before = books[SYMBOL]
        simulator = exchanges._simulators["binance"]
        await simulator.publish(20, SYMBOL)  # the exchange's book moves
        after = books[SYMBOL]
        assert after != before, "every lookup reads the simulator's book as it is now"
        best = after.best_ask()
        assert best is not None
        order = PlaceOrder(SYMBOL, OrderSide.BUY, best.size, "t-1", best.price)
        filled = await client.create_order(order)
        assert (filled.filled, filled.cost) == (best.size, best.size * best.price)
