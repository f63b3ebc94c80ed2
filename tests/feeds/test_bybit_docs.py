"""The Bybit spot adapter on the sample messages of Bybit's own documentation.

Samples are copied from https://github.com/bybit-exchange/docs (the source of
https://bybit-exchange.github.io/docs/v5/): ``docs/v5/websocket/public/orderbook.mdx``
("Response Example": snapshot and delta; the snapshot's ``...`` elisions removed) and
``docs/v5/websocket/wss-authentication.mdx`` (the "Connect" page: subscribing, the subscription
response of public spot, the heartbeat and its pong messages).
"""

from __future__ import annotations

import random
from decimal import Decimal

import orjson
import pytest

from sor.feeds import (
    Backoff,
    BackoffPolicy,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    BybitSpotAdapter,
    Control,
    MalformedMessage,
    Outcome,
    SequenceVerdict,
)
from sor.feeds.exchanges.bybit import bybit_symbol

# orderbook.mdx, "Response Example", Snapshot.
SNAPSHOT_SAMPLE = b"""{
    "topic": "orderbook.50.BTCUSDT",
    "type": "snapshot",
    "ts": 1672304484978,
    "data": {
        "s": "BTCUSDT",
        "b": [
            ["16493.50", "0.006"],
            ["16493.00", "0.100"]
        ],
        "a": [
            ["16611.00", "0.029"],
            ["16612.00", "0.213"]
        ],
    "u": 18521288,
    "seq": 7961638724
    },
    "cts": 1672304484976
}"""

# orderbook.mdx, "Response Example", Delta.
DELTA_SAMPLE = b"""{
    "topic": "orderbook.50.BTCUSDT",
    "type": "delta",
    "ts": 1687940967466,
    "data": {
        "s": "BTCUSDT",
        "b": [
            ["30247.20", "30.028"],
            ["30245.40", "0.224"],
            ["30242.10", "1.593"],
            ["30240.30", "1.305"],
            ["30240.00", "0"]
        ],
        "a": [
            ["30248.70", "0"],
            ["30249.30", "0.892"],
            ["30249.50", "1.778"],
            ["30249.60", "0"],
            ["30251.90", "2.947"],
            ["30252.20", "0.659"],
            ["30252.50", "4.591"]
        ],
        "u": 177400507,
        "seq": 66544703342
    },
    "cts": 1687940967464
}"""

# Connect page, "Understanding the Subscription Response", Public Spot.
SUBSCRIBE_RESPONSE_SAMPLE = b"""{
    "success": true,
    "ret_msg": "subscribe",
    "conn_id": "2324d924-aa4d-45b0-a858-7b8be29ab52b",
    "req_id": "10001",
    "op": "subscribe"
}"""

# Connect page, "How to Send the Heartbeat Packet": pongs of spot, linear/inverse, option.
PONG_SAMPLES = (
    b"""{"success": true, "ret_msg": "pong",
        "conn_id": "0970e817-426e-429a-a679-ff7f55e0b16a", "op": "ping"}""",
    b"""{"success": true, "ret_msg": "pong",
        "conn_id": "465772b1-7630-4fdc-a492-e003e6f0f260", "req_id": "", "op": "ping"}""",
    b'{"args": ["1672916271846"], "op": "pong"}',
)

# Connect page: "Subscribing with multiple symbols and topics is supported."
SUBSCRIBE_REQUEST_SAMPLE = {
    "req_id": "test",
    "op": "subscribe",
    "args": ["orderbook.1.BTCUSDT", "publicTrade.BTCUSDT", "orderbook.1.ETHUSDT"],
}

BTCUSDT = BookMarket("BTC/USDT", price_decimals=2, size_decimals=6)


def adapter(*markets: BookMarket, depth: int = 50, strict_gaps: bool = True) -> BybitSpotAdapter:
    return BybitSpotAdapter(
        list(markets) or [BTCUSDT],
        ws_url="ws://127.0.0.1:9",
        depth=depth,
        strict_gaps=strict_gaps,
    )


