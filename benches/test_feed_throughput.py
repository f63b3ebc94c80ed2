"""Feed throughput: book-update messages per second, parse + apply, on one core, per adapter.

Binance: one seeded stream (``feed_stream.make_stream``: 5,000 ``depthUpdate`` messages of 20
changed levels each, from the simulators' ``BookModel``, bursts included) through sor's feed path
and its baselines: a plain Python dict book and cryptofeed's Binance handling (``Decimal`` +
``SortedDict``).

Coinbase Advanced Trade, Kraken v2, OKX and Bybit v5: one seeded stream each
(``feed_streams_native.make_native_streams``: 5,000 update messages of 20 changed levels each in
the exchange's wire format, written by the simulators' own builders) through sor's feed path
(the native adapter's ``parse``, then ``BookSync``) and a plain Python dict book; one group per
exchange.

Every timed round starts from a fresh live book (made outside the timing: for the native
adapters, by the simulator's snapshot message read by the adapter) and must end with exactly the
book the stream leads to: each round's book is checked before the next round's setup, outside
the timing.

Each row records ``msgs_per_s`` (messages per second, from the median round) and
``msgs_per_s_best`` (from the fastest round) in ``extra_info``; the sor rows, which run last in
their group, also record their speed ratio to each row that ran before them in the same group
(``vs <label>``: the baseline's median time over sor's). The issue's target is sor at 100,000
messages per second or more for Binance diffs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from sor.feeds import BinanceSpotAdapter

from .feed_stream import (
    CRYPTOFEED,
    DICT,
    GROUP,
    LEVELS_PER_MESSAGE,
    MESSAGES,
    SOR,
    SOR_STRINGS,
    CryptofeedStyle,
    DictBook,
    FeedStream,
    SorPath,
    SorStringAdapter,
    make_stream,
    receive_dict,
)
from .feed_streams_native import (
    DEPTHS,
    EXCHANGES,
    Exchange,
    NativePath,
    NativeStream,
    group,
    make_native_streams,
)
from .feed_streams_native import DictBook as NativeDictBook
from .feed_streams_native import receive_dict as receive_native_dict
from .support import label

ROUNDS = 15
"""Timed rounds (each applies the whole stream to a fresh book)."""
WARMUP_ROUNDS = 2
"""Untimed rounds before them."""
SLOW_ROUNDS = 5
"""Timed rounds of the rows that take seconds per round (the Python Kraken book, which sorts for
its checksum), after one untimed round."""

State = TypeVar("State")

_medians: dict[str, dict[str, float]] = {}
"""Median round time (seconds) of each implementation measured so far, by group."""


@functools.cache
def stream() -> FeedStream:
    """The Binance stream every Binance handler is timed on."""
    return make_stream()


@functools.cache
def native_streams() -> dict[Exchange, NativeStream]:
    """The streams of the native adapters (made in one pass of the book model)."""
    return make_native_streams()


def run_rounds(
    benchmark: BenchmarkFixture,
    group_name: str,
    impl: str,
    stream_bytes: int,
    fresh: Callable[[], State],
    receive: Callable[[State], None],
    check: Callable[[State], None],
    *,
    slow: bool = False,
) -> None:
    """Times ``receive`` on a fresh state each round, checks every round's state with ``check``
    (outside the timing), records msgs/s and the ratios to the rows before it in its group.

    ``slow``: :data:`SLOW_ROUNDS` rounds after one warm-up instead of :data:`ROUNDS`."""
    label(benchmark, group_name, impl, items=MESSAGES)
    benchmark.extra_info["levels_per_message"] = LEVELS_PER_MESSAGE
    benchmark.extra_info["mean_message_bytes"] = round(stream_bytes / MESSAGES)
    done: list[State] = []

    def target(state: State) -> None:
        receive(state)
        done.append(state)

    def setup() -> tuple[tuple[State], dict[str, Any]]:
        while done:
            check(done.pop())
        return (fresh(),), {}

    pedantic: Callable[..., None] = benchmark.pedantic
    rounds, warmup = (SLOW_ROUNDS, 1) if slow else (ROUNDS, WARMUP_ROUNDS)
    pedantic(target, setup=setup, rounds=rounds, warmup_rounds=warmup)
    assert done, "no round ran"
    while done:
        check(done.pop())
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None with --benchmark-disable
        median = float(stats.stats.median)
        benchmark.extra_info["msgs_per_s"] = round(MESSAGES / median)
        benchmark.extra_info["msgs_per_s_best"] = round(MESSAGES / float(stats.stats.min))
        medians = _medians.setdefault(group_name, {})
        if impl in (SOR, SOR_STRINGS):
            for other, other_median in medians.items():
                benchmark.extra_info[f"vs {other}"] = round(other_median / median, 2)
        medians[impl] = median


# --- Binance: baselines first, so that the sor rows can record their ratios to them. -----------


def test_feed_throughput_pure_python_dict_book(benchmark: BenchmarkFixture) -> None:
    def check(books: dict[str, DictBook]) -> None:
        (book,) = books.values()
        assert book.update_id == stream().final_update_id
        assert book.levels() == stream().final

    run_rounds(
        benchmark,
        GROUP,
        DICT,
        stream().bytes,
        lambda: DictBook.live(stream()),
        lambda b: receive_dict(b, stream().messages),
        check,
    )


def test_feed_throughput_cryptofeed_style(benchmark: BenchmarkFixture) -> None:
    def check(handler: CryptofeedStyle) -> None:
        assert handler.deltas == MESSAGES
        assert handler.levels() == stream().final

    run_rounds(
        benchmark,
        GROUP,
        CRYPTOFEED,
        stream().bytes,
        lambda: CryptofeedStyle.live(stream()),
        lambda h: h.receive(stream().messages),
        check,
    )


def check_sor(path: SorPath) -> None:
    """A Binance sor path handled every message and holds the stream's final book."""
    assert path.stats.messages == MESSAGES
    assert path.sequence == stream().final_update_id
    assert path.levels() == stream().final


