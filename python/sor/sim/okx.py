"""A local OKX market-data server: the v5 public websocket and its ``books`` channel.

It speaks OKX's wire protocol on 127.0.0.1 (see
https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel and
https://www.okx.com/docs-v5/en/#overview-websocket-connect):

- websocket ``/ws/v5/public``; ``{"op": "subscribe" | "unsubscribe", "args": [{"channel":
  "books", "instId": "BTC-USDT"}]}`` is answered ``{"event": "subscribe", "arg": {...},
  "connId": ...}`` (an unknown channel or instrument: ``{"event": "error", "code": "60018"}``,
  an unreadable request: code ``60012``); a subscription starts with a snapshot of the best
  400 levels per side (``"action": "snapshot"``, ``prevSeqId`` -1), then ``"action": "update"``
  pushes carry the changes of those 400 levels, each with ``seqId`` and the ``prevSeqId`` of
  the instrument's previous push (levels ``[price, size, "0", numOrders]``, size ``"0"``
  removes, decimals written without trailing zeros like OKX);
- the text ``ping`` is answered ``pong``;
- ``checksum`` is 0 like OKX since its deprecation (``checksums="zero"``), or the documented
  CRC32 of the best 25 levels per side (``checksums="computed"``), computed here from the wire
  strings, independently of the client.

Each market's book is a seeded :class:`BookModel` with thousands of levels that keeps the exact
truth (:meth:`OkxSimulator.true_book`); the channel publishes its best 400 levels per side, so
levels entering that window are sent as inserts and levels leaving it as removals
(:meth:`OkxSimulator.true_top` is what a client can keep in sync). Pushes are published on
demand (:meth:`OkxSimulator.publish`, for tests) or every ``interval`` seconds (for demos).
Faults are injected on demand: a dropped push (a gap), a wrong checksum (in an update or a
snapshot), a withheld snapshot, a disconnect, a stall, malformed JSON, an update with bad fields,
a crossed update, a no-change update, a sequence reset, a service-upgrade notice.
"""

from __future__ import annotations

import asyncio
import bisect
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from sor._core import OrderBook
from sor.errors import InvalidInput
from sor.sim.book_model import BookModel, Side, SimMarket, format_decimal
from sor.sim.server import SimulatorBase

__all__ = [
    "CHECKSUM_DEPTH",
    "DEPTH",
    "PUBLIC_PATH",
    "ChecksumMode",
    "OkxSimulator",
    "checksum_string",
    "signed_crc32",
    "wire_decimal",
]

#: The public websocket path.
PUBLIC_PATH = "/ws/v5/public"
#: Levels per side of the ``books`` channel.
DEPTH = 400
#: Levels per side covered by the checksum.
CHECKSUM_DEPTH = 25

#: How the simulator fills the ``checksum`` field.
ChecksumMode = Literal["zero", "computed"]

_SIDES: tuple[Side, Side] = ("bid", "ask")


