"""OKX ``books`` and Bybit v5 ``orderbook`` payloads read in the core, against the Python reader.

The adapters hand a ``bytes`` payload to the core parser (:class:`sor._core.OkxBooksParser`,
:class:`sor._core.BybitOrderbookParser`) and read anything it refuses again in Python; any other
buffer (here a ``bytearray`` of the same payload) goes to the Python reader only. Both must give
the same events on the simulators' realistic streams and on the exchanges' documentation samples,
and a payload the core refuses must come out exactly as the Python reader has it (the same
events, or the same :class:`MalformedMessage` with the same symbol).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest
from benches.feed_streams_native import NativePath, NativeStream, make_native_streams, new_adapter
from tests.feeds import test_bybit_docs as bybit_docs
from tests.feeds import test_okx_docs as okx_docs

from sor._core import BybitOrderbookParser, DepthChanges, OkxBooksParser, split_sides
from sor.errors import InvalidInput
from sor.feeds import BookDelta, BookMarket, BookSnapshot, FeedEvent, MalformedMessage
from sor.feeds.adapter import ExchangeAdapter
from sor.feeds.exchanges.bybit import BybitSpotAdapter
from sor.feeds.exchanges.okx import OkxAdapter
from sor.sim.book_model import SimMarket
from sor.sim.okx import OkxSimulator

OKX_BTC = okx_docs.BTC
BYBIT_BTC = bybit_docs.BTCUSDT


@pytest.fixture(scope="module")
def streams() -> dict[str, NativeStream]:
    """The benchmark's seeded OKX and Bybit streams, shortened."""
    native = make_native_streams(messages=300)
    return {"okx": native["okx"], "bybit": native["bybit"]}


def both_paths(adapter: ExchangeAdapter, payload: bytes) -> tuple[list[FeedEvent], list[FeedEvent]]:
    """The events of the core path (``bytes``) and of the Python path (``bytearray``)."""
    core = list(adapter.parse(payload))
    python = list(adapter.parse(bytearray(payload)))  # type: ignore[arg-type]
    return core, python


def read_by_core(events: Sequence[FeedEvent]) -> bool:
    """True if every delta's changes came from the core (a parsed batch, not a list)."""
    return all(
        isinstance(event.changes, DepthChanges) or not event.changes
        for event in events
        if isinstance(event, BookDelta)
    )


def okx() -> OkxAdapter:
    return OkxAdapter([OKX_BTC])


def bybit() -> BybitSpotAdapter:
    return bybit_docs.adapter()


# --- the simulators' streams --------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["okx", "bybit"])
def test_core_and_python_read_every_message_of_the_simulated_stream_alike(
    streams: dict[str, NativeStream], exchange: str
) -> None:
    stream = streams[exchange]
    adapter = new_adapter(stream)
    for payload in [stream.snapshot, *stream.messages]:
        core, python = both_paths(adapter, payload)
        assert core == python
        assert core
        assert read_by_core(core)
        assert all(type(event.changes) is list for event in python if isinstance(event, BookDelta))


@pytest.mark.parametrize("exchange", ["okx", "bybit"])
def test_books_fed_by_the_core_end_where_the_simulated_stream_leads(
    streams: dict[str, NativeStream], exchange: str
) -> None:
    stream = streams[exchange]
    path = NativePath.live(stream)
    path.receive(stream.messages)
    assert path.levels() == stream.final
    assert path.sequence == stream.final_sequence


def test_okx_snapshot_with_a_computed_checksum_reads_alike_with_its_check() -> None:
    sim = OkxSimulator([SimMarket("BTC/USDT", 2, 8)], seed=7, checksums="computed")
    snapshot = sim._snapshot(sim._instruments["BTC/USDT"])
    adapter = OkxAdapter([BookMarket("BTC/USDT", price_decimals=2, size_decimals=8)])
    core, python = both_paths(adapter, snapshot)
    assert core == python
    assert [type(event) for event in core] == [BookSnapshot, BookDelta]
    check = core[1]
    assert isinstance(check, BookDelta)
    assert check.checksum not in (None, 0)


