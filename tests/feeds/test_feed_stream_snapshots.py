"""The feed machinery for exchanges that send snapshots on the stream (Kraken, OKX, Bybit...).

A tiny scripted exchange runs on a real websocket server on 127.0.0.1: the test decides what it
sends, and it records what the feed sends (subscriptions, resubscriptions). Its adapter is the
smallest one that exercises the contract of ``ExchangeAdapter.snapshots_on_stream``: snapshots
arrive on the stream, a symbol resyncs by resubscribing (or by a reconnect if it cannot), the
adapter is told about each new connection, it may ask for a reconnect, a snapshot mid-stream
replaces the book, and a fixed-depth book is cut to its depth before its checksum is checked.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal

import orjson
import pytest
from feed_support import FAST, poll_until
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from sor import OrderBook
from sor.feeds import (
    Backoff,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    Control,
    ExchangeAdapter,
    Feed,
    FeedEvent,
    MalformedMessage,
    Outcome,
    Reconnect,
    SequenceVerdict,
    SyncState,
)

BTC = "BTC/USD"
ETH = "ETH/USD"
MARKETS = [BookMarket(BTC, 1, 4), BookMarket(ETH, 2, 4)]


def top_checksum(book: OrderBook, depth: int) -> int:
    """CRC32 of the best ``depth`` levels of each side (a simple checksum for the test protocol)."""
    text = "|".join(
        f"{side}:{level.price}:{level.size}"
        for side in ("ask", "bid")
        for level in book.levels(side, depth)
    )
    return zlib.crc32(text.encode())


class ScriptedAdapter(ExchangeAdapter):
    """The adapter of the scripted exchange: JSON messages, per-symbol sequence numbers.

    ``{"type": "snapshot", "symbol", "seq", "bids", "asks"}``, ``{"type": "delta", "symbol",
    "seq", "changes": [[side, price, size]], "checksum"?}``, ``{"type": "restart"}`` (asks for a
    reconnect), ``{"type": "lost"}`` (a connection-wide gap: a reconnect with ``gap=True``),
    ``{"type": "ack"}``. The client sends ``{"op": "subscribe"|"unsubscribe",
    "symbol"}``.
    """

    name = "scripted"
    snapshots_on_stream = True

    def __init__(
        self,
        markets: Sequence[BookMarket],
        url: str,
        *,
        can_resubscribe: bool = True,
        max_depth: int | None = None,
    ) -> None:
        super().__init__(markets)
        self.url = url
        self.can_resubscribe = can_resubscribe
        self.max_depth = max_depth
        self.connections = 0

    def stream_url(self) -> str:
        return self.url

    def on_connect(self) -> None:
        self.connections += 1

    def subscribe_messages(self) -> list[bytes]:
        return [orjson.dumps({"op": "subscribe", "symbol": symbol}) for symbol in self.markets]

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        if not self.can_resubscribe:
            return []
        return [
            orjson.dumps({"op": "unsubscribe", "symbol": symbol}),
            orjson.dumps({"op": "subscribe", "symbol": symbol}),
        ]

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        try:
            message = orjson.loads(data)
            kind = message["type"]
            if kind == "ack":
                return [Control("ack")]
            if kind == "restart":
                return [Reconnect("restart")]
            if kind == "lost":
                return [Reconnect("messages lost", gap=True)]
            symbol = message["symbol"]
            if kind == "snapshot":
                return [
                    BookSnapshot(
                        symbol,
                        message["seq"],
                        [tuple(level) for level in message["bids"]],
                        [tuple(level) for level in message["asks"]],
                    )
                ]
            changes = [tuple(change) for change in message["changes"]]
            seq = message["seq"]
            return [BookDelta(symbol, seq, seq, changes, checksum=message.get("checksum"))]
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            raise MalformedMessage(f"unreadable: {error!r}") from None

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        if delta.first_sequence <= book_sequence:
            return SequenceVerdict.SKIP
        return (
            SequenceVerdict.APPLY
            if delta.first_sequence == book_sequence + 1
            else SequenceVerdict.GAP
        )

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        return top_checksum(book, self.max_depth or 10) == checksum


class ScriptedExchange:
    """A websocket server on 127.0.0.1 that records client messages and sends what it is told."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.connections: list[ServerConnection] = []
        self.ignore_subscriptions = 0
        """How many of the next subscribe requests to ignore (no snapshot sent)."""
        self.snapshots: dict[str, dict[str, object]] = {}
        """The snapshot answered to a subscribe, per symbol."""
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    async def __aenter__(self) -> ScriptedExchange:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        try:
            async for data in ws:
                message = orjson.loads(data)
                self.received.append(message)
                if message["op"] != "subscribe":
                    await ws.send(orjson.dumps({"type": "ack"}).decode())
                elif self.ignore_subscriptions:
                    self.ignore_subscriptions -= 1
                elif message["symbol"] in self.snapshots:
                    await ws.send(orjson.dumps(self.snapshots[message["symbol"]]).decode())
        except ConnectionClosed:
            pass

    def subscribes(self, symbol: str) -> int:
        """How many subscribe requests for ``symbol`` arrived so far."""
        return sum(1 for m in self.received if m == {"op": "subscribe", "symbol": symbol})

    def unsubscribes(self, symbol: str) -> int:
        """How many unsubscribe requests for ``symbol`` arrived so far."""
        return sum(1 for m in self.received if m == {"op": "unsubscribe", "symbol": symbol})

    async def send(self, message: dict[str, object]) -> None:
        """Sends ``message`` on the newest connection."""
        await self.connections[-1].send(orjson.dumps(message).decode())


