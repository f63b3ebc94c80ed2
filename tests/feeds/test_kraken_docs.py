"""The Kraken v2 adapter on the sample messages of Kraken's documentation (no network).

Samples from https://docs.kraken.com/api/docs/websocket-v2/book (subscribe, acks, the
MATIC/USD snapshot and update), https://docs.kraken.com/api/docs/guides/spot-ws-book-v2 (the
BTC/USD checksum example), https://docs.kraken.com/api/docs/websocket-v2/heartbeat,
https://docs.kraken.com/api/docs/websocket-v2/status and .../websocket-v2/ping.
"""

from __future__ import annotations

import random
from decimal import Decimal

import orjson
import pytest

from sor.feeds import (
    Backoff,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    Control,
    KrakenAdapter,
    MalformedMessage,
    Outcome,
)
from sor.feeds.exchanges.kraken import decode_exact

MATIC = BookMarket("MATIC/USD", price_decimals=4, size_decimals=8)
ALGO = BookMarket("ALGO/USD", price_decimals=5, size_decimals=8)

SNAPSHOT = b"""{
    "channel": "book",
    "type": "snapshot",
    "data": [
        {
            "symbol": "MATIC/USD",
            "bids": [
                {"price": 0.5666, "qty": 4831.75496356},
                {"price": 0.5665, "qty": 6658.22734739},
                {"price": 0.5664, "qty": 18724.91513344},
                {"price": 0.5663, "qty": 11563.92544914},
                {"price": 0.5662, "qty": 14006.65365711},
                {"price": 0.5661, "qty": 17454.85679807},
                {"price": 0.566, "qty": 18097.1547},
                {"price": 0.5659, "qty": 33644.89175666},
                {"price": 0.5658, "qty": 148.3464},
                {"price": 0.5657, "qty": 606.70854372}
            ],
            "asks": [
                {"price": 0.5668, "qty": 4410.79769741},
                {"price": 0.5669, "qty": 4655.40412487},
                {"price": 0.567, "qty": 49844.89424998},
                {"price": 0.5671, "qty": 24306.41678},
                {"price": 0.5672, "qty": 29783.25223475},
                {"price": 0.5673, "qty": 57234.71239278},
                {"price": 0.5674, "qty": 45065.04744},
                {"price": 0.5675, "qty": 5912.76380354},
                {"price": 0.5676, "qty": 42514.92434778},
                {"price": 0.5677, "qty": 36304.0847022}
            ],
            "checksum": 2439117997,
            "timestamp": "2023-10-06T17:35:55.440295Z"
        }
    ]
}"""

UPDATE = b"""{
    "channel": "book",
    "type": "update",
    "data": [
        {
            "symbol": "MATIC/USD",
            "bids": [
                {"price": 0.5657, "qty": 1098.3947558}
            ],
            "asks": [],
            "checksum": 2114181697,
            "timestamp": "2023-10-06T17:35:55.440295Z"
        }
    ]
}"""

# The checksum guide's BTC/USD book (price precision 1, qty precision 8), checksum 3310070434.
GUIDE_BIDS = [
    (45283.5, 0.10000000),
    (45283.4, 1.54582015),
    (45282.1, 0.10000000),
    (45281.0, 0.10000000),
    (45280.3, 1.54592586),
    (45279.0, 0.07990000),
    (45277.6, 0.03310103),
    (45277.5, 0.30000000),
    (45277.3, 1.54602737),
    (45276.6, 0.15445238),
]
GUIDE_ASKS = [
    (45285.2, 0.00100000),
    (45286.4, 1.54571953),
    (45286.6, 1.54571109),
    (45289.6, 1.54560911),
    (45290.2, 0.15890660),
    (45291.8, 1.54553491),
    (45294.7, 0.04454749),
    (45296.1, 0.35380000),
    (45297.5, 0.09945542),
    (45299.5, 0.18772827),
]


def adapter(*markets: BookMarket, depth: int = 10) -> KrakenAdapter:
    return KrakenAdapter(list(markets or (MATIC,)), depth=depth, ws_url="ws://127.0.0.1:9/v2")


def new_sync(source: KrakenAdapter, symbol: str) -> BookSync:
    return BookSync(
        symbol,
        source.new_book(symbol),
        source,
        Backoff(rng=random.Random(1)),
        max_buffer=10,
        now=0.0,
    )


