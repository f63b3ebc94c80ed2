"""Reading the command line's arguments: each refusal names the argument and what is wrong."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from sor._validate import quote
from sor.config import Settings, load_settings
from sor.errors import ConfigError

__all__ = ["amount_arg", "settings_from", "side_arg"]


def side_arg(side: str) -> str:
    """``side`` if it is buy or sell (any case)."""
    lowered = side.lower()
    if lowered not in ("buy", "sell"):
        raise typer.BadParameter(f"side must be 'buy' or 'sell', got {quote(side)}")
    return lowered


def amount_arg(amount: str) -> Decimal:
    """``amount`` as a positive, finite decimal."""
    try:
        quantity = Decimal(amount)
    except InvalidOperation:
        raise typer.BadParameter(f"amount must be a decimal number, got {quote(amount)}") from None
    if not quantity.is_finite() or quantity <= 0:
        raise typer.BadParameter(f"amount must be a positive number, got {quote(amount)}")
    return quantity


def settings_from(config: Path | None) -> Settings:
    """The settings of ``config`` (or ``$SOR_CONFIG``) with the environment's overrides; a bad
    file or key exits with status 2 and the problems, each naming its key."""
    try:
        return load_settings(config)
    except ConfigError as error:
        typer.echo(f"sor: bad configuration: {error}", err=True)
        raise typer.Exit(2) from None
