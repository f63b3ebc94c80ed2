"""A seeded fuzzer of every public ``sor._core`` entry point: functions, constructors and the
methods of ``OrderBook`` and the payload parsers, called with random arguments of every Python
type (strings with lone surrogates or huge, ints past 64 bits and 10**5000, floats nan/inf,
Decimals snan and huge exponents, None, bytes, lists, nested tuples, numpy arrays, objects whose
conversions raise) mixed with plausible ones, so that the calls also get deep into the core.

Every call must either return or raise an error of sor's hierarchy (``sor.SorError``) with a
readable message; never TypeError, OverflowError, a ValueError outside the hierarchy,
UnicodeEncodeError, RecursionError or a ``PanicException`` (a Rust panic). A call that fails
leaves its book exactly as it was (levels, sequence, version).

Each entry point is explored once per session (seeded, so every run draws the same examples);
three tests read the exploration: no panic and failed calls leave the book unchanged (hypothesis
shrinks a failure), only ``sor.SorError`` escapes, and messages are readable (one example of each
kind of violation is reported). An entry point with a known violation being fixed can be listed
in ``OUTSIDE_KNOWN`` / ``UNREADABLE_KNOWN``: it is then ``xfail(strict=True)``, which flips to a
failure once fixed. Both are empty: before H6's input fixes, every entry point failed the second
test (TypeError for a wrong type, OverflowError for big ints, ...); now none does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import sor
from sor import _core

MAX_MESSAGE = 500
"""Longest readable error message (characters)."""

EXAMPLES = 60
"""Examples per entry point: the whole module runs in a few seconds."""

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class Unprintable:
    """An object whose every conversion raises."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:  # (hypothesis prints the examples)
        return "Unprintable()"

    def __index__(self) -> int:
        raise RuntimeError("no index")

    def __float__(self) -> float:
        raise RuntimeError("no float")

    def __len__(self) -> int:
        raise RuntimeError("no len")

    def __iter__(self) -> Any:
        raise RuntimeError("no iter")


class Liar:
    """A sequence whose length lies about its items."""

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> Any:
        if index >= 1:
            raise IndexError(index)
        return ("1", "1")


class Huge(int):
    """An int too long for ``str()`` (Python's 4,300-digit limit), whose ``repr`` is short so
    that hypothesis can print the example; its ``str()`` is int's and raises."""

    def __repr__(self) -> str:
        return (
            f"Huge({'-' if self < 0 else ''}10**{len(int.__str__(abs(self) // 10**4000)) + 3999})"
        )


class Nested(list):  # type: ignore[type-arg]
    """A list nested deeper than Python's recursion limit, with a short ``repr``."""

    def __repr__(self) -> str:
        return "Nested(...)"


def nested(depth: int) -> Any:
    """A list nested ``depth`` deep."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return Nested([value])


STRANGE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**63,
    2**64,
    -(2**63) - 1,
    Huge(10**5000),
    Huge(-(10**5000)),
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    1e308,
    5e-324,
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+999999999"),
    Decimal("1E-999999999"),
    Decimal("-0"),
    "",
    " ",
    "\ud800",
    "1\udfff",
    "\x00",
    "1" * 5000,
    "9" * 100_000,
    "x" * 100_000,
    "1e999999",
    "-1",
    "nan",
    "inf",
    "0x10",
    "1_000",
    "\uff11",  # a full-width digit
    b"",
    b"\xff\xfe",
    b"{}",
    b'{"e":"depthUpdate"}',
    bytearray(b"[]"),
    memoryview(b"1"),
    (),
    [],
    {},
    set(),
    object(),
    Unprintable(),
    Liar(),
    nested(10_000),
    np.zeros(3, dtype=np.uint8),
    np.zeros(3, dtype=np.float64),
    np.zeros((2, 2), dtype=np.uint64),
    np.array([1, 2, 3], dtype=np.uint64)[::2],
    np.array([2**64 - 1], dtype=np.uint64),
]

#: Anything at all, strange values first.
scalars = st.one_of(
    st.sampled_from(STRANGE),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.binary(max_size=16),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.tuples(inner, inner, inner),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)

# Plausible arguments, so that the core's paths beyond argument checks run too.
prices = st.one_of(
    st.integers(1, 10**7).map(lambda t: f"{t / 100:.2f}"),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
    st.integers(1, 10**6),
)
sizes = st.one_of(
    st.integers(0, 10**9).map(lambda lots: f"{lots / 10**8:.8f}"),
    st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=8),
    st.integers(0, 100),
)
levels = st.lists(st.tuples(prices, sizes), max_size=6)
book_sides = st.sampled_from(["bid", "ask"])
taker_sides = st.sampled_from(["buy", "sell"])
bps = st.floats(0, 500)
small_ints = st.integers(-2, 20)
sequences = st.integers(0, 2**40)


def plausible(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` most of the time, anything at all otherwise."""
    return st.one_of(strategy, strategy, strategy, anything)


