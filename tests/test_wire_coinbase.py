"""Coinbase ``level2`` payloads parsed by the core (``CoinbaseLevel2Parser``) in the adapter.

The oracle is the adapter's Python path (``orjson`` and string tuples), which the adapter still
takes for every payload the core refuses: an adapter whose core parser knows no product refuses
every ``l2_data`` message and so reads everything in Python. On the simulator's realistic stream
(``sor.sim.coinbase``'s own message builders over a seeded ``BookModel``) and on the samples of
Coinbase's documentation (``tests/feeds/test_coinbase_docs.py``), both adapters must give the
same events (the core's snapshot levels best first, as the Python path sorts them) and the same
books; for bad and mutated payloads the core must refuse or pass, and the adapter must then
raise or return exactly what the Python path does, with the same connection state.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from sor import InvalidInput, OrderBook
from sor._core import CoinbaseLevel2Parser, DepthChanges
from sor.feeds import (
    BookDelta,
    BookMarket,
    BookSnapshot,
    CoinbaseAdvancedAdapter,
    Control,
    MalformedMessage,
)
from sor.feeds.events import FeedEvent
from sor.sim import CoinbaseSimulator, SimMarket
from sor.sim import coinbase as coinbase_sim
from sor.sim.book_model import Step

BTC = BookMarket("BTC/USD", price_decimals=2, size_decimals=8)
ETH = BookMarket("ETH/USD", price_decimals=2, size_decimals=8)


def _docs_module() -> ModuleType:
    """tests/feeds/test_coinbase_docs.py, for its copies of Coinbase's samples."""
    path = Path(__file__).parent / "feeds" / "test_coinbase_docs.py"
    spec = importlib.util.spec_from_file_location("_coinbase_docs_samples", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DOCS = _docs_module()


def adapters(*markets: BookMarket) -> tuple[CoinbaseAdvancedAdapter, CoinbaseAdvancedAdapter]:
    """The adapter as configured, and one that reads every message in Python only."""
    chosen = list(markets) or [BTC]
    core = CoinbaseAdvancedAdapter(chosen, ws_url="ws://127.0.0.1:9")
    python = CoinbaseAdvancedAdapter(chosen, ws_url="ws://127.0.0.1:9")
    python.parse = python._parse_python  # type: ignore[method-assign]
    return core, python


Outcome = tuple[str, object, object]


def outcome(adapter: CoinbaseAdvancedAdapter, data: bytes) -> Outcome:
    """What ``parse`` gave (events, or the error's text and symbol) and the state after it."""
    try:
        events: object = list(adapter.parse(data))
    except MalformedMessage as error:
        return ("malformed", (str(error), error.reason, error.symbol), adapter.last_sequence)
    return ("events", events, adapter.last_sequence)


def same_on_both(
    core: CoinbaseAdvancedAdapter, python: CoinbaseAdvancedAdapter, data: bytes
) -> Outcome:
    got = outcome(core, data)
    want = outcome(python, data)
    refused = _core_refusal(core, data)
    if refused is not None and want[0] == "events":
        # What the core refused is never applied: the Python reading's book events are refused
        # with the core's reason, for their book (one, or every one with resync_all).
        events = want[1]
        assert isinstance(events, list)
        symbols = {e.symbol for e in events if isinstance(e, BookDelta | BookSnapshot)}
        if symbols:
            symbol = symbols.pop() if len(symbols) == 1 else None
            text = refused if symbol is None else f"{refused} ({symbol})"
            want = ("malformed", (text, refused, symbol), want[2])
    assert got == want, data[:300]
    return got


def _core_refusal(adapter: CoinbaseAdvancedAdapter, data: bytes) -> str | None:
    """The core parser's reason for refusing ``data`` (None if it does not refuse it)."""
    try:
        adapter._level2_parser.parse(data)
    except InvalidInput as error:
        return str(error)
    return None


def stream(messages: int, seed: int) -> tuple[bytes, list[bytes]]:
    """A snapshot and ``messages`` updates of a 1,000-level BTC-USD book, as the simulator
    writes them (``sequence_num`` 1, then one up per message)."""
    market = SimMarket("BTC/USD", 2, 8, mid="65000", levels_per_side=1_000)
    sim = CoinbaseSimulator([market], seed=seed)
    symbol = sim.symbols[0]
    model = sim.model(symbol)
    snapshot = coinbase_sim._envelope("l2_data", 1, sim._snapshot_events(symbol))
    updates = []
    for sequence in range(2, messages + 2):
        step = model.step()
        updates.append(
            coinbase_sim._envelope(
                "l2_data", sequence, sim._update_events(symbol, Step(0, 0, step.changes))
            )
        )
    return snapshot, updates


def apply(book: OrderBook, events: Sequence[FeedEvent]) -> None:
    for event in events:
        if isinstance(event, BookSnapshot):
            book.apply_snapshot(event.bids, event.asks, sequence=event.sequence)
        elif isinstance(event, BookDelta):
            book.apply_deltas(event.changes, sequence=event.final_sequence)


@pytest.mark.parametrize("seed", [3, 11])
def test_core_and_python_paths_give_identical_events_and_books_on_the_simulated_stream(
    seed: int,
) -> None:
    core, python = adapters()
    snapshot, updates = stream(300, seed)
    core_book = OrderBook(2, 8)
    python_book = OrderBook(2, 8)
    for data in [snapshot, *updates]:
        # The core takes every message of the stream: nothing falls back.
        assert core._level2_parser.parse(data) is not None
        got = core.parse(data)
        want = python.parse(data)
        assert got == want
        for event in got:
            if isinstance(event, BookDelta):
                assert type(event.changes) is DepthChanges
                assert list(event.changes) == list(want[0].changes)  # type: ignore[union-attr]
        apply(core_book, got)
        apply(python_book, want)
    assert core.last_sequence == python.last_sequence == len(updates) + 1
    for side in ("bid", "ask"):
        assert core_book.levels(side) == python_book.levels(side)
        assert core_book.level_count(side) > 500


def test_shuffled_simulated_snapshot_comes_out_best_first_without_empty_levels() -> None:
    snapshot, _ = stream(1, 5)
    message = orjson.loads(snapshot)
    updates = message["events"][0]["updates"]
    random.Random(5).shuffle(updates)
    updates.append({"side": "offer", "price_level": "64000.01", "new_quantity": "0"})
    core, python = adapters()
    _, events, _ = same_on_both(core, python, orjson.dumps(message))
    (event,) = events  # type: ignore[misc]
    assert isinstance(event, BookSnapshot)
    bids = [Decimal(price) for price, _ in event.bids]
    asks = [Decimal(price) for price, _ in event.asks]
    assert bids == sorted(bids, reverse=True)
    assert asks == sorted(asks)
    assert bids[0] < asks[0]
    assert len(bids) + len(asks) == len(updates) - 1
    assert all(Decimal(size) > 0 for _, size in event.bids + event.asks)


def test_documented_samples_give_identical_events_on_both_paths() -> None:
    core, python = adapters()
    messages = [
        DOCS.L2_SNAPSHOT_SAMPLE,
        DOCS.update_of(DOCS.L2_SNAPSHOT_SAMPLE, 1, "offer", "21922.01", "0.5"),
        DOCS.with_sequence(DOCS.HEARTBEATS_SAMPLE, 2),
        DOCS.update_of(DOCS.L2_SNAPSHOT_SAMPLE, 3, "bid", "21921.73", "0"),
        DOCS.update_of(DOCS.L2_SNAPSHOT_SAMPLE, 3, "bid", "21921.3", "0"),  # repeated: ignored
        DOCS.update_of(DOCS.L2_SNAPSHOT_SAMPLE, 5, "bid", "21921.3", "0"),  # a gap
    ]
    results = [same_on_both(core, python, data) for data in messages]
    kinds = [type(event).__name__ for _, events, _ in results for event in events]  # type: ignore[attr-defined]
    assert kinds == ["BookSnapshot", "BookDelta", "Control", "BookDelta", "Control", "Reconnect"]
    (snapshot,) = results[0][1]  # type: ignore[misc]
    assert snapshot == BookSnapshot(
        "BTC/USD", 0, [("21921.73", "0.06317902"), ("21921.3", "0.02")], []
    )


def test_snapshot_in_any_order_is_sorted_best_first_by_both_paths() -> None:
    message = orjson.loads(DOCS.L2_SNAPSHOT_SAMPLE)
    levels = [
        ("offer", "21925.5"),
        ("bid", "21921.3"),
        ("offer", "21922"),
        ("bid", "21921.73"),
        ("bid", "21920.0"),
        ("offer", "21923.10"),
    ]
    message["events"][0]["updates"] = [
        {"side": side, "event_time": "t", "price_level": price, "new_quantity": "1.5"}
        for side, price in levels
    ] + [{"side": "bid", "event_time": "t", "price_level": "21921.5", "new_quantity": "0.000"}]
    core, python = adapters()
    _, events, _ = same_on_both(core, python, orjson.dumps(message))
    assert events == [
        BookSnapshot(
            "BTC/USD",
            0,
            [("21921.73", "1.5"), ("21921.3", "1.5"), ("21920.0", "1.5")],
            [("21922", "1.5"), ("21923.10", "1.5"), ("21925.5", "1.5")],
        )
    ]


def _l2(events: object, sequence: object = 7, **extra: object) -> bytes:
    message: dict[str, object] = {"channel": "l2_data", "client_id": "", "timestamp": "t"}
    message["sequence_num"] = sequence
    message["events"] = events
    message.update(extra)
    return orjson.dumps(message)


def _update(**fields: object) -> dict[str, object]:
    level: dict[str, object] = {"side": "bid", "price_level": "100.5", "new_quantity": "1"}
    level.update(fields)
    return {"type": "update", "product_id": "BTC-USD", "updates": [level]}


BAD_PAYLOADS = {
    "invalid JSON": b'{"channel": "l2_data", ',
    "not UTF-8": b'{"channel": "l2_data", "x": "\xff"}',
    "a JSON array": b'[{"channel": "l2_data"}]',
    "an error message": b'{"type": "error", "channel": "l2_data", "message": "boom"}',
    "no sequence_num": _l2([_update()], sequence=None),
    "negative sequence_num": _l2([_update()], sequence=-1),
    "float sequence_num": _l2([_update()], sequence=7.0),
    "boolean sequence_num": _l2([_update()], sequence=True),
    "events not a list": _l2({"type": "update"}),
    "an event not an object": _l2([_update(), 3]),
    "a product not subscribed": _l2([_update(), {**_update(), "product_id": "SOL-USD"}]),
    "unknown event type": _l2([{**_update(), "type": "delta"}]),
    "updates not a list": _l2([{**_update(), "updates": None}]),
    "an update not an object": _l2([{**_update(), "updates": [["bid", "1", "1"]]}]),
    "unknown side": _l2([_update(side="ask")]),
    "price not a string": _l2([_update(price_level=100.5)]),
    "price finer than the tick": _l2([_update(price_level="100.505")]),
    "size finer than the lot": _l2([_update(new_quantity="0.000000001")]),
    "price in exponent form": _l2([_update(price_level="1e2")]),
    "price not a number": _l2([_update(price_level="NaN")]),
    "negative size": _l2([_update(new_quantity="-1")]),
    "snapshot level with a bad price and no size": _l2(
        [{**_update(price_level="abc", new_quantity="0"), "type": "snapshot"}]
    ),
    "snapshot with a size not a number": _l2([{**_update(new_quantity="x"), "type": "snapshot"}]),
    "duplicate sequence_num key": (
        b'{"channel":"l2_data","sequence_num":7,"sequence_num":8,"events":[]}'
    ),
    "escaped strings": (
        b'{"channel":"l2_\\u0064ata","sequence_num":7,"events":[{"type":"upd\\u0061te",'
        b'"product_id":"BTC-USD","updates":[{"side":"b\\u0069d","price_level":"100.5\\u0030",'
        b'"new_quantity":"1"}]}]}'
    ),
    "other channel": _l2([], channel="market_trades"),
}


@pytest.mark.parametrize("data", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
@pytest.mark.parametrize("previous", [None, 6, 7, 3])
def test_payloads_the_core_may_refuse_give_what_the_python_path_gives(
    data: bytes, previous: int | None
) -> None:
    core, python = adapters(BTC, ETH)
    if previous is not None:
        heartbeat = DOCS.with_sequence(DOCS.HEARTBEATS_SAMPLE, previous)
        assert same_on_both(core, python, heartbeat)[0] == "events"
    same_on_both(core, python, data)
    # The connection goes on the same way on both paths.
    same_on_both(core, python, _l2([_update()], sequence=8))


def test_the_core_refuses_bad_payloads_naming_the_problem() -> None:
    parser = CoinbaseLevel2Parser({"BTC-USD": ("BTC/USD", 2, 8)})
    with pytest.raises(InvalidInput, match=r"events\[0\]\.updates\[0\]\.price_level"):
        parser.parse(_l2([_update(price_level="100.505")]))
    with pytest.raises(InvalidInput, match="not subscribed"):
        parser.parse(_l2([{**_update(), "product_id": "SOL-USD"}]))
    with pytest.raises(InvalidInput, match="unknown side"):
        parser.parse(_l2([_update(side="ask")]))
    assert parser.parse(b'{"type": "error", "message": "boom"}') is None
    assert parser.parse(DOCS.HEARTBEATS_SAMPLE) is None


def test_bad_messages_keep_their_errors_and_counters_as_before() -> None:
    core, _ = adapters()
    with pytest.raises(MalformedMessage) as error:
        core.parse(_l2([_update(side="ask")]))
    assert (error.value.reason, error.value.symbol) == ("l2_data: unknown side 'ask'", "BTC/USD")
    assert core.last_sequence == 7
    assert core.parse(_l2([_update()], sequence=7)) == (Control("sequence_num 7 after 7: ignored"),)


def test_randomly_damaged_stream_messages_give_what_the_python_path_gives() -> None:
    snapshot, updates = stream(40, 9)
    rng = random.Random(20_260_127)
    alphabet = b'0123456789.-e"{}[],: x'
    taken = {"core": 0, "python": 0}
    for data in [*updates[:20], snapshot]:
        for _ in range(15):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                position = rng.randrange(len(damaged))
                action = rng.random()
                if action < 0.4:
                    damaged[position] = rng.choice(alphabet)
                elif action < 0.7:
                    del damaged[position]
                else:
                    damaged.insert(position, rng.choice(alphabet))
            core, python = adapters()
            same_on_both(core, python, DOCS.with_sequence(DOCS.HEARTBEATS_SAMPLE, 0))
            same_on_both(core, python, bytes(damaged))
            try:
                accepted = core._level2_parser.parse(bytes(damaged)) is not None
            except InvalidInput:
                accepted = False
            taken["core" if accepted else "python"] += 1
    # Both paths were exercised: damage the core still reads (digits) and damage it refuses.
    assert taken["core"] > 30, taken
    assert taken["python"] > 30, taken
