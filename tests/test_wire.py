"""Binance ``depthUpdate`` payloads parsed by the core (``BinanceDepthParser``, ``DepthChanges``).

The oracle is the string path every other adapter uses: ``orjson`` reads the payload, the levels
become ``(side, price, size)`` string tuples, and ``OrderBook.apply_deltas`` parses them. On
realistic streams (the simulators' ``BookModel``, written as Binance writes it) and on generated
levels, the core's parse must give the same header, the same tuples and the same book; bad
payloads must raise ``InvalidInput`` naming the problem, and a refused batch must leave the book
exactly as it was.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sor import BookError, InvalidInput, OrderBook
from sor._core import BinanceDepthParser, DepthChanges
from sor.feeds import (
    Backoff,
    BinanceSpotAdapter,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    MalformedMessage,
    Outcome,
)
from sor.feeds.events import BookSide
from sor.sim.book_model import BookModel, SimMarket, format_decimal

WIRE_DECIMALS = 8
"""Binance writes BTCUSDT prices and quantities with 8 decimals."""

StringChange = tuple[BookSide, str, str]


def parser() -> BinanceDepthParser:
    return BinanceDepthParser({"BTCUSDT": ("BTC/USDT", 2, 8), "BNBBTC": ("BNB/BTC", 8, 8)})


def event(
    bids: Sequence[object],
    asks: Sequence[object],
    *,
    symbol: str = "BTCUSDT",
    first: object = 101,
    final: object = 120,
    **extra: object,
) -> bytes:
    """A depthUpdate payload (fields as in Binance's "Diff. Depth Stream")."""
    message: dict[str, object] = {
        "e": "depthUpdate",
        "E": 1_767_225_600_000,
        "s": symbol,
        "U": first,
        "u": final,
        "b": bids,
        "a": asks,
    }
    message.update(extra)
    return orjson.dumps(message)


def string_path(payload: bytes) -> tuple[str, int, int, list[StringChange]]:
    """What the payload gives through orjson and string tuples (the exchange's symbol)."""
    message = orjson.loads(payload)
    changes: list[StringChange] = [("bid", p, q) for p, q, *_ in message["b"]]
    changes += [("ask", p, q) for p, q, *_ in message["a"]]
    return message["s"], message["U"], message["u"], changes


def levels(book: OrderBook) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return (
        [(lv.price_ticks, lv.size_lots) for lv in book.levels("bid")],
        [(lv.price_ticks, lv.size_lots) for lv in book.levels("ask")],
    )


# --- realistic streams ---------------------------------------------------------------------------


def model_stream(seed: int, steps: int) -> tuple[BookModel, OrderBook, list[bytes]]:
    """A BookModel's starting book and ``steps`` events as Binance payloads."""
    model = BookModel(SimMarket("BTC/USDT"), random.Random(seed))
    start = model.to_order_book()
    payloads = []
    for _ in range(steps):
        step = model.step()
        wire = {
            side: [
                [format_decimal(t, 2, WIRE_DECIMALS), format_decimal(q, 8, WIRE_DECIMALS)]
                for s, t, q in step.changes
                if s == side
            ]
            for side in ("bid", "ask")
        }
        payloads.append(event(wire["bid"], wire["ask"], first=step.first, final=step.final))
    return model, start, payloads


def test_realistic_stream_parses_like_the_string_path_and_builds_the_true_book() -> None:
    model, start, payloads = model_stream(seed=11, steps=400)
    by_core, by_strings = start.copy(), start.copy()
    parse = parser().parse
    for payload in payloads:
        parsed = parse(payload)
        assert parsed is not None
        symbol, first, final, changes = parsed
        exchange_symbol, want_first, want_final, want_changes = string_path(payload)
        assert (symbol, exchange_symbol) == ("BTC/USDT", "BTCUSDT")
        assert (first, final) == (want_first, want_final)
        assert changes == want_changes
        assert list(changes) == want_changes
        by_core.apply_deltas(changes, sequence=final)
        by_strings.apply_deltas(want_changes, sequence=final)
        assert by_core == by_strings
    assert by_core == model.to_order_book()
    assert by_core.sequence == model.update_id


def test_adapter_hands_binance_payloads_to_the_core_and_the_feed_keeps_the_true_book() -> None:
    model, start, payloads = model_stream(seed=12, steps=300)
    adapter = BinanceSpotAdapter(
        [BookMarket("BTC/USDT", 2, 8)], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9"
    )
    sync = BookSync(
        "BTC/USDT",
        adapter.new_book("BTC/USDT"),
        adapter,
        Backoff(rng=random.Random(0)),
        max_buffer=10,
        now=0.0,
    )
    bids = [(lv.price, lv.size) for lv in start.levels("bid")]
    asks = [(lv.price, lv.size) for lv in start.levels("ask")]
    snapshot = BookSnapshot(
        "BTC/USDT",
        start.sequence,
        [(str(p), str(s)) for p, s in bids],
        [(str(p), str(s)) for p, s in asks],
    )
    assert sync.on_snapshot(snapshot, now=1.0) is Outcome.LIVE
    for payload in payloads:
        (delta,) = adapter.parse(payload)
        assert isinstance(delta, BookDelta)
        assert isinstance(delta.changes, DepthChanges)
        assert sync.on_delta(delta, now=2.0) is Outcome.APPLIED
    assert sync.book == model.to_order_book()


# --- generated levels ----------------------------------------------------------------------------


@st.composite
def decimal_text(draw: st.DrawFn, decimals: int) -> str:
    """A non-negative decimal as an exchange might write it: 0 to ``decimals + 3`` places,
    sometimes with non-zero digits beyond the precision (then both paths must refuse it)."""
    whole = draw(st.integers(0, 10**9))
    places = draw(st.integers(0, decimals + 3))
    if places == 0:
        return str(whole)
    fraction = draw(st.integers(0, 10**places - 1))
    if draw(st.booleans()):  # most exchange values fit the precision
        fraction -= fraction % 10 ** max(0, places - decimals)
    return f"{whole}.{fraction:0{places}d}"


@given(data=st.data())
def test_generated_levels_parse_like_the_string_path_or_both_refuse(data: st.DataObject) -> None:
    def side_levels() -> list[list[str]]:
        return data.draw(
            st.lists(st.tuples(decimal_text(2), decimal_text(8)).map(list), max_size=12)
        )

    payload = event(side_levels(), side_levels())
    _, _, _, want = string_path(payload)
    strings_book = OrderBook(2, 8)
    try:
        strings_book.apply_deltas(want)
        strings_error: Exception | None = None
    except (InvalidInput, BookError) as error:
        strings_error = error
    core_book = OrderBook(2, 8)
    try:
        parsed = parser().parse(payload)
    except InvalidInput:
        # The parser refuses only what the book refuses to parse (never a crossing: it does
        # not look at books), and says which value.
        assert isinstance(strings_error, InvalidInput)
        return
    assert parsed is not None
    changes = parsed[3]
    assert changes == want
    try:
        core_book.apply_deltas(changes)
        core_error: Exception | None = None
    except (InvalidInput, BookError) as error:
        core_error = error
    assert type(core_error) is type(strings_error)
    assert str(core_error) == str(strings_error)
    assert core_book == strings_book
    assert levels(core_book) == levels(strings_book)


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"e":"depthUpdate","s":', "invalid message: EOF while parsing"),
        (b"\xff", "invalid message"),
        (b"[1,2]", "invalid message: expected a JSON object"),
        (b'["depthUpdate", 1, "BTCUSDT", 1, 2, [], []]', "invalid message: expected a JSON object"),
        (event([], [], first="101"), "invalid message: invalid type: string"),
        (event([], [], first=-1), "invalid message: invalid value: integer `-1`"),
        (event([], [], first=True), "invalid message: invalid type: boolean"),
        (event([["65000.01"]], []), "invalid message: invalid length 1"),
        (event([[65000.01, "1"]], []), "invalid message: invalid type: floating point"),
        (event([{"p": "1"}], []), "invalid message: invalid type: map"),
        (b'{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"a":[]}', 'depthUpdate without "b"'),
        (event([], [], symbol="ETHUSDT"), 'depthUpdate for a symbol not subscribed: "ETHUSDT"'),
        (event([], [], first=121, final=120), "bad update IDs U=121 u=120"),
        (
            event([["65000.01", "1"]], [["65000.015", "1"]]),
            'a[0].price: "65000.015" has non-zero digits beyond 2 decimal places',
        ),
        (event([["65000.01", "-1"]], []), 'b[0].quantity: "-1" is negative'),
        (event([["Infinity", "1"]], []), 'b[0].price: "Infinity" is not finite'),
        (event([["", "1"]], []), "b[0].price: empty number"),
        (event([["1e400", "1"]], []), 'b[0].price: "1e400" is too large for 2 decimal places'),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_bad_payloads_raise_invalid_input_naming_the_problem(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parser().parse(payload)
    assert str(raised.value).startswith(message), str(raised.value)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"result":null,"id":1}',
        b'{"e":"serverShutdown","E":1770123456789}',
        b'{"code":0,"msg":"Unknown property","id":1}',
        b'{"stream":"btcusdt@depth","data":' + event([], []) + b',"e":"depthUpdate"}',
    ],
)
def test_messages_other_than_a_depth_update_are_left_to_the_adapter(payload: bytes) -> None:
    assert parser().parse(payload) is None