def delta(update_id: int, bids: list[list[str]], asks: list[list[str]]) -> bytes:
    message = orjson.loads(DELTA_SAMPLE)
    message["data"].update(u=update_id, b=bids, a=asks)
    return orjson.dumps(message)


def test_snapshot_sample_becomes_a_snapshot_at_its_update_id() -> None:
    (event,) = adapter().parse(SNAPSHOT_SAMPLE)
    assert event == BookSnapshot(
        "BTC/USDT",
        18521288,
        bids=[("16493.50", "0.006"), ("16493.00", "0.100")],
        asks=[("16611.00", "0.029"), ("16612.00", "0.213")],
    )


def test_delta_sample_becomes_a_delta_with_its_zero_sizes_as_removals() -> None:
    (event,) = adapter().parse(DELTA_SAMPLE)
    assert isinstance(event, BookDelta)
    assert (event.symbol, event.first_sequence, event.final_sequence) == (
        "BTC/USDT",
        177400507,
        177400507,
    )
    assert event.changes[:2] == [("bid", "30247.20", "30.028"), ("bid", "30245.40", "0.224")]
    assert ("bid", "30240.00", "0") in event.changes
    assert ("ask", "30248.70", "0") in event.changes
    assert len(event.changes) == 12


def test_delta_applies_to_a_snapshot_as_the_documented_rules_say() -> None:
    bybit = adapter()
    sync = BookSync(
        "BTC/USDT",
        bybit.new_book("BTC/USDT"),
        bybit,
        Backoff(BackoffPolicy(), random.Random(0)),
        max_buffer=10,
        now=0.0,
    )
    (snapshot,) = bybit.parse(SNAPSHOT_SAMPLE)
    assert isinstance(snapshot, BookSnapshot)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    # "If you receive an amount that is 0, delete the entry; an amount that does not exist,
    # insert it; if the entry exists, update the value."
    (change,) = bybit.parse(
        delta(18521289, [["16493.50", "0"], ["16493.20", "1.5"]], [["16611.00", "0.5"]])
    )
    assert isinstance(change, BookDelta)
    assert sync.on_delta(change, now=2.0) is Outcome.APPLIED
    book = sync.book
    assert [(level.price, level.size) for level in book.levels("bid")] == [
        (Decimal("16493.2"), Decimal("1.5")),
        (Decimal("16493"), Decimal("0.1")),
    ]
    assert book.best_ask() is not None
    assert book.best_ask().size == Decimal("0.5")  # type: ignore[union-attr]
    assert book.sequence == 18521289


def test_a_snapshot_mid_stream_replaces_the_book() -> None:
    bybit = adapter()
    sync = BookSync(
        "BTC/USDT",
        bybit.new_book("BTC/USDT"),
        bybit,
        Backoff(BackoffPolicy(), random.Random(0)),
        max_buffer=10,
        now=0.0,
    )
    (first,) = bybit.parse(SNAPSHOT_SAMPLE)
    assert isinstance(first, BookSnapshot)
    sync.on_snapshot(first, now=1.0)
    message = orjson.loads(SNAPSHOT_SAMPLE)
    message["data"].update(u=18521300, b=[["16400.00", "1.000"]], a=[["16700.00", "2.000"]])
    (second,) = bybit.parse(orjson.dumps(message))
    assert isinstance(second, BookSnapshot)
    assert sync.on_snapshot(second, now=2.0) is Outcome.LIVE
    assert [level.price for level in sync.book.levels("bid")] == [Decimal("16400")]
    assert [level.price for level in sync.book.levels("ask")] == [Decimal("16700")]


def test_delta_with_update_id_1_is_a_restart_snapshot_sorted_best_first() -> None:
    data = delta(1, [["30240.00", "1"], ["30247.20", "2"], ["30245.40", "0"]], [["30252.50", "3"]])
    (event,) = adapter().parse(data)
    assert event == BookSnapshot(
        "BTC/USDT",
        1,
        bids=[("30247.20", "2"), ("30240.00", "1")],
        asks=[("30252.50", "3")],
    )