def make_book() -> _core.OrderBook:
    """A small BTC/USDT-like book: 2 price decimals, 8 size decimals."""
    book = _core.OrderBook(2, 8)
    book.apply_snapshot(
        [("64999.5", "0.5"), ("64999", "1.25"), ("64990", "3")],
        [("65000", "0.4"), ("65001.5", "1"), ("65010", "2.5")],
        sequence=10,
        timestamp_ns=1_000,
    )
    return book


def rules_strategy() -> st.SearchStrategy[Any]:
    return st.builds(
        _core.VenueRules,
        taker_fee_bps=st.integers(0, 1000).map(lambda tenths: tenths / 10),
        lot_size=st.sampled_from([None, "0.00000001", "0.001", "0.1"]),
    )


books_arg = plausible(st.lists(st.builds(make_book), min_size=1, max_size=3))
weights_arg = plausible(st.one_of(st.none(), st.builds(_core.Weights)))


def state(book: _core.OrderBook) -> tuple[Any, ...]:
    """Everything a failed mutation must leave as it was."""
    return (
        [(level.price_ticks, level.size_lots) for level in book.levels("bid")],
        [(level.price_ticks, level.size_lots) for level in book.levels("ask")],
        book.sequence,
        book.version,
        book.updated_at_ns,
    )


def h6(reason: str) -> pytest.MarkDecorator:
    """A known failure engineer H6 is fixing: strict, so the fix flips it to a failure."""
    return pytest.mark.xfail(strict=True, reason=f"H6: {reason}")


# -- the exploration ----------------------------------------------------------------------------

Calls = list[tuple[str, Callable[[], object], "_core.OrderBook | None"]]
"""What one example calls: ``(label, call, book it must leave unchanged if it fails)``."""


@dataclass
class Findings:
    """What the calls of one entry point raised that sor's contract does not allow."""

    #: An exception outside ``sor.SorError`` (TypeError, OverflowError, ...): one example of
    #: each exception type per call.
    outside: list[str] = field(default_factory=list)
    kinds: set[tuple[str, str]] = field(default_factory=set)
    #: A ``sor.SorError`` whose message is empty or longer than :data:`MAX_MESSAGE`.
    unreadable: list[str] = field(default_factory=list)
    #: How many calls returned and how many raised a ``sor.SorError``.
    returned: int = 0
    refused: int = 0