# --- the documentation samples ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        okx_docs.SNAPSHOT_SAMPLE,
        okx_docs.UPDATE_SAMPLE,
        orjson.dumps(okx_docs._push("snapshot", -1, 123456, checksum=0)),
        orjson.dumps(okx_docs._push("update", 123456, 123457, checksum=0)),
        orjson.dumps(okx_docs._push("update", 123457, 123457, checksum=0)),  # no change
        orjson.dumps(okx_docs._push("update", 123457, 15, checksum=0)),  # sequence reset
    ],
    ids=["snapshot", "update", "snapshot-0", "update-0", "no-change", "reset"],
)
def test_okx_documentation_pushes_read_alike_in_the_core(payload: bytes) -> None:
    core, python = both_paths(okx(), payload)
    assert core == python
    assert read_by_core(core)


@pytest.mark.parametrize(
    "payload",
    [
        bybit_docs.SNAPSHOT_SAMPLE,
        bybit_docs.DELTA_SAMPLE,
        bybit_docs.delta(18521289, [["16493.50", "0"]], [["16611.00", "0.5"]]),
        bybit_docs.delta(1, [["16493.00", "0.1"], ["16493.50", "0.2"]], [["16611.00", "0.5"]]),
    ],
    ids=["snapshot", "delta", "removal", "restart"],
)
def test_bybit_documentation_messages_read_alike_in_the_core(payload: bytes) -> None:
    core, python = both_paths(bybit(), payload)
    assert core == python
    assert read_by_core(core)


@pytest.mark.parametrize(
    ("adapter", "payload"),
    [
        (okx, okx_docs.SUBSCRIBE_RESPONSE_SAMPLE),
        (okx, okx_docs.NOTICE_SAMPLE),
        (okx, b"pong"),
        (bybit, bybit_docs.SUBSCRIBE_RESPONSE_SAMPLE),
        *((bybit, pong) for pong in bybit_docs.PONG_SAMPLES),
    ],
)
def test_answers_and_notices_are_left_to_the_python_reader(
    adapter: Callable[[], ExchangeAdapter], payload: bytes
) -> None:
    core, python = both_paths(adapter(), payload)
    assert core == python


# --- payloads the core refuses ------------------------------------------------------------------


def _okx_update(change: Callable[[dict[str, Any]], object]) -> bytes:
    message = orjson.loads(okx_docs.UPDATE_SAMPLE)
    change(message)
    return orjson.dumps(message)


def _bybit_delta(change: Callable[[dict[str, Any]], object]) -> bytes:
    message = orjson.loads(bybit_docs.DELTA_SAMPLE)
    change(message)
    return orjson.dumps(message)


