"""``sor demo``: five simulated exchanges, live feeds, routing and executions with failover, all
offline."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from sor.cli.app import app
from sor.cli.inputs import amount_arg, side_arg
from sor.cli.tables import console as make_console
from sor.cli.tables import decision_table, report_table, split_table, summary, venue_table
from sor.clients import Fault, SimulatedClient
from sor.config import Settings
from sor.errors import SorError
from sor.execution import ExecutionSettings
from sor.journal import SqliteJournal
from sor.orders import OrderRequest
from sor.routing.settings import RouterSettings
from sor.runtime import Runtime
from sor.sim.embedded import SYMBOL

T = TypeVar("T")

__all__ = ["demo"]


def _timed(call: Callable[[], T]) -> tuple[T, float]:
    """The result of ``call`` and its median time in nanoseconds over 200 warm calls."""
    result = call()
    times = []
    for _ in range(200):
        started = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - started)
    return result, statistics.median(times)


#: The demo's executions: a title, and the faults its first venue meets.
_SCENARIOS: tuple[tuple[str, tuple[Fault, ...]], ...] = (
    ("Execution: the primary fills", ()),
    ("Failover: the primary is down, the next venue fills", (Fault.DOWN,)),
    ("A timeout that in fact filled: looked up, no second order", (Fault.TIMEOUT_FILLED,)),
    ("A partial fill, then a refusal: the rest goes elsewhere", (Fault.PARTIAL, Fault.REJECT)),
)


@app.command()
def demo(
    side: Annotated[str, typer.Option(help="buy or sell")] = "buy",
    amount: Annotated[str, typer.Option(help="base quantity, e.g. 2.5")] = "2.5",
    seed: Annotated[int, typer.Option(help="seed of the simulated books")] = 7,
) -> None:
    """Route an order across five simulated exchanges: live feeds, best execution, a split.

    Starts Binance, Coinbase, Kraken, OKX and Bybit simulators on 127.0.0.1 (each speaking its
    exchange's wire protocol), keeps their books live through sor's feeds, then routes.
    """
    console = make_console()
    code = asyncio.run(_demo(console, side_arg(side), amount_arg(amount), seed))
    if code:
        raise typer.Exit(code)


async def _demo(console: Console, side: str, quantity: Decimal, seed: int) -> int:
    # Routing is timed without the cache: every call decides again.
    settings = Settings(router=RouterSettings(cache_ttl_s=0))
    execution = ExecutionSettings(settle_after_s=0.2, reconcile_interval_s=0.05)
    journal = SqliteJournal(":memory:")
    async with Runtime.embedded(
        settings, seed=seed, execution=execution, journal=journal
    ) as runtime:
        console.print(
            venue_table(
                runtime, SYMBOL, "Venues (simulated exchanges on 127.0.0.1, live BTC/USDT books)"
            )
        )
        router = runtime.router
        best_order = OrderRequest(SYMBOL, side, quantity)  # type: ignore[arg-type]
        split_order = OrderRequest(SYMBOL, side, quantity, strategy="split")  # type: ignore[arg-type]
        try:
            decision, decided_ns = _timed(lambda: router.route(best_order))
            split, split_ns = _timed(lambda: router.route(split_order))
        except SorError as err:
            console.print(f"[red]cannot route:[/red] {err}")
            return 1
        reports = []
        for title, faults in _SCENARIOS:
            primary = router.route(best_order).primary.venue
            client = runtime.executor.clients[primary]
            if isinstance(client, SimulatedClient):
                client.fail_next(*faults)
            reports.append((title, await runtime.executor.execute(best_order)))
    title = (
        f"Best execution: {side} {quantity} BTC -> {decision.primary.venue} "
        f"({decision.reason.value}, decided in {decided_ns / 1000:.1f} us)"
    )
    console.print(decision_table(decision, title))
    console.print(split_table(split, f"Lowest-cost split (routed in {split_ns / 1000:.1f} us)"))
    best = decision.primary
    saving = best.total - split.total if side == "buy" else split.total - best.total
    console.print(
        f"split total {split.total:,.2f} USDT vs best single venue {best.venue} "
        f"{best.total:,.2f} USDT: {'saves' if saving >= 0 else 'costs'} {abs(saving):,.2f} USDT"
    )
    failover = (*decision.venues, *(a.venue for a in decision.alternatives))
    console.print(f"failover order: {' -> '.join(failover)}")
    for title, report in reports:
        console.print(report_table(report, title))
        console.print(summary(report))
    return 0
