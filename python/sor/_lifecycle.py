"""The life cycle everything sor starts shares: ``start``, ``stop``, and ``async with``."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncService"]

_S = TypeVar("_S", bound="AsyncService")


class AsyncService:
    """Something started and stopped (feeds, simulators, servers, the runtime): ``async with``
    starts it on entry and stops it on exit, whatever happens inside."""

    async def start(self) -> None:
        """Starts it."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stops it (also after a start that failed part-way)."""
        raise NotImplementedError

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
