"""What every feed offers its readers: :class:`BookSource`.

A native :class:`sor.feeds.Feed` and a :class:`sor.feeds.CcxtFeed` keep their books in different
ways (one websocket and an exchange's sequence rule; ccxt calls per symbol), but the runtime,
the paper client and the health checks read them the same way, through this protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from sor._core import OrderBook
from sor.feeds.stats import FeedHealth
from sor.feeds.sync import SyncState

__all__ = ["BookSource"]


@runtime_checkable
class BookSource(Protocol):
    """A running source of exact books, one per unified symbol, with their state and age."""

    @property
    def symbols(self) -> list[str]:
        """The symbols it keeps books for (unified form)."""
        ...

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """Every book, by symbol (check :meth:`is_fresh` before trusting one)."""
        ...

    def book(self, symbol: str) -> OrderBook:
        """The book of ``symbol``; raises ``InvalidInput`` for a symbol it does not keep."""
        ...

    def state(self, symbol: str) -> SyncState:
        """Where the book of ``symbol`` is in its life cycle."""
        ...

    def last_update_age(self, symbol: str) -> float:
        """Seconds since the book of ``symbol`` last changed."""
        ...

    def is_fresh(self, symbol: str) -> bool:
        """True if the book of ``symbol`` is live and updated within its staleness limit."""
        ...

    def health(self) -> FeedHealth:
        """Its counters and each book's state, at this moment."""
        ...

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        ...

    @property
    def connected(self) -> bool:
        """True while its connection (or every symbol's latest call) is good."""
        ...

    async def wait_live(self, symbols: Iterable[str] | None = None, timeout: float = 30.0) -> None:
        """Waits until the books of ``symbols`` (default: all) are live; raises TimeoutError."""
        ...

    async def start(self) -> None:
        """Starts keeping the books in the background (returns at once)."""
        ...

    async def stop(self) -> None:
        """Stops every task it started."""
        ...