def test_subscribe_request_has_the_documented_shape() -> None:
    (message,) = adapter(ALGO, MATIC).subscribe_messages()
    assert orjson.loads(message) == {
        "method": "subscribe",
        "params": {
            "channel": "book",
            "symbol": ["ALGO/USD", "MATIC/USD"],
            "depth": 10,
            "snapshot": True,
        },
        "req_id": 1,
    }


def test_resubscribing_one_symbol_unsubscribes_then_subscribes_it_at_the_same_depth() -> None:
    unsubscribe, subscribe = adapter(ALGO, MATIC, depth=100).resubscribe_messages("MATIC/USD")
    assert orjson.loads(unsubscribe)["method"] == "unsubscribe"
    assert orjson.loads(unsubscribe)["params"] == {
        "channel": "book",
        "symbol": ["MATIC/USD"],
        "depth": 100,
    }
    assert orjson.loads(subscribe)["params"] == {
        "channel": "book",
        "symbol": ["MATIC/USD"],
        "depth": 100,
        "snapshot": True,
    }


def test_documented_snapshot_parses_exactly_and_its_checksum_verifies() -> None:
    source = adapter()
    snapshot, check = source.parse(SNAPSHOT)
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.symbol == "MATIC/USD"
    assert snapshot.bids[0] == ("0.5666", "4831.75496356"), "the wire text, never a float"
    assert snapshot.bids[6] == ("0.566", "18097.1547")
    assert snapshot.asks[9] == ("0.5677", "36304.0847022")
    assert isinstance(check, BookDelta)
    assert (check.changes, check.checksum) == ([], 2439117997)
    sync = new_sync(source, "MATIC/USD")
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    assert sync.on_delta(check, now=1.0) is Outcome.APPLIED, "the snapshot's checksum matches"
    assert sync.book.kraken_checksum() == 2439117997


def test_documented_update_applies_and_its_checksum_verifies() -> None:
    source = adapter()
    sync = new_sync(source, "MATIC/USD")
    for event in source.parse(SNAPSHOT):
        if isinstance(event, BookSnapshot):
            sync.on_snapshot(event, now=1.0)
        else:
            assert isinstance(event, BookDelta)
            sync.on_delta(event, now=1.0)
    (update,) = source.parse(UPDATE)
    assert isinstance(update, BookDelta)
    assert update.changes == [("bid", "0.5657", "1098.3947558")]
    assert update.checksum == 2114181697
    assert update.first_sequence == sync.book.sequence + 1
    assert sync.on_delta(update, now=2.0) is Outcome.APPLIED
    worst_bid = sync.book.levels("bid")[-1]
    assert (worst_bid.price, worst_bid.size) == (Decimal("0.5657"), Decimal("1098.3947558"))


def test_checksum_guide_example_verifies_from_a_message_of_json_numbers() -> None:
    btc = BookMarket("BTC/USD", price_decimals=1, size_decimals=8)
    data = {
        "symbol": "BTC/USD",
        "bids": [{"price": p, "qty": q} for p, q in GUIDE_BIDS],
        "asks": [{"price": p, "qty": q} for p, q in GUIDE_ASKS],
        "checksum": 3310070434,
        "timestamp": "2023-10-06T17:35:55.440295Z",
    }
    message = orjson.dumps({"channel": "book", "type": "snapshot", "data": [data]})
    source = adapter(btc)
    snapshot, check = source.parse(message)
    assert isinstance(snapshot, BookSnapshot)
    assert isinstance(check, BookDelta)
    sync = new_sync(source, "BTC/USD")
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    assert sync.on_delta(check, now=1.0) is Outcome.APPLIED
    assert sync.book.kraken_checksum() == 3310070434


def test_wrong_checksum_on_the_documented_update_is_reported() -> None:
    source = adapter()
    sync = new_sync(source, "MATIC/USD")
    snapshot, check = source.parse(SNAPSHOT)
    assert isinstance(snapshot, BookSnapshot)
    assert isinstance(check, BookDelta)
    sync.on_snapshot(snapshot, now=1.0)
    sync.on_delta(check, now=1.0)
    (update,) = source.parse(UPDATE.replace(b"2114181697", b"2114181698"))
    assert isinstance(update, BookDelta)
    assert sync.on_delta(update, now=2.0) is Outcome.CHECKSUM_FAILED