def _entry(message: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = message["data"][0]
    return entry


FALLBACK_EVENTS = [
    # Valid for the Python reader, refused by the core: the Python reader's events stand.
    (okx, _okx_update(lambda m: _entry(m).update(bids=[["8476.975", "1", "0", "1"]]))),
    (okx, _okx_update(lambda m: m["data"].append(dict(_entry(m), prevSeqId=123457)))),
    (okx, _okx_update(lambda m: _entry(m).update(checksum=0.0))),
]


@pytest.mark.parametrize(("adapter", "payload"), FALLBACK_EVENTS)
def test_payloads_the_core_refuses_are_read_by_python_with_its_events(
    adapter: Callable[[], ExchangeAdapter], payload: bytes
) -> None:
    core, python = both_paths(adapter(), payload)
    assert core == python
    assert not read_by_core(core)


FALLBACK_ERRORS = [
    (okx, _okx_update(lambda m: _entry(m).pop("seqId"))),
    (okx, _okx_update(lambda m: _entry(m).update(seqId=True))),
    (okx, _okx_update(lambda m: _entry(m).update(prevSeqId=-1))),
    (okx, _okx_update(lambda m: _entry(m).update(checksum=2**31))),
    (okx, _okx_update(lambda m: _entry(m).update(asks=[["8476.98"]]))),
    # Levels of numbers, not strings; a seqId beyond i64 (issue 10: of the exchange's types).
    (okx, _okx_update(lambda m: _entry(m).update(bids=[[8476.97, 1, 0, 1]]))),
    (okx, _okx_update(lambda m: _entry(m).update(bids=["8476.97"]))),
    (okx, _okx_update(lambda m: _entry(m).update(seqId=2**63))),
    (okx, _okx_update(lambda m: m.update(data=[[]]))),
    (okx, _okx_update(lambda m: m.update(arg=["books", "BTC-USDT"]))),
    (okx, _okx_update(lambda m: m.update(action="partial"))),
    (okx, _okx_update(lambda m: m["arg"].update(instId="ETH-USDT"))),
    (okx, b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":'),
    (okx, b"[1, 2]"),
    (okx, b"\xff"),
    (bybit, _bybit_delta(lambda m: m["data"].update(u=0))),
    (bybit, _bybit_delta(lambda m: m["data"].update(b={}))),
    (bybit, _bybit_delta(lambda m: m["data"].update(a=[["1"]]))),
    (bybit, _bybit_delta(lambda m: m.update(data=[[], [], 5]))),
    (bybit, _bybit_delta(lambda m: m.update(type="partial"))),
    (bybit, _bybit_delta(lambda m: m.update(topic="orderbook.50.ETHUSDT"))),
    (bybit, b"[]"),
]


@pytest.mark.parametrize(("adapter", "payload"), FALLBACK_ERRORS)
def test_bad_payloads_fall_back_to_the_python_reader_and_its_error(
    adapter: Callable[[], ExchangeAdapter], payload: bytes
) -> None:
    reader = adapter()
    with pytest.raises(MalformedMessage) as from_bytes:
        reader.parse(payload)
    with pytest.raises(MalformedMessage) as from_python:
        reader.parse(bytearray(payload))  # type: ignore[arg-type]
    assert str(from_bytes.value) == str(from_python.value)
    assert from_bytes.value.symbol == from_python.value.symbol


# --- the parsers themselves ---------------------------------------------------------------------


def test_okx_parser_returns_the_push_fields_and_the_bids_then_the_asks() -> None:
    parser = OkxBooksParser({"BTC-USDT": ("BTC/USDT", 2, 8)})
    parsed = parser.parse(okx_docs.SNAPSHOT_SAMPLE)
    assert parsed is not None
    symbol, action, sequence, previous, checksum, changes = parsed
    assert (symbol, action, sequence, previous, checksum) == (
        "BTC/USDT",
        "snapshot",
        123456,
        -1,
        -855196043,
    )
    bids, asks = split_sides(changes)
    assert bids == [(level[0], level[1]) for level in okx_docs._SAMPLE_BIDS]
    assert asks == [(level[0], level[1]) for level in okx_docs._SAMPLE_ASKS]
    assert (changes.price_decimals, changes.size_decimals) == (2, 8)
    assert parser.parse(okx_docs.SUBSCRIBE_RESPONSE_SAMPLE) is None
    with pytest.raises(InvalidInput, match="not subscribed"):
        OkxBooksParser({"ETH-USDT": ("ETH/USDT", 2, 8)}).parse(okx_docs.SNAPSHOT_SAMPLE)


def test_bybit_parser_returns_the_message_fields_and_the_bids_then_the_asks() -> None:
    parser = BybitOrderbookParser({"orderbook.50.BTCUSDT": ("BTC/USDT", 2, 6)})
    parsed = parser.parse(bybit_docs.DELTA_SAMPLE)
    assert parsed is not None
    symbol, kind, update_id, changes = parsed
    message = orjson.loads(bybit_docs.DELTA_SAMPLE)
    assert (symbol, kind, update_id) == ("BTC/USDT", "delta", message["data"]["u"])
    assert list(changes) == [("bid", p, s) for p, s in message["data"]["b"]] + [
        ("ask", p, s) for p, s in message["data"]["a"]
    ]
    assert parser.parse(bybit_docs.SUBSCRIBE_RESPONSE_SAMPLE) is None
    with pytest.raises(InvalidInput, match=r"b\[0\]\.quantity"):
        BybitOrderbookParser({"orderbook.50.BTCUSDT": ("BTC/USDT", 2, 2)}).parse(
            bybit_docs.DELTA_SAMPLE
        )


# What the core refuses, the Python reader would read: the core's refusal stands, for the book.
CORE_REFUSALS = [
    (bybit, _bybit_delta(lambda m: m["data"].update(b=[["16493.505", "1"]])), "b[0].price"),
    (bybit, _bybit_delta(lambda m: m["data"].update(a=[["16611", "-1"]])), "a[0].quantity"),
    (bybit, bybit_docs.DELTA_SAMPLE.replace(b'"u"', b'"u": 1, "u"', 1), "duplicate field"),
]


@pytest.mark.parametrize(("adapter", "payload", "named"), CORE_REFUSALS)
def test_what_the_core_refuses_the_python_reader_refuses_too_naming_it(
    adapter: Callable[[], ExchangeAdapter], payload: bytes, named: str
) -> None:
    reader = adapter()
    assert reader.parse(bytearray(payload))  # type: ignore[arg-type]
    with pytest.raises(MalformedMessage, match=re.escape(named)) as refused:
        reader.parse(payload)
    assert refused.value.symbol == "BTC/USDT"
