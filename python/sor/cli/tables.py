"""The command line's rich tables: venues, decisions, splits and execution reports."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from sor._decimal import fmt
from sor.execution import ExecutionReport
from sor.routing.decision import RoutingDecision
from sor.runtime import Runtime

__all__ = ["console", "decision_table", "report_table", "split_table", "summary", "venue_table"]


def console() -> Console:
    """The console the commands print to; piped output, which has no terminal width, gets room
    for the tables instead of rich's 80 columns."""
    return Console() if sys.stdout.isatty() else Console(width=132)


def venue_table(runtime: Runtime, symbol: str, title: str) -> Table:
    """The venues of a started runtime: best prices, depth, fee, latency, messages."""
    table = Table(title=title)
    columns = ("venue", "best bid", "best ask", "levels", "fee bps", "latency ms", "messages")
    for column in columns:
        table.add_column(column, justify="left" if column == "venue" else "right")
    feeds = runtime.feeds
    for venue in runtime.venues:
        feed = feeds[venue.name]
        book = feed.book(symbol)
        bid, ask = book.best_bid(), book.best_ask()
        metrics = runtime.health.metrics(venue.name)
        table.add_row(
            venue.name,
            str(bid.price) if bid else "-",
            str(ask.price) if ask else "-",
            f"{book.level_count('bid')} / {book.level_count('ask')}",
            f"{float(venue.markets[symbol].taker_fee) * 10_000:g}",
            f"{metrics.latency_ema_ms:g}" if metrics else "-",
            str(feed.health().counters.get("messages", 0)),
        )
    return table


def decision_table(decision: RoutingDecision, title: str) -> Table:
    """A decision's candidates, ranked: prices, qualification and each factor's score."""
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


def split_table(split: RoutingDecision, title: str) -> Table:
    """A split's parts: quantity, average price, levels, fee and total per venue."""
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


def report_table(report: ExecutionReport, title: str) -> Table:
    """An execution's attempts: stage, venue, client order id, outcome and what filled."""
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


def summary(report: ExecutionReport) -> str:
    """An execution in one line: status, fill, price, slippage, fees, path, reason."""
    price = report.average_price
    slippage = report.slippage_bps
    base, quote = report.order.symbol.split("/")
    return (
        f"{report.status.value}: {fmt(report.filled)} of {fmt(report.order.amount)} {base}"
        + (f" at {price:,.2f}" if price is not None else "")
        + (f" ({slippage:+.2f} bps vs expected)" if slippage is not None else "")
        + f", fees {report.fees:,.4f} {quote}, path {' -> '.join(report.failover_path) or '-'}"
        + (f"; {report.reason}" if report.reason else "")
    )
