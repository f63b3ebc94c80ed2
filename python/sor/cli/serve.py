"""``sor serve``: the HTTP API (see :mod:`sor.service`) until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from sor.cli.app import app
from sor.cli.inputs import settings_from
from sor.errors import ConfigError, JournalError

__all__ = ["serve"]


@app.command()
def serve(
    config: Annotated[
        Path | None, typer.Option(help="settings file (TOML); default $SOR_CONFIG")
    ] = None,
    host: Annotated[str | None, typer.Option(help="address to bind (service.host)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (service.port)")] = None,
    paper: Annotated[
        bool, typer.Option(help="live public books from the exchanges, fills simulated on them")
    ] = False,
) -> None:
    """Serve the HTTP API: routing, execution with failover, status, statistics, metrics.

    With no exchange configured it runs on the five embedded simulators (feeds and simulated
    clients), so it answers every endpoint offline. POST /api/execute needs the bearer token
    of service.token or $SOR_API_TOKEN.
    """
    from sor.service import serve as run  # FastAPI and uvicorn load only for this command

    settings = settings_from(config)
    if port is not None and not 0 <= port <= 65_535:
        raise typer.BadParameter(f"port must be in [0, 65535], got {port}")
    try:
        asyncio.run(run(settings, host=host, port=port, paper=paper))
    except (ConfigError, JournalError) as error:
        typer.echo(f"sor serve: {error}", err=True)
        raise typer.Exit(2) from None
    except OSError as error:  # the address is taken, or not ours to bind
        typer.echo(f"sor serve: cannot listen: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