def test_verdict_follows_update_ids_of_the_topic() -> None:
    bybit = adapter()
    assert bybit.verdict(100, BookDelta("BTC/USDT", 101, 101, [])) is SequenceVerdict.APPLY
    assert bybit.verdict(100, BookDelta("BTC/USDT", 100, 100, [])) is SequenceVerdict.SKIP
    assert bybit.verdict(100, BookDelta("BTC/USDT", 103, 103, [])) is SequenceVerdict.GAP
    lenient = adapter(strict_gaps=False)
    assert lenient.verdict(100, BookDelta("BTC/USDT", 103, 103, [])) is SequenceVerdict.APPLY
    assert lenient.verdict(100, BookDelta("BTC/USDT", 99, 99, [])) is SequenceVerdict.SKIP


def test_subscription_response_and_every_documented_pong_are_control_messages() -> None:
    bybit = adapter()
    assert bybit.parse(SUBSCRIBE_RESPONSE_SAMPLE) == (Control("subscribe acknowledged"),)
    for pong in PONG_SAMPLES:
        assert bybit.parse(pong) == (Control("pong"),)


def test_requests_have_the_documented_shape() -> None:
    markets = [BookMarket(f"C{i}/USDT", 2, 2) for i in range(12)]
    bybit = adapter(*markets, depth=200)
    requests = [orjson.loads(m) for m in bybit.subscribe_messages()]
    assert [len(r["args"]) for r in requests] == [10, 2], "spot: at most 10 args per request"
    for request in requests:
        assert request.keys() == SUBSCRIBE_REQUEST_SAMPLE.keys()
        assert request["op"] == "subscribe"
    assert requests[0]["args"][0] == "orderbook.200.C0USDT"
    unsubscribe, subscribe = [orjson.loads(m) for m in bybit.resubscribe_messages("C3/USDT")]
    assert (unsubscribe["op"], unsubscribe["args"]) == ("unsubscribe", ["orderbook.200.C3USDT"])
    assert (subscribe["op"], subscribe["args"]) == ("subscribe", ["orderbook.200.C3USDT"])
    ping = orjson.loads(bybit.heartbeat_message())
    assert ping["op"] == "ping"
    assert isinstance(ping["req_id"], str)
    assert bybit.heartbeat_interval == 20.0


@pytest.mark.parametrize("depth", [1, 50, 200, 1000])
def test_spot_depths_are_accepted(depth: int) -> None:
    assert adapter(depth=depth).topic("BTC/USDT") == f"orderbook.{depth}.BTCUSDT"


@pytest.mark.parametrize("depth", [0, 25, 500])
def test_other_depths_are_refused(depth: int) -> None:
    with pytest.raises(ValueError, match="depth"):
        adapter(depth=depth)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"topic":"orderbook.50.BTCUSDT","type":', "invalid JSON"),
        (b"[]", "expected a JSON object"),
        (
            b'{"success":false,"ret_msg":"error:already subscribed,topic:orderbook.50.BTCUSDT",'
            b'"conn_id":"x","op":"subscribe"}',
            "already subscribed",
        ),
        (b'{"topic":"orderbook.50.ETHUSDT","type":"delta","data":{}}', "not subscribed"),
        (b'{"op":"auth","success":true}', "unexpected message"),
    ],
    ids=["truncated", "not-an-object", "refused", "other-topic", "unexpected"],
)
def test_unreadable_messages_are_malformed_without_a_symbol(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(data)
    assert reason in str(raised.value)
    assert raised.value.symbol is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("u", 0), ("u", "18521288"), ("b", {}), ("a", [["1"]]), ("type", "partial")],
)
def test_bad_book_message_is_malformed_for_its_symbol(field: str, value: object) -> None:
    message = orjson.loads(DELTA_SAMPLE)
    if field == "type":
        message["type"] = value
    else:
        message["data"][field] = value
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(orjson.dumps(message))
    assert raised.value.symbol == "BTC/USDT"


def test_symbols_are_the_unified_symbols_without_the_slash() -> None:
    assert bybit_symbol("BTC/USDT") == "BTCUSDT"
    assert bybit_symbol("eth/usdc") == "ETHUSDC"
