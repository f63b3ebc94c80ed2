"""The OKX adapter on the sample messages of OKX's own API v5 documentation.

Samples are copied from https://www.okx.com/docs-v5/en/: "WS / Order book channel"
(#order-book-trading-market-data-ws-order-book-channel: request, responses, push data, the
"Sequence ID" example and the "Checksum" examples), "Connect" (#overview-websocket-connect: the
text ``ping``/``pong``) and "Notification" (#overview-websocket-notification).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sor.feeds import (
    Backoff,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    Control,
    MalformedMessage,
    Outcome,
    Reconnect,
    SequenceVerdict,
)
from sor.feeds.exchanges.okx import PING_MESSAGE, OkxAdapter, okx_inst_id
from sor.sim.okx import checksum_string, signed_crc32

BTC = BookMarket("BTC/USDT", price_decimals=2, size_decimals=8)

# "WS / Order book channel", request example.
SUBSCRIBE_REQUEST_SAMPLE = {
    "id": "1512",
    "op": "subscribe",
    "args": [{"channel": "books", "instId": "BTC-USDT"}],
}
# Its response example and failure example.
SUBSCRIBE_RESPONSE_SAMPLE = b"""{
  "id": "1512",
  "event": "subscribe",
  "arg": {"channel": "books", "instId": "BTC-USDT"},
  "connId": "a4d3ae55"
}"""
FAILURE_SAMPLE = b"""{
  "id": "1512",
  "event": "error",
  "code": "60012",
  "msg": "Invalid request: {\\"op\\": \\"subscribe\\", \\"argss\\":[{ \\"channel\\" : \\"books\\", \\"instId\\" : \\"BTC-USD-191227\\"}]}",
  "connId": "a4d3ae55"
}"""  # noqa: E501 (copied as published)

_SAMPLE_ASKS = [
    ["8476.98", "415", "0", "13"],
    ["8477", "7", "0", "2"],
    ["8477.34", "85", "0", "1"],
    ["8477.56", "1", "0", "1"],
    ["8505.84", "8", "0", "1"],
    ["8506.37", "85", "0", "1"],
    ["8506.49", "2", "0", "1"],
    ["8506.96", "100", "0", "2"],
]
_SAMPLE_BIDS = [
    ["8476.97", "256", "0", "12"],
    ["8475.55", "101", "0", "1"],
    ["8475.54", "100", "0", "1"],
    ["8475.3", "1", "0", "1"],
    ["8447.32", "6", "0", "1"],
    ["8447.02", "246", "0", "1"],
    ["8446.83", "24", "0", "1"],
    ["8446", "95", "0", "3"],
]


def _push(action: str, previous: int, sequence: int, checksum: int = -855196043) -> dict[str, Any]:
    return {
        "arg": {"channel": "books", "instId": "BTC-USDT"},
        "action": action,
        "data": [
            {
                "asks": [list(level) for level in _SAMPLE_ASKS],
                "bids": [list(level) for level in _SAMPLE_BIDS],
                "ts": "1597026383085",
                "checksum": checksum,
                "prevSeqId": previous,
                "seqId": sequence,
            }
        ],
    }


# "Push Data Example: Full Snapshot" and "Push Data Example: Incremental Data".
SNAPSHOT_SAMPLE = orjson.dumps(_push("snapshot", -1, 123456))
UPDATE_SAMPLE = orjson.dumps(_push("update", 123456, 123457))

# "Notification": a disconnect for a service upgrade.
NOTICE_SAMPLE = b"""{
    "event": "notice",
    "code": "64008",
    "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
    "connId": "a4d3ae55"
}"""

# "Checksum": the two documented full loads and their check strings. OKEx's v3 documentation
# (https://www.okex.com/docs/en/#futures_ws-checksum) printed the same examples with their
# results, -1881014294 and 831078360.
CHECKSUM_EXAMPLES = [
    (
        {
            "bids": [["3366.1", "7", "0", "3"], ["3366", "6", "3", "4"]],
            "asks": [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"]],
        },
        "3366.1:7:3366.8:9:3366:6:3368:8",
        -1881014294,
    ),
    (
        {
            "bids": [["3366.1", "7", "0", "3"]],
            "asks": [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"], ["3372", "8", "3", "4"]],
        },
        "3366.1:7:3366.8:9:3368:8:3372:8",
        831078360,
    ),
]


def adapter(*markets: BookMarket) -> OkxAdapter:
    return OkxAdapter(list(markets) or [BTC], ws_url="ws://127.0.0.1:9/ws/v5/public")


def new_sync(source: OkxAdapter, symbol: str = "BTC/USDT") -> BookSync:
    return BookSync(
        symbol,
        source.new_book(symbol),
        source,
        Backoff(rng=random.Random(0)),
        max_buffer=10,
        now=0.0,
    )


def levels(book_side: list[Any]) -> list[tuple[Decimal, Decimal]]:
    return [(level.price, level.size) for level in book_side]


def test_subscription_request_has_the_documented_shape() -> None:
    (message,) = adapter().subscribe_messages()
    expected = {key: value for key, value in SUBSCRIBE_REQUEST_SAMPLE.items() if key != "id"}
    assert orjson.loads(message) == expected  # "id" is optional


def test_one_subscription_carries_every_instrument() -> None:
    source = adapter(BTC, BookMarket("ETH/USDT", 2, 6))
    (message,) = source.subscribe_messages()
    assert orjson.loads(message)["args"] == [
        {"channel": "books", "instId": "BTC-USDT"},
        {"channel": "books", "instId": "ETH-USDT"},
    ]


def test_resubscribing_one_instrument_is_an_unsubscribe_then_a_subscribe() -> None:
    source = adapter(BTC, BookMarket("ETH/USDT", 2, 6))
    unsubscribe, subscribe = (orjson.loads(m) for m in source.resubscribe_messages("ETH/USDT"))
    arg = [{"channel": "books", "instId": "ETH-USDT"}]
    assert unsubscribe == {"op": "unsubscribe", "args": arg}
    assert subscribe == {"op": "subscribe", "args": arg}


def test_subscription_response_and_unsubscription_response_are_control_messages() -> None:
    (event,) = adapter().parse(SUBSCRIBE_RESPONSE_SAMPLE)
    assert event == Control("subscribed BTC-USDT")
    response = orjson.loads(SUBSCRIBE_RESPONSE_SAMPLE)
    response["event"] = "unsubscribe"
    (event,) = adapter().parse(orjson.dumps(response))
    assert event == Control("unsubscribed BTC-USDT")


def test_documented_failure_response_is_malformed_for_the_feed_with_its_code() -> None:
    with pytest.raises(MalformedMessage, match="error 60012: Invalid request") as raised:
        adapter().parse(FAILURE_SAMPLE)
    assert raised.value.symbol is None


def test_snapshot_sample_with_todays_zero_checksum_becomes_a_snapshot() -> None:
    message = _push("snapshot", -1, 123456, checksum=0)
    (event,) = adapter().parse(orjson.dumps(message))
    assert event == BookSnapshot(
        "BTC/USDT",
        123456,
        [(price, size) for price, size, _, _ in _SAMPLE_BIDS],
        [(price, size) for price, size, _, _ in _SAMPLE_ASKS],
    )


def test_update_sample_becomes_a_delta_chained_by_prev_seq_id() -> None:
    (event,) = adapter().parse(UPDATE_SAMPLE)
    assert isinstance(event, BookDelta)
    assert event.symbol == "BTC/USDT"
    assert (event.previous_sequence, event.final_sequence) == (123456, 123457)
    assert event.checksum == -855196043
    assert event.changes[0] == ("bid", "8476.97", "256")
    assert event.changes[8] == ("ask", "8476.98", "415")
    assert len(event.changes) == 16


def test_update_with_todays_zero_checksum_is_not_checked() -> None:
    (event,) = adapter().parse(orjson.dumps(_push("update", 123456, 123457, checksum=0)))
    assert isinstance(event, BookDelta)
    assert event.checksum is None


def test_samples_build_the_documented_book_and_the_update_sets_its_levels() -> None:
    source = adapter()
    sync = new_sync(source)
    zero = orjson.dumps(_push("snapshot", -1, 123456, checksum=0))
    (snapshot,) = source.parse(zero)
    assert isinstance(snapshot, BookSnapshot)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    update = _push("update", 123456, 123457, checksum=0)
    update["data"][0]["bids"] = [["8476.97", "0", "0", "0"], ["8476.5", "3.5", "0", "2"]]
    update["data"][0]["asks"] = [["8477", "9", "0", "3"]]
    (delta,) = source.parse(orjson.dumps(update))
    assert isinstance(delta, BookDelta)
    assert sync.on_delta(delta, now=2.0) is Outcome.APPLIED
    book = sync.book
    assert book.sequence == 123457
    assert levels(book.levels("bid", 2)) == [
        (Decimal("8476.5"), Decimal("3.5")),  # inserted
        (Decimal("8475.55"), Decimal("101")),  # 8476.97 removed by size "0"
    ]
    assert levels(book.levels("ask", 2)) == [
        (Decimal("8476.98"), Decimal("415")),
        (Decimal("8477"), Decimal("9")),  # size replaced
    ]


def test_sample_checksum_is_illustrative_and_a_book_that_does_not_match_it_is_refused() -> None:
    # The samples' checksum (-855196043) is not the CRC32 of their levels: verifying it, as
    # OKX documents, refuses the sample book, exactly as it would a wrong one.
    source = adapter()
    sync = new_sync(source)
    snapshot, check = source.parse(SNAPSHOT_SAMPLE)
    assert isinstance(snapshot, BookSnapshot)
    assert check == BookDelta("BTC/USDT", 123456, 123456, [], 123456, -855196043)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    assert isinstance(check, BookDelta)
    assert sync.on_delta(check, now=1.0) is Outcome.CHECKSUM_FAILED


def test_documented_sequence_example_is_applied_including_no_change_and_reset() -> None:
    # "Sequence ID", example: snapshot (-1, 10), update (10, 15), no update (15, 15),
    # sequence reset (15, 3), normal update (3, 5).
    source = adapter()
    sync = new_sync(source)
    (snapshot,) = source.parse(orjson.dumps(_push("snapshot", -1, 10, checksum=0)))
    assert isinstance(snapshot, BookSnapshot)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    chain = [(10, 15, "1"), (15, 15, None), (15, 3, "2"), (3, 5, "3")]
    for previous, sequence, size in chain:
        message = _push("update", previous, sequence, checksum=0)
        entry = message["data"][0]
        entry["asks"] = []
        entry["bids"] = [] if size is None else [["8000", size, "0", "1"]]
        (delta,) = source.parse(orjson.dumps(message))
        assert isinstance(delta, BookDelta)
        assert source.verdict(sync.book.sequence, delta) is SequenceVerdict.APPLY
        assert sync.on_delta(delta, now=2.0) is Outcome.APPLIED
        assert sync.book.sequence == sequence
    assert sync.book.levels("bid")[-1].size == Decimal("3")
    assert sync.book.level_count("ask") == 8


@pytest.mark.parametrize(
    ("book_sequence", "previous", "sequence", "verdict"),
    [
        (15, 15, 20, SequenceVerdict.APPLY),
        (15, 15, 15, SequenceVerdict.APPLY),  # no change
        (15, 15, 3, SequenceVerdict.APPLY),  # sequence reset
        (15, 16, 20, SequenceVerdict.GAP),  # the message after 15 was lost
        (15, 3, 20, SequenceVerdict.GAP),  # chained to something else
        (15, 10, 15, SequenceVerdict.SKIP),  # already in the book
        (15, 10, 12, SequenceVerdict.SKIP),
    ],
)
def test_sequence_rule_chains_by_prev_seq_id(
    book_sequence: int, previous: int, sequence: int, verdict: SequenceVerdict
) -> None:
    delta = BookDelta("BTC/USDT", sequence, sequence, [], previous)
    assert adapter().verdict(book_sequence, delta) is verdict


@pytest.mark.parametrize(("load", "check_string", "published"), CHECKSUM_EXAMPLES)
def test_documented_checksum_examples_verify(
    load: dict[str, list[list[str]]], check_string: str, published: int
) -> None:
    bids = [(level[0], level[1]) for level in load["bids"]]
    asks = [(level[0], level[1]) for level in load["asks"]]
    assert checksum_string(bids, asks) == check_string
    assert signed_crc32(check_string) == published
    assert zlib.crc32(check_string.encode()) == published & 0xFFFFFFFF
    # The core computes it from the book (BTC-USDT's precision, so "3366" is stored as 3366.00).
    source = adapter()
    book = source.new_book("BTC/USDT")
    book.apply_snapshot(bids, asks, sequence=1)
    assert book.okx_checksum() == published
    assert source.checksum_matches(book, published)
    assert not source.checksum_matches(book, published + 1)


@pytest.mark.parametrize(("load", "check_string", "published"), CHECKSUM_EXAMPLES)
def test_snapshot_carrying_the_documented_checksum_goes_live_and_passes_the_check(
    load: dict[str, list[list[str]]], check_string: str, published: int
) -> None:
    message = _push("snapshot", -1, 7, checksum=published)
    message["data"][0]["bids"] = load["bids"]
    message["data"][0]["asks"] = load["asks"]
    source = adapter()
    sync = new_sync(source)
    snapshot, check = source.parse(orjson.dumps(message))
    assert isinstance(snapshot, BookSnapshot)
    assert isinstance(check, BookDelta)
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    assert sync.on_delta(check, now=1.0) is Outcome.APPLIED


def test_checksum_covers_only_the_best_25_levels_per_side() -> None:
    source = adapter()
    book = source.new_book("BTC/USDT")
    bids = [(f"{1000 - i}", f"{i + 1}") for i in range(30)]
    asks = [(f"{1001 + i}.5", f"0.{i + 1:02d}1") for i in range(27)]
    book.apply_snapshot(bids, asks, sequence=1)
    expected = signed_crc32(checksum_string(bids[:25], asks[:25]))
    assert book.okx_checksum() == expected
    book.apply_deltas([("bid", "970", "99")])  # the 31st bid: outside the checksum
    assert book.okx_checksum() == expected
    book.apply_deltas([("bid", "990", "99")])  # the 11th bid
    assert book.okx_checksum() != expected


def test_pong_is_a_control_message_and_ping_is_the_documented_text() -> None:
    source = adapter()
    assert source.heartbeat_message() == PING_MESSAGE == b"ping"
    assert source.heartbeat_interval is not None
    assert source.heartbeat_interval < 30  # "N is less than 30"
    assert source.parse(b"pong") == (Control("pong"),)


def test_service_upgrade_notice_asks_for_a_reconnect() -> None:
    (event,) = adapter().parse(NOTICE_SAMPLE)
    assert isinstance(event, Reconnect)
    assert "64008" in event.reason


def test_unified_symbols_map_to_okx_instrument_ids() -> None:
    assert okx_inst_id("BTC/USDT") == "BTC-USDT"
    assert okx_inst_id("eth/usdc") == "ETH-USDC"


def _entry(message: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = message["data"][0]
    return entry


@pytest.mark.parametrize(
    ("change", "symbol"),
    [
        (lambda m: _entry(m).pop("seqId"), "BTC/USDT"),
        (lambda m: _entry(m).update(seqId="123457"), "BTC/USDT"),
        (lambda m: _entry(m).update(seqId=True), "BTC/USDT"),
        (lambda m: _entry(m).update(prevSeqId=-1), "BTC/USDT"),  # only snapshots have -1
        (lambda m: _entry(m).update(checksum="1"), "BTC/USDT"),
        (lambda m: _entry(m).update(bids="8476.97"), "BTC/USDT"),
        (lambda m: _entry(m).update(asks=[["8476.98"]]), "BTC/USDT"),
        (lambda m: _entry(m).update(asks=[{"px": "8476.98"}]), "BTC/USDT"),
        (lambda m: m.update(data=[]), "BTC/USDT"),
        (lambda m: m.update(data=[1]), "BTC/USDT"),
        (lambda m: m.update(action="partial"), "BTC/USDT"),
        (lambda m: m["arg"].update(instId="ETH-USDT"), None),  # not subscribed
        (lambda m: m["arg"].update(channel="books5"), None),
        (lambda m: m.pop("arg"), None),
    ],
    ids=[
        "missing seqId",
        "string seqId",
        "bool seqId",
        "update with prevSeqId -1",
        "string checksum",
        "bids not a list",
        "short level",
        "level object",
        "empty data",
        "data entry not an object",
        "unknown action",
        "unknown instrument",
        "other channel",
        "no arg",
    ],
)
def test_malformed_pushes_name_the_book_they_were_for_when_known(
    change: Callable[[dict[str, Any]], object], symbol: str | None
) -> None:
    message = orjson.loads(UPDATE_SAMPLE)
    change(message)
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(orjson.dumps(message))
    assert raised.value.symbol == symbol


def test_snapshot_with_a_prev_seq_id_other_than_minus_one_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="prevSeqId"):
        adapter().parse(orjson.dumps(_push("snapshot", 5, 6, checksum=0)))


@pytest.mark.parametrize(
    "data", [b'{"arg":{"channel":"books","instId":"', b"[1, 2]", b"null", b"\xff", b"ping"]
)
def test_unreadable_messages_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        adapter().parse(data)


def test_unknown_event_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="unexpected event"):
        adapter().parse(b'{"event":"login","code":"0","msg":""}')
