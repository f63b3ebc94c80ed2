"""A local Bybit v5 public spot server: the ``orderbook.{depth}.{symbol}`` websocket topic.

It speaks Bybit's wire protocol on 127.0.0.1 (see
https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook and
https://bybit-exchange.github.io/docs/v5/ws/connect; source:
https://github.com/bybit-exchange/docs):

- ``{"op": "subscribe" | "unsubscribe", "args": [...], "req_id": "..."}``, answered like spot
  (``{"success": true, "ret_msg": "subscribe", "conn_id", "req_id", "op"}``; refused with
  ``"success": false`` for an unknown topic, a topic already subscribed, or more than 10 args);
  ``{"op": "ping"}`` answered ``{"success": true, "ret_msg": "pong", "conn_id", "op": "ping"}``;
- ``orderbook.{depth}.{symbol}`` for the simulator's ``depth``: a ``snapshot`` of the best
  ``depth`` levels per side after subscribing, then a ``delta`` whenever those levels change
  (levels leaving the window are sent with size ``"0"``, levels entering it with their size),
  ``{"topic", "ts", "type", "data": {"s", "b", "a", "u", "seq"}, "cts"}``, ``u`` growing by
  one per message of the topic.

Each market's book is a seeded :class:`BookModel` (thousands of levels); the true book of a
topic is its best ``depth`` levels (:meth:`BybitSimulator.true_book`). Events are published on
demand (:meth:`publish`) or every ``interval`` seconds. Faults are injected on demand: a dropped
delta (a gap in ``u``), a disconnect, a stall, malformed JSON, a delta with bad fields, a crossed
delta, a snapshot mid-stream, a restart of the service (``u`` back to 1), a book that moves
while nothing is sent (as during a problem on Bybit's end).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from sor._core import OrderBook
from sor.errors import InvalidInput
from sor.sim.book_model import SimMarket, Step, TopLevels, format_decimal
from sor.sim.server import SimulatorBase

__all__ = ["MAX_ARGS", "SPOT_DEPTHS", "BybitSimulator"]

#: Spot orderbook depths.
SPOT_DEPTHS = (1, 50, 200, 1_000)
#: Spot accepts at most this many args per request.
MAX_ARGS = 10

_View = dict[int, int]


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    conn_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Subscribed topics -> the ``u`` of the snapshot that started them.
    topics: dict[str, int] = field(default_factory=dict)
    stalled: bool = False
    # Taken while sending, so a snapshot and the deltas after it go out in order.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BybitSimulator(SimulatorBase[_Client]):
    """A Bybit v5 public spot server on 127.0.0.1 with the true books kept for comparison."""

    #: The public spot endpoint (Bybit's ``wss://stream.bybit.com/v5/public/spot``).
    ws_path = "/v5/public/spot"

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int = 0,
        depth: int = 200,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = None,
        ping_interval: float | None = 20.0,
    ) -> None:
        if depth not in SPOT_DEPTHS:
            raise InvalidInput(f"depth: expected one of {SPOT_DEPTHS}, got {depth!r}")
        super().__init__(
            markets,
            seed=seed,
            host=host,
            port=port,
            interval=interval,
            ping_interval=ping_interval,
        )
        rng = self._rng
        self.depth = depth
        self._by_topic = {self.topic(symbol): symbol for symbol in self._models}
        self._u = {symbol: rng.randrange(1_000_000, 100_000_000) for symbol in self._models}
        self._views = {symbol: self._view(symbol) for symbol in self._models}
        self._drop: Counter[str] = Counter()
        self.pings = 0
        """Application-level ``{"op": "ping"}`` messages received."""
        self.requests: list[dict[str, object]] = []
        """Every request received (subscribe, unsubscribe, ping), as sent."""
        self.deltas_sent = 0
        """``delta`` messages sent (one per message, whatever the number of clients)."""

    # -- the truth ----------------------------------------------------------------------------

    def topic(self, symbol: str) -> str:
        """The orderbook topic of ``symbol`` at the simulator's depth."""
        return f"orderbook.{self.depth}.{_bybit_symbol(symbol)}"

    def true_book(self, symbol: str) -> OrderBook:
        """The exact current book of ``symbol``'s topic: its best ``depth`` levels per side."""
        market = self._models[symbol].market
        levels = self._views[symbol].sides
        bids, asks = levels["bid"], levels["ask"]
        book = OrderBook(market.price_decimals, market.size_decimals)
        book.apply_snapshot(
            self._wire(symbol, sorted(bids.items(), reverse=True)),
            self._wire(symbol, sorted(asks.items())),
            sequence=self._u[symbol],
        )
        return book

    def update_id(self, symbol: str) -> int:
        """The ``u`` of the last message of ``symbol``'s topic."""
        return self._u[symbol]

    def subscribers(self, symbol: str) -> int:
        """Connected clients subscribed to ``symbol``'s topic."""
        topic = self.topic(symbol)
        return sum(1 for client in self._clients if topic in client.topics)

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and sends the
        deltas of their topics (an event beyond the topic's depth sends nothing)."""
        symbols = self.symbols
        for _ in range(count):
            target = symbol if symbol is not None else self._rng.choice(symbols)
            step = self._models[target].step()
            bids, asks = self._advance(target, step)
            if not bids and not asks:
                continue
            self._u[target] += 1
            if self._drop[target] > 0:
                self._drop[target] -= 1
                continue
            self.deltas_sent += 1
            payload = self._message(target, "delta", bids, asks)
            await self._broadcast(target, self._mutated(target, payload))

    def evolve_unseen(self, symbol: str, count: int = 1) -> None:
        """Moves the book of ``symbol`` by ``count`` events and sends nothing, without using any
        ``u`` (the book a snapshot after a problem on Bybit's end will show)."""
        for _ in range(count):
            step = self._models[symbol].step()
            self._advance(symbol, step)

    def _view(self, symbol: str) -> TopLevels:
        return TopLevels(self._models[symbol], self.depth)

    def _advance(
        self, symbol: str, step: Step
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Updates the topic's levels of ``symbol`` by the model's last ``step``; returns the
        changed levels, best first (size 0 for a level gone from the topic's depth)."""
        levels = self._views[symbol]
        changed = levels.follow(self._models[symbol], step)
        if changed is not None:
            bids, asks = list(changed["bid"].items()), list(changed["ask"].items())
        else:
            new = self._views[symbol] = self._view(symbol)
            bids = _diff(levels.sides["bid"], new.sides["bid"])
            asks = _diff(levels.sides["ask"], new.sides["ask"])
        return sorted(bids, reverse=True), sorted(asks)

    def _wire(self, symbol: str, levels: list[tuple[int, int]]) -> list[tuple[str, str]]:
        market = self._models[symbol].market
        return [
            (
                format_decimal(tick, market.price_decimals),
                format_decimal(lots, market.size_decimals),
            )
            for tick, lots in levels
        ]

    def _message(
        self,
        symbol: str,
        kind: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        *,
        update_id: int | None = None,
    ) -> bytes:
        now = time.time_ns() // 1_000_000
        return orjson.dumps(
            {
                "topic": self.topic(symbol),
                "ts": now,
                "type": kind,
                "data": {
                    "s": _bybit_symbol(symbol),
                    "b": self._wire(symbol, bids),
                    "a": self._wire(symbol, asks),
                    "u": self._u[symbol] if update_id is None else update_id,
                    "seq": self._models[symbol].update_id,
                },
                "cts": now - 2,
            }
        )

    def _snapshot(self, symbol: str, kind: str = "snapshot") -> bytes:
        levels = self._views[symbol].sides
        bids, asks = levels["bid"].items(), levels["ask"].items()
        return self._message(symbol, kind, sorted(bids, reverse=True), sorted(asks))

    async def _broadcast(self, symbol: str, payload: bytes) -> None:
        """Sends a message of ``symbol``'s topic (with the current ``u``) to its subscribers."""
        topic = self.topic(symbol)
        update_id = self._u[symbol]
        for client in list(self._clients):
            async with client.lock:
                since = client.topics.get(topic)
                # A client whose snapshot already has this update does not get it again.
                if since is None or client.stalled or update_id <= since:
                    continue
                await self._write(client, payload)

    async def _write(self, client: _Client, payload: bytes) -> None:
        try:
            await client.connection.send(payload, text=True)
        except ConnectionClosed:
            self._clients.discard(client)

    # -- faults -------------------------------------------------------------------------------

    def drop_next(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` deltas of ``symbol`` change the book and use a ``u`` but are not
        sent (a gap)."""
        self._drop[symbol] += count

    async def send_malformed(self, symbol: str, kind: Literal["json", "fields"] = "json") -> None:
        """Sends a bad delta of ``symbol`` that uses a ``u`` (the true book does not change):
        truncated JSON (``"json"``) or a price that is not a number (``"fields"``)."""
        self._u[symbol] += 1
        payload = self._message(symbol, "delta", [], [])
        if kind == "json":
            payload = payload[: len(payload) // 2]
        else:
            payload = payload.replace(b'"b":[]', b'"b":[["12x.5","1.0"]]')
        await self._broadcast(symbol, payload)

    async def send_crossed(self, symbol: str) -> None:
        """Sends a well-sequenced delta that would cross the book (the truth ignores it)."""
        model = self._models[symbol]
        _side, tick, lots = model.crossing_change()
        self._u[symbol] += 1
        await self._broadcast(symbol, self._message(symbol, "delta", [(tick, lots)], []))

    async def send_snapshot(self, symbol: str) -> None:
        """Sends a ``snapshot`` of ``symbol`` mid-stream (its next ``u``)."""
        self._u[symbol] += 1
        await self._broadcast(symbol, self._snapshot(symbol))

    async def restart(
        self, symbol: str, as_type: Literal["snapshot", "delta"] = "snapshot"
    ) -> None:
        """Restarts the service of ``symbol``: ``u`` starts again at 1 with the whole book, sent
        as a message of type ``as_type``."""
        self._u[symbol] = 1
        topic = self.topic(symbol)
        payload = self._snapshot(symbol, as_type)
        for client in list(self._clients):
            async with client.lock:
                if topic in client.topics and not client.stalled:
                    client.topics[topic] = 0  # the counter restarted below every earlier u
                    await self._write(client, payload)

    # -- websocket ----------------------------------------------------------------------------

    def _accept(self, connection: ServerConnection) -> _Client:
        return _Client(connection)

    async def _converse(self, client: _Client) -> None:
        async for message in client.connection:
            await self._request(client, message)

    async def _request(self, client: _Client, message: str | bytes) -> None:
        """Answers a ``subscribe``, ``unsubscribe`` or ``ping`` request."""
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        if type(request) is not dict:
            await self._reply(client, {"op": ""}, False, "error:request not json format")
            return
        self.requests.append(request)
        op = request.get("op")
        if op == "ping":
            self.pings += 1
            await self._reply(client, request, True, "pong")
            return
        if op not in ("subscribe", "unsubscribe"):
            await self._reply(client, request, False, f"error:unknown op {op!r}")
            return
        args = request.get("args")
        if type(args) is not list or not args or not all(type(a) is str for a in args):
            await self._reply(client, request, False, "error:args must be topic names")
            return
        if len(args) > MAX_ARGS:
            await self._reply(client, request, False, f"args size >{MAX_ARGS}")
            return
        unknown = [topic for topic in args if topic not in self._by_topic]
        if unknown:
            await self._reply(client, request, False, f"Invalid symbol :[{unknown[0]}]")
            return
        async with client.lock:
            if op == "unsubscribe":
                for topic in args:
                    client.topics.pop(topic, None)
                await self._reply(client, request, True, "", locked=True)
                return
            already = [topic for topic in args if topic in client.topics]
            if already:
                message_ = f"error:already subscribed,topic:{already[0]}"
                await self._reply(client, request, False, message_, locked=True)
                return
            await self._reply(client, request, True, "subscribe", locked=True)
            # Snapshots are sent under the lock: no delta can slip in before them.
            for topic in args:
                symbol = self._by_topic[topic]
                client.topics[topic] = self._u[symbol]
                await self._write(client, self._snapshot(symbol))

    async def _reply(
        self,
        client: _Client,
        request: dict[str, object],
        success: bool,
        ret_msg: str,
        *,
        locked: bool = False,
    ) -> None:
        reply: dict[str, object] = {
            "success": success,
            "ret_msg": ret_msg,
            "conn_id": client.conn_id,
        }
        if "req_id" in request:
            reply["req_id"] = request["req_id"]
        reply["op"] = request.get("op", "")
        payload = orjson.dumps(reply)
        if locked:
            await self._write(client, payload)
            return
        async with client.lock:
            await self._write(client, payload)


def _diff(old: _View, new: _View) -> list[tuple[int, int]]:
    """The levels of ``new`` that differ from ``old``, and those it no longer has (size 0)."""
    changed = [(tick, 0) for tick in old if tick not in new]
    changed += [(tick, lots) for tick, lots in new.items() if old.get(tick) != lots]
    return changed


def _bybit_symbol(symbol: str) -> str:
    return symbol.replace("/", "").upper()
