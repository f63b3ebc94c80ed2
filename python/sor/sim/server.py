"""What every exchange simulator shares: its life cycle, its port, its true books, and the
disconnect and stall faults."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

from sor.sim.book_model import BookModel

__all__ = ["SimulatorBase"]

S = TypeVar("S", bound="SimulatorBase")


class SimulatorBase:
    """A simulated exchange on ``host``: started and stopped by the subclass, usable as an async
    context manager, with one :class:`BookModel` (the true book) per unified symbol."""

    host: str
    _port: int
    _models: dict[str, BookModel]
    _clients: set[Any]
    """The connected clients: each has a ``connection`` (a websockets ServerConnection) and a
    ``stalled`` flag that stops everything the simulator would send it."""

    async def start(self) -> None:
        """Starts listening (on a free port unless given one)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stops serving and drops every connection."""
        raise NotImplementedError

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

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
