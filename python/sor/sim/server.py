"""What every exchange simulator shares: its life cycle, its port, its connected clients, its
true books, and the disconnect and stall faults."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from sor._lifecycle import AsyncService
from sor.errors import InvalidInput
from sor.sim.book_model import BookModel, SimMarket

__all__ = ["Mutation", "SimClient", "SimulatorBase"]

#: Turns one outgoing message into what a client receives instead (a corrupted or hostile one).
Mutation = Callable[[bytes], bytes]


class SimClient(Protocol):
    """What the simulator base needs of a connected client: its websocket connection and a
    ``stalled`` flag that stops everything the simulator would send it."""

    connection: ServerConnection
    stalled: bool


_C = TypeVar("_C", bound=SimClient)


class SimulatorBase(AsyncService, Generic[_C]):
    """A simulated exchange on ``host`` (127.0.0.1, a free port unless given one), usable as an
    async context manager, with one :class:`BookModel` (the true book) per unified symbol.

    The base owns the life cycle: :meth:`start` serves the websocket (``ping_interval``
    seconds between websocket pings, None for none) and starts the background tasks
    (:meth:`_background`: the ``interval`` streaming, heartbeats), :meth:`stop` cancels them,
    drops and forgets every client and closes the server. A subclass says how a connection
    becomes a client (:meth:`_accept`), what it does with one (:meth:`_converse`) and how
    books move (:meth:`publish`).
    """

    #: The websocket endpoint's path (``""``: the root).
    ws_path: ClassVar[str] = ""

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int,
        host: str,
        port: int,
        interval: float | None,
        ping_interval: float | None,
    ) -> None:
        if not markets:
            raise InvalidInput("markets: expected at least one market")
        rng = random.Random(seed)
        self._rng = rng
        self._models = {m.symbol: BookModel(m, random.Random(rng.getrandbits(64))) for m in markets}
        self.host = host
        self._port = port
        self.interval = interval
        """Seconds between the streamed updates of each market (None: only :meth:`publish`)."""
        self.ping_interval = ping_interval
        self._server: Server | None = None
        self._clients: set[_C] = set()
        """The connected clients."""
        self._tasks: list[asyncio.Task[None]] = []
        self._paused = False
        #: When the interval streaming last began to publish an update (``time.monotonic()``;
        #: None before the first): what a tick-to-decision measurement counts from.
        self.published_at: float | None = None
        self._pending_mutations: dict[str, deque[Mutation]] = {}
        self.connections = 0
        """Websocket connections accepted since the start."""

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts listening (on a free port unless given one) and the background tasks."""
        self._server = await serve(
            self._serve,
            self.host,
            self._port,
            process_request=self._process_request,
            ping_interval=self.ping_interval,
            close_timeout=1.0,
            compression=None,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._tasks = [asyncio.create_task(work) for work in self._background()]

    async def stop(self) -> None:
        """Stops streaming, drops and forgets every client and closes the server."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        clients = list(self._clients)
        self._clients.clear()
        for client in clients:
            client.connection.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    @property
    def connected(self) -> int:
        """How many clients are connected now."""
        return len(self._clients)

    @property
    def ws_url(self) -> str:
        """The websocket endpoint."""
        return f"ws://{self.host}:{self._port}{self.ws_path}"

    def _background(self) -> list[Coroutine[Any, Any, None]]:
        """The work :meth:`start` runs as tasks until :meth:`stop`: the interval streaming."""
        return [] if self.interval is None else [self._stream_forever(self.interval)]

    # -- connections --------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuses a request for any path but :attr:`ws_path` (``404``)."""
        if request.path.split("?", 1)[0] != (self.ws_path or "/"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        client = self._accept(connection)
        self._clients.add(client)
        self.connections += 1
        try:
            await self._converse(client)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)

    def _accept(self, connection: ServerConnection) -> _C:
        """The client of a new connection."""
        raise NotImplementedError

    async def _converse(self, client: _C) -> None:
        """Answers the client's requests until its connection closes."""
        raise NotImplementedError

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and sends them."""
        raise NotImplementedError

    def pause(self) -> None:
        """Stops the interval streaming (``publish`` still works)."""
        self._paused = True

    def resume(self) -> None:
        """Resumes the interval streaming."""
        self._paused = False

    async def _stream_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for symbol in self.symbols:
                # Checked before every event: once paused, the books stop moving at once.
                if self._paused:
                    break
                self.published_at = time.monotonic()
                await self.publish(1, symbol)

    # -- faults -------------------------------------------------------------------------------

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
        self._pending_mutations.setdefault(symbol, deque()).extend([mutation] * count)

    def _next_mutation(self, symbol: str) -> Mutation | None:
        """The mutation for the book update of ``symbol`` about to be sent (None: send it as is)."""
        pending = self._pending_mutations.get(symbol)
        return pending.popleft() if pending else None

    def _mutated(self, symbol: str, payload: bytes) -> bytes:
        """``payload`` as the next mutation of ``symbol`` rewrites it (as is if there is none)."""
        mutation = self._next_mutation(symbol)
        return payload if mutation is None else mutation(payload)

    # -- the truth ----------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """The simulated markets' unified symbols."""
        return list(self._models)

    def model(self, symbol: str) -> BookModel:
        """The book model (the true book) of ``symbol``."""
        return self._models[symbol]
