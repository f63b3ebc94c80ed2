"""A decision exported as ccxt's RouteResult passes ccxt's own OrderRouter checks.

ccxt's real ``binance`` class loads its markets from the Binance simulator on 127.0.0.1; the
router routes on books at those markets' precision; ccxt's ``OrderRouter`` (offline: only its
pure methods) flattens the exported route into a plan and checks it against the same markets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from sor import ExchangeMetrics, InMemoryHealth, OrderBook, OrderRequest, SmartOrderRouter, Venue
from sor.execution import route_result
from sor.markets import load_ccxt_markets
from sor.sim import BinanceSimulator, SimMarket

SYMBOL = "BTC/USDT"
VENUES = ("alpha", "beta", "gamma")


@pytest.fixture
async def binance() -> AsyncIterator[Any]:
    """ccxt's binance with the simulator's markets loaded."""
    async with BinanceSimulator([SimMarket(SYMBOL, price_decimals=2, size_decimals=5)]) as sim:
        exchange = ccxt_async.binance({**sim.ccxt_config(), "enableRateLimit": False})
        try:
            await exchange.load_markets()
            yield exchange
        finally:
            await exchange.close()


async def routed(binance: Any) -> tuple[SmartOrderRouter, dict[str, Any]]:
    """Three venues on the simulator's market rules, books a few ticks apart."""
    market = (await load_ccxt_markets(binance, [SYMBOL])).venue[SYMBOL]
    router = SmartOrderRouter(
        [Venue(name, [market]) for name in VENUES],
        health=InMemoryHealth(ExchangeMetrics(name, 20.0) for name in VENUES),
    )
    for offset, name in enumerate(VENUES):
        book = OrderBook(2, 5)
        book.apply_snapshot(
            bids=[(f"{64_990 - offset}.00", "0.40000"), (f"{64_980 - offset}.00", "2.00000")],
            asks=[(f"{65_000 + offset}.00", "0.40000"), (f"{65_010 + offset}.00", "2.00000")],
        )
        router.set_book(name, SYMBOL, book)
    # What check_execution_plan_safety reads: each venue's ccxt markets, by exchangeId.
    return router, {name: binance.markets for name in VENUES}


@pytest.mark.parametrize(("side", "strategy"), [("buy", "split"), ("sell", "split"), ("buy", None)])
async def test_an_exported_route_passes_ccxts_plan_and_safety_checks(
    binance: Any, side: str, strategy: str | None
) -> None:
    router, markets = await routed(binance)
    kwargs = {} if strategy is None else {"strategy": strategy}
    decision = router.route(OrderRequest(SYMBOL, side, "1", **kwargs))  # type: ignore[arg-type]
    result = route_result(decision, request_id="r1")
    ccxt_router = ccxt.OrderRouter()
    plan = ccxt_router.build_execution_plan(result)
    violations = ccxt_router.check_execution_plan_safety(plan, markets)
    assert [v for v in violations if v["blocking"]] == []
    # Advisory only: the limit price ccxt derives (expected price + its 25 bps) is off the tick;
    # ccxt snaps it with price_to_precision before sending, as sor's own clients do.
    assert {v["code"] for v in violations} <= {"price_precision"}
    assert plan["requestId"] == "r1"
    assert plan["fullyFillable"] is True
    steps = plan["steps"]
    assert [(s["exchangeId"], s["side"], s["symbol"]) for s in steps] == [
        (part.venue, side, SYMBOL) for part in decision.parts
    ]
    assert [s["amount"] for s in steps] == [float(part.quantity) for part in decision.parts]
    assert [s["expectedPrice"] for s in steps] == [part.average_price for part in decision.parts]
    assert sum(s["amount"] for s in steps) == pytest.approx(1.0)
    if strategy == "split":
        assert len(steps) >= 2, "the books make the split use several venues"
    spends, gets = ("USDT", "BTC") if side == "buy" else ("BTC", "USDT")
    assert (plan["from"], plan["to"]) == (spends, gets)


async def test_a_leg_below_the_markets_minimum_is_caught_by_ccxts_check(binance: Any) -> None:
    # The safety check is not vacuous: the same route with a leg under Binance's minimum
    # notional is refused.
    router, markets = await routed(binance)
    result = route_result(router.route(OrderRequest(SYMBOL, "buy", "1")))
    hops: list[dict[str, Any]] = result["hops"]  # type: ignore[assignment]
    hops[0]["legs"][0]["amount"] = 0.00001
    ccxt_router = ccxt.OrderRouter()
    violations = ccxt_router.check_execution_plan_safety(
        ccxt_router.build_execution_plan(result), markets
    )
    assert [v["code"] for v in violations if v["blocking"]] == ["cost_below_minimum"]
