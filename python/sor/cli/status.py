"""``sor status``: a running service's venues (health, breaker, feed) and whether it can route."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer
from rich.table import Table

from sor.cli.app import app
from sor.cli.tables import console

__all__ = ["status"]


def _get(url: str, timeout: float) -> tuple[int, Any]:
    """The status and JSON body of ``GET url`` (a 4xx/5xx too)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@app.command()
def status(
    url: Annotated[str, typer.Option(help="the service's address")] = "http://127.0.0.1:8000",
    timeout: Annotated[float, typer.Option(min=0.1, max=60.0, help="seconds to wait")] = 5.0,
) -> None:
    """Show a running `sor serve`: each venue's health, latency, breaker and feed.

    Exits 0 when the service can route, 1 when it answers but cannot (no fresh book, every
    breaker open), 2 when it does not answer.
    """
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"url must start with http:// or https://, got {url!r}")
    base = url.rstrip("/")
    try:
        code, health = _get(f"{base}/health", timeout)
        _, venues = _get(f"{base}/api/exchanges/status", timeout)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        typer.echo(f"sor status: no sor service answers at {base}: {reason}", err=True)
        raise typer.Exit(2) from None
    out = console()
    out.print(_table(venues.get("exchanges", []), base))
    out.print(
        f"{health.get('status')}: {health.get('fresh_books')} of {health.get('books')} books fresh,"
        f" open breakers: {', '.join(health.get('open_breakers') or []) or 'none'},"
        f" orders in flight: {health.get('in_flight')}"
    )
    if code != 200:
        raise typer.Exit(1)


def _table(exchanges: list[dict[str, Any]], base: str) -> Table:
    table = Table(title=f"Venues of {base}")
    columns = ("venue", "score", "latency ms", "category", "success", "breaker", "feed", "age s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("venue", "category") else "right")
    for venue in exchanges:
        health = venue.get("health") or {}
        feed = venue.get("feed") or {}
        table.add_row(
            venue["venue"],
            f"{health['health_score']:.3f}" if health else "-",
            f"{health['latency_ema_ms']:.1f}" if health else "-",
            venue.get("latency_category") or "-",
            f"{health['success_rate']:.1%}" if health else "-",
            venue.get("breaker") or "-",
            ("connected" if feed.get("connected") else "down") if feed else "-",
            f"{feed['book_age_s']:.2f}" if feed else "-",
        )
    return table
