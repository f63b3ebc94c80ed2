"""Backoff delays and the request-weight limiter that spaces out snapshot requests."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import pytest

from sor import InvalidInput
from sor.feeds import Backoff, BackoffPolicy, FeedConfig, WeightLimiter


def test_backoff_doubles_up_to_the_maximum_with_jitter_below_each_step() -> None:
    backoff = Backoff(
        BackoffPolicy(initial=0.1, maximum=1.0, factor=2.0, jitter=0.5), random.Random(3)
    )
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.5 <= delay <= base


def test_backoff_without_jitter_is_exact_and_reset_starts_over() -> None:
    backoff = Backoff(BackoffPolicy(initial=0.5, maximum=4.0, jitter=0.0))
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_survives_a_very_long_outage() -> None:
    backoff = Backoff(BackoffPolicy(initial=1.0, maximum=30.0, jitter=0.0))
    backoff.attempts = 10_000
    assert backoff.next_delay() == 30.0


def test_jitter_spreads_clients_that_failed_together() -> None:
    policy = BackoffPolicy(initial=1.0, maximum=1.0, jitter=0.5)
    delays = {Backoff(policy, random.Random(seed)).next_delay() for seed in range(20)}
    assert len(delays) == 20


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0.0}, {"initial": 2.0, "maximum": 1.0}, {"factor": 0.5}, {"jitter": 1.5}],
)
def test_backoff_policy_rejects_bad_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        BackoffPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"receive_timeout": 0.0}, {"staleness": float("nan")}, {"max_buffer": -1}]
)
def test_feed_config_rejects_non_positive_durations(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(kwargs))):
        FeedConfig(**kwargs)  # type: ignore[arg-type]


async def test_limiter_spaces_requests_by_the_minimum_interval() -> None:
    limiter = WeightLimiter(budget=1_000, min_interval=0.05)
    times: list[float] = []

    async def request() -> None:
        await limiter.acquire(10)
        times.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(4)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.045 for gap in gaps), gaps


async def test_limiter_holds_requests_that_would_exceed_the_budget_until_the_window_moves() -> None:
    limiter = WeightLimiter(budget=100, window=0.3)
    start = time.monotonic()
    await limiter.acquire(50)
    await limiter.acquire(50)
    assert time.monotonic() - start < 0.1
    assert limiter.used_weight() == 100
    await limiter.acquire(50)
    assert time.monotonic() - start >= 0.29
    assert limiter.used_weight() <= 100


async def test_limiter_pause_delays_the_next_request() -> None:
    limiter = WeightLimiter(budget=100)
    limiter.pause(0.2)
    start = time.monotonic()
    await limiter.acquire(5)
    assert time.monotonic() - start >= 0.19


async def test_limiter_rejects_a_request_heavier_than_its_budget() -> None:
    limiter = WeightLimiter(budget=100)
    with pytest.raises(InvalidInput, match="weight"):
        await limiter.acquire(101)
