"""``Executor.execute()`` from Python: what sending an order costs on top of its decision.

On zero-latency ``SimulatedClient``s (every order fills at once against the router's books), so
what is timed is sor's own work per order: the decision, the IOC limit price, one client order
id per part, the attempts, the report, and with a journal its durable writes (SQLite
transactions: one per order sent, before it is sent, carrying the execution's start with the
first; and the execution's end with the attempts' outcomes: two for a single-venue order, four
for a split over three venues). The rows of a group are the same execution with a journal at
``synchronous=FULL`` (the default: an fsync per transaction), at ``NORMAL`` (WAL without the
fsync per commit: the fsync cost is the difference), without a journal, and ``route()`` alone.
Each benchmark checks that the order filled in full, at the decision's venues.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import sor
from sor.clients import SimulatedClient
from sor.execution import ExecutionSettings, ExecutionStatus, Executor
from sor.journal import SqliteJournal

from .report import EXECUTE_ONE_GROUP, EXECUTE_SPLIT_GROUP, SOR
from .support import calibrated, label
from .test_route import SYMBOL, router

pytestmark = calibrated

ROUTE_ONLY = "route() alone (the decision)"
NO_JOURNAL = "sor, no journal"
NORMAL = "sor, journal at synchronous=NORMAL (no fsync per commit)"

#: (group, order, venues of its decision): one venue, and a split that takes three.
CASES = {
    EXECUTE_ONE_GROUP: (sor.OrderRequest(SYMBOL, "buy", "0.1"), False),
    EXECUTE_SPLIT_GROUP: (sor.OrderRequest(SYMBOL, "buy", "1", strategy="split"), True),
}
cases_param = pytest.mark.parametrize("group", list(CASES))


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for all the rounds of a benchmark."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


def executor(group: str, journal: SqliteJournal | None) -> tuple[Executor, sor.OrderRequest]:
    order, arbitraged = CASES[group]
    routed = router(5, arbitraged)
    clients = {
        venue.name: SimulatedClient(
            venue.name,
            list(venue.markets.values()),
            {SYMBOL: routed.book(venue.name, SYMBOL)},  # type: ignore[dict-item]
        )
        for venue in routed.venues
    }
    return Executor(routed, clients, ExecutionSettings(), journal=journal), order


def run(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    group: str,
    impl: str,
    journal: SqliteJournal | None,
) -> None:
    execute, order = executor(group, journal)
    expected = [part.venue for part in execute.router.route(order).parts]
    label(benchmark, group, impl)
    report = benchmark(lambda: loop.run_until_complete(execute.execute(order)))
    assert report.status is ExecutionStatus.FILLED
    assert report.filled == order.amount
    assert sorted(report.failover_path) == sorted(expected)
    assert len(expected) == (3 if order.strategy is sor.RoutingStrategy.SPLIT else 1)


@cases_param
def test_execute_with_a_durable_journal(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, tmp_path: Path, group: str
) -> None:
    run(benchmark, loop, group, SOR, SqliteJournal(tmp_path / "journal.db"))


@cases_param
def test_execute_with_a_journal_without_fsync_per_commit(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, tmp_path: Path, group: str
) -> None:
    journal = SqliteJournal(tmp_path / "journal.db", synchronous="NORMAL")
    run(benchmark, loop, group, NORMAL, journal)


@cases_param
def test_execute_without_a_journal(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, group: str
) -> None:
    run(benchmark, loop, group, NO_JOURNAL, None)


@cases_param
def test_route_alone(benchmark: BenchmarkFixture, group: str) -> None:
    order, arbitraged = CASES[group]
    routed = router(5, arbitraged)
    label(benchmark, group, ROUTE_ONLY)
    decision = benchmark(routed.route, order)
    assert sum((part.quantity for part in decision.parts), Decimal(0)) == order.amount
