"""A local Kraken spot market-data server: the WebSocket v2 ``book`` channel, checksums included.

It speaks Kraken's v2 wire protocol on 127.0.0.1 (https://docs.kraken.com/api/docs/websocket-v2/book
and https://docs.kraken.com/api/docs/guides/spot-ws-book-v2):

- websocket ``/v2``; on connect a ``status`` message; ``subscribe`` / ``unsubscribe`` requests
  for the ``book`` channel (``symbol`` list, ``depth`` 10/25/100/500/1000, ``snapshot``,
  ``req_id``), acknowledged once per symbol (errors with ``"success": false``); ``ping`` is
  answered with ``pong``; ``{"channel": "heartbeat"}`` about every second while subscribed;
- ``snapshot`` then ``update`` messages ``{"channel": "book", "type", "data": [{"symbol",
  "bids", "asks", "checksum", "timestamp"}]}`` with prices and quantities as JSON numbers
  (written exactly, never through a float) and the CRC32 of the true top 10 levels. Each client
  sees its subscribed depth only: an update lists the levels of the top ``depth`` that changed,
  ``qty`` 0 for levels that left the book, and the levels that came back into scope; a level
  pushed out of scope by an insert is not sent (the client truncates), as Kraken documents.

Each market's book is a seeded :class:`BookModel` that keeps the exact truth
(:meth:`KrakenSimulator.true_book`). The checksum is computed here independently of the Rust
core: at the market's precision, a value without its point and leading zeros is the decimal
text of its integer count of ticks or lots. Faults are injected on demand: a dropped update, a
corrupted checksum, a disconnect, a stall, malformed JSON, an update with bad fields, a crossed
update.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from sor._core import OrderBook
from sor.errors import InvalidInput
from sor.sim.book_model import Side, SimMarket, Step, TopLevels, format_decimal
from sor.sim.server import SimulatorBase

__all__ = ["CHECKSUM_LEVELS", "DEPTHS", "KrakenSimulator", "levels_checksum", "wire_number"]

#: The depths Kraken's ``book`` channel accepts.
DEPTHS = (10, 25, 100, 500, 1000)
#: Levels per side covered by Kraken's checksum.
CHECKSUM_LEVELS = 10

_View = dict[Side, dict[int, int]]


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    depths: dict[str, int] = field(default_factory=dict)
    """Subscribed symbols and their depth."""
    stalled: bool = False


def wire_number(units: int, decimals: int) -> str:
    """A fixed-point value as Kraken writes a JSON float (``0.5666``, ``18097.1547``, ``45.0``)."""
    whole, fraction = divmod(units, 10**decimals)
    if fraction == 0:
        return f"{whole}.0"
    return f"{whole}.{fraction:0{decimals}d}".rstrip("0")


def levels_checksum(asks: Sequence[tuple[int, int]], bids: Sequence[tuple[int, int]]) -> int:
    """Kraken's CRC32 of the given best-first ``(ticks, lots)`` levels: the top 10 asks then bids.

    The same text as :meth:`KrakenSimulator.checksum`, for a book kept elsewhere (the benchmark
    streams follow their own book between the simulator's steps).
    """
    text = "".join(
        f"{ticks}{lots}" for levels in (asks, bids) for ticks, lots in levels[:CHECKSUM_LEVELS]
    )
    return zlib.crc32(text.encode())


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KrakenSimulator(SimulatorBase[_Client]):
    """A Kraken spot WebSocket v2 server on 127.0.0.1 with the true books kept for comparison."""

    #: The v2 websocket endpoint (Kraken's ``wss://ws.kraken.com/v2``).
    ws_path = "/v2"

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = None,
        heartbeat_interval: float | None = 1.0,
        ping_interval: float | None = 20.0,
    ) -> None:
        super().__init__(
            markets,
            seed=seed,
            host=host,
            port=port,
            interval=interval,
            ping_interval=ping_interval,
        )
        self.heartbeat_interval = heartbeat_interval
        # The top levels each depth's subscribers have, per symbol and depth.
        self._views: dict[tuple[str, int], TopLevels] = {}
        self._drop: Counter[str] = Counter()
        self._corrupt: Counter[str] = Counter()
        self.requests: list[dict[str, object]] = []
        """Every request received (decoded), in order."""
        self.updates_sent = 0
        """Book ``update`` messages sent (to all clients)."""

    # -- life cycle ---------------------------------------------------------------------------

    def _background(self) -> list[Coroutine[Any, Any, None]]:
        """The heartbeats and the interval streaming."""
        work = super()._background()
        if self.heartbeat_interval is not None:
            work.insert(0, self._heartbeats(self.heartbeat_interval))
        return work

    # -- the truth ----------------------------------------------------------------------------

    def true_book(self, symbol: str, depth: int | None = None) -> OrderBook:
        """The exact current book of ``symbol``: its best ``depth`` levels per side (or all)."""
        model = self._models[symbol]
        market = model.market
        book = OrderBook(market.price_decimals, market.size_decimals)
        book.apply_snapshot(
            [self._decimal_level(symbol, level) for level in model.levels("bid", depth)],
            [self._decimal_level(symbol, level) for level in model.levels("ask", depth)],
        )
        return book

    def checksum(self, symbol: str) -> int:
        """Kraken's CRC32 of the true top 10 asks then bids of ``symbol``."""
        model = self._models[symbol]
        text = "".join(
            f"{ticks}{lots}"
            for side in ("ask", "bid")
            for ticks, lots in model.levels(side, CHECKSUM_LEVELS)
        )
        return zlib.crc32(text.encode())

    def subscribers(self, symbol: str) -> int:
        """Connected clients subscribed to the book of ``symbol``."""
        return sum(1 for client in self._clients if symbol in client.depths)

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and sends them."""
        symbols = self.symbols
        for _ in range(count):
            target = symbol if symbol is not None else self._rng.choice(symbols)
            step = self._models[target].step()
            await self._send_updates(target, step)

    async def _heartbeats(self, interval: float) -> None:
        payload = orjson.dumps({"channel": "heartbeat"})
        while True:
            await asyncio.sleep(interval)
            for client in list(self._clients):
                if client.depths and not client.stalled:
                    await self._send(client, payload)

    def _changed_view(self, symbol: str, depth: int, step: Step) -> tuple[TopLevels, _View]:
        """The levels of ``depth``'s subscribers after ``step``, and what changed in them per
        side (the new size, 0 for a level that left the book: one that only fell below the
        depth is left to the client's truncation)."""
        model = self._models[symbol]
        levels = self._views.get((symbol, depth))
        if levels is not None:
            changed = levels.follow(model, step)
            if changed is not None:
                return levels, changed
        before = (levels or TopLevels(model, depth)).sides
        after = TopLevels(model, depth)
        diff: _View = {"bid": {}, "ask": {}}
        for side in ("bid", "ask"):
            old, new = before[side], after.sides[side]
            sizes = model.bids if side == "bid" else model.asks
            for tick, lots in new.items():
                if old.get(tick) != lots:
                    diff[side][tick] = lots
            for tick in old:
                if tick not in new and tick not in sizes:
                    diff[side][tick] = 0
        return after, diff

    async def _send_updates(self, symbol: str, step: Step) -> None:
        """Sends each depth's subscribers the changes of their top levels, with the checksum."""
        depths = {c.depths[symbol] for c in self._clients if symbol in c.depths}
        checksum = self.checksum(symbol)
        dropped = False
        for depth in sorted(depths):
            levels, changed = self._changed_view(symbol, depth, step)
            self._views[(symbol, depth)] = levels
            if not changed["bid"] and not changed["ask"]:
                continue
            if self._drop[symbol] > 0:
                dropped = True
                continue
            sent = checksum
            if self._corrupt[symbol] > 0:
                self._corrupt[symbol] -= 1
                sent = checksum ^ 0x5A5A5A5A
            # Best level first on each side.
            bids = sorted(changed["bid"].items(), reverse=True)
            asks = sorted(changed["ask"].items())
            payload = self._book_message(symbol, "update", bids, asks, sent)
            await self._broadcast(symbol, depth, self._mutated(symbol, payload))
        if dropped:
            self._drop[symbol] -= 1

    def _book_message(
        self,
        symbol: str,
        kind: Literal["snapshot", "update"],
        bids: Sequence[tuple[int, int]],
        asks: Sequence[tuple[int, int]],
        checksum: int,
    ) -> bytes:
        """A ``book`` message, numbers written as exact JSON numbers."""
        market = self._models[symbol].market

        def levels(items: Sequence[tuple[int, int]]) -> str:
            return ",".join(
                f'{{"price":{wire_number(ticks, market.price_decimals)},'
                f'"qty":{wire_number(lots, market.size_decimals)}}}'
                for ticks, lots in items
            )

        return (
            f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}",'
            f'"bids":[{levels(bids)}],"asks":[{levels(asks)}],'
            f'"checksum":{checksum},"timestamp":"{_now()}"}}]}}'
        ).encode()

    async def _broadcast(self, symbol: str | None, depth: int | None, payload: bytes) -> None:
        """Sends ``payload`` to live clients subscribed to ``symbol`` at ``depth`` (None: any)."""
        if symbol is not None:
            self.updates_sent += 1
        for client in list(self._clients):
            if client.stalled:
                continue
            if symbol is not None and symbol not in client.depths:
                continue
            if depth is not None and symbol is not None and client.depths[symbol] != depth:
                continue
            await self._send(client, payload)

    async def _send(self, client: _Client, payload: bytes) -> None:
        try:
            await client.connection.send(payload, text=True)
        except ConnectionClosed:
            self._clients.discard(client)

    # -- faults -------------------------------------------------------------------------------

    def drop_next(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` updates of ``symbol`` change the book but are not sent."""
        self._drop[symbol] += count

    def corrupt_next_checksum(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` updates of ``symbol`` carry a wrong checksum."""
        self._corrupt[symbol] += count

    async def send_malformed(
        self, symbol: str | None = None, kind: Literal["json", "fields"] = "json"
    ) -> None:
        """Sends a bad message: truncated JSON (``"json"``, to every client subscribed to
        ``symbol`` or to all) or a ``book`` update of ``symbol`` whose price is not a number
        (``"fields"``)."""
        if kind == "json":
            await self._broadcast(symbol, None, b'{"channel":"book","type":"update","data":[{"sy')
            return
        if symbol is None:
            raise InvalidInput("symbol: a 'fields' malformed update needs a symbol")
        payload = (
            f'{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}",'
            f'"bids":[{{"price":"12x.5","qty":1.0}}],"asks":[],'
            f'"checksum":{self.checksum(symbol)},"timestamp":"{_now()}"}}]}}'
        ).encode()
        await self._broadcast(symbol, None, payload)

    async def send_crossed(self, symbol: str) -> None:
        """Sends an update with a bid at the best ask (the truth ignores it)."""
        _side, tick, lots = self._models[symbol].crossing_change()
        payload = self._book_message(symbol, "update", [(tick, lots)], [], self.checksum(symbol))
        await self._broadcast(symbol, None, payload)

    # -- websocket ----------------------------------------------------------------------------

    def _accept(self, connection: ServerConnection) -> _Client:
        return _Client(connection)

    async def _converse(self, client: _Client) -> None:
        connection = client.connection
        status = {
            "channel": "status",
            "data": [
                {
                    "api_version": "v2",
                    "connection_id": self._rng.getrandbits(63),
                    "system": "online",
                    "version": "2.0.9",
                }
            ],
            "type": "update",
        }
        await connection.send(orjson.dumps(status), text=True)
        async for message in connection:
            for reply in self._requests(client, message):
                await connection.send(reply, text=True)

    def _requests(self, client: _Client, message: str | bytes) -> list[bytes]:
        """The replies to one request (acknowledgements, then snapshots)."""
        time_in = _now()
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            return [_error(None, None, "Malformed request", time_in)]
        if type(request) is not dict:
            return [_error(None, None, "Malformed request", time_in)]
        self.requests.append(request)
        method = request.get("method")
        req_id = request.get("req_id")
        if method == "ping":
            return [
                _with_req_id({"method": "pong", "time_in": time_in, "time_out": _now()}, req_id)
            ]
        if method not in ("subscribe", "unsubscribe"):
            return [_error(method, req_id, "Method not found", time_in)]
        params = request.get("params")
        if type(params) is not dict or params.get("channel") != "book":
            return [_error(method, req_id, "Channel not supported", time_in)]
        symbols = params.get("symbol")
        depth = params.get("depth", 10)
        snapshot = params.get("snapshot", True)
        if type(symbols) is not list or not all(type(s) is str for s in symbols):
            return [_error(method, req_id, "Missing or invalid field: symbol", time_in)]
        if depth not in DEPTHS:
            return [_error(method, req_id, "Invalid depth value", time_in)]
        replies: list[bytes] = []
        for symbol in symbols:
            if symbol not in self._models:
                replies.append(
                    _error(method, req_id, f"Currency pair not supported {symbol}", time_in, symbol)
                )
                continue
            if method == "subscribe":
                if symbol in client.depths:
                    replies.append(_error(method, req_id, "Already subscribed", time_in, symbol))
                    continue
                client.depths[symbol] = depth
                replies.append(_ack(method, req_id, symbol, depth, snapshot is True, time_in))
                snapshot_message = self._snapshot(symbol, depth)  # also resets the depth's view
                if snapshot is True:
                    replies.append(snapshot_message)
            else:
                if symbol not in client.depths:
                    replies.append(
                        _error(method, req_id, "Subscription Not Found", time_in, symbol)
                    )
                    continue
                del client.depths[symbol]
                replies.append(_ack(method, req_id, symbol, depth, True, time_in))
        return replies

    def _snapshot(self, symbol: str, depth: int) -> bytes:
        levels = self._views[(symbol, depth)] = TopLevels(self._models[symbol], depth)
        bids = sorted(levels.sides["bid"].items(), reverse=True)
        asks = sorted(levels.sides["ask"].items())
        return self._book_message(symbol, "snapshot", bids, asks, self.checksum(symbol))

    def _decimal_level(self, symbol: str, level: tuple[int, int]) -> tuple[str, str]:
        market = self._models[symbol].market
        return (
            format_decimal(level[0], market.price_decimals),
            format_decimal(level[1], market.size_decimals),
        )


def _with_req_id(body: dict[str, object], req_id: object) -> bytes:
    if req_id is not None:
        body["req_id"] = req_id
    return orjson.dumps(body)


def _ack(
    method: str, req_id: object, symbol: str, depth: int, snapshot: bool, time_in: str
) -> bytes:
    body: dict[str, object] = {
        "method": method,
        "result": {"channel": "book", "depth": depth, "snapshot": snapshot, "symbol": symbol},
        "success": True,
        "time_in": time_in,
        "time_out": _now(),
    }
    return _with_req_id(body, req_id)


def _error(
    method: object, req_id: object, error: str, time_in: str, symbol: str | None = None
) -> bytes:
    body: dict[str, object] = {"error": error, "method": method, "success": False}
    if symbol is not None:
        body["symbol"] = symbol
    body["time_in"] = time_in
    body["time_out"] = _now()
    return _with_req_id(body, req_id)
