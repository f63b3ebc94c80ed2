"""Feed throughput: Binance ``depthUpdate`` messages per second, parse + apply, on one core.

One seeded stream (``feed_stream.make_stream``: 5,000 messages of 20 changed levels each, from
the simulators' ``BookModel``, bursts included) through sor's feed path and its baselines: a
plain Python dict book and cryptofeed's Binance handling (``Decimal`` + ``SortedDict``). Every
timed round starts from a fresh book at the stream's snapshot (made outside the timing) and must
end with exactly the book the stream leads to.

Each row records ``msgs_per_s`` (messages per second, from the median round) in ``extra_info``;
the sor rows, which run last, also record their speed ratio to each row that ran before them in
the same session (``vs <label>``: the baseline's median time over sor's). The issue's target is
sor at 100,000 messages per second or more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

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
from .support import label

ROUNDS = 15
"""Timed rounds (each applies the whole stream to a fresh book)."""
WARMUP_ROUNDS = 2
"""Untimed rounds before them."""

State = TypeVar("State")

_medians: dict[str, float] = {}
"""Median round time (seconds) of each implementation measured so far in this session."""


@functools.cache
def stream() -> FeedStream:
    """The stream every handler is timed on."""
    return make_stream()


def run_rounds(
    benchmark: BenchmarkFixture,
    impl: str,
    fresh: Callable[[], State],
    receive: Callable[[State], None],
) -> State:
    """Times ``receive`` on a fresh state each round, records msgs/s and ratios, returns the
    state of the last round."""
    label(benchmark, GROUP, impl, items=MESSAGES)
    benchmark.extra_info["levels_per_message"] = LEVELS_PER_MESSAGE
    benchmark.extra_info["mean_message_bytes"] = round(stream().bytes / MESSAGES)

    def target(state: State) -> State:
        receive(state)
        return state

    def setup() -> tuple[tuple[State], dict[str, Any]]:
        return (fresh(),), {}

    pedantic: Callable[..., State] = benchmark.pedantic
    state = pedantic(target, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None with --benchmark-disable
        median = float(stats.stats.median)
        benchmark.extra_info["msgs_per_s"] = round(MESSAGES / median)
        if impl in (SOR, SOR_STRINGS):
            for other, other_median in _medians.items():
                benchmark.extra_info[f"vs {other}"] = round(other_median / median, 2)
        _medians[impl] = median
    return state


# Baselines first, so that the sor rows can record their ratios to them.


def test_feed_throughput_pure_python_dict_book(benchmark: BenchmarkFixture) -> None:
    books = run_rounds(
        benchmark,
        DICT,
        lambda: DictBook.live(stream()),
        lambda b: receive_dict(b, stream().messages),
    )
    (book,) = books.values()
    assert book.update_id == stream().final_update_id
    assert book.levels() == stream().final


def test_feed_throughput_cryptofeed_style(benchmark: BenchmarkFixture) -> None:
    handler = run_rounds(
        benchmark,
        CRYPTOFEED,
        lambda: CryptofeedStyle.live(stream()),
        lambda h: h.receive(stream().messages),
    )
    assert handler.deltas == MESSAGES
    assert handler.levels() == stream().final


def test_feed_throughput_sor_with_python_parsing(benchmark: BenchmarkFixture) -> None:
    path = run_rounds(
        benchmark,
        SOR_STRINGS,
        lambda: SorPath.live(stream(), SorStringAdapter),
        lambda p: p.receive(stream().messages),
    )
    assert path.stats.messages == MESSAGES
    assert path.sequence == stream().final_update_id
    assert path.levels() == stream().final


def test_feed_throughput_sor(benchmark: BenchmarkFixture) -> None:
    path = run_rounds(
        benchmark,
        SOR,
        lambda: SorPath.live(stream(), BinanceSpotAdapter),
        lambda p: p.receive(stream().messages),
    )
    assert path.stats.messages == MESSAGES
    assert path.sequence == stream().final_update_id
    assert path.levels() == stream().final