def test_feed_throughput_sor_with_python_parsing(benchmark: BenchmarkFixture) -> None:
    run_rounds(
        benchmark,
        GROUP,
        SOR_STRINGS,
        stream().bytes,
        lambda: SorPath.live(stream(), SorStringAdapter),
        lambda p: p.receive(stream().messages),
        check_sor,
    )


def test_feed_throughput_sor(benchmark: BenchmarkFixture) -> None:
    run_rounds(
        benchmark,
        GROUP,
        SOR,
        stream().bytes,
        lambda: SorPath.live(stream(), BinanceSpotAdapter),
        lambda p: p.receive(stream().messages),
        check_sor,
    )


# --- Native adapters: one group per exchange, the dict baseline first. -------------------------


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_feed_throughput_native_pure_python_dict_book(
    benchmark: BenchmarkFixture, exchange: Exchange
) -> None:
    native = native_streams()[exchange]

    def check(book: NativeDictBook) -> None:
        assert book.levels() == native.final

    benchmark.extra_info["exchange"] = exchange
    run_rounds(
        benchmark,
        group(exchange),
        DICT,
        native.bytes,
        lambda: NativeDictBook.live(native),
        lambda b: receive_native_dict(b, native.messages),
        check,
        slow=exchange == "kraken",
    )


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_feed_throughput_native_sor(benchmark: BenchmarkFixture, exchange: Exchange) -> None:
    native = native_streams()[exchange]

    def check(path: NativePath) -> None:
        assert path.stats.messages == MESSAGES + 1  # the snapshot message, then the stream
        assert path.sequence == native.final_sequence
        assert path.levels() == native.final

    benchmark.extra_info["exchange"] = exchange
    benchmark.extra_info["depth"] = DEPTHS[exchange]
    run_rounds(
        benchmark,
        group(exchange),
        SOR,
        native.bytes,
        lambda: NativePath.live(native),
        lambda p: p.receive(native.messages),
        check,
    )
