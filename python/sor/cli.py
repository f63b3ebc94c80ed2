"""The ``sor`` command line."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sor._decimal import fmt
from sor._validate import quote
from sor.clients import Fault, SimulatedClient
from sor.config import Settings
from sor.errors import SorError
from sor.execution import ExecutionReport, ExecutionSettings
from sor.journal import SqliteJournal
from sor.orders import OrderRequest
from sor.routing.decision import RoutingDecision
from sor.routing.settings import RouterSettings
from sor.runtime import Runtime
from sor.sim.embedded import SYMBOL

T = TypeVar("T")

app = typer.Typer(help="sor: a smart order router for crypto markets.", no_args_is_help=True)


@app.callback()
def main_callback() -> None:
    """sor: a smart order router for crypto markets."""


def _timed(call: Callable[[], T]) -> tuple[T, float]:
    """The result of ``call`` and its median time in nanoseconds over 200 warm calls."""
    result = call()
    times = []
    for _ in range(200):
        started = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - started)
    return result, statistics.median(times)


def _venue_table(runtime: Runtime) -> Table:
    table = Table(title="Venues (simulated exchanges on 127.0.0.1, live BTC/USDT books)")
    columns = ("venue", "best bid", "best ask", "levels", "fee bps", "latency ms", "messages")
    for column in columns:
        table.add_column(column, justify="left" if column == "venue" else "right")
    feeds = runtime.feeds
    for venue in runtime.venues:
        feed = feeds[venue.name]
        book = feed.book(SYMBOL)
        bid, ask = book.best_bid(), book.best_ask()
        metrics = runtime.health.metrics(venue.name)
        table.add_row(
            venue.name,
            str(bid.price) if bid else "-",
            str(ask.price) if ask else "-",
            f"{book.level_count('bid')} / {book.level_count('ask')}",
            f"{float(venue.markets[SYMBOL].taker_fee) * 10_000:g}",
            f"{metrics.latency_ema_ms:g}" if metrics else "-",
            str(feed.health().counters.get("messages", 0)),
        )
    return table


def _decision_table(decision: RoutingDecision, title: str) -> Table:
    table = Table(title=title)
    for column in ("rank", "venue", "qualified", "avg price", "all-in price", "slippage bps"):
        table.add_column(column, justify="right")
    for column in ("price", "liquidity", "latency", "reliability", "score"):
        table.add_column(column, justify="right")
    parts = {p.venue: p for p in (*decision.parts, *decision.alternatives)}
    for rank, score in enumerate(decision.scores, start=1):
        part = parts.get(score.venue)
        contributions = score.contributions
        table.add_row(
            str(rank),
            score.venue,
            "yes" if score.qualified else "no",
            f"{part.average_price:,.2f}" if part else "-",
            f"{part.effective_price:,.2f}" if part else "-",
            f"{part.slippage_bps:.2f}" if part else "-",
            f"{contributions.price:.3f}",
            f"{contributions.liquidity:.3f}",
            f"{contributions.latency:.3f}",
            f"{contributions.reliability:.3f}",
            f"{score.total:.3f}",
        )
    return table


def _split_table(split: RoutingDecision, title: str) -> Table:
    table = Table(title=title)
    for column in ("venue", "quantity", "avg price", "levels", "fee", "total"):
        table.add_column(column, justify="right")
    for part in split.parts:
        table.add_row(
            part.venue,
            str(part.quantity),
            f"{part.average_price:,.2f}",
            str(part.levels),
            f"{part.fee:,.2f}",
            f"{part.total:,.2f}",
        )
    return table


def _report_table(report: ExecutionReport, title: str) -> Table:
    table = Table(title=title)
    columns = ("stage", "venue", "client order id", "amount", "limit", "outcome", "filled", "ms")
    for column in columns:
        left = column in ("stage", "venue", "outcome")
        table.add_column(column, justify="left" if left else "right")
    table.add_column("note")
    for attempt in report.attempts:
        note = "found by its client order id" if attempt.reconciled else ""
        if attempt.error:
            note = f"{note}; {attempt.error}" if note else attempt.error
        table.add_row(
            attempt.stage.value,
            attempt.venue,
            attempt.client_order_id,
            str(attempt.amount),
            "-" if attempt.price is None else str(attempt.price),
            attempt.outcome.value,
            str(attempt.filled),
            f"{attempt.duration_ms:.1f}",
            note[:60],
        )
    return table


def _summary(report: ExecutionReport) -> str:
    price = report.average_price
    slippage = report.slippage_bps
    return (
        f"{report.status.value}: {fmt(report.filled)} of {fmt(report.order.amount)} BTC"
        + (f" at {price:,.2f}" if price is not None else "")
        + (f" ({slippage:+.2f} bps vs expected)" if slippage is not None else "")
        + f", fees {report.fees:,.4f} USDT, path {' -> '.join(report.failover_path) or '-'}"
        + (f"; {report.reason}" if report.reason else "")
    )


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
    # Piped output has no terminal width: give the tables room instead of rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=132)
    if side not in ("buy", "sell"):
        raise typer.BadParameter(f"side must be 'buy' or 'sell', got {quote(side)}")
    try:
        quantity = Decimal(amount)
    except InvalidOperation:
        raise typer.BadParameter(f"amount must be a decimal number, got {quote(amount)}") from None
    if not quantity.is_finite() or quantity <= 0:
        raise typer.BadParameter(f"amount must be a positive number, got {quote(amount)}")
    code = asyncio.run(_demo(console, side, quantity, seed))
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
        console.print(_venue_table(runtime))
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
    console.print(_decision_table(decision, title))
    console.print(_split_table(split, f"Lowest-cost split (routed in {split_ns / 1000:.1f} us)"))
    best = decision.primary
    saving = best.total - split.total if side == "buy" else split.total - best.total
    console.print(
        f"split total {split.total:,.2f} USDT vs best single venue {best.venue} "
        f"{best.total:,.2f} USDT: {'saves' if saving >= 0 else 'costs'} {abs(saving):,.2f} USDT"
    )
    failover = (*decision.venues, *(a.venue for a in decision.alternatives))
    console.print(f"failover order: {' -> '.join(failover)}")
    for title, report in reports:
        console.print(_report_table(report, title))
        console.print(_summary(report))
    return 0


def main() -> None:
    """Entry point of the ``sor`` console script."""
    app()