def snapshot_message(
    symbol: str, seq: int, bids: list[list[str]], asks: list[list[str]]
) -> dict[str, object]:
    return {"type": "snapshot", "symbol": symbol, "seq": seq, "bids": bids, "asks": asks}


def delta_message(symbol: str, seq: int, *changes: list[str], **extra: object) -> dict[str, object]:
    return {"type": "delta", "symbol": symbol, "seq": seq, "changes": list(changes), **extra}


BTC_SNAPSHOT = snapshot_message(BTC, 10, [["100.0", "1"], ["99.0", "2"]], [["101.0", "1"]])
ETH_SNAPSHOT = snapshot_message(ETH, 5, [["10.00", "3"]], [["11.00", "4"]])


def levels(book: OrderBook, side: str) -> list[tuple[Decimal, Decimal]]:
    return [(level.price, level.size) for level in book.levels(side)]  # type: ignore[arg-type]


@pytest.fixture
async def exchange() -> AsyncIterator[ScriptedExchange]:
    async with ScriptedExchange() as server:
        server.snapshots = {BTC: BTC_SNAPSHOT, ETH: ETH_SNAPSHOT}
        yield server


@pytest.fixture
async def feeds() -> AsyncIterator[list[Feed]]:
    started: list[Feed] = []
    yield started
    for feed in started:
        await feed.stop()


async def start_feed(feeds: list[Feed], adapter: ScriptedAdapter, **config: object) -> Feed:
    feed = Feed(adapter, replace(FAST, **{"snapshot_timeout": 0.2, **config}))  # type: ignore[arg-type]
    feeds.append(feed)
    await feed.start()
    return feed


