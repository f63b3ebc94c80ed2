"""``sor orders``: the journal's executions and attempts, as a table, CSV or JSON."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sor.cli.app import app
from sor.cli.inputs import settings_from
from sor.cli.tables import console
from sor.errors import JournalError
from sor.journal import ExecutionRecord, export_csv, export_json, listing
from sor.service.server import open_configured_journal

__all__ = ["orders"]


class Format(str, Enum):
    """How ``sor orders`` prints."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@app.command()
def orders(
    config: Annotated[
        Path | None, typer.Option(help="settings file (TOML); default $SOR_CONFIG")
    ] = None,
    journal: Annotated[
        str | None, typer.Option(help="journal file or URL (journal.url of the settings)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="latest executions")] = 20,
    status: Annotated[str | None, typer.Option(help="only executions that ended so")] = None,
    symbol: Annotated[str | None, typer.Option(help="only executions of this symbol")] = None,
    output: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.TABLE,
) -> None:
    """List the journal: every execution, newest first, with each order it sent."""
    settings = settings_from(config)
    if journal is not None:
        settings = replace(settings, journal=replace(settings.journal, url=journal))
    url = settings.journal.url
    if not url.startswith(("postgres", ":memory:")) and not Path(url).exists():
        typer.echo(f"sor orders: no journal at {settings.journal.url!r}", err=True)
        raise typer.Exit(1)
    try:
        opened = open_configured_journal(settings)
    except JournalError as error:
        typer.echo(f"sor orders: {error}", err=True)
        raise typer.Exit(1) from None

    def where(record: ExecutionRecord) -> bool:
        return (status is None or record.status == status) and (
            symbol is None or record.symbol == symbol
        )

    keep = None if status is None and symbol is None else where
    try:
        if output is Format.TABLE:
            console().print(_table(listing(opened, limit, keep)))
        elif output is Format.JSON:
            export_json(opened, sys.stdout, limit, keep)
        else:
            export_csv(opened, sys.stdout, limit, keep)
    finally:
        opened.close()


def _table(entries: list[dict[str, object]]) -> Table:
    table = Table(title=f"Journal: the latest {len(entries)} executions")
    columns = ("execution", "client id", "created", "symbol", "side", "amount", "status", "filled")
    for column in columns:
        table.add_column(column, justify="right" if column in ("amount", "filled") else "left")
    table.add_column("orders (venue: outcome filled)")
    for entry in entries:
        attempts = entry["attempts"]
        assert isinstance(attempts, list)
        created = entry["created_ns"]
        assert isinstance(created, int)
        table.add_row(
            str(entry["execution_id"])[:12],
            str(entry["client_id"] or "-"),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created / 1e9)),
            str(entry["symbol"]),
            str(entry["side"]),
            str(entry["amount"]),
            str(entry["status"] or "in progress"),
            str(entry["filled"] or "0"),
            ", ".join(f"{a['venue']}: {a['state']} {a['filled']}" for a in attempts) or "-",
        )
    return table
