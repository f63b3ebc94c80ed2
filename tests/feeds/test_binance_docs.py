"""The Binance spot adapter on the sample messages of Binance's own documentation.

Samples are copied from https://github.com/binance/binance-spot-api-docs (the source of
https://developers.binance.com/docs/binance-spot-api-docs):
``web-socket-streams.md`` (sections "Diff. Depth Stream", "Server Shutdown", "Live
Subscribing/Unsubscribing to streams", "Error Messages") and ``rest-api.md`` ("Order book").
"""

from __future__ import annotations

import random
from decimal import Decimal

import orjson
import pytest

from sor.feeds import (
    Backoff,
    BinanceSpotAdapter,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    Control,
    MalformedMessage,
    Outcome,
    Reconnect,
)
from sor.feeds.exchanges.binance import binance_symbol, depth_weight, parse_snapshot

# web-socket-streams.md, "Diff. Depth Stream", the payload with its comments removed.
DIFF_DEPTH_SAMPLE = b"""{
    "e": "depthUpdate",
    "E": 1672515782136,
    "s": "BNBBTC",
    "U": 157,
    "u": 160,
    "b": [["0.0024", "10"]],
    "a": [["0.0026", "100"]]
}"""

# rest-api.md, "Order book" (GET /api/v3/depth), the response.
DEPTH_SNAPSHOT_SAMPLE = b"""{
    "lastUpdateId": 1027024,
    "bids": [["4.00000000", "431.00000000"]],
    "asks": [["4.00000200", "12.00000000"]]
}"""

# web-socket-streams.md, "Live Subscribing/Unsubscribing to streams".
SUBSCRIBE_REQUEST_SAMPLE = {
    "method": "SUBSCRIBE",
    "params": ["btcusdt@aggTrade", "btcusdt@depth"],
    "id": 1,
}
SUBSCRIBE_RESPONSE_SAMPLE = b'{"result": null, "id": 1}'

# web-socket-streams.md, "Server Shutdown": raw and combined streams.
SERVER_SHUTDOWN_SAMPLES = (
    b'{"e": "serverShutdown", "E": 1770123456789}',
    b'{"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1770123456789}}',
)

# web-socket-streams.md, "Error Messages".
ERROR_SAMPLES = (
    b'{"code": 0, "msg": "Unknown property","id": 1}',
    b'{"code": 2, "msg": "Invalid request: property name must be a string"}',
    b'{"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}',
)

BNBBTC = BookMarket("BNB/BTC", price_decimals=8, size_decimals=8)


def adapter(*markets: BookMarket) -> BinanceSpotAdapter:
    return BinanceSpotAdapter(
        list(markets) or [BNBBTC], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9"
    )


def test_diff_depth_sample_becomes_a_delta_of_the_unified_symbol() -> None:
    (event,) = adapter().parse(DIFF_DEPTH_SAMPLE)
    assert isinstance(event, BookDelta)
    assert event.symbol == "BNB/BTC"
    assert (event.first_sequence, event.final_sequence) == (157, 160)
    assert event.changes == [("bid", "0.0024", "10"), ("ask", "0.0026", "100")]
    assert event.checksum is None
    assert event.previous_sequence is None


def test_diff_depth_sample_wrapped_in_a_combined_stream_is_read_the_same() -> None:
    wrapped = b'{"stream":"bnbbtc@depth","data":' + DIFF_DEPTH_SAMPLE + b"}"
    assert adapter().parse(wrapped) == adapter().parse(DIFF_DEPTH_SAMPLE)


def test_levels_with_an_extra_ignored_element_are_accepted() -> None:
    # Earlier versions of the same documentation showed a third, ignored element per level.
    message = orjson.loads(DIFF_DEPTH_SAMPLE)
    message["b"] = [["0.0024", "10", []]]
    (event,) = adapter().parse(orjson.dumps(message))
    assert isinstance(event, BookDelta)
    assert event.changes[0] == ("bid", "0.0024", "10")


def test_depth_snapshot_sample_becomes_a_snapshot() -> None:
    snapshot = parse_snapshot("BNB/BTC", orjson.loads(DEPTH_SNAPSHOT_SAMPLE))
    assert snapshot == BookSnapshot(
        "BNB/BTC", 1027024, [("4.00000000", "431.00000000")], [("4.00000200", "12.00000000")]
    )


