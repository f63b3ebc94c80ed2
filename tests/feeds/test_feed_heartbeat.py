"""Application-level heartbeats: the pings some exchanges want on top of the websocket's own.

A feed whose adapter sets ``heartbeat_interval`` sends ``heartbeat_message()`` that often on
every connection, as a text frame; an adapter without one sends nothing of the kind; a ping that
cannot be sent within ``send_timeout`` ends the connection like any connection error. The
recording server is a real websocket server on 127.0.0.1; the Bybit and OKX adapters are checked
against their simulators, which answer the pings as the exchanges document.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import orjson
import pytest
from feed_support import FAST, market_of, poll_until
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from sor.errors import InvalidInput
from sor.feeds import (
    BookDelta,
    BookMarket,
    BookSnapshot,
    BybitSpotAdapter,
    Control,
    ExchangeAdapter,
    Feed,
    FeedEvent,
    SequenceVerdict,
    SyncState,
)
from sor.feeds.exchanges.okx import OkxAdapter
from sor.sim import BybitSimulator, SimMarket
from sor.sim.okx import OkxSimulator

BTC = "BTC/USD"
INTERVAL = 0.05
PING = b'{"op":"ping"}'


class PingingAdapter(ExchangeAdapter):
    """Subscribes with ``{"op": "subscribe"}``, reads one snapshot, pings if given an interval.

    ``ping_size`` pads the ping to that many bytes (to fill a connection that is not read).
    """

    name = "pinging"
    snapshots_on_stream = True

    def __init__(
        self,
        markets: Sequence[BookMarket],
        url: str,
        heartbeat_interval: float | None,
        ping_size: int = 0,
    ) -> None:
        super().__init__(markets)
        self.url = url
        self.heartbeat_interval = heartbeat_interval
        self.ping_size = ping_size
        self.connections = 0

    def stream_url(self) -> str:
        return self.url

    def on_connect(self) -> None:
        self.connections += 1

    def subscribe_messages(self) -> list[bytes]:
        return [b'{"op":"subscribe"}']

    def heartbeat_message(self) -> bytes:
        return PING.ljust(self.ping_size)

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        message = orjson.loads(data)
        if message.get("type") == "snapshot":
            return [BookSnapshot(BTC, 1, [("100.0", "1")], [("101.0", "1")])]
        return [Control(str(message))]

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        return SequenceVerdict.APPLY


class RecordingServer:
    """Answers a subscription with a snapshot and records every frame with its arrival time.

    With ``read=False`` it reads nothing after the subscription (and buffers at most one
    frame), so the client's sends end up blocked by TCP flow control.
    """

    def __init__(self, *, read: bool = True) -> None:
        self.read = read
        self.frames: list[tuple[float, str | bytes]] = []
        self.connections = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    def pings(self) -> list[tuple[float, str | bytes]]:
        """The frames that are not the subscription, with their arrival times."""
        return [(at, frame) for at, frame in self.frames if "subscribe" not in str(frame)]

    async def __aenter__(self) -> RecordingServer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            compression=None,
            max_size=None,
            max_queue=1,
            close_timeout=0.2,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        try:
            self.frames.append((time.monotonic(), await ws.recv()))  # the subscription
            await ws.send('{"type": "snapshot"}')
            if not self.read:
                await ws.wait_closed()
            async for frame in ws:
                self.frames.append((time.monotonic(), frame))
        except ConnectionClosed:
            pass


@pytest.fixture
async def feeds() -> AsyncIterator[list[Feed]]:
    started: list[Feed] = []
    yield started
    for feed in started:
        await feed.stop()


async def start_feed(feeds: list[Feed], adapter: ExchangeAdapter, **config: object) -> Feed:
    feed = Feed(adapter, replace(FAST, **config))  # type: ignore[arg-type]
    feeds.append(feed)
    await feed.start()
    return feed


async def test_pings_arrive_every_heartbeat_interval_as_text_frames(feeds: list[Feed]) -> None:
    async with RecordingServer() as server:
        adapter = PingingAdapter([BookMarket(BTC, 1, 4)], server.url, INTERVAL)
        feed = await start_feed(feeds, adapter)
        await feed.wait_live(timeout=5)
        await poll_until(lambda: len(server.pings()) >= 5, what="five pings")
        subscribed_at = server.frames[0][0]
        times = [at for at, _ in server.pings()]
        assert all(frame == PING.decode() for _, frame in server.pings()), "text frames"
        assert times[0] - subscribed_at >= 0.9 * INTERVAL, "the first ping after one interval"
        mean_gap = (times[-1] - times[0]) / (len(times) - 1)
        assert 0.9 * INTERVAL <= mean_gap <= 4 * INTERVAL
        assert feed.connected
        assert server.connections == 1
        assert feed.stats.reconnects == 0


async def test_adapter_without_a_heartbeat_interval_sends_no_pings(feeds: list[Feed]) -> None:
    async with RecordingServer() as server:
        adapter = PingingAdapter([BookMarket(BTC, 1, 4)], server.url, None)
        feed = await start_feed(feeds, adapter)
        await feed.wait_live(timeout=5)
        await asyncio.sleep(5 * INTERVAL)  # five intervals of the test above: nothing comes
        assert server.pings() == []
        assert [frame for _, frame in server.frames] == ['{"op":"subscribe"}']
        assert feed.connected


async def test_ping_that_cannot_be_sent_within_send_timeout_ends_the_connection(
    feeds: list[Feed], caplog: pytest.LogCaptureFixture
) -> None:
    async with RecordingServer(read=False) as server:
        # 1 MB pings every 5 ms to a server that reads nothing: TCP buffers fill, a send blocks.
        adapter = PingingAdapter([BookMarket(BTC, 1, 4)], server.url, 0.005, ping_size=1 << 20)
        with caplog.at_level(logging.WARNING, logger="sor.feeds"):
            feed = await start_feed(feeds, adapter, send_timeout=0.2)
            await feed.wait_live(timeout=5)
            await poll_until(lambda: feed.stats.reconnects >= 1, 10, "the blocked ping to fail")
            await poll_until(lambda: adapter.connections >= 2, what="a new connection")
        lost = [r.getMessage() for r in caplog.records if "connection lost" in r.getMessage()]
        assert lost, "logged as a lost connection"
        assert "TimeoutError: a message could not be sent within 0.2 s" in lost[0]
        assert feed.running
        await feeds.pop().stop()  # before the server, which cannot read its closing frame


def test_heartbeat_is_off_by_default_and_a_bad_interval_is_refused() -> None:
    adapter = PingingAdapter([BookMarket(BTC, 1, 4)], "ws://127.0.0.1:9", None)
    assert ExchangeAdapter.heartbeat_interval is None
    with pytest.raises(NotImplementedError):
        ExchangeAdapter.heartbeat_message(adapter)
    for interval in (0.0, -1.0, float("nan"), float("inf")):
        adapter.heartbeat_interval = interval
        with pytest.raises(InvalidInput, match="heartbeat_interval"):
            Feed(adapter, FAST)


async def test_bybit_simulator_answers_the_feeds_pings_with_pongs(feeds: list[Feed]) -> None:
    markets = (SimMarket("BTC/USDT", mid="65000"),)
    async with BybitSimulator(markets, seed=3, depth=50) as sim:
        adapter = BybitSpotAdapter([market_of(m) for m in markets], ws_url=sim.ws_url, depth=50)
        assert adapter.heartbeat_interval == 20.0, "Bybit's documented interval"
        adapter.heartbeat_interval = INTERVAL
        feed = await start_feed(feeds, adapter)
        await feed.wait_live(timeout=5)
        messages = feed.stats.messages
        await poll_until(lambda: sim.pings >= 3, what="three pings")
        await poll_until(lambda: feed.stats.messages >= messages + 3, what="their pongs")
        assert all(request["op"] == "ping" for request in sim.requests[1:])
        assert feed.stats.malformed == 0, "every pong is understood"
        assert feed.stats.reconnects == 0
        assert feed.state("BTC/USDT") is SyncState.LIVE


async def test_okx_simulator_answers_the_feeds_text_pings_with_pongs(feeds: list[Feed]) -> None:
    markets = (SimMarket("BTC/USDT", mid="65000"),)
    sim = OkxSimulator(markets, seed=3)
    await sim.start()
    try:
        adapter = OkxAdapter([market_of(m) for m in markets], ws_url=sim.ws_url)
        assert adapter.heartbeat_interval == 20.0, "OKX: a ping when nothing came for N < 30 s"
        adapter.heartbeat_interval = INTERVAL
        feed = await start_feed(feeds, adapter, snapshot_timeout=2.0)
        await feed.wait_live(timeout=5)
        messages = feed.stats.messages
        await poll_until(lambda: sim.pings >= 3, what="three pings")
        await poll_until(lambda: feed.stats.messages >= messages + 3, what="their pongs")
        assert feed.stats.malformed == 0, "every pong is understood"
        assert feed.stats.reconnects == 0
        assert feed.state("BTC/USDT") is SyncState.LIVE
    finally:
        await feeds.pop().stop()
        await sim.stop()
