"""The ``sor`` typer application that every command registers on."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    help="sor: a smart order router for crypto markets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never print a setting's value
)


@app.callback()
def main_callback() -> None:
    """sor: a smart order router for crypto markets."""
