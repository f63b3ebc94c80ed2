"""The ``sor`` command line."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sor._core import SorError, allocate, rank_venues
from sor.samples import SampleVenue, sample_venues

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


def _venue_table(venues: list[SampleVenue]) -> Table:
    table = Table(title="Venues (simulated BTC/USDT books)")
    for column in ("venue", "best bid", "best ask", "levels", "fee bps", "latency ms"):
        table.add_column(column, justify="left" if column == "venue" else "right")
    for venue in venues:
        bid, ask = venue.book.best_bid(), venue.book.best_ask()
        table.add_row(
            venue.name,
            str(bid.price) if bid else "-",
            str(ask.price) if ask else "-",
            f"{venue.book.level_count('bid')} / {venue.book.level_count('ask')}",
            f"{venue.taker_fee_bps:g}",
            f"{venue.latency_ms:g}",
        )
    return table


@app.command()
def demo(
    side: Annotated[str, typer.Option(help="buy or sell")] = "buy",
    amount: Annotated[str, typer.Option(help="base quantity, e.g. 2.5")] = "2.5",
    seed: Annotated[int, typer.Option(help="seed of the simulated books")] = 7,
) -> None:
    """Route an order across five simulated venues: ranking, then a lowest-cost split."""
    # Piped output has no terminal width: give the tables room instead of rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=132)
    if side not in ("buy", "sell"):
        raise typer.BadParameter(f"side must be 'buy' or 'sell', got {side!r}")
    taker: Literal["buy", "sell"] = "buy" if side == "buy" else "sell"
    try:
        quantity = Decimal(amount)
    except InvalidOperation:
        raise typer.BadParameter(f"amount must be a decimal number, got {amount!r}") from None
    venues = sample_venues(seed)
    console.print(_venue_table(venues))
    books = [v.book for v in venues]
    try:
        ranking, ranked_ns = _timed(
            lambda: rank_venues(
                books,
                taker,
                quantity,
                [v.taker_fee_bps for v in venues],
                [v.latency_ms for v in venues],
                [v.reliability for v in venues],
            )
        )
        rules = [v.rules for v in venues]
        split, split_ns = _timed(lambda: allocate(books, taker, quantity, rules))
    except SorError as err:
        console.print(f"[red]cannot route:[/red] {err}")
        raise typer.Exit(1) from err

    decided = f"decided in {ranked_ns / 1000:.1f} us"
    table = Table(title=f"Best execution: {side} {quantity} BTC ({decided})")
    for column in ("rank", "venue", "eligible", "avg price", "all-in price", "slippage bps"):
        table.add_column(column, justify="right")
    for column in ("price", "liquidity", "latency", "reliability", "score"):
        table.add_column(column, justify="right")
    for rank, candidate in enumerate(ranking.candidates, start=1):
        parts = candidate.score.contributions
        table.add_row(
            str(rank),
            venues[candidate.index].name,
            "yes" if candidate.eligible else "no",
            f"{candidate.walk.average_price:,.2f}",
            f"{candidate.cost.effective_price:,.2f}",
            f"{candidate.walk.slippage_bps:.2f}",
            f"{parts.price:.3f}",
            f"{parts.liquidity:.3f}",
            f"{parts.latency:.3f}",
            f"{parts.reliability:.3f}",
            f"{candidate.score.total:.3f}",
        )
    console.print(table)

    table = Table(title=f"Lowest-cost split (allocated in {split_ns / 1000:.1f} us)")
    for column in ("venue", "quantity", "avg price", "levels", "fee", "total"):
        table.add_column(column, justify="right")
    for part in split.parts:
        table.add_row(
            venues[part.index].name,
            str(part.quantity),
            f"{part.walk.average_price:,.2f}",
            str(part.walk.levels_consumed),
            f"{part.cost.fee:,.2f}",
            f"{part.cost.total:,.2f}",
        )
    console.print(table)
    best = ranking.candidates[0] if ranking.best is not None else None
    if best is not None:
        saving = best.cost.total - split.total if taker == "buy" else split.total - best.cost.total
        console.print(
            f"split total {split.total:,.2f} USDT vs best single venue "
            f"{venues[best.index].name} {best.cost.total:,.2f} USDT: "
            f"{'saves' if saving >= 0 else 'costs'} {abs(saving):,.2f} USDT"
        )
    if not split.complete:
        console.print(f"[yellow]unfilled:[/yellow] {split.unfilled} BTC")


def main() -> None:
    """Entry point of the ``sor`` console script."""
    app()
