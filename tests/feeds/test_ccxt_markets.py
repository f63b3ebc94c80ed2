"""Markets through real ccxt against the Binance simulator: precision, limits, fees, refusals.

ccxt's ``binance`` is pointed at the simulator on 127.0.0.1 (``sim.ccxt_config()``), so every
market comes through ccxt's own ``exchangeInfo`` parsing, exactly as it would from Binance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import orjson
import pytest
from feed_support import market_of

from sor import InvalidInput
from sor.feeds import HttpError
from sor.feeds.http import get_json
from sor.markets import Market, PrecisionMode, load_ccxt_markets
from sor.markets.ccxt_markets import feed_market, venue_market
from sor.sim import BinanceSimulator, SimMarket

#: Three precisions: Binance's BTC/USDT, a coarse size step, and a fine price tick.
MARKETS = (
    SimMarket("BTC/USDT", price_decimals=2, size_decimals=5, mid="65000"),
    SimMarket("ETH/USDT", price_decimals=2, size_decimals=4, mid="3000"),
    SimMarket("DOGE/USDT", price_decimals=5, size_decimals=0, mid="0.15000", median_size=900.0),
)


#: A local server needs no TLS wind-down: ``close()`` need not wait its 250 ms.
LOCAL = {"timeout_on_exit": 0}


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSimulator]:
    """A simulator with three markets of different precision."""
    async with BinanceSimulator(MARKETS, seed=11, min_notional="5") as simulator:
        yield simulator


@pytest.fixture
async def binance(sim: BinanceSimulator) -> AsyncIterator[Any]:
    """ccxt's async binance pointed at the simulator (closed at teardown)."""
    exchange = ccxt_async.binance({**sim.ccxt_config(), **LOCAL})
    yield exchange
    await exchange.close()


async def test_markets_have_the_simulators_tick_and_step_through_ccxt(
    sim: BinanceSimulator, binance: Any
) -> None:
    markets = await load_ccxt_markets(binance)
    assert binance.precisionMode == PrecisionMode.TICK_SIZE
    assert markets.exchange == "binance"
    assert markets.symbols == [m.symbol for m in MARKETS]
    assert markets.skipped == {}
    for sim_market in MARKETS:
        venue = markets.venue[sim_market.symbol]
        assert venue.price_tick == Decimal(1).scaleb(-sim_market.price_decimals)
        assert venue.amount_step == Decimal(1).scaleb(-sim_market.size_decimals)
        assert (venue.price_decimals, venue.amount_decimals) == (
            sim_market.price_decimals,
            sim_market.size_decimals,
        )
        assert markets.feed_market(sim_market.symbol) == market_of(sim_market)
    assert markets.feed_markets() == [market_of(m) for m in MARKETS]


async def test_markets_carry_binances_limits_and_ccxts_taker_fee(binance: Any) -> None:
    markets = await load_ccxt_markets(binance, ["BTC/USDT", "DOGE/USDT"])
    btc = markets.venue["BTC/USDT"]
    assert (btc.base, btc.quote, btc.active) == ("BTC", "USDT", True)
    assert btc.min_amount == Decimal("0.00001")  # LOT_SIZE minQty
    assert btc.max_amount == Decimal(9000)  # LOT_SIZE maxQty
    assert btc.min_cost == Decimal(5)  # NOTIONAL minNotional
    assert btc.taker_fee == Decimal("0.001")  # ccxt's default Binance spot taker fee
    rules = btc.rules()
    assert rules.lot_size == Decimal("0.00001")
    assert rules.min_notional == Decimal(5)
    doge = markets.venue["DOGE/USDT"]
    assert doge.min_amount == doge.amount_step == Decimal(1)
    assert doge.round_amount(Decimal("12.9")) == Decimal(12)


async def test_loading_markets_asks_the_simulator_for_exchange_info_only(
    sim: BinanceSimulator, binance: Any
) -> None:
    await load_ccxt_markets(binance)
    assert sim.rest_requests == ["/api/v3/exchangeInfo"]
    # Cached by the exchange instance unless asked to reload.
    await load_ccxt_markets(binance, ["BTC/USDT"])
    assert len(sim.rest_requests) == 1
    await load_ccxt_markets(binance, ["BTC/USDT"], reload=True)
    assert sim.rest_requests == ["/api/v3/exchangeInfo"] * 2


