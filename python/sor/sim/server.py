"""What every exchange simulator shares: its life cycle, its port, its true books, and the
disconnect and stall faults."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sor._lifecycle import AsyncService
from sor.sim.book_model import BookModel

__all__ = ["Mutation", "SimulatorBase"]

#: Turns one outgoing message into what a client receives instead (a corrupted or hostile one).
Mutation = Callable[[bytes], bytes]


class SimulatorBase(AsyncService):
    """A simulated exchange on ``host``: started and stopped by the subclass, usable as an async
    context manager, with one :class:`BookModel` (the true book) per unified symbol."""

    host: str
    _port: int
    _models: dict[str, BookModel]
    _clients: set[Any]
    """The connected clients: each has a ``connection`` (a websockets ServerConnection) and a
    ``stalled`` flag that stops everything the simulator would send it."""

    async def disconnect(self, *, abrupt: bool = False) -> None:
        """Closes every client connection (``abrupt``: drops the TCP connection without a close)."""
        clients = list(self._clients)
        self._clients.clear()
        for client in clients:
            if abrupt:
                client.connection.transport.abort()
            else:
                await client.connection.close(1001, "going away")

    def stall(self) -> None:
        """Current connections go silent: nothing sent, no pongs (new connections are served)."""
        for client in self._clients:
            client.stalled = True
            client.connection.transport.pause_reading()

    def mutate_next(self, symbol: str, mutation: Mutation, count: int = 1) -> None:
        """The next ``count`` book updates of ``symbol`` change the true book as usual but reach
        every client as ``mutation`` rewrites them: a hostile or corrupted message, which a feed
        must refuse whole (its book is then behind the truth and must resync)."""
        if symbol not in self.symbols:
            raise KeyError(symbol)
        self._mutations().setdefault(symbol, deque()).extend([mutation] * count)

    def _next_mutation(self, symbol: str) -> Mutation | None:
        """The mutation for the book update of ``symbol`` about to be sent (None: send it as is)."""
        pending = self._mutations().get(symbol)
        return pending.popleft() if pending else None

    def _mutated(self, symbol: str, payload: bytes) -> bytes:
        """``payload`` as the next mutation of ``symbol`` rewrites it (as is if there is none)."""
        mutation = self._next_mutation(symbol)
        return payload if mutation is None else mutation(payload)

    def _mutations(self) -> dict[str, deque[Mutation]]:
        # Created on first use: the subclasses' constructors need not know about it.
        state: dict[str, deque[Mutation]] = vars(self).setdefault("_pending_mutations", {})
        return state

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    @property
    def symbols(self) -> list[str]:
        """The simulated markets' unified symbols."""
        return list(self._models)

    def model(self, symbol: str) -> BookModel:
        """The book model (the true book) of ``symbol``."""
        return self._models[symbol]
