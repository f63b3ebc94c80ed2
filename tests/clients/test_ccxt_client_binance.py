"""CcxtClient drives ccxt's real ``binance`` class against a local Binance REST server.

Every fault a real venue has (a dropped connection after the order was taken, an answer past the
timeout, a 503, rate limits, a skewed clock, bad credentials, a duplicate client order id) ends
in the outcome the executor needs, and the lookup by client order id finds what was placed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import ccxt
import pytest

from sor.clients import CcxtClient, ErrorOutcome, PlaceOrder, classify_error, credentials
from sor.clients.outcomes import needs_clock_resync
from sor.clients.protocol import OrderStatus
from sor.orders import OrderSide
from sor.sim import BinanceSimulator, SimMarket
from sor.sim.binance_rest import BinanceRestServer, OrderFault

SYMBOL = "BTC/USDT"
KEY, SECRET = "test-key", "test-secret"


@pytest.fixture
async def server() -> AsyncIterator[BinanceRestServer]:
    market = SimMarket(SYMBOL, price_decimals=2, size_decimals=5, mid="65000")
    async with BinanceSimulator([market], seed=3) as sim:
        rest = BinanceRestServer(
            sim, api_key=KEY, api_secret=SECRET, balances={"USDT": "1000000", "BTC": "10"}
        )
        async with rest:
            yield rest


@pytest.fixture
async def client(server: BinanceRestServer) -> AsyncIterator[CcxtClient]:
    venue = CcxtClient.create(
        "binance", config={**server.ccxt_config(), "timeout": 1_000, "timeout_on_exit": 0}, env={}
    )
    await venue.load_markets()
    yield venue
    await venue.close()


def ioc(cid: str, side: str = "buy", amount: str = "0.5", price: str = "66000.00") -> PlaceOrder:
    return PlaceOrder(SYMBOL, OrderSide(side), Decimal(amount), cid, Decimal(price))


async def test_markets_balance_and_an_ioc_order_round_trip(
    server: BinanceRestServer, client: CcxtClient
) -> None:
    markets = await client.load_markets()
    assert (markets[SYMBOL].price_tick, markets[SYMBOL].amount_step) == (
        Decimal("0.01"),
        Decimal("0.00001"),
    )
    assert (await client.fetch_balance())["USDT"] == Decimal(1_000_000)
    placed = await client.create_order(ioc("sor-1"))
    (on_server,) = server.orders()
    assert on_server["clientOrderId"] == "sor-1"
    assert on_server["timeInForce"] == "IOC"
    assert placed.status is OrderStatus.CLOSED
    assert placed.filled == Decimal("0.5") == Decimal(on_server["executedQty"])
    assert placed.cost == Decimal(on_server["cummulativeQuoteQty"])
    assert placed.fee > 0  # 0.1% of the BTC received, valued in USDT
    found = await client.fetch_order(SYMBOL, "sor-1")
    assert found is not None
    assert (found.filled, found.client_order_id) == (placed.filled, "sor-1")
    assert await client.fetch_order(SYMBOL, "sor-none") is None
    assert await client.ping() >= 0


async def test_a_market_order_and_an_ioc_limit_that_only_partly_crosses(
    client: CcxtClient, server: BinanceRestServer
) -> None:
    sold = await client.create_order(
        PlaceOrder(SYMBOL, OrderSide.SELL, Decimal("0.25"), "sor-m", None)
    )
    assert (sold.status, sold.filled) == (OrderStatus.CLOSED, Decimal("0.25"))
    book = server.market.true_book(SYMBOL)
    best = book.best_ask()
    assert best is not None
    partial = await client.create_order(ioc("sor-p", amount="9", price=str(best.price)))
    assert partial.status is OrderStatus.EXPIRED
    assert 0 < partial.filled < Decimal(9)


async def test_a_resting_order_is_open_then_cancelled_by_its_client_order_id(
    client: CcxtClient,
) -> None:
    await client.exchange.create_order(
        SYMBOL, "limit", "buy", 0.1, 60_000, {"clientOrderId": "sor-gtc"}
    )
    (open_order,) = await client.fetch_open_orders(SYMBOL)
    assert open_order.client_order_id == "sor-gtc"
    # Binance refuses the id of an order still open ...
    with pytest.raises(ccxt.InvalidOrder) as raised:
        await client.create_order(ioc("sor-gtc"))
    assert classify_error(raised.value) is ErrorOutcome.UNKNOWN
    cancelled = await client.cancel_order(SYMBOL, "sor-gtc")
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELED
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_resending_the_id_of_a_filled_order_places_a_second_order(
    client: CcxtClient, server: BinanceRestServer
) -> None:
    await client.create_order(ioc("sor-again"))
    await client.create_order(ioc("sor-again"))  # ... but not the id of a filled one
    assert [o["clientOrderId"] for o in server.orders()] == ["sor-again", "sor-again"]


@pytest.mark.parametrize(
    "fault",
    [
        OrderFault.DROP_AFTER_ACCEPT,
        OrderFault.DELAY_AFTER_ACCEPT,
        OrderFault.UNAVAILABLE_AFTER_ACCEPT,
    ],
)
async def test_an_order_taken_but_not_answered_is_unknown_and_found_by_its_id(
    client: CcxtClient, server: BinanceRestServer, fault: OrderFault
) -> None:
    server.delay_s = 2.0  # past the client's 1 s timeout
    server.fail_next_order(fault)
    with pytest.raises(ccxt.BaseError) as raised:
        await client.create_order(ioc("sor-lost"))
    assert classify_error(raised.value, http_status=client.last_http_status) is (
        ErrorOutcome.UNKNOWN
    )
    found = await client.fetch_order(SYMBOL, "sor-lost")
    assert found is not None
    assert found.filled == Decimal("0.5")


@pytest.mark.parametrize("fault", [OrderFault.RATE_LIMITED, OrderFault.BANNED])
async def test_rate_limits_retry_and_place_nothing(
    client: CcxtClient, server: BinanceRestServer, fault: OrderFault
) -> None:
    server.fail_next_order(fault)
    with pytest.raises(ccxt.DDoSProtection) as raised:
        await client.create_order(ioc("sor-slow"))
    assert classify_error(raised.value) is ErrorOutcome.RETRY
    assert client.retry_after_s == server.retry_after_s
    assert server.orders() == []


async def test_refusals_that_place_nothing(client: CcxtClient, server: BinanceRestServer) -> None:
    with pytest.raises(ccxt.InsufficientFunds) as funds:
        await client.create_order(ioc("sor-big", amount="100"))
    assert classify_error(funds.value) is ErrorOutcome.REJECTED
    server.clock_skew_ms = -60_000
    with pytest.raises(ccxt.InvalidNonce) as skew:
        await client.create_order(ioc("sor-skew"))
    assert classify_error(skew.value) is ErrorOutcome.RETRY
    assert needs_clock_resync(skew.value)
    assert server.orders() == []


async def test_wrong_credentials_are_refused(server: BinanceRestServer) -> None:
    config = {**server.ccxt_config(), "secret": "wrong", "timeout_on_exit": 0}
    venue = CcxtClient.create("binance", config=config, env={})
    try:
        await venue.load_markets()
        with pytest.raises(ccxt.AuthenticationError) as raised:
            await venue.fetch_balance()
        assert classify_error(raised.value) is ErrorOutcome.REJECTED
        assert "wrong" not in repr(venue)
    finally:
        await venue.close()


def test_credentials_come_from_the_environment_over_the_secrets_file(tmp_path: object) -> None:
    from pathlib import Path

    secrets = Path(str(tmp_path)) / "secrets.toml"
    secrets.write_text('[binance]\napiKey = "file-key"\nsecret = "file-secret"\n')
    assert credentials("binance", {}, secrets) == {"apiKey": "file-key", "secret": "file-secret"}
    env = {"SOR_BINANCE_API_KEY": "env-key"}
    assert credentials("binance", env, secrets)["apiKey"] == "env-key"
    assert credentials("okx", {}, None) == {}


async def test_the_executor_fails_over_and_reconciles_through_ccxt(
    client: CcxtClient, server: BinanceRestServer
) -> None:
    from sor import ExchangeMetrics, InMemoryHealth, OrderRequest, SmartOrderRouter, Venue
    from sor.execution import AttemptOutcome, ExecutionSettings, ExecutionStatus, Executor

    markets = await client.load_markets()
    router = SmartOrderRouter(
        [Venue("binance", [markets[SYMBOL]])],
        health=InMemoryHealth([ExchangeMetrics("binance", 20.0)]),
    )
    router.set_book("binance", SYMBOL, server.market.true_book(SYMBOL))
    server.fail_next_order(OrderFault.DROP_AFTER_ACCEPT)
    settings = ExecutionSettings(settle_after_s=0.2, reconcile_interval_s=0.05)
    report = await Executor(router, {"binance": client}, settings).execute(
        OrderRequest(SYMBOL, "buy", "0.3")
    )
    assert report.status is ExecutionStatus.FILLED
    (attempt,) = report.attempts
    assert attempt.reconciled
    assert attempt.outcome is AttemptOutcome.FILLED
    assert len(server.orders()) == 1  # found, not sent again


async def test_a_refused_timestamp_resyncs_the_clock_and_the_retry_fills(
    client: CcxtClient, server: BinanceRestServer
) -> None:
    from sor import ExchangeMetrics, InMemoryHealth, OrderRequest, SmartOrderRouter, Venue
    from sor.execution import AttemptOutcome, ExecutionSettings, ExecutionStatus, Executor

    markets = await client.load_markets()
    router = SmartOrderRouter(
        [Venue("binance", [markets[SYMBOL]])],
        health=InMemoryHealth([ExchangeMetrics("binance", 20.0)]),
    )
    router.set_book("binance", SYMBOL, server.market.true_book(SYMBOL))
    server.clock_skew_ms = -60_000  # the exchange's clock is a minute behind this machine's
    settings = ExecutionSettings(backoff_s=0.01)
    report = await Executor(router, {"binance": client}, settings).execute(
        OrderRequest(SYMBOL, "buy", "0.2")
    )
    assert [a.outcome for a in report.attempts] == [AttemptOutcome.RETRY, AttemptOutcome.FILLED]
    assert report.status is ExecutionStatus.FILLED
