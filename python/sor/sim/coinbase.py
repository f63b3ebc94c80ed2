"""A local Coinbase Advanced Trade market-data server: the ``level2`` and ``heartbeats`` channels.

It speaks Coinbase's wire protocol on 127.0.0.1 (see
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview and
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels):

- one ``subscribe`` (or ``unsubscribe``) message per channel, ``{"type": "subscribe",
  "product_ids": ["BTC-USD"], "channel": "level2", "jwt": "..."}`` (the ``jwt`` is optional and
  recorded in :attr:`CoinbaseSimulator.requests`); a connection that sends none within
  ``subscribe_timeout`` seconds is closed; each request is acknowledged by a ``subscriptions``
  message listing the connection's subscriptions; a bad one gets ``{"type": "error",
  "message": ...}``;
- ``level2``: on subscribing, one ``l2_data`` message per product with a ``snapshot`` event (the
  whole book), then an ``update`` event per book change, each update ``{"side": "bid" |
  "offer", "event_time", "price_level", "new_quantity"}`` with Coinbase's decimals (trailing
  zeros dropped; ``"0"`` removes a level);
- ``heartbeats``: a message every ``heartbeat_interval`` seconds with a ``heartbeat_counter``;
- every message carries ``sequence_num``, one counter per connection across every channel,
  starting at 0.

Each market's book is a seeded :class:`BookModel` that keeps the exact truth
(:meth:`CoinbaseSimulator.true_book`). Events are published on demand (:meth:`publish`, for
tests) or every ``interval`` seconds (for demos). Faults are injected on demand: a dropped
message (a ``sequence_num`` gap), a disconnect, a stall, malformed JSON, an update with bad
fields, a crossed update, an error message.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from sor._core import OrderBook
from sor.errors import InvalidInput
from sor.sim.book_model import SimMarket, Step, format_decimal
from sor.sim.server import SimulatorBase

__all__ = ["SNAPSHOT_EVENT_TIME", "CoinbaseSimulator"]

#: Coinbase's ``event_time`` of the levels of a snapshot, as in its documentation's sample.
SNAPSHOT_EVENT_TIME = "1970-01-01T00:00:00Z"


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    # Subscribed products' symbols -> the book model's update ID at their snapshot.
    level2: dict[str, int] = field(default_factory=dict)
    heartbeats: bool = False
    stalled: bool = False
    next_sequence: int = 0
    # Symbol -> sequence_num of the last l2_data message of that symbol sent.
    last_l2: dict[str, int] = field(default_factory=dict)
    # Taken while numbering and sending a message, so numbers go out in order.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class CoinbaseSimulator(SimulatorBase[_Client]):
    """A Coinbase Advanced Trade market-data server on 127.0.0.1 with the true books kept.

    Its websocket endpoint is the root, like Coinbase's ``wss://advanced-trade-ws.coinbase.com``.
    """

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = None,
        heartbeat_interval: float | None = 1.0,
        subscribe_timeout: float = 5.0,
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
        self._by_product = {_product(symbol): symbol for symbol in self._models}
        self.heartbeat_interval = heartbeat_interval
        self.subscribe_timeout = subscribe_timeout
        self._newest: _Client | None = None
        self._drop: Counter[str] = Counter()
        self._heartbeat_counter = 0
        self.requests: list[dict[str, object]] = []
        """Every subscribe/unsubscribe request received, as sent (``jwt`` included)."""
        self.events_sent = 0
        """Book updates sent (one per update, whatever the number of clients)."""

    # -- life cycle ---------------------------------------------------------------------------

    def _background(self) -> list[Coroutine[Any, Any, None]]:
        """The interval streaming and the heartbeats."""
        work = super()._background()
        if self.heartbeat_interval is not None:
            work.append(self._heartbeat_forever(self.heartbeat_interval))
        return work

    # -- the truth ----------------------------------------------------------------------------

    def true_book(self, symbol: str) -> OrderBook:
        """The exact current book of ``symbol``."""
        return self._models[symbol].to_order_book()

    def subscribers(self, symbol: str) -> int:
        """Connected clients subscribed to ``symbol`` on ``level2``."""
        return sum(1 for client in self._clients if symbol in client.level2)

    def last_sequence(self, symbol: str) -> int | None:
        """The ``sequence_num`` of the last ``l2_data`` message of ``symbol`` sent on the newest
        connection (None if none was sent): a client in sync has its book at that number."""
        client = self._newest
        return None if client is None else client.last_l2.get(symbol)

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and sends them."""
        symbols = self.symbols
        for _ in range(count):
            target = symbol if symbol is not None else self._rng.choice(symbols)
            step = self._models[target].step()
            if not step.changes:
                continue  # Coinbase sends no empty update
            drop = self._drop[target] > 0
            if drop:
                self._drop[target] -= 1
            else:
                self.events_sent += 1
            await self._send_l2(target, step.final, self._update_events(target, step), drop=drop)

    async def _heartbeat_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._heartbeat_counter += 1
            now = time.time_ns()
            events = orjson.dumps(
                [
                    {
                        "current_time": _go_time(now),
                        "heartbeat_counter": str(self._heartbeat_counter),
                    }
                ]
            )
            for client in list(self._clients):
                if client.heartbeats:
                    await self._send(client, _envelope_builder("heartbeats", events))

    def _update_events(self, symbol: str, step: Step) -> bytes:
        market = self._models[symbol].market
        event_time = _timestamp(time.time_ns())
        updates = [
            {
                "side": "bid" if side == "bid" else "offer",
                "event_time": event_time,
                "price_level": _wire(tick, market.price_decimals),
                "new_quantity": _wire(lots, market.size_decimals),
            }
            for side, tick, lots in step.changes
        ]
        return orjson.dumps(
            [{"type": "update", "product_id": _product(symbol), "updates": updates}]
        )

    def _snapshot_events(self, symbol: str) -> bytes:
        model = self._models[symbol]
        market = model.market
        updates = [
            {
                "side": "bid" if side == "bid" else "offer",
                "event_time": SNAPSHOT_EVENT_TIME,
                "price_level": _wire(tick, market.price_decimals),
                "new_quantity": _wire(lots, market.size_decimals),
            }
            for side in ("bid", "ask")
            for tick, lots in model.levels(side)
        ]
        return orjson.dumps(
            [{"type": "snapshot", "product_id": _product(symbol), "updates": updates}]
        )

    async def _send_l2(self, symbol: str, final: int, events: bytes, *, drop: bool) -> None:
        """Numbers an ``l2_data`` message of ``symbol`` for every subscribed client and sends it
        (``drop``: the number is used but the message lost)."""
        build = _envelope_builder("l2_data", events)
        mutation = None if drop else self._next_mutation(symbol)
        if mutation is not None:
            build = _rewritten(build, mutation)
        for client in list(self._clients):
            async with client.lock:
                since = client.level2.get(symbol)
                if since is None or final <= since or client.stalled:
                    continue  # not subscribed, or already in the client's snapshot
                sequence = client.next_sequence
                client.next_sequence += 1
                if drop:
                    continue
                if await self._write(client, build(sequence)):
                    client.last_l2[symbol] = sequence

    async def _send(self, client: _Client, build: Callable[[int], bytes]) -> None:
        """Numbers one message for ``client`` and sends it."""
        async with client.lock:
            if client.stalled:
                return
            sequence = client.next_sequence
            client.next_sequence += 1
            await self._write(client, build(sequence))

    async def _write(self, client: _Client, payload: bytes) -> bool:
        try:
            await client.connection.send(payload, text=True)
        except ConnectionClosed:
            self._clients.discard(client)
            return False
        return True

    # -- faults -------------------------------------------------------------------------------

    def drop_next(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` updates of ``symbol`` change the book and use a ``sequence_num``
        on every subscribed connection, but are never delivered (a gap)."""
        self._drop[symbol] += count

    async def send_malformed(
        self, symbol: str | None = None, kind: Literal["json", "fields"] = "json"
    ) -> None:
        """Sends a bad message that uses a ``sequence_num``; the true book does not change.

        ``"json"``: a truncated ``l2_data`` message to the clients subscribed to ``symbol`` (a
        truncated heartbeat to every client if ``symbol`` is None). ``"fields"``: an update of
        ``symbol`` whose price is not a number.
        """
        if kind == "fields":
            if symbol is None:
                raise InvalidInput("symbol: a 'fields' malformed update needs a symbol")
            final = self._models[symbol].skip_ids(1)[1]
            await self._send_l2(symbol, final, self._bad_update(symbol, "12x.5"), drop=False)
            return
        if symbol is None:
            build = _envelope_builder(
                "heartbeats", b'[{"current_time":"","heartbeat_counter":"0"}]'
            )
        else:
            build = _envelope_builder("l2_data", self._bad_update(symbol, "1.5"))
        for client in list(self._clients):
            async with client.lock:
                if client.stalled or (symbol is not None and symbol not in client.level2):
                    continue
                sequence = client.next_sequence
                client.next_sequence += 1
                payload = build(sequence)
                await self._write(client, payload[: len(payload) // 2])

    def _bad_update(self, symbol: str, price: str) -> bytes:
        update = {
            "side": "bid",
            "event_time": _timestamp(time.time_ns()),
            "price_level": price,
            "new_quantity": "1.0",
        }
        return orjson.dumps(
            [{"type": "update", "product_id": _product(symbol), "updates": [update]}]
        )

    async def send_crossed(self, symbol: str) -> None:
        """Sends a well-formed update that would cross the book (the truth ignores it)."""
        model = self._models[symbol]
        _side, tick, lots = model.crossing_change()
        _first, final = model.skip_ids(1)
        market = model.market
        update = {
            "side": "bid",
            "event_time": _timestamp(time.time_ns()),
            "price_level": _wire(tick, market.price_decimals),
            "new_quantity": _wire(lots, market.size_decimals),
        }
        events = orjson.dumps(
            [{"type": "update", "product_id": _product(symbol), "updates": [update]}]
        )
        await self._send_l2(symbol, final, events, drop=False)

    async def send_error(self, message: str = "failure to subscribe") -> None:
        """Sends Coinbase's ``{"type": "error", "message": ...}`` to every client."""
        payload = orjson.dumps({"type": "error", "message": message})
        for client in list(self._clients):
            async with client.lock:
                await self._write(client, payload)

    # -- websocket ----------------------------------------------------------------------------

    def _accept(self, connection: ServerConnection) -> _Client:
        client = _Client(connection)
        self._newest = client
        return client

    async def _converse(self, client: _Client) -> None:
        connection = client.connection
        try:
            first = await asyncio.wait_for(connection.recv(), self.subscribe_timeout)
        except TimeoutError:
            await connection.close(1000, "no subscribe message received")
            return
        await self._request(client, first)
        async for message in connection:
            await self._request(client, message)

    async def _request(self, client: _Client, message: str | bytes) -> None:
        """Answers a ``subscribe`` or ``unsubscribe`` request."""
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            await self._error(client, "malformed JSON")
            return
        if type(request) is not dict:
            await self._error(client, "malformed request")
            return
        self.requests.append(request)
        kind = request.get("type")
        channel = request.get("channel")
        products = request.get("product_ids", [])
        if kind not in ("subscribe", "unsubscribe"):
            await self._error(client, f"unknown message type {kind!r}")
            return
        if channel not in ("level2", "heartbeats"):
            await self._error(client, f"unknown channel {channel!r}")
            return
        if type(products) is not list or not all(p in self._by_product for p in products):
            await self._error(client, "Failed to subscribe: unknown product")
            return
        symbols = [self._by_product[p] for p in products]
        async with client.lock:
            # Everything is numbered and sent under the lock: no update can slip between a
            # snapshot and the subscription it starts.
            if channel == "heartbeats":
                client.heartbeats = kind == "subscribe"
            elif kind == "unsubscribe":
                for symbol in symbols or list(client.level2):
                    client.level2.pop(symbol, None)
            else:
                for symbol in symbols:
                    client.level2[symbol] = self._models[symbol].update_id
            await self._numbered(client, _envelope_builder("subscriptions", self._subs(client)))
            if channel == "level2" and kind == "subscribe":
                for symbol in symbols:
                    sequence = client.next_sequence
                    snapshot = _envelope_builder("l2_data", self._snapshot_events(symbol))
                    if await self._numbered(client, snapshot):
                        client.last_l2[symbol] = sequence

    async def _numbered(self, client: _Client, build: Callable[[int], bytes]) -> bool:
        """Numbers and sends one message; the caller holds ``client.lock``."""
        sequence = client.next_sequence
        client.next_sequence += 1
        return await self._write(client, build(sequence))

    def _subs(self, client: _Client) -> bytes:
        subscriptions: dict[str, list[str]] = {}
        if client.level2:
            subscriptions["level2"] = [_product(symbol) for symbol in client.level2]
        if client.heartbeats:
            subscriptions["heartbeats"] = ["heartbeats"]
        return orjson.dumps([{"subscriptions": subscriptions}])

    async def _error(self, client: _Client, message: str) -> None:
        async with client.lock:
            await self._write(client, orjson.dumps({"type": "error", "message": message}))


def _product(symbol: str) -> str:
    return symbol.replace("/", "-").upper()


def _wire(units: int, decimals: int) -> str:
    """Coinbase's writing of a decimal: no trailing zeros (``"21921.3"``, ``"0"``)."""
    text = format_decimal(units, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _timestamp(ns: int) -> str:
    """RFC 3339 with nanoseconds, as Coinbase writes ``timestamp``."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def _go_time(ns: int) -> str:
    """A heartbeat's ``current_time`` (Go's time format, as in Coinbase's sample)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d} +0000 UTC"


def _envelope(channel: str, sequence: int, events: bytes) -> bytes:
    head = (
        f'{{"channel":"{channel}","client_id":"","timestamp":"{_timestamp(time.time_ns())}",'
        f'"sequence_num":{sequence},"events":'
    )
    return head.encode() + events + b"}"


def _envelope_builder(channel: str, events: bytes) -> Callable[[int], bytes]:
    return lambda sequence: _envelope(channel, sequence, events)


def _rewritten(
    build: Callable[[int], bytes], mutation: Callable[[bytes], bytes]
) -> Callable[[int], bytes]:
    """``build`` with every message it makes rewritten by ``mutation``."""
    return lambda sequence: mutation(build(sequence))