def test_a_batch_that_would_cross_is_refused_and_leaves_the_book_as_it_was() -> None:
    book = OrderBook(2, 8)
    book.apply_snapshot([("64999.99", "1")], [("65000.01", "2")], sequence=100)
    before = book.copy()
    parsed = parser().parse(
        event([["65000.00", "1"], ["65000.02", "0.5"]], [["65000.03", "1"]], first=101)
    )
    assert parsed is not None
    with pytest.raises(BookError, match=r"crossed book: best bid 65000\.02 >= best ask 65000\.01"):
        book.apply_deltas(parsed[3], sequence=parsed[2])
    assert book == before
    assert book.sequence == 100
    assert book.version == before.version


def test_a_book_of_another_precision_parses_the_strings_at_its_own() -> None:
    parsed = parser().parse(event([["65000.10000000", "2.50000000"]], []))
    assert parsed is not None
    changes = parsed[3]
    assert (changes.price_decimals, changes.size_decimals) == (2, 8)
    coarse = OrderBook(1, 1)
    coarse.apply_deltas(changes)
    assert levels(coarse) == ([(650_001, 25)], [])
    too_coarse = OrderBook(0, 1)
    with pytest.raises(InvalidInput, match=r"deltas\[0\]\.price: .* beyond 0 decimal places"):
        too_coarse.apply_deltas(changes)
    assert too_coarse.level_count("bid") == 0


