"""The ``sor`` command: ``demo``, ``serve``, ``route``, ``status`` and ``orders``.

Each command is a module of this package registering itself on :data:`sor.cli.app.app`.
"""

from sor.cli import demo, orders, route, serve, status
from sor.cli.app import app

__all__ = ["app", "demo", "main", "orders", "route", "serve", "status"]


def main() -> None:
    """Entry point of the ``sor`` console script."""
    app()