def _describe_example(label: str, args: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={_short(v)}" for k, v in args.items())
    return f"{label}({shown})"


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a strange object's repr
        text = f"<{type(value).__name__}>"
    return text if len(text) < 80 else text[:77] + "..."


def run_calls(calls: Calls, args: dict[str, Any], findings: Findings) -> None:
    """Runs each call. A panic or a failed call that changed its book fails the example at
    once (hypothesis shrinks it); what escapes the hierarchy is recorded in ``findings``."""
    for label, call, book in calls:
        before = state(book) if book is not None else None
        try:
            call()
        except sor.SorError as error:
            findings.refused += 1
            message = str(error)
            if not message or len(message) >= MAX_MESSAGE:
                findings.unreadable.append(
                    f"{_describe_example(label, args)}: {len(message)}-character message "
                    f"{message[:100]!r}"
                )
            if book is not None:
                assert state(book) == before, f"{label}: the failed call changed the book"
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            name = f"{type(error).__module__}.{type(error).__name__}"
            if type(error).__name__ == "PanicException":
                pytest.fail(f"{label}: a Rust panic: {error}")
            if book is not None:
                assert state(book) == before, f"{label}: the failed call changed the book"
            if (label, name) not in findings.kinds:  # one example of each kind
                findings.kinds.add((label, name))
                findings.outside.append(
                    f"{_describe_example(label, args)}: {name}: {str(error)[:120]!r}"
                )
        else:
            findings.returned += 1


Entry = tuple[dict[str, st.SearchStrategy[Any]], Callable[[dict[str, Any]], Calls]]

ENTRIES: dict[str, Entry] = {}


def entry(name: str, **strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
    """Registers the calls of one entry point, with a strategy per argument."""

    def register(calls: Callable[[dict[str, Any]], Calls]) -> Callable[[dict[str, Any]], Calls]:
        ENTRIES[name] = (strategies, calls)
        return calls

    return register


@functools.cache
def explore(name: str) -> Findings:
    """Runs the seeded fuzzer of entry point ``name`` once per session."""
    strategies, calls = ENTRIES[name]
    findings = Findings()

    @seed(sum(map(ord, name)))
    @fuzz_settings
    @given(args=st.fixed_dictionaries(strategies))
    def run(args: dict[str, Any]) -> None:
        run_calls(calls(args), args, findings)

    run()
    return findings


# -- OrderBook ----------------------------------------------------------------------------------


@entry("OrderBook", price_decimals=plausible(small_ints), size_decimals=plausible(small_ints))
def _order_book(a: dict[str, Any]) -> Calls:
    return [("OrderBook", lambda: _core.OrderBook(a["price_decimals"], a["size_decimals"]), None)]


float_levels = plausible(st.lists(st.tuples(st.floats(), st.floats()), max_size=4))


@entry(
    "OrderBook.from_floats",
    bids=float_levels,
    asks=float_levels,
    price_decimals=plausible(small_ints),
    size_decimals=plausible(small_ints),
    sequence=plausible(sequences),
)
def _from_floats(a: dict[str, Any]) -> Calls:
    return [("from_floats", lambda: _core.OrderBook.from_floats(**a), None)]


optional_sequence = plausible(st.one_of(st.none(), sequences))


@entry(
    "OrderBook.apply_snapshot",
    bids=plausible(levels),
    asks=plausible(levels),
    sequence=plausible(sequences),
    timestamp_ns=optional_sequence,
)
def _apply_snapshot(a: dict[str, Any]) -> Calls:
    book = make_book()
    return [("apply_snapshot", lambda: book.apply_snapshot(**a), book)]


@entry(
    "OrderBook.apply_delta",
    side=plausible(book_sides),
    price=plausible(prices),
    size=plausible(sizes),
    sequence=optional_sequence,
    timestamp_ns=optional_sequence,
)
def _apply_delta(a: dict[str, Any]) -> Calls:
    book = make_book()
    return [("apply_delta", lambda: book.apply_delta(**a), book)]


@entry(
    "OrderBook.apply_deltas",
    deltas=plausible(st.lists(st.tuples(plausible(book_sides), prices, sizes), max_size=5)),
    sequence=optional_sequence,
    timestamp_ns=optional_sequence,
)
def _apply_deltas(a: dict[str, Any]) -> Calls:
    book = make_book()
    return [("apply_deltas", lambda: book.apply_deltas(**a), book)]


def uint_arrays(dtype: type[np.generic], top: int) -> st.SearchStrategy[Any]:
    return st.lists(st.integers(0, top), max_size=5).map(lambda v: np.array(v, dtype=dtype))


@entry(
    "OrderBook.apply_deltas_array",
    sides=plausible(uint_arrays(np.uint8, 3)),
    prices=plausible(uint_arrays(np.uint64, 10**8)),
    sizes=plausible(uint_arrays(np.uint64, 10**10)),
    sequence=optional_sequence,
    timestamp_ns=optional_sequence,
)
def _apply_deltas_array(a: dict[str, Any]) -> Calls:
    book = make_book()
    return [("apply_deltas_array", lambda: book.apply_deltas_array(**a), book)]


@entry("OrderBook.truncate/clear", depth=plausible(small_ints), timestamp_ns=optional_sequence)
def _truncate_clear(a: dict[str, Any]) -> Calls:
    book = make_book()
    return [
        ("truncate", lambda: book.truncate(a["depth"]), book),
        ("clear", lambda: book.clear(a["timestamp_ns"]), book),
    ]


@entry(
    "OrderBook.walk/cost",
    side=plausible(taker_sides),
    quantity=plausible(st.one_of(st.none(), sizes)),
    notional=plausible(st.one_of(st.none(), prices)),
    limit_price=plausible(st.one_of(st.none(), prices)),
    fee=plausible(bps),
)
def _walk_cost(a: dict[str, Any]) -> Calls:
    book = make_book()
    side, quantity = a["side"], a["quantity"]
    return [
        (
            "walk",
            lambda: book.walk(side, quantity, notional=a["notional"], limit_price=a["limit_price"]),
            book,
        ),
        ("cost", lambda: book.cost(side, quantity, a["fee"]), book),
    ]


@entry(
    "OrderBook readers",
    side=plausible(book_sides),
    bps=plausible(bps),
    n=plausible(st.one_of(st.none(), small_ints)),
    value=plausible(prices),
)
def _readers(a: dict[str, Any]) -> Calls:
    book = make_book()
    side, value = a["side"], a["value"]
    return [
        ("depth_within_bps", lambda: book.depth_within_bps(side, a["bps"]), book),
        ("levels", lambda: book.levels(side, a["n"]), book),
        ("level_count", lambda: book.level_count(side), book),
        ("price_to_ticks", lambda: book.price_to_ticks(value), book),
        ("size_to_lots", lambda: book.size_to_lots(value), book),
        ("__eq__", lambda: book == value, book),
    ]


# -- functions ----------------------------------------------------------------------------------

rules_list = plausible(st.lists(rules_strategy(), min_size=1, max_size=3))


@entry(
    "allocate/allocate_many/walk_many",
    books=books_arg,
    side=plausible(taker_sides),
    quantity=plausible(sizes),
    rules=rules_list,
    quantities=plausible(st.lists(sizes, max_size=3)),
)
def _allocate(a: dict[str, Any]) -> Calls:
    books, side, rules = a["books"], a["side"], a["rules"]
    return [
        ("allocate", lambda: _core.allocate(books, side, a["quantity"], rules), None),
        ("allocate_many", lambda: _core.allocate_many(books, side, a["quantities"], rules), None),
        ("walk_many", lambda: _core.walk_many(books, side, a["quantities"]), None),
    ]


optional_size = plausible(st.one_of(st.none(), sizes))


@entry(
    "VenueRules",
    taker_fee_bps=plausible(bps),
    lot_size=optional_size,
    min_quantity=optional_size,
    min_notional=plausible(st.one_of(st.none(), prices)),
    max_quantity=optional_size,
)
def _venue_rules(a: dict[str, Any]) -> Calls:
    return [("VenueRules", lambda: _core.VenueRules(**a), None)]


unit = plausible(st.floats(0, 1))


@entry(
    "Weights/score",
    price=unit,
    liquidity=unit,
    latency=unit,
    reliability=unit,
    factors=plausible(st.lists(st.tuples(*[st.floats(0, 10)] * 4), max_size=3)),
    weights=weights_arg,
)
def _weights_score(a: dict[str, Any]) -> Calls:
    return [
        (
            "Weights",
            lambda: _core.Weights(a["price"], a["liquidity"], a["latency"], a["reliability"]),
            None,
        ),
        ("score", lambda: _core.score(a["factors"], a["weights"]), None),
    ]


floats3 = plausible(st.lists(st.floats(0, 200), min_size=1, max_size=3))
reliabilities = plausible(st.lists(st.floats(0, 1), min_size=1, max_size=3))


@entry(
    "rank_venues/VenueSet/rank_set",
    books=books_arg,
    side=plausible(taker_sides),
    quantity=plausible(sizes),
    taker_fees_bps=floats3,
    latencies_ms=floats3,
    reliabilities=reliabilities,
    weights=weights_arg,
    max_slippage_bps=plausible(bps),
)
def _rank_venues(a: dict[str, Any]) -> Calls:
    def rank_set() -> object:
        fees = a["taker_fees_bps"]
        # A hostile fee list goes to the VenueSet as its rules, for the core to refuse.
        rules = (
            [_core.VenueRules(taker_fee_bps=fee) for fee in fees] if type(fees) is list else fees
        )
        venues = _core.VenueSet(a["books"], rules, a["latencies_ms"], a["reliabilities"])
        order = ("side", "quantity", "weights", "max_slippage_bps")
        return _core.rank_set(venues, **{k: a[k] for k in order})

    return [
        ("rank_venues", lambda: _core.rank_venues(**a), None),
        ("rank_set", rank_set, None),
    ]


SCREEN = {
    "books": books_arg,
    "side": plausible(taker_sides),
    "quantity": plausible(sizes),
    "rules": rules_list,
    "latencies_ms": floats3,
    "reliabilities": reliabilities,
    "balance_caps": plausible(st.one_of(st.none(), st.lists(st.one_of(st.none(), sizes)))),
    "weights": weights_arg,
    "max_slippage_bps": plausible(bps),
    "limit_price": plausible(st.one_of(st.none(), prices)),
    "min_liquidity_ratio": plausible(st.floats(0, 5)),
    "now_ns": plausible(sequences),
    "max_age_ns": plausible(sequences),
}


@entry("screen_venues/screen_batch/VenueSet/screen_set", **SCREEN)
def _screens(a: dict[str, Any]) -> Calls:
    request = tuple(a[k] for k in list(SCREEN)[:11])
    now_ns, max_age_ns = a["now_ns"], a["max_age_ns"]
    venues = ("books", "side", "quantity", "rules", "latencies_ms", "reliabilities")
    order = {k: v for k, v in a.items() if k in list(SCREEN)[:11] and k not in venues}

    def named() -> Any:
        return _core.ScreenRequest(*(a[k] for k in venues), **order)

    def screen_set() -> object:
        venues = _core.VenueSet(a["books"], a["rules"], a["latencies_ms"], a["reliabilities"])
        return _core.screen_set(venues, *request[1:3], *request[6:], now_ns, max_age_ns)

    return [
        ("screen_venues", lambda: _core.screen_venues(*request, now_ns, max_age_ns), None),
        ("ScreenRequest.screen", lambda: named().screen(now_ns, max_age_ns), None),
        ("screen_batch", lambda: _core.screen_batch([named(), named()], now_ns, max_age_ns), None),
        ("screen_batch", lambda: _core.screen_batch(request, now_ns, max_age_ns), None),
        ("screen_set", screen_set, None),
    ]


@entry("execution_cost", walk=plausible(st.just("a walk")), fee=plausible(bps))
def _execution_cost(a: dict[str, Any]) -> Calls:
    walk = make_book().walk("buy", "1") if a["walk"] == "a walk" else a["walk"]
    return [("execution_cost", lambda: _core.execution_cost(walk, a["fee"]), None)]


# -- payload parsers ----------------------------------------------------------------------------

PARSERS: dict[str, tuple[type[Any], str, bytes]] = {
    "BinanceDepthParser": (
        _core.BinanceDepthParser,
        "BTCUSDT",
        b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,'
        b'"b":[["65000.01","1.5"]],"a":[["65001","0"]]}',
    ),
    "OkxBooksParser": (
        _core.OkxBooksParser,
        "BTC-USDT",
        b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":'
        b'[{"asks":[["65001","1","0","1"]],"bids":[["65000","2","0","1"]],"ts":"1",'
        b'"checksum":0,"seqId":5,"prevSeqId":-1}]}',
    ),
    "BybitOrderbookParser": (
        _core.BybitOrderbookParser,
        "orderbook.50.BTCUSDT",
        b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT",'
        b'"b":[["65000","1"]],"a":[["65001","2"]],"u":7,"seq":9}}',
    ),
    "CoinbaseLevel2Parser": (
        _core.CoinbaseLevel2Parser,
        "BTC-USD",
        b'{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":3,"events":'
        b'[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid",'
        b'"event_time":"t","price_level":"65000","new_quantity":"1"}]}]}',
    ),
}


def mutated(sample: bytes) -> st.SearchStrategy[bytes]:
    """``sample``, and ``sample`` with one byte span replaced by something nasty."""

    def mutate(start: int, length: int, insert: bytes) -> bytes:
        start %= len(sample)
        return sample[:start] + insert + sample[start + length :]

    insertions = st.one_of(
        st.binary(max_size=8),
        st.sampled_from(
            [b'"', b"-1", b"1e999", b"99999999999999999999999", b"null", b"[]", b"{}", b"\\ud800"]
        ),
    )
    return st.one_of(
        st.just(sample), st.builds(mutate, st.integers(0, 400), st.integers(0, 6), insertions)
    )


def changes_of(parsed: Any) -> list[Any]:
    """The ``DepthChanges`` of a parser's result."""
    if parsed is None:
        return []
    found = [item for item in parsed if isinstance(item, _core.DepthChanges)]
    if not found and isinstance(parsed[-1], list):  # Coinbase: one entry per event
        found = [event[-1] for event in parsed[-1]]
    return found


def _parser_entry(name: str) -> None:
    cls, key, sample = PARSERS[name]
    valid_markets = {key: ("BTC/USDT", 2, 8)}

    @entry(
        name,
        markets=plausible(st.just(valid_markets)),
        payload=plausible(mutated(sample)),
        changes=anything,
    )
    def _parser(a: dict[str, Any]) -> Calls:
        parser = cls(valid_markets)
        book = _core.OrderBook(2, 8)

        def apply() -> None:
            for changes in changes_of(parser.parse(a["payload"])):
                _core.split_sides(changes)
                book.apply_deltas(changes)

        return [
            (f"{name}(markets)", lambda: cls(a["markets"]), None),
            (f"{name}.parse", lambda: parser.parse(a["payload"]), None),
            (f"{name}.parse -> apply_deltas", apply, book),
            ("split_sides", lambda: _core.split_sides(a["changes"]), None),
        ]


for _name in PARSERS:
    _parser_entry(_name)


def test_fuzz_parser_samples_are_valid_payloads() -> None:
    """The parsers' samples parse, so mutating them explores past the first byte."""
    for name, (cls, key, sample) in PARSERS.items():
        assert changes_of(cls({key: ("BTC/USDT", 2, 8)}).parse(sample)), name


# -- the tests ----------------------------------------------------------------------------------

#: Entry points where H6's fixes have not landed yet: something escapes the hierarchy.
OUTSIDE_KNOWN: dict[str, str] = {}
#: Entry points where an error message is still unreadable.
UNREADABLE_KNOWN: dict[str, str] = {}


def _params(known: dict[str, str]) -> list[Any]:
    return [
        pytest.param(name, marks=h6(known[name])) if name in known else name for name in ENTRIES
    ]


@pytest.mark.parametrize("name", list(ENTRIES))
def test_fuzz_no_panic_and_failed_calls_leave_the_book_unchanged(name: str) -> None:
    findings = explore(name)
    assert findings.returned + findings.refused > 0, "nothing was called"


@pytest.mark.parametrize("name", _params(OUTSIDE_KNOWN))
def test_fuzz_only_sor_errors_escape(name: str) -> None:
    findings = explore(name)
    assert not findings.outside, "\n".join(findings.outside)


@pytest.mark.parametrize("name", _params(UNREADABLE_KNOWN))
def test_fuzz_error_messages_are_readable(name: str) -> None:
    findings = explore(name)
    assert not findings.unreadable, "\n".join(findings.unreadable[:5])
