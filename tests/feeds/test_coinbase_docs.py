"""The Coinbase Advanced Trade adapter on the sample messages of Coinbase's own documentation.

Samples are copied from
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
("Level2 Channel", "Heartbeats Channel") and
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
("Subscribing", "Unsubscribing", "Sequence Numbers").
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
    CoinbaseAdvancedAdapter,
    Control,
    MalformedMessage,
    Outcome,
    Reconnect,
    SequenceVerdict,
)
from sor.feeds.exchanges.coinbase import coinbase_product

# websocket-channels, "Level2 Channel", the example message.
L2_SNAPSHOT_SAMPLE = b"""{
  "channel": "l2_data",
  "client_id": "",
  "timestamp": "2023-02-09T20:32:50.714964855Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "product_id": "BTC-USD",
      "updates": [
        {
          "side": "bid",
          "event_time": "1970-01-01T00:00:00Z",
          "price_level": "21921.73",
          "new_quantity": "0.06317902"
        },
        {
          "side": "bid",
          "event_time": "1970-01-01T00:00:00Z",
          "price_level": "21921.3",
          "new_quantity": "0.02"
        }
      ]
    }
  ]
}"""

# websocket-channels, "Heartbeats Channel", the heartbeats message.
HEARTBEATS_SAMPLE = b"""{
  "channel": "heartbeats",
  "client_id": "",
  "timestamp": "2023-06-23T20:31:26.122969572Z",
  "sequence_num": 0,
  "events": [
    {
      "current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",
      "heartbeat_counter": "3049"
    }
  ]
}"""

# websocket-channels: the level2 and heartbeats requests (with their "jwt": "XYZ").
LEVEL2_REQUEST_SAMPLE = {
    "type": "subscribe",
    "product_ids": ["ETH-USD", "BTC-USD"],
    "channel": "level2",
    "jwt": "XYZ",
}
HEARTBEATS_REQUEST_SAMPLE = {"type": "subscribe", "channel": "heartbeats", "jwt": "XYZ"}
# websocket-overview, "Unsubscribing", without authentication.
UNSUBSCRIBE_SAMPLE = {"type": "unsubscribe", "product_ids": ["ETH-USD"], "channel": "level2"}

BTC = BookMarket("BTC/USD", price_decimals=2, size_decimals=8)
ETH = BookMarket("ETH/USD", price_decimals=2, size_decimals=8)


def adapter(*markets: BookMarket, jwt: str | None = None) -> CoinbaseAdvancedAdapter:
    return CoinbaseAdvancedAdapter(
        list(markets) or [BTC],
        ws_url="ws://127.0.0.1:9",
        jwt=None if jwt is None else (lambda: jwt),
    )


def with_sequence(sample: bytes, sequence: int) -> bytes:
    message = orjson.loads(sample)
    message["sequence_num"] = sequence
    return orjson.dumps(message)


def update_of(sample: bytes, sequence: int, side: str, price: str, quantity: str) -> bytes:
    """The level2 sample turned into an ``update`` event, as the channel's text describes one."""
    message = orjson.loads(sample)
    message["sequence_num"] = sequence
    event = message["events"][0]
    event["type"] = "update"
    event["updates"] = [
        {
            "side": side,
            "event_time": "2023-02-09T20:32:50.714964855Z",
            "price_level": price,
            "new_quantity": quantity,
        }
    ]
    return orjson.dumps(message)


def test_level2_snapshot_sample_becomes_a_snapshot_of_the_unified_symbol() -> None:
    (event,) = adapter().parse(L2_SNAPSHOT_SAMPLE)
    assert event == BookSnapshot(
        "BTC/USD", 0, bids=[("21921.73", "0.06317902"), ("21921.3", "0.02")], asks=[]
    )