def wire_decimal(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` as OKX writes it: no trailing zeros, no lone decimal point."""
    text = format_decimal(units, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def checksum_string(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> str:
    """OKX's checksum input: the best 25 bids and asks interleaved as ``price:size``, ``:``-joined.

    Levels are best first; where one side has fewer levels, the other side's go on alone.
    """
    parts: list[str] = []
    bids = bids[:CHECKSUM_DEPTH]
    asks = asks[:CHECKSUM_DEPTH]
    for index in range(max(len(bids), len(asks))):
        if index < len(bids):
            parts.append(f"{bids[index][0]}:{bids[index][1]}")
        if index < len(asks):
            parts.append(f"{asks[index][0]}:{asks[index][1]}")
    return ":".join(parts)


def signed_crc32(text: str) -> int:
    """The CRC32 of ``text`` (UTF-8) as a signed 32-bit integer, as OKX sends it."""
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    conn_id: str
    outbox: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    inst_ids: set[str] = field(default_factory=set)
    stalled: bool = False

    def send(self, payload: bytes) -> None:
        """Queues ``payload``: every message reaches the client in the order it was queued."""
        if not self.stalled:
            self.outbox.put_nowait(payload)


@dataclass(eq=False)
class _Instrument:
    symbol: str
    inst_id: str
    model: BookModel
    order: dict[Side, list[int]]
    """Every level of the true book per side as sorted keys, best first (bids: -ticks)."""
    window: dict[Side, set[int]]
    """The keys of the published levels per side (the best ``depth``)."""
    seq: int
    """The ``seqId`` of the last push (sent or lost)."""
    offset: int = 0
    """``seqId`` = the model's update ID minus this (moved by a sequence reset)."""
    drop: int = 0
    corrupt_updates: int = 0
    corrupt_snapshots: int = 0
    withheld_snapshots: int = 0
    reset_pending: bool = False


class OkxSimulator(SimulatorBase[_Client]):
    """An OKX public websocket on 127.0.0.1 with the true books kept for comparison.

    ``depth`` is the channel's levels per side (400 like ``books``), ``checksums`` what the
    ``checksum`` field carries, ``interval`` (seconds) streams one push per market on its own.
    """

    #: The public websocket endpoint (OKX's ``wss://ws.okx.com:8443/ws/v5/public``).
    ws_path = PUBLIC_PATH

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = None,
        depth: int = DEPTH,
        checksums: ChecksumMode = "zero",
        ping_interval: float | None = None,
        sequence_ids: bool = True,
    ) -> None:
        if depth < 1:
            raise InvalidInput(f"depth: expected >= 1, got {depth}")
        if checksums not in ("zero", "computed"):
            raise InvalidInput(f"checksums: expected 'zero' or 'computed', got {checksums!r}")
        super().__init__(
            markets,
            seed=seed,
            host=host,
            port=port,
            interval=interval,
            ping_interval=ping_interval,
        )
        self.depth = depth
        self.checksums: ChecksumMode = checksums
        self.sequence_ids = sequence_ids
        """False: pushes carry no ``seqId``/``prevSeqId`` (older OKX captures, some channels)."""
        self._instruments: dict[str, _Instrument] = {}
        for market in markets:
            model = self._models[market.symbol]
            order = {side: [_key(side, tick) for tick, _ in model.levels(side)] for side in _SIDES}
            window = {side: set(order[side][:depth]) for side in _SIDES}
            instrument = _Instrument(
                market.symbol, _inst_id(market.symbol), model, order, window, seq=model.update_id
            )
            self._instruments[market.symbol] = instrument
        self._by_inst_id = {i.inst_id: i for i in self._instruments.values()}
        self.pushes_sent = 0
        """``books`` updates published (once per update, whatever the number of clients)."""
        self.subscriptions: Counter[str] = Counter()
        """Accepted ``books`` subscriptions, by unified symbol."""
        self.unsubscriptions: Counter[str] = Counter()
        """Accepted ``books`` unsubscriptions, by unified symbol."""
        self.pings = 0
        """Text ``ping`` messages answered."""

    # -- the truth ----------------------------------------------------------------------------

    def true_book(self, symbol: str) -> OrderBook:
        """The exact current book of ``symbol``, every level (sequence = the model's update ID)."""
        return self._instruments[symbol].model.to_order_book()

    def true_top(self, symbol: str, depth: int | None = None) -> OrderBook:
        """The best ``depth`` (default: the channel's) levels per side of the true book.

        This is what the channel keeps in sync; its sequence is the last ``seqId``.
        """
        instrument = self._instruments[symbol]
        market = instrument.model.market
        limit = self.depth if depth is None else depth
        book = OrderBook(market.price_decimals, market.size_decimals)
        bids, asks = (
            [
                (
                    format_decimal(tick, market.price_decimals),
                    format_decimal(lots, market.size_decimals),
                )
                for tick, lots in instrument.model.levels(side, limit)
            ]
            for side in _SIDES
        )
        book.apply_snapshot(bids, asks, sequence=instrument.seq)
        return book

    def seq_id(self, symbol: str) -> int:
        """The ``seqId`` of the last push of ``symbol`` (what a book in sync has)."""
        return self._instruments[symbol].seq

    def subscribers(self, symbol: str) -> int:
        """Connected clients subscribed to the ``books`` channel of ``symbol``."""
        inst_id = self._instruments[symbol].inst_id
        return sum(1 for client in self._clients if inst_id in client.inst_ids)

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and pushes them.

        An event that changes nothing within the published levels sends nothing (like OKX).
        """
        symbols = self.symbols
        for _ in range(count):
            instrument = self._instruments[
                symbol if symbol is not None else self._rng.choice(symbols)
            ]
            step = instrument.model.step()
            changes = self._window_changes(instrument, step.changes)
            if not changes:
                continue
            payload = self._update(instrument, changes)
            if instrument.drop > 0:
                instrument.drop -= 1
                continue
            self._broadcast(instrument, self._mutated(instrument.symbol, payload))
        await asyncio.sleep(0)

    def _window_changes(
        self, instrument: _Instrument, step: list[tuple[Side, int, int]]
    ) -> list[tuple[Side, int, int]]:
        """Follows the model's changes; returns the changes of the published levels.

        Those are the changes within the best ``depth`` levels, plus the levels that enter the
        window (as inserts) or leave it (as removals) when levels above them come and go.
        """
        model = instrument.model
        touched: dict[Side, set[int]] = {"bid": set(), "ask": set()}
        for side, tick, lots in step:
            order = instrument.order[side]
            key = _key(side, tick)
            index = bisect.bisect_left(order, key)
            present = index < len(order) and order[index] == key
            if lots and not present:
                order.insert(index, key)
            elif not lots and present:
                del order[index]
            touched[side].add(key)
        changes: list[tuple[Side, int, int]] = []
        for side in _SIDES:
            if not touched[side]:
                continue
            sizes = model.bids if side == "bid" else model.asks
            sign = -1 if side == "bid" else 1
            old = instrument.window[side]
            new = set(instrument.order[side][: self.depth])
            changes.extend((side, sign * key, sizes[sign * key]) for key in new - old)
            changes.extend((side, sign * key, 0) for key in old - new)
            changes.extend(
                (side, sign * key, sizes[sign * key]) for key in touched[side] & old & new
            )
            instrument.window[side] = new
        return changes

    def _next_seq(self, instrument: _Instrument) -> tuple[int, int]:
        """``(prevSeqId, seqId)`` of a new push; a pending sequence reset makes it smaller."""
        update_id = instrument.model.update_id
        if instrument.reset_pending:
            instrument.reset_pending = False
            instrument.offset = update_id - self._rng.randrange(0, 1_000)
        previous, instrument.seq = instrument.seq, update_id - instrument.offset
        return previous, instrument.seq

    def _update(self, instrument: _Instrument, changes: list[tuple[Side, int, int]]) -> bytes:
        previous, sequence = self._next_seq(instrument)
        checksum = self._checksum(instrument)
        if instrument.corrupt_updates > 0:
            instrument.corrupt_updates -= 1
            checksum = _wrong(checksum)
        market = instrument.model.market
        sides: dict[Side, list[list[str]]] = {"bid": [], "ask": []}
        for side, tick, lots in sorted(
            changes, key=lambda c: (c[0], -c[1] if c[0] == "bid" else c[1])
        ):
            sides[side].append(_level(tick, lots, market))
        return self._push(
            instrument, "update", sides["bid"], sides["ask"], previous, sequence, checksum
        )

    def _snapshot(self, instrument: _Instrument) -> bytes:
        market = instrument.model.market
        bids, asks = (
            [_level(tick, lots, market) for tick, lots in instrument.model.levels(side, self.depth)]
            for side in _SIDES
        )
        checksum = self._checksum(instrument)
        if instrument.corrupt_snapshots > 0:
            instrument.corrupt_snapshots -= 1
            checksum = _wrong(checksum)
        return self._push(instrument, "snapshot", bids, asks, -1, instrument.seq, checksum)

    def _push(
        self,
        instrument: _Instrument,
        action: str,
        bids: list[list[str]],
        asks: list[list[str]],
        previous: int,
        sequence: int,
        checksum: int,
    ) -> bytes:
        entry: dict[str, object] = {
            "asks": asks,
            "bids": bids,
            "ts": str(_now_ms()),
            "checksum": checksum,
        }
        if self.sequence_ids:
            entry["prevSeqId"] = previous
            entry["seqId"] = sequence
        return orjson.dumps(
            {
                "arg": {"channel": "books", "instId": instrument.inst_id},
                "action": action,
                "data": [entry],
            }
        )

    def _checksum(self, instrument: _Instrument) -> int:
        """The ``checksum`` field for the published levels: 0, or OKX's CRC32 of them."""
        if self.checksums == "zero":
            return 0
        market = instrument.model.market
        bids, asks = (
            [
                (
                    wire_decimal(tick, market.price_decimals),
                    wire_decimal(lots, market.size_decimals),
                )
                for tick, lots in instrument.model.levels(side, CHECKSUM_DEPTH)
            ]
            for side in _SIDES
        )
        return signed_crc32(checksum_string(bids, asks))

    def _broadcast(self, instrument: _Instrument | None, payload: bytes) -> None:
        """Queues ``payload`` for every client subscribed to ``instrument`` (all if None)."""
        if instrument is not None:
            self.pushes_sent += 1
        for client in self._clients:
            if instrument is None or instrument.inst_id in client.inst_ids:
                client.send(payload)

    # -- faults -------------------------------------------------------------------------------

    def drop_next(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` updates of ``symbol`` are published but not sent (a gap)."""
        self._instruments[symbol].drop += count

    def corrupt_next_checksum(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` updates of ``symbol`` carry a wrong, non-zero checksum."""
        self._instruments[symbol].corrupt_updates += count

    def corrupt_next_snapshot(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` snapshots of ``symbol`` carry a wrong, non-zero checksum."""
        self._instruments[symbol].corrupt_snapshots += count

    def withhold_snapshots(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` subscriptions of ``symbol`` are acknowledged but get no snapshot."""
        self._instruments[symbol].withheld_snapshots += count

    def reset_sequence(self, symbol: str) -> None:
        """The next push of ``symbol`` restarts its ``seqId`` below its ``prevSeqId``.

        OKX documents this after maintenance; the pushes after it chain as usual.
        """
        self._instruments[symbol].reset_pending = True

    async def send_heartbeat(self, symbol: str) -> None:
        """Sends the no-change update OKX sends after a quiet minute (``seqId == prevSeqId``)."""
        instrument = self._instruments[symbol]
        checksum = self._checksum(instrument)
        seq = instrument.seq
        self._broadcast(instrument, self._push(instrument, "update", [], [], seq, seq, checksum))
        await asyncio.sleep(0)

    async def send_malformed(
        self, symbol: str | None = None, kind: Literal["json", "fields"] = "json"
    ) -> None:
        """Sends a bad message: truncated JSON (``"json"``, to the subscribers of ``symbol`` or to
        every client) or an update of ``symbol`` whose price is not a number (``"fields"``; it
        takes a ``seqId``, so the client loses that update)."""
        if kind == "json":
            instrument = self._instruments[symbol] if symbol is not None else None
            self._broadcast(instrument, b'{"arg":{"channel":"books","instId":"')
        else:
            if symbol is None:
                raise InvalidInput("symbol: a 'fields' malformed update needs a symbol")
            instrument = self._instruments[symbol]
            instrument.model.skip_ids(1)
            previous, sequence = self._next_seq(instrument)
            bad = [["12x.5", "1", "0", "1"]]
            self._broadcast(
                instrument, self._push(instrument, "update", bad, [], previous, sequence, 0)
            )
        await asyncio.sleep(0)

    async def send_crossed(self, symbol: str) -> None:
        """Sends a well-sequenced update with a bid at the best ask (the truth ignores it)."""
        instrument = self._instruments[symbol]
        model = instrument.model
        _side, tick, lots = model.crossing_change()
        model.skip_ids(1)
        previous, sequence = self._next_seq(instrument)
        bids = [_level(tick, lots, model.market)]
        checksum = self._checksum(instrument)
        self._broadcast(
            instrument, self._push(instrument, "update", bids, [], previous, sequence, checksum)
        )
        await asyncio.sleep(0)

    async def send_notice(self) -> None:
        """Sends the service-upgrade notice (code 64008) to every client."""
        for client in self._clients:
            client.send(
                orjson.dumps(
                    {
                        "event": "notice",
                        "code": "64008",
                        "msg": "The connection will soon be closed for a service upgrade. "
                        "Please reconnect.",
                        "connId": client.conn_id,
                    }
                )
            )
        await asyncio.sleep(0)

    async def disconnect(self, *, abrupt: bool = False) -> None:
        """Closes every client connection; nothing more is queued for them."""
        for client in self._clients:
            client.stalled = True
        await super().disconnect(abrupt=abrupt)

    # -- websocket ----------------------------------------------------------------------------

    def _accept(self, connection: ServerConnection) -> _Client:
        return _Client(connection, f"{self._rng.getrandbits(32):08x}")

    async def _converse(self, client: _Client) -> None:
        writer = asyncio.create_task(self._write(client))
        try:
            async for message in client.connection:
                self._on_request(client, message)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    async def _write(self, client: _Client) -> None:
        """Sends the client's queued messages in order until its connection closes."""
        while True:
            payload = await client.outbox.get()
            try:
                await client.connection.send(payload, text=True)
            except ConnectionClosed:
                self._clients.discard(client)
                return

    def _on_request(self, client: _Client, message: str | bytes) -> None:
        """Answers ``ping`` and ``subscribe``/``unsubscribe`` requests (queued, in order)."""
        if message in ("ping", b"ping"):
            self.pings += 1
            client.send(b"pong")
            return
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        op = request.get("op") if type(request) is dict else None
        args = request.get("args") if type(request) is dict else None
        if op not in ("subscribe", "unsubscribe") or type(args) is not list or not args:
            text = message if isinstance(message, str) else message.decode(errors="replace")
            client.send(self._error(client, request, "60012", f"Invalid request: {text}"))
            return
        assert type(request) is dict
        for arg in args:
            channel = arg.get("channel") if type(arg) is dict else None
            inst_id = arg.get("instId") if type(arg) is dict else None
            instrument = self._by_inst_id.get(inst_id) if type(inst_id) is str else None
            if channel != "books" or instrument is None:
                client.send(
                    self._error(
                        client,
                        request,
                        "60018",
                        f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please "
                        "use the correct URL, channel and parameters referring to API document.",
                    )
                )
                continue
            ack: dict[str, object] = {
                "event": op,
                "arg": {"channel": "books", "instId": instrument.inst_id},
                "connId": client.conn_id,
            }
            if "id" in request:
                ack = {"id": request["id"], **ack}
            client.send(orjson.dumps(ack))
            if op == "unsubscribe":
                client.inst_ids.discard(instrument.inst_id)
                self.unsubscriptions[instrument.symbol] += 1
                continue
            client.inst_ids.add(instrument.inst_id)
            self.subscriptions[instrument.symbol] += 1
            if instrument.withheld_snapshots > 0:
                instrument.withheld_snapshots -= 1
                continue
            client.send(self._snapshot(instrument))

    @staticmethod
    def _error(client: _Client, request: object, code: str, msg: str) -> bytes:
        error: dict[str, object] = {"event": "error", "code": code, "msg": msg}
        if type(request) is dict and "id" in request:
            error = {"id": request["id"], **error}
        error["connId"] = client.conn_id
        return orjson.dumps(error)


def _key(side: Side, tick: int) -> int:
    """A sort key that puts the best level of ``side`` first (and maps back to the tick)."""
    return -tick if side == "bid" else tick


def _inst_id(symbol: str) -> str:
    return symbol.replace("/", "-").upper()


def _level(tick: int, lots: int, market: SimMarket) -> list[str]:
    """``[price, size, "0", numOrders]`` as OKX writes a level (removals: 0 orders)."""
    orders = 0 if lots == 0 else 1 + lots % 7
    return [
        wire_decimal(tick, market.price_decimals),
        wire_decimal(lots, market.size_decimals),
        "0",
        str(orders),
    ]


def _wrong(checksum: int) -> int:
    """A non-zero checksum different from ``checksum``."""
    wrong = checksum + 1 if checksum < 2**31 - 1 else checksum - 1
    return wrong if wrong != 0 else 2


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