async def test_named_symbols_are_exactly_those_and_unknown_ones_are_refused(
    binance: Any,
) -> None:
    markets = await load_ccxt_markets(binance, ["ETH/USDT"])
    assert markets.symbols == ["ETH/USDT"]
    with pytest.raises(InvalidInput, match="'XRP/USDT' is not a market of binance"):
        await load_ccxt_markets(binance, ["ETH/USDT", "XRP/USDT"])
    with pytest.raises(InvalidInput, match="symbols: expected at least one"):
        await load_ccxt_markets(binance, [])
    with pytest.raises(InvalidInput, match="not one of the loaded binance markets"):
        markets.feed_market("BTC/USDT")


async def test_venue_market_needs_loaded_markets(sim: BinanceSimulator) -> None:
    exchange = ccxt_async.binance({**sim.ccxt_config(), **LOCAL})
    try:
        with pytest.raises(InvalidInput, match="markets are not loaded"):
            venue_market(exchange, "BTC/USDT")
    finally:
        await exchange.close()


async def test_a_non_spot_market_is_refused(binance: Any) -> None:
    await binance.load_markets()
    # A linear swap as ccxt describes one, added to the loaded markets the way ccxt does.
    swap = dict(binance.markets["BTC/USDT"])
    swap.update(symbol="BTC/USDT:USDT", id="BTCUSDTPERP", type="swap", spot=False, swap=True)
    binance.set_markets([*binance.markets.values(), swap])
    with pytest.raises(InvalidInput, match="is a swap market, not spot"):
        venue_market(binance, "BTC/USDT:USDT")
    markets = await load_ccxt_markets(binance)
    assert "BTC/USDT:USDT" not in markets.venue
    assert "BTC/USDT:USDT" not in markets.skipped


async def test_significant_digits_markets_are_skipped_with_the_reason(
    sim: BinanceSimulator,
) -> None:
    exchange = ccxt_async.binance(
        {**sim.ccxt_config(), **LOCAL, "precisionMode": ccxt.SIGNIFICANT_DIGITS}
    )
    try:
        markets = await load_ccxt_markets(exchange)
        assert markets.venue == {}
        assert set(markets.skipped) == {m.symbol for m in MARKETS}
        assert all("SIGNIFICANT_DIGITS is not supported" in r for r in markets.skipped.values())
        with pytest.raises(InvalidInput, match="SIGNIFICANT_DIGITS"):
            await load_ccxt_markets(exchange, ["BTC/USDT"])
    finally:
        await exchange.close()


async def test_tick_sizes_read_as_decimal_places_are_refused(sim: BinanceSimulator) -> None:
    # Binance reports ticks (0.01); an instance wrongly set to DECIMAL_PLACES must not turn them
    # into a precision.
    exchange = ccxt_async.binance(
        {**sim.ccxt_config(), **LOCAL, "precisionMode": ccxt.DECIMAL_PLACES}
    )
    try:
        markets = await load_ccxt_markets(exchange)
        assert markets.venue == {}
        assert all("whole number of decimal places" in r for r in markets.skipped.values())
    finally:
        await exchange.close()


async def test_decimal_places_markets_give_the_same_rules_as_tick_sizes(
    sim: BinanceSimulator, binance: Any
) -> None:
    """An exchange in DECIMAL_PLACES mode (older ccxt versions, some forks) reports precision
    as decimal places: the same markets must give the same ticks, steps and books, and ccxt's
    own rounding in that mode must agree with them."""
    by_ticks = await load_ccxt_markets(binance)
    places = ccxt_async.binance(
        {**sim.ccxt_config(), **LOCAL, "precisionMode": ccxt.DECIMAL_PLACES}
    )
    try:
        as_places = []
        for market in binance.markets.values():
            copy = dict(market)
            copy["precision"] = {
                "price": -Decimal(repr(market["precision"]["price"])).adjusted(),
                "amount": -Decimal(repr(market["precision"]["amount"])).adjusted(),
            }
            as_places.append(copy)
        places.set_markets(as_places)
        assert places.markets["BTC/USDT"]["precision"] == {"price": 2, "amount": 5}
        by_places = await load_ccxt_markets(places)
        assert by_places.venue == by_ticks.venue
        assert by_places.feed_markets() == by_ticks.feed_markets()
        for symbol, market in by_places.venue.items():
            price = 65000.123456789 if market.price_decimals < 5 else 0.123456789
            expected = Decimal(price).quantize(market.price_tick)  # not a halfway case
            assert Decimal(places.price_to_precision(symbol, price)) == expected
            assert Decimal(binance.price_to_precision(symbol, price)) == expected
    finally:
        await places.close()