async def test_snapshots_on_the_stream_make_books_live_without_any_rest_request(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    adapter = ScriptedAdapter(MARKETS, exchange.url)
    feed = await start_feed(feeds, adapter)
    await feed.wait_live(timeout=5)
    assert levels(feed.book(BTC), "bid") == [
        (Decimal("100.0"), Decimal(1)),
        (Decimal("99.0"), Decimal(2)),
    ]
    assert feed.book(ETH).sequence == 5
    assert adapter.connections == 1, "on_connect is called once per connection"
    counters = feed.stats.as_dict()
    assert counters["snapshots"] == 2
    assert counters["snapshot_failures"] == 0, "fetch_snapshot (not implemented) is never called"
    assert exchange.subscribes(BTC) == 1
    assert exchange.unsubscribes(BTC) == 0


async def test_deltas_before_the_snapshot_are_dropped_and_later_ones_applied(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    exchange.ignore_subscriptions = 2  # the first subscriptions get no snapshot yet
    feed = await start_feed(feeds, ScriptedAdapter(MARKETS, exchange.url), snapshot_timeout=30.0)
    await poll_until(lambda: exchange.subscribes(ETH) == 1, what="subscriptions")
    # An update older than the coming snapshot (its level must not survive into the book).
    await exchange.send(delta_message(BTC, 9, ["bid", "98.0", "5"]))
    await exchange.send(BTC_SNAPSHOT)
    await exchange.send(delta_message(BTC, 11, ["ask", "101.0", "0"], ["ask", "102.0", "7"]))
    await poll_until(lambda: feed.book(BTC).sequence == 11, what="the update after the snapshot")
    assert levels(feed.book(BTC), "bid") == [
        (Decimal("100.0"), Decimal(1)),
        (Decimal("99.0"), Decimal(2)),
    ]
    assert levels(feed.book(BTC), "ask") == [(Decimal("102.0"), Decimal(7))]
    assert feed.state(ETH) is SyncState.SYNCING
    assert feed.stats.gaps == 0
    assert feed.stats.resyncs == 0


async def test_gap_resubscribes_the_symbol_on_the_same_connection(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    adapter = ScriptedAdapter(MARKETS, exchange.url)
    feed = await start_feed(feeds, adapter)
    await feed.wait_live(timeout=5)
    exchange.snapshots[BTC] = snapshot_message(BTC, 20, [["95.0", "1"]], [["96.0", "1"]])
    await exchange.send(delta_message(BTC, 12, ["bid", "100.0", "3"]))  # 11 is missing
    await poll_until(lambda: feed.stats.gaps == 1, what="the gap")
    await feed.wait_live([BTC], timeout=5)
    assert levels(feed.book(BTC), "bid") == [(Decimal("95.0"), Decimal(1))], "rebuilt, not patched"
    assert exchange.unsubscribes(BTC) == 1
    assert exchange.subscribes(BTC) == 2
    assert exchange.subscribes(ETH) == 1, "the other symbol is left alone"
    assert feed.stats.resyncs == 1
    assert feed.stats.reconnects == 0
    assert len(exchange.connections) == 1
    assert adapter.connections == 1


async def test_missing_snapshot_is_asked_for_again_after_the_snapshot_timeout(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    feed = await start_feed(feeds, ScriptedAdapter(MARKETS, exchange.url))
    await feed.wait_live(timeout=5)
    exchange.ignore_subscriptions = 1  # the first resubscription goes unanswered
    await exchange.send(delta_message(BTC, 13, ["bid", "100.0", "3"]))  # gap
    await poll_until(lambda: feed.stats.gaps == 1, what="the gap")
    await feed.wait_live([BTC], timeout=5)
    assert exchange.subscribes(BTC) == 3, "initial, unanswered resubscription, retry"
    assert feed.stats.snapshot_failures == 1, "the timed-out attempt is counted"
    assert feed.stats.resyncs == 1
    assert feed.stats.reconnects == 0


async def test_adapter_that_cannot_resubscribe_one_symbol_gets_a_new_connection(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    adapter = ScriptedAdapter(MARKETS, exchange.url, can_resubscribe=False)
    feed = await start_feed(feeds, adapter)
    await feed.wait_live(timeout=5)
    await exchange.send(delta_message(ETH, 9, ["bid", "10.00", "1"]))  # gap on ETH
    await poll_until(lambda: feed.stats.reconnects == 1, what="the reconnect")
    await feed.wait_live(timeout=5)
    assert adapter.connections == 2
    assert len(exchange.connections) == 2
    assert exchange.unsubscribes(ETH) == 0
    assert exchange.subscribes(BTC) == 2
    assert exchange.subscribes(ETH) == 2
    assert feed.stats.gaps == 1
    assert feed.stats.resyncs == 1


@pytest.mark.parametrize(("kind", "gaps"), [("restart", 0), ("lost", 1)])
async def test_reconnect_event_from_the_adapter_rebuilds_every_book_and_counts_a_gap_if_one(
    exchange: ScriptedExchange, feeds: list[Feed], kind: str, gaps: int
) -> None:
    adapter = ScriptedAdapter(MARKETS, exchange.url)
    feed = await start_feed(feeds, adapter)
    await feed.wait_live(timeout=5)
    await exchange.send(delta_message(BTC, 11, ["bid", "98.5", "4"]))
    await poll_until(lambda: feed.book(BTC).sequence == 11, what="the update")
    await exchange.send({"type": kind})
    await poll_until(lambda: adapter.connections == 2, what="the new connection")
    await feed.wait_live(timeout=5)
    assert feed.stats.reconnects == 1
    assert feed.stats.gaps == gaps, "a lost-messages reconnect is a gap, a restart is not"
    assert feed.stats.resyncs == 0, "a reconnect is not counted as resyncs"
    assert (Decimal("98.5"), Decimal(4)) not in levels(feed.book(BTC), "bid"), "no level left over"
    assert feed.book(BTC) == _book_of(BTC_SNAPSHOT, 1, 4)


async def test_snapshot_mid_stream_replaces_the_live_book(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    feed = await start_feed(feeds, ScriptedAdapter(MARKETS, exchange.url))
    await feed.wait_live(timeout=5)
    replacement = snapshot_message(BTC, 3, [["90.0", "5"]], [["91.0", "6"]])
    await exchange.send(replacement)
    await poll_until(lambda: feed.book(BTC).sequence == 3, what="the replacement")
    assert feed.book(BTC) == _book_of(replacement, 1, 4)
    assert feed.state(BTC) is SyncState.LIVE
    await exchange.send(delta_message(BTC, 4, ["bid", "90.0", "0"], ["bid", "89.0", "1"]))
    await poll_until(lambda: feed.book(BTC).sequence == 4, what="the next update")
    assert levels(feed.book(BTC), "bid") == [(Decimal("89.0"), Decimal(1))]
    assert feed.stats.snapshots == 3
    assert feed.stats.resyncs == 0
    assert feed.stats.gaps == 0


async def test_crossed_snapshot_mid_stream_empties_the_book_and_resubscribes(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    feed = await start_feed(feeds, ScriptedAdapter(MARKETS, exchange.url))
    await feed.wait_live(timeout=5)
    await exchange.send(snapshot_message(BTC, 30, [["105.0", "1"]], [["101.0", "1"]]))
    await poll_until(lambda: exchange.unsubscribes(BTC) == 1, what="the resubscription")
    await feed.wait_live([BTC], timeout=5)
    assert feed.book(BTC) == _book_of(BTC_SNAPSHOT, 1, 4)
    assert feed.stats.malformed == 1


async def test_checksum_mismatch_resubscribes_and_a_match_keeps_the_book(
    exchange: ScriptedExchange, feeds: list[Feed]
) -> None:
    feed = await start_feed(feeds, ScriptedAdapter(MARKETS, exchange.url))
    await feed.wait_live(timeout=5)
    expected = _book_of(BTC_SNAPSHOT, 1, 4)
    expected.apply_delta("bid", "100.5", "2")
    good = top_checksum(expected, 10)
    await exchange.send(delta_message(BTC, 11, ["bid", "100.5", "2"], checksum=good))
    await poll_until(lambda: feed.book(BTC).sequence == 11, what="the checked update")
    assert feed.book(BTC) == expected
    await exchange.send(delta_message(BTC, 12, ["bid", "100.6", "2"], checksum=good))
    await poll_until(lambda: feed.stats.checksum_failures == 1, what="the checksum failure")
    await poll_until(lambda: exchange.unsubscribes(BTC) == 1, what="the resubscription")
    await feed.wait_live([BTC], timeout=5)
    assert feed.book(BTC) == _book_of(BTC_SNAPSHOT, 1, 4)
    assert feed.stats.resyncs == 1


def test_book_is_cut_to_the_adapter_depth_before_the_checksum() -> None:
    adapter = ScriptedAdapter([BookMarket(BTC, 1, 4)], "ws://127.0.0.1:9", max_depth=2)
    sync = BookSync(
        BTC, adapter.new_book(BTC), adapter, Backoff(rng=random.Random(1)), max_buffer=10, now=0.0
    )
    snapshot = BookSnapshot(BTC, 1, [("100.0", "1"), ("99.0", "1")], [("101.0", "1")])
    assert sync.on_snapshot(snapshot, now=0.0) is Outcome.LIVE
    # A better bid pushes 99.0 out of the depth-2 window; the checksum covers the cut book.
    expected = OrderBook(1, 4)
    expected.apply_snapshot([("100.5", "1"), ("100.0", "1")], [("101.0", "1")])
    change = ("bid", "100.5", "1")
    delta = BookDelta(BTC, 2, 2, [change], checksum=top_checksum(expected, 2))  # type: ignore[list-item]
    assert sync.on_delta(delta, now=1.0) is Outcome.APPLIED
    assert sync.book == expected
    # When 100.5 goes, the exchange re-sends 99.0 (it fell out of the window, the book dropped it).
    expected.apply_deltas([("bid", "100.5", "0"), ("bid", "99.0", "1")])
    changes = [("bid", "100.5", "0"), ("bid", "99.0", "1")]
    delta = BookDelta(BTC, 3, 3, changes, checksum=top_checksum(expected, 2))  # type: ignore[arg-type]
    assert sync.on_delta(delta, now=2.0) is Outcome.APPLIED
    assert sync.book == expected


def test_delta_while_waiting_for_a_stream_snapshot_is_dropped_not_buffered() -> None:
    adapter = ScriptedAdapter([BookMarket(BTC, 1, 4)], "ws://127.0.0.1:9")
    sync = BookSync(
        BTC, adapter.new_book(BTC), adapter, Backoff(rng=random.Random(1)), max_buffer=10, now=0.0
    )
    delta = BookDelta(BTC, 1, 1, [("bid", "100.0", "1")])
    assert sync.on_delta(delta, now=0.0) is Outcome.DROPPED
    assert sync.buffered == 0
    assert sync.state is SyncState.SYNCING


def _book_of(message: dict[str, object], price_decimals: int, size_decimals: int) -> OrderBook:
    book = OrderBook(price_decimals, size_decimals)
    bids = [tuple(level) for level in message["bids"]]  # type: ignore[attr-defined]
    asks = [tuple(level) for level in message["asks"]]  # type: ignore[attr-defined]
    book.apply_snapshot(bids, asks)
    return book