@pytest.mark.parametrize(
    ("message", "description"),
    [
        (
            b'{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,'
            b'"symbol":"MATIC/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z",'
            b'"time_out":"2023-10-06T17:35:55.219067Z"}',
            "subscribed MATIC/USD",
        ),
        (
            b'{"method":"unsubscribe","result":{"channel":"book","depth":10,"snapshot":true,'
            b'"symbol":"MATIC/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z",'
            b'"time_out":"2023-10-06T17:35:55.219067Z"}',
            "unsubscribed MATIC/USD",
        ),
        (b'{"channel":"heartbeat"}', "heartbeat"),
        (
            b'{"channel":"status","data":[{"api_version":"v2","connection_id":'
            b'12393906104898154338,"system":"online","version":"2.0.0"}],"type":"update"}',
            "status: online",
        ),
        (
            b'{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z",'
            b'"time_out":"2023-09-24T14:10:23.799703Z"}',
            "pong",
        ),
        (
            b'{"error":"Currency pair not supported XYZ/USD","method":"subscribe",'
            b'"success":false,"symbol":"XYZ/USD","time_in":"2023-10-06T17:35:55.219022Z",'
            b'"time_out":"2023-10-06T17:35:55.219067Z"}',
            "subscribe refused: Currency pair not supported XYZ/USD",
        ),
    ],
    ids=["subscribe-ack", "unsubscribe-ack", "heartbeat", "status", "pong", "subscribe-error"],
)
def test_documented_control_messages_carry_no_book_data(message: bytes, description: str) -> None:
    assert adapter().parse(message) == [Control(description)]


def test_quantities_beyond_float_precision_keep_every_digit() -> None:
    # 18 significant digits: a float would turn this into 9007199254.740993.
    message = UPDATE.replace(b"1098.3947558", b"9007199254.74099317")
    (update,) = adapter().parse(message)
    assert isinstance(update, BookDelta)
    assert update.changes == [("bid", "0.5657", "9007199254.74099317")]
    assert decode_exact(b'{"price": 1e-8, "qty":12, "x": 0.10}') == {
        "price": "1e-8",
        "qty": 12,
        "x": "0.10",
    }


@pytest.mark.parametrize(
    ("message", "symbol"),
    [
        (b'{"channel":"book","type":"update","data":[{"sy', None),
        (b"[1, 2]", None),
        (b'{"foo": 1}', None),
        (b'{"channel":"book","type":"update","data":[{"symbol":"DOGE/USD","bids":[]}]}', None),
        (
            b'{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[]}]}',
            "MATIC/USD",
        ),
        (
            b'{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD",'
            b'"bids":[{"price":"x","qty":null}],"asks":[],"checksum":1}]}',
            "MATIC/USD",
        ),
        (
            b'{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD",'
            b'"bids":[],"asks":[],"checksum":-1}]}',
            "MATIC/USD",
        ),
    ],
    ids=[
        "truncated",
        "not-an-object",
        "unknown-shape",
        "unknown-symbol",
        "no-checksum",
        "bad-level",
        "bad-checksum",
    ],
)
def test_unreadable_messages_are_malformed_and_name_their_book_when_known(
    message: bytes, symbol: str | None
) -> None:
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(message)
    assert raised.value.symbol == symbol


def test_unified_symbols_map_to_kraken_v2_names() -> None:
    source = adapter(BookMarket("XBT/USD", 1, 8), BookMarket("ETH/USD", 2, 8))
    (message,) = source.subscribe_messages()
    assert orjson.loads(message)["params"]["symbol"] == ["BTC/USD", "ETH/USD"]
    events = source.parse(
        b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],'
        b'"asks":[{"price":65000.1,"qty":1.5}],"checksum":7}]}'
    )
    assert [event.symbol for event in events] == ["XBT/USD"]  # type: ignore[union-attr]


def test_only_documented_depths_are_accepted() -> None:
    for depth in (10, 25, 100, 500, 1000):
        assert adapter(depth=depth).max_depth == depth
    with pytest.raises(ValueError, match="depth"):
        adapter(depth=50)
