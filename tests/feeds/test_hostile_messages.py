"""Hostile exchange messages: a level that is not a (price, size) pair of the exchange's types,
a message that names no product, deep nesting, out-of-range numbers. Each one is refused whole
(``MalformedMessage`` naming what is wrong), never partly applied, and never leaves a wrong
book live.

Each test pins one report of issue 10 (the feed parts); the seeded fuzzer in
``test_feed_fuzz.py`` covers the same ground over thousands of mutations.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson
import pytest
from feed_support import FAST, SIM_MARKETS, TruthSource, market_of, poll_until

from sor.feeds import (
    BinanceSpotAdapter,
    BookMarket,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    Feed,
    KrakenAdapter,
    MalformedMessage,
    OkxAdapter,
    SyncState,
    WeightLimiter,
)
from sor.feeds.exchanges.binance import parse_snapshot
from sor.sim import BinanceSimulator, CoinbaseSimulator, SimMarket

BTC_USDT = BookMarket("BTC/USDT", price_decimals=2, size_decimals=8)
BTC_USD = BookMarket("BTC/USD", price_decimals=2, size_decimals=8)
ETH_USD = BookMarket("ETH/USD", price_decimals=2, size_decimals=8)
COINBASE_MARKETS = (SimMarket("BTC/USD", mid="65000"), SimMarket("ETH/USD", mid="3000"))


def _binance_update(bids: object) -> bytes:
    return orjson.dumps(
        {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 10, "u": 11, "b": bids, "a": []}
    )


@pytest.mark.parametrize(
    ("bids", "named"),
    [
        (["65000"], "b[0]"),  # a level as a string: once read as price "6", size "5"
        ([["65000"]], "b[0]"),  # a pair of one
        ([[65000, "1"]], "b[0].price"),  # a number where Binance writes a string
        ([["65000", None]], "b[0].size"),
        ([{"price": "65000", "size": "1"}], "b[0]"),
    ],
)
def test_binance_depth_update_with_a_level_that_is_not_a_pair_of_strings_is_malformed(
    bids: object, named: str
) -> None:
    adapter = BinanceSpotAdapter([BTC_USDT])
    with pytest.raises(MalformedMessage, match="^" + re.escape(named)):
        adapter.parse(_binance_update(bids))


def test_binance_snapshot_with_a_level_as_a_string_is_malformed() -> None:
    body = {"lastUpdateId": 5, "bids": ["99"], "asks": [["100", "1"]]}
    with pytest.raises(MalformedMessage, match=r"bids\[0\]"):
        parse_snapshot("BTC/USDT", body)


def test_binance_depth_update_with_a_duplicated_key_is_malformed() -> None:
    # The core refuses it (serde: duplicate field); the Python reader would take the last one.
    payload = (
        b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":10,"u":11,'
        b'"b":[["65000","1"]],"a":[],"b":[["1","1"]]}'
    )
    with pytest.raises(MalformedMessage, match="duplicate field"):
        BinanceSpotAdapter([BTC_USDT]).parse(payload)


def test_binance_depth_update_with_update_ids_beyond_u64_is_malformed() -> None:
    payload = _binance_update([["65000", "1"]]).replace(b'"u":11', b'"u":' + b"9" * 30)
    with pytest.raises(MalformedMessage):
        BinanceSpotAdapter([BTC_USDT]).parse(payload)


def _bybit(kind: str, bids: object) -> bytes:
    return orjson.dumps(
        {
            "topic": "orderbook.200.BTCUSDT",
            "type": kind,
            "ts": 1,
            "data": {"s": "BTCUSDT", "b": bids, "a": [["65001", "1"]], "u": 7, "seq": 1},
        }
    )


@pytest.mark.parametrize("kind", ["snapshot", "delta"])
def test_bybit_level_as_a_string_is_malformed(kind: str) -> None:
    with pytest.raises(MalformedMessage, match=r"b\[0\]"):
        BybitSpotAdapter([BTC_USDT]).parse(_bybit(kind, ["65000"]))


def _okx(action: str, bids: object, *, with_ids: bool = True) -> bytes:
    entry: dict[str, object] = {
        "asks": [["65001", "1", "0", "1"]],
        "bids": bids,
        "ts": "1",
        "checksum": 0,
    }
    if with_ids:
        entry["prevSeqId"] = -1 if action == "snapshot" else 4
        entry["seqId"] = 5
    return orjson.dumps(
        {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [entry]}
    )


@pytest.mark.parametrize("action", ["snapshot", "update"])
def test_okx_level_as_a_string_is_malformed(action: str) -> None:
    with pytest.raises(MalformedMessage, match=r"bids\[0\]"):
        OkxAdapter([BTC_USDT]).parse(_okx(action, ["65000"]))


def _coinbase(event: dict[str, object], sequence: int = 1) -> bytes:
    return orjson.dumps(
        {
            "channel": "l2_data",
            "client_id": "",
            "timestamp": "2023-02-09T20:32:50.714964855Z",
            "sequence_num": sequence,
            "events": [event],
        }
    )


_COINBASE_UPDATE = {"side": "bid", "price_level": "65000", "new_quantity": "1"}


@pytest.mark.parametrize("product", [None, 5, ["BTC-USD"], "DOGE-USD"])
def test_coinbase_update_without_a_subscribed_product_resyncs_every_book(product: object) -> None:
    event: dict[str, object] = {"type": "update", "updates": [_COINBASE_UPDATE]}
    if product is not None:
        event["product_id"] = product
    adapter = CoinbaseAdvancedAdapter([BTC_USD, ETH_USD])
    with pytest.raises(MalformedMessage) as raised:
        adapter.parse(_coinbase(event))
    assert raised.value.symbol is None
    assert raised.value.resync_all


@pytest.mark.parametrize("field", ["side", "price_level", "new_quantity"])
def test_coinbase_level_field_that_is_a_list_is_malformed_not_a_type_error(field: str) -> None:
    update = {**_COINBASE_UPDATE, field: ["bid"]}
    event = {"type": "update", "product_id": "BTC-USD", "updates": [update]}
    with pytest.raises(MalformedMessage) as raised:
        CoinbaseAdvancedAdapter([BTC_USD]).parse(_coinbase(event))
    assert raised.value.symbol == "BTC/USD"


@pytest.mark.parametrize("channel", [None, 5, ["l2_data"]])
def test_coinbase_message_without_a_readable_channel_resyncs_every_book(channel: object) -> None:
    message = orjson.loads(
        _coinbase({"type": "update", "product_id": "BTC-USD", "updates": [_COINBASE_UPDATE]})
    )
    if channel is None:
        del message["channel"]
    else:
        message["channel"] = channel
    with pytest.raises(MalformedMessage) as raised:
        CoinbaseAdvancedAdapter([BTC_USD]).parse(orjson.dumps(message))
    assert raised.value.resync_all


def test_kraken_deeply_nested_json_is_malformed_not_a_recursion_error() -> None:
    payload = b'{"channel":"book","type":"update","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(MalformedMessage):
        KrakenAdapter([BTC_USD]).parse(payload)


@pytest.mark.parametrize("symbol", [["BTC/USD"], {"a": 1}, 5, None])
def test_kraken_non_string_symbol_is_malformed_not_a_type_error(symbol: object) -> None:
    payload = orjson.dumps(
        {
            "channel": "book",
            "type": "update",
            "data": [{"symbol": symbol, "bids": [], "asks": [], "checksum": 1}],
        }
    )
    with pytest.raises(MalformedMessage):
        KrakenAdapter([BTC_USD]).parse(payload)


@pytest.mark.parametrize(
    "level",
    [
        b'"65000.5"',  # a level as a string
        b'{"price":"65000.5","qty":1.5}',  # a string where Kraken writes a number
        b'{"price":65000.5,"qty":[1.5]}',
        b'{"price":65000.5}',
        b"[65000.5,1.5]",
    ],
)
def test_kraken_level_that_is_not_a_price_and_qty_of_numbers_is_malformed(level: bytes) -> None:
    payload = (
        b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":['
        + level
        + b'],"asks":[],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]}'
    )
    with pytest.raises(MalformedMessage, match=r"bids\[0\]") as raised:
        KrakenAdapter([BTC_USD]).parse(payload)
    assert raised.value.symbol == "BTC/USD"


# -- the feed against the simulators: a hostile update never leaves a wrong book live ---------


def _without_product_id(payload: bytes) -> bytes:
    message = orjson.loads(payload)
    for event in message["events"]:
        del event["product_id"]
    return orjson.dumps(message)


async def test_coinbase_update_without_product_id_resyncs_every_book() -> None:
    async with CoinbaseSimulator(COINBASE_MARKETS, seed=5, heartbeat_interval=0.05) as sim:
        adapter = CoinbaseAdvancedAdapter(
            [market_of(m) for m in COINBASE_MARKETS], ws_url=sim.ws_url
        )
        async with Feed(adapter, FAST) as feed:
            await feed.wait_live(timeout=5)
            await sim.publish(20)
            await poll_until(lambda: _equal_truth(feed, sim), what="books equal to the truth")
            resyncs = feed.stats.resyncs
            sim.mutate_next("BTC/USD", _without_product_id)
            await sim.publish(1, "BTC/USD")  # the true book moves; the feed cannot tell whose
            await poll_until(lambda: feed.stats.malformed == 1, what="the malformed update")
            assert feed.stats.resyncs == resyncs + 2, "every product it could have touched"
            await feed.wait_live(timeout=5)
            await sim.publish(50)
            await poll_until(lambda: _equal_truth(feed, sim), what="books equal to the truth")


@pytest.mark.parametrize("side", ["b", "a"])
async def test_binance_level_as_a_string_is_refused_and_the_book_resyncs(side: str) -> None:
    async with BinanceSimulator(SIM_MARKETS, seed=7) as sim:
        adapter = BinanceSpotAdapter(
            [market_of(m) for m in SIM_MARKETS],
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            request_timeout=2.0,
            limiter=WeightLimiter(6_000, min_interval=0.0),
        )
        async with Feed(adapter, FAST) as feed:
            await poll_until(lambda: all(sim.subscribers(s) for s in sim.symbols))
            for symbol in sim.symbols:
                await sim.publish(10, symbol)
            await feed.wait_live(timeout=5)
            sim.mutate_next("BTC/USDT", _first_level_as_string(side))
            await sim.publish(1, "BTC/USDT")
            await poll_until(lambda: feed.stats.malformed == 1, what="the malformed update")
            assert feed.stats.resyncs == 1
            assert feed.state("BTC/USDT") is not SyncState.LIVE or _equal_truth(feed, sim)
            await sim.publish(10, "BTC/USDT")
            await poll_until(lambda: _equal_truth(feed, sim), what="books equal to the truth")


def _first_level_as_string(key: str) -> Callable[[bytes], bytes]:
    """Rewrites the first level of the message's ``key`` array as its price alone, or, if that
    side has no level, adds one (``"65000"``)."""

    def rewrite(payload: bytes) -> bytes:
        message = orjson.loads(payload)
        levels = message[key]
        if levels:
            levels[0] = levels[0][0]
        else:
            levels.append("65000")
        return orjson.dumps(message)

    return rewrite


def _equal_truth(feed: Feed, sim: TruthSource) -> bool:
    return all(
        feed.state(symbol) is SyncState.LIVE and feed.book(symbol) == sim.true_book(symbol)
        for symbol in feed.symbols
    )
