"""What every exchange simulator shares: its life cycle, its port and its true books."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from sor.sim.book_model import BookModel

__all__ = ["SimulatorBase"]

S = TypeVar("S", bound="SimulatorBase")


class SimulatorBase:
    """A simulated exchange on ``host``: started and stopped by the subclass, usable as an async
    context manager, with one :class:`BookModel` (the true book) per unified symbol."""

    host: str
    _port: int
    _models: dict[str, BookModel]

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