def test_bad_precision_in_the_markets_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"markets\[\"BTCUSDT\"\]\.size_decimals"):
        BinanceDepthParser({"BTCUSDT": ("BTC/USDT", 2, 19)})


# --- the adapter around it ----------------------------------------------------------------------


def adapter() -> BinanceSpotAdapter:
    return BinanceSpotAdapter(
        [BookMarket("BTC/USDT", 2, 8)], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9"
    )


def test_adapter_reports_a_malformed_depth_update_for_its_book() -> None:
    with pytest.raises(MalformedMessage) as raised:
        adapter().parse(event([["65000.01"]], []))
    assert raised.value.symbol == "BTC/USDT"


def test_adapter_refuses_a_level_finer_than_the_market_naming_it_and_its_book() -> None:
    # The core refuses it, so the Python reader (which would hand the strings to the book, and
    # the book would refuse them) does not get to accept it: the message is malformed.
    with pytest.raises(MalformedMessage, match=r"b\[0\]\.price") as refused:
        adapter().parse(event([["65000.001", "1"], ["64999.98", "1"]], [], first=101))
    assert refused.value.symbol == "BTC/USDT"


# --- the sequence --------------------------------------------------------------------------------


def test_depth_changes_behave_as_the_list_of_tuples_they_replace() -> None:
    parsed = parser().parse(event([["1.00", "2"], ["0.99", "0"]], [["1.01", "3.5"]]))
    assert parsed is not None
    changes = parsed[3]
    want: list[StringChange] = [("bid", "1.00", "2"), ("bid", "0.99", "0"), ("ask", "1.01", "3.5")]
    assert isinstance(changes, Sequence)
    assert len(changes) == 3
    assert changes[0] == want[0]
    assert changes[-1] == want[-1]
    assert changes[1:] == want[1:]
    assert list(changes) == want
    assert list(reversed(changes)) == want[::-1]
    assert ("ask", "1.01", "3.5") in changes
    assert ("ask", "1.01", "3.50") not in changes
    assert changes.index(("bid", "0.99", "0")) == 1
    assert changes.count(("bid", "1.00", "2")) == 1
    assert changes == want
    assert changes != want[:2]
    assert changes != tuple(want)
    other = parser().parse(event([["1.00", "2"], ["0.99", "0"]], [["1.01", "3.5"]], first=5))
    assert other is not None
    assert changes == other[3]
    with pytest.raises(IndexError):
        changes[3]
    with pytest.raises(IndexError):
        changes[-4]
    with pytest.raises(ValueError):  # noqa: PT011 (list.index's own error)
        changes.index(("bid", "2", "1"))
    assert repr(changes).startswith("DepthChanges([('bid', '1.00', '2')")