def test_documented_procedure_on_the_samples_drops_the_event_older_than_the_snapshot() -> None:
    source = adapter()
    sync = BookSync(
        "BNB/BTC",
        source.new_book("BNB/BTC"),
        source,
        Backoff(rng=random.Random(0)),
        max_buffer=10,
        now=0.0,
    )
    (event,) = source.parse(DIFF_DEPTH_SAMPLE)
    assert isinstance(event, BookDelta)
    assert sync.on_delta(event, now=1.0) is Outcome.BUFFERED
    snapshot = parse_snapshot("BNB/BTC", orjson.loads(DEPTH_SNAPSHOT_SAMPLE))
    # u = 160 <= lastUpdateId = 1027024: the event is already in the snapshot.
    assert sync.on_snapshot(snapshot, now=2.0) is Outcome.LIVE
    book = sync.book
    assert book.sequence == 1027024
    assert [(lv.price, lv.size) for lv in book.levels("bid")] == [(Decimal("4"), Decimal("431"))]
    assert [(lv.price, lv.size) for lv in book.levels("ask")] == [
        (Decimal("4.000002"), Decimal("12"))
    ]


def test_subscription_request_has_the_documented_shape() -> None:
    source = adapter(BookMarket("BTC/USDT", 2, 8), BookMarket("ETH/USDT", 2, 8))
    (message,) = source.subscribe_messages()
    request = orjson.loads(message)
    assert request.keys() == SUBSCRIBE_REQUEST_SAMPLE.keys()
    assert request["method"] == "SUBSCRIBE"
    assert request["params"] == ["btcusdt@depth@100ms", "ethusdt@depth@100ms"]
    assert isinstance(request["id"], int)


def test_subscription_response_is_a_control_message() -> None:
    (event,) = adapter().parse(SUBSCRIBE_RESPONSE_SAMPLE)
    assert isinstance(event, Control)


@pytest.mark.parametrize("sample", SERVER_SHUTDOWN_SAMPLES, ids=["raw", "combined"])
def test_server_shutdown_asks_for_a_reconnect(sample: bytes) -> None:
    (event,) = adapter().parse(sample)
    assert isinstance(event, Reconnect)


@pytest.mark.parametrize("sample", ERROR_SAMPLES)
def test_documented_error_messages_are_malformed_for_the_feed(sample: bytes) -> None:
    with pytest.raises(MalformedMessage, match="error response"):
        adapter().parse(sample)


@pytest.mark.parametrize(
    ("change", "symbol"),
    [
        (lambda m: m.pop("U"), "BNB/BTC"),
        (lambda m: m.update(U=True), "BNB/BTC"),
        (lambda m: m.update(U=161), "BNB/BTC"),  # U > u
        (lambda m: m.update(b="0.0024"), "BNB/BTC"),
        (lambda m: m.update(a=[["0.0026"]]), "BNB/BTC"),
        (lambda m: m.update(a=[{"price": "0.0026"}]), "BNB/BTC"),
        (lambda m: m.update(s="ETHBTC"), None),  # not subscribed: no book to blame
        (lambda m: m.update(e="trade"), None),
    ],
    ids=[
        "missing U",
        "bool U",
        "U after u",
        "bids not a list",
        "short level",
        "level object",
        "unknown symbol",
        "unexpected event",
    ],
)
def test_malformed_updates_name_the_book_they_were_for_when_known(
    change: object, symbol: str | None
) -> None:
    message = orjson.loads(DIFF_DEPTH_SAMPLE)
    change(message)  # type: ignore[operator]
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(orjson.dumps(message))
    assert raised.value.symbol == symbol


@pytest.mark.parametrize("data", [b'{"e":"depthUpdate","E":1', b"[1, 2]", b"null", b"\xff"])
def test_unreadable_messages_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        adapter().parse(data)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"bids": [], "asks": []},
        {"lastUpdateId": "1", "bids": [], "asks": []},
        {"lastUpdateId": 1, "bids": {}, "asks": []},
        {"lastUpdateId": 1, "bids": [["1"]], "asks": []},
    ],
)
def test_malformed_snapshot_bodies_are_refused(body: object) -> None:
    with pytest.raises(MalformedMessage):
        parse_snapshot("BNB/BTC", body)


def test_depth_request_weights_follow_the_documented_table() -> None:
    # rest-api.md, "Order book": limits 1-100: 5, 101-500: 25, 501-1000: 50, 1001-5000: 250.
    assert [depth_weight(n) for n in (1, 100, 101, 500, 501, 1000, 1001, 5000)] == [
        5,
        5,
        25,
        25,
        50,
        50,
        250,
        250,
    ]


def test_unified_symbols_map_to_binance_names() -> None:
    assert binance_symbol("BTC/USDT") == "BTCUSDT"
    assert adapter(BookMarket("BTC/USDT", 2, 8)).stream_name("BTC/USDT") == "btcusdt@depth@100ms"