async def test_feed_market_keeps_the_decimals_of_a_tick_that_is_not_a_power_of_ten() -> None:
    market = Market(
        "BTC/USD",
        "BTC",
        "USD",
        price_tick=Decimal("0.5"),
        amount_step=Decimal("0.0001"),
        taker_fee=Decimal("0.0026"),
    )
    assert feed_market(market) == market_of(SimMarket("BTC/USD", 1, 4))


async def test_exchange_info_is_binances_format_with_the_books_precision(
    sim: BinanceSimulator,
) -> None:
    response = await get_json(f"{sim.rest_url}/api/v3/exchangeInfo", timeout=2)
    body = response.body
    assert isinstance(body, dict)
    assert {"timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"} <= body.keys()
    assert response.headers["x-mbx-used-weight-1m"] == "20"
    by_symbol = {s["symbol"]: s for s in body["symbols"]}
    assert list(by_symbol) == ["BTCUSDT", "ETHUSDT", "DOGEUSDT"]
    doge = by_symbol["DOGEUSDT"]
    assert (doge["baseAsset"], doge["quoteAsset"], doge["status"]) == ("DOGE", "USDT", "TRADING")
    filters = {f["filterType"]: f for f in doge["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.00001000"
    assert filters["LOT_SIZE"]["stepSize"] == "1.00000000"
    assert filters["LOT_SIZE"]["minQty"] == "1.00000000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    # Every price of the book is on the advertised tick.
    depth = await get_json(f"{sim.rest_url}/api/v3/depth?symbol=DOGEUSDT&limit=50", timeout=2)
    assert isinstance(depth.body, dict)
    tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
    step = Decimal(filters["LOT_SIZE"]["stepSize"])
    for price, size in depth.body["bids"] + depth.body["asks"]:
        assert Decimal(price) % tick == 0
        assert Decimal(size) % step == 0


async def test_exchange_info_filters_by_symbol_and_refuses_unknown_ones(
    sim: BinanceSimulator,
) -> None:
    one = await get_json(f"{sim.rest_url}/api/v3/exchangeInfo?symbol=ETHUSDT", timeout=2)
    assert isinstance(one.body, dict)
    assert [s["symbol"] for s in one.body["symbols"]] == ["ETHUSDT"]
    query = 'symbols=["DOGEUSDT","BTCUSDT"]'
    two = await get_json(f"{sim.rest_url}/api/v3/exchangeInfo?{query}", timeout=2)
    assert isinstance(two.body, dict)
    assert [s["symbol"] for s in two.body["symbols"]] == ["DOGEUSDT", "BTCUSDT"]
    for bad, code in (("symbol=NOPE", -1121), ("symbols=[1", -1100)):
        with pytest.raises(HttpError) as raised:
            await get_json(f"{sim.rest_url}/api/v3/exchangeInfo?{bad}", timeout=2)
        assert raised.value.status == 400
        assert orjson.loads(raised.value.body)["code"] == code
    time_body = await get_json(f"{sim.rest_url}/api/v3/time", timeout=2)
    assert isinstance(time_body.body, dict)
    assert isinstance(time_body.body["serverTime"], int)


async def test_exchange_info_weighs_against_the_per_minute_limit() -> None:
    async with BinanceSimulator([SimMarket("BTC/USDT")], weight_limit=45) as sim:
        url = f"{sim.rest_url}/api/v3/exchangeInfo"
        await get_json(url, timeout=2)
        await get_json(url, timeout=2)
        with pytest.raises(HttpError) as raised:
            await get_json(url, timeout=2)
        assert raised.value.status == 429
        assert raised.value.retry_after is not None


def test_simulator_refuses_a_bad_min_notional() -> None:
    with pytest.raises(InvalidInput, match="min_notional"):
        BinanceSimulator([SimMarket("BTC/USDT")], min_notional="-1")
    with pytest.raises(InvalidInput, match="min_notional"):
        BinanceSimulator([SimMarket("BTC/USDT")], min_notional="0.000000001")
