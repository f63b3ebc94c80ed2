"""The live runtime: markets through ccxt's public endpoints, books through the native feeds,
paper fills on those books, health from the exchange's own round trips. Here the "exchange" is
the Binance simulator on 127.0.0.1, which speaks Binance's REST and websocket protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from sor import OrderRequest
from sor.clients import PaperClient
from sor.config import Settings
from sor.errors import InvalidInput
from sor.execution import ExecutionStatus
from sor.journal import SqliteJournal
from sor.live import live_runtime
from sor.routing import RouterSettings
from sor.sim import BinanceSimulator, SimMarket

SYMBOL = "BTC/USDT"


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSimulator]:
    markets = [
        SimMarket(SYMBOL, price_decimals=2, size_decimals=5, mid="65000"),
        SimMarket("ETH/USDT", price_decimals=2, size_decimals=4, mid="3000"),
    ]
    async with BinanceSimulator(markets, seed=5, interval=0.05) as running:
        yield running


def pointed_at(sim: BinanceSimulator) -> dict[str, object]:
    return {
        "config": {"binance": sim.ccxt_config()},
        "adapter_options": {"binance": {"ws_url": sim.ws_url, "rest_url": sim.rest_url}},
    }


async def test_routes_and_paper_trades_on_live_books_with_the_exchanges_latency(
    sim: BinanceSimulator,
) -> None:
    settings = Settings(router=RouterSettings(cache_ttl_s=0))
    journal = SqliteJournal(":memory:")
    runtime = await live_runtime(
        settings,
        ["binance"],
        [SYMBOL],
        journal=journal,
        **pointed_at(sim),  # type: ignore[arg-type]
    )
    async with runtime:
        (venue,) = runtime.venues
        market = venue.markets[SYMBOL]
        assert (market.price_tick, market.amount_step) == (Decimal("0.01"), Decimal("0.00001"))
        assert list(venue.markets) == [SYMBOL]  # only the symbols asked for
        book = runtime.feeds["binance"].book(SYMBOL)
        assert book.best_ask() is not None
        decision = runtime.router.route(OrderRequest(SYMBOL, "buy", "0.25"))
        assert decision.venues == ("binance",)
        metrics = runtime.health.metrics("binance")
        assert metrics is not None
        assert metrics.latency_ema_ms > 0  # a real round trip
        client = runtime.executor.clients["binance"]
        assert isinstance(client, PaperClient)
        report = await runtime.executor.execute(OrderRequest(SYMBOL, "buy", "0.25"))
        assert report.status is ExecutionStatus.FILLED
        assert report.filled == Decimal("0.25")
        # Filled in simulation on the feed's book: the cost is that book's walk.
        assert report.cost > 0
        assert not any("order" in path for path in sim.rest_requests)  # nothing was sent
    assert journal.in_flight() == []


async def test_refuses_unknown_exchanges_and_symbols_no_exchange_lists(
    sim: BinanceSimulator,
) -> None:
    settings = Settings()
    with pytest.raises(InvalidInput, match="no native feed for 'bitmex'"):
        await live_runtime(settings, ["bitmex"], [SYMBOL])
    with pytest.raises(InvalidInput, match="no exchange of binance lists DOGE/EUR"):
        await live_runtime(settings, ["binance"], ["DOGE/EUR"], **pointed_at(sim))  # type: ignore[arg-type]
