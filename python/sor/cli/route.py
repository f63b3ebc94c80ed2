"""``sor route``: one routing decision on live books, explained."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import ccxt
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sor.cli.app import app
from sor.cli.inputs import amount_arg, settings_from, side_arg
from sor.cli.tables import console, decision_table, split_table, venue_table
from sor.config import Settings
from sor.errors import InvalidInput, NoRouteError, SorError
from sor.live import LIVE_EXCHANGES, live_runtime
from sor.orders import OrderRequest, RoutingStrategy
from sor.runtime import Runtime
from sor.sim.embedded import SYMBOL, EmbeddedExchanges

__all__ = ["route"]


@app.command()
def route(
    symbol: Annotated[str, typer.Argument(help="ccxt's unified symbol, e.g. BTC/USDT")],
    side: Annotated[str, typer.Argument(help="buy or sell")],
    amount: Annotated[str, typer.Argument(help="base quantity, e.g. 0.5")],
    exchanges: Annotated[
        str | None, typer.Option(help="comma-separated venues to consider (default: all)")
    ] = None,
    strategy: Annotated[
        RoutingStrategy | None, typer.Option(help="routing strategy (router.default_strategy)")
    ] = None,
    sim: Annotated[
        bool, typer.Option("--sim", help="route on the five embedded exchange simulators")
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="settings file (TOML); default $SOR_CONFIG")
    ] = None,
) -> None:
    """Route one order on the exchanges' live public books (no credentials, nothing is sent)
    and explain the decision: every venue scored, the route, the failover chain. Exits 1 when
    nothing can take the order or the exchanges cannot be reached (the reason is printed)."""
    settings = settings_from(config)
    quantity = amount_arg(amount)
    chosen = None if exchanges is None else [n.strip() for n in exchanges.split(",") if n.strip()]
    try:
        order = OrderRequest(symbol, side_arg(side), quantity, strategy=strategy)  # type: ignore[arg-type]
    except InvalidInput as error:
        raise typer.BadParameter(str(error)) from None
    code = asyncio.run(_route(console(), settings, order, chosen, sim))
    if code:
        raise typer.Exit(code)


async def _route(
    console: Console,
    settings: Settings,
    order: OrderRequest,
    chosen: list[str] | None,
    sim: bool,
) -> int:
    names = [v.name for v in EmbeddedExchanges(7).venues()] if sim else list(LIVE_EXCHANGES)
    unknown = sorted(set(chosen or ()) - set(names))
    if unknown:
        console.print(
            f"[red]unknown exchange:[/red] {', '.join(unknown)} (known: {', '.join(names)})"
        )
        return 2
    if sim and order.symbol != SYMBOL:
        console.print(f"[red]the simulators trade {SYMBOL} only[/red], not {order.symbol}")
        return 2
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        if sim:
            if chosen is not None:
                order = _without(order, [n for n in names if n not in chosen])
            runtime = Runtime.embedded(settings)
            progress.add_task("starting the simulators and bringing their books live", total=None)
        else:
            venues = chosen or names
            task = progress.add_task(f"loading {order.symbol} markets from {', '.join(venues)}")
            try:
                runtime = await live_runtime(settings, venues, [order.symbol])
            except ccxt.BaseError as error:
                console.print(
                    f"[red]cannot load the markets:[/red] {type(error).__name__}: {error}"
                )
                return 1
            except InvalidInput as error:
                console.print(f"[red]cannot route:[/red] {error}")
                return 2
            progress.update(task, description="bringing the books live through the native feeds")
        try:
            await runtime.start(timeout=30.0)
        except (TimeoutError, OSError) as error:
            console.print(
                f"[red]the books did not come live:[/red] {error or type(error).__name__}"
            )
            return 1
    try:
        title = f"Venues ({'simulated' if sim else 'live'} {order.symbol} books)"
        console.print(venue_table(runtime, order.symbol, title))
        try:
            decision = runtime.router.route(order)
        except NoRouteError as error:
            console.print(f"[red]no route:[/red] {error}")
            return 1
        except SorError as error:
            console.print(f"[red]cannot route:[/red] {error}")
            return 1
        title = (
            f"{decision.strategy.value}: {order.side.value} {order.amount} "
            f"{order.symbol.split('/')[0]} -> {', '.join(decision.venues)} "
            f"({decision.reason.value}, {decision.decision_time_us:.1f} us)"
        )
        console.print(
            split_table(decision, title) if decision.is_split else decision_table(decision, title)
        )
        chain = (*decision.venues, *(a.venue for a in decision.alternatives))
        console.print(f"failover order: {' -> '.join(chain)}")
        return 0
    finally:
        await runtime.stop()


def _without(order: OrderRequest, excluded: list[str]) -> OrderRequest:
    return OrderRequest(
        order.symbol, order.side, order.amount, strategy=order.strategy,
        excluded_exchanges=excluded,
    )  # fmt: skip