def test_snapshot_levels_in_any_order_are_sorted_best_first_by_exact_price() -> None:
    message = orjson.loads(L2_SNAPSHOT_SAMPLE)
    updates = message["events"][0]["updates"]
    updates.reverse()
    updates += [
        {"side": "offer", "event_time": "", "price_level": "21930", "new_quantity": "1"},
        {"side": "offer", "event_time": "", "price_level": "21922.5", "new_quantity": "2"},
        {"side": "offer", "event_time": "", "price_level": "21925", "new_quantity": "0"},
    ]
    (event,) = adapter().parse(orjson.dumps(message))
    assert isinstance(event, BookSnapshot)
    assert [price for price, _ in event.bids] == ["21921.73", "21921.3"]
    assert event.asks == [("21922.5", "2"), ("21930", "1")], "a zero level is no level"


def test_update_with_offer_side_and_zero_quantity_becomes_a_delta() -> None:
    data = update_of(L2_SNAPSHOT_SAMPLE, 1, "offer", "21922.00", "0")
    (event,) = adapter().parse(data)
    assert event == BookDelta("BTC/USD", 1, 1, [("ask", "21922.00", "0")])


def test_documented_messages_rebuild_the_book_through_the_sync_machine() -> None:
    coinbase = adapter()
    sync = BookSync(
        "BTC/USD",
        coinbase.new_book("BTC/USD"),
        coinbase,
        Backoff(BackoffPolicy(), random.Random(0)),
        max_buffer=10,
        now=0.0,
    )
    (snapshot,) = coinbase.parse(L2_SNAPSHOT_SAMPLE)
    assert isinstance(snapshot, BookSnapshot)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    (heartbeat,) = coinbase.parse(with_sequence(HEARTBEATS_SAMPLE, 1))
    assert isinstance(heartbeat, Control)
    for sequence, side, price, quantity in [
        (2, "offer", "21922.10", "0.5"),
        (3, "bid", "21921.73", "0"),  # new_quantity "0": the level can be removed
        (4, "bid", "21921.30", "0.07"),  # the same price written with another scale
    ]:
        (delta,) = coinbase.parse(update_of(L2_SNAPSHOT_SAMPLE, sequence, side, price, quantity))
        assert isinstance(delta, BookDelta)
        assert sync.on_delta(delta, now=2.0) is Outcome.APPLIED
    book = sync.book
    assert [(level.price, level.size) for level in book.levels("bid")] == [
        (Decimal("21921.3"), Decimal("0.07"))
    ]
    assert [(level.price, level.size) for level in book.levels("ask")] == [
        (Decimal("21922.1"), Decimal("0.5"))
    ]
    assert book.sequence == 4


def test_heartbeats_sample_is_a_control_message() -> None:
    assert adapter().parse(HEARTBEATS_SAMPLE) == (Control("heartbeat"),)


def test_sequence_gap_on_the_connection_asks_for_a_reconnect() -> None:
    coinbase = adapter(BTC, ETH)
    coinbase.parse(L2_SNAPSHOT_SAMPLE)  # sequence_num 0
    coinbase.parse(with_sequence(HEARTBEATS_SAMPLE, 1))
    # 2 was lost: it may have been an update of any product, so every book is suspect.
    (event,) = coinbase.parse(with_sequence(HEARTBEATS_SAMPLE, 3))
    assert isinstance(event, Reconnect)
    assert event.gap, "a gap, not a request of the exchange"
    assert "1 then 3" in event.reason


def test_sequence_number_below_the_previous_one_is_ignored() -> None:
    coinbase = adapter()
    coinbase.parse(with_sequence(HEARTBEATS_SAMPLE, 5))
    (event,) = coinbase.parse(update_of(L2_SNAPSHOT_SAMPLE, 4, "bid", "1", "1"))
    assert isinstance(event, Control)
    assert coinbase.last_sequence == 5


def test_every_connection_counts_its_sequence_numbers_anew() -> None:
    coinbase = adapter()
    coinbase.parse(with_sequence(HEARTBEATS_SAMPLE, 41))
    coinbase.on_connect()
    assert coinbase.last_sequence is None
    (event,) = coinbase.parse(L2_SNAPSHOT_SAMPLE)  # 0 again, on the new connection
    assert isinstance(event, BookSnapshot)


def test_verdict_applies_updates_whose_numbers_skip_other_products() -> None:
    coinbase = adapter()
    delta = BookDelta("BTC/USD", 9, 9, [])
    assert coinbase.verdict(4, delta) is SequenceVerdict.APPLY
    assert coinbase.verdict(9, delta) is SequenceVerdict.APPLY, "several events of one message"
    assert coinbase.verdict(10, delta) is SequenceVerdict.SKIP


def test_subscriptions_follow_the_documented_requests() -> None:
    coinbase = adapter(ETH, BTC, jwt="XYZ")
    heartbeats, level2 = [orjson.loads(m) for m in coinbase.subscribe_messages()]
    assert heartbeats == HEARTBEATS_REQUEST_SAMPLE
    assert level2 == LEVEL2_REQUEST_SAMPLE
    unsubscribe, subscribe = [orjson.loads(m) for m in adapter(ETH).resubscribe_messages("ETH/USD")]
    assert unsubscribe == UNSUBSCRIBE_SAMPLE
    assert subscribe == {**UNSUBSCRIBE_SAMPLE, "type": "subscribe"}


def test_jwt_provider_is_called_for_every_message_and_never_shown() -> None:
    tokens = iter(["token-1", "token-2", "token-3", "token-4"])
    coinbase = CoinbaseAdvancedAdapter([BTC], jwt=lambda: next(tokens))
    sent = coinbase.subscribe_messages() + coinbase.resubscribe_messages("BTC/USD")
    assert [orjson.loads(m)["jwt"] for m in sent] == ["token-1", "token-2", "token-3", "token-4"]
    assert "token" not in repr(coinbase)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"channel":"l2_data","sequence_num":', "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"type":"error","message":"failure to subscribe"}', "failure to subscribe"),
        (b'{"channel":"l2_data","events":[]}', "bad sequence_num"),
        (b'{"channel":"l2_data","sequence_num":0,"events":{}}', "events must be a list"),
        (
            b'{"channel":"l2_data","sequence_num":0,"events":[{"type":"snapshot",'
            b'"product_id":"DOGE-USD","updates":[]}]}',
            "not subscribed",
        ),
    ],
    ids=["truncated", "not-an-object", "error", "no-sequence", "events", "unknown-product"],
)
def test_unreadable_messages_are_malformed_without_a_symbol(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(data)
    assert reason in str(raised.value)
    assert raised.value.symbol is None


@pytest.mark.parametrize(
    "update",
    [
        {"side": "buy", "price_level": "1", "new_quantity": "1"},
        {"side": "bid", "price_level": 21921.73, "new_quantity": "1"},
        {"side": "bid", "new_quantity": "1"},
        "bid",
    ],
    ids=["side", "float-price", "no-price", "not-an-object"],
)
def test_bad_update_is_malformed_for_its_symbol(update: object) -> None:
    message = orjson.loads(update_of(L2_SNAPSHOT_SAMPLE, 0, "bid", "1", "1"))
    message["events"][0]["updates"] = [update]
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(orjson.dumps(message))
    assert raised.value.symbol == "BTC/USD"


def test_messages_of_other_channels_are_ignored_as_documented() -> None:
    ticker = b'{"channel":"ticker","client_id":"","timestamp":"","sequence_num":0,"events":[]}'
    (event,) = adapter().parse(ticker)
    assert isinstance(event, Control)


def test_products_are_the_unified_symbols_with_a_dash() -> None:
    assert coinbase_product("BTC/USD") == "BTC-USD"
    assert coinbase_product("usdt/usdc") == "USDT-USDC"
