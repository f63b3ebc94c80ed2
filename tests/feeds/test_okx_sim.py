"""The OKX simulator speaks OKX's wire protocol: checked with a raw websocket client, no feed.

A client that replays the pushes on a plain dict book (the oracle here: exact ``Decimal``
arithmetic, obvious loops) ends with the best 400 true levels per side, and the computed
checksums are OKX's CRC32 of that book.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from sor.feeds.events import BookSide
from sor.sim import SimMarket
from sor.sim.okx import OkxSimulator

BTC = "BTC/USDT"
MARKETS = (SimMarket(BTC, mid="65000"), SimMarket("ETH/USDT", mid="3000"))


@pytest.fixture
async def sim() -> AsyncIterator[OkxSimulator]:
    async with OkxSimulator(MARKETS, seed=5, checksums="computed") as simulator:
        yield simulator


async def receive(ws: ClientConnection) -> Any:
    data = await asyncio.wait_for(ws.recv(), 2.0)
    return data if data == "pong" else orjson.loads(data)


async def subscribe(ws: ClientConnection, inst_id: str = "BTC-USDT") -> None:
    await ws.send(
        orjson.dumps(
            {"op": "subscribe", "args": [{"channel": "books", "instId": inst_id}]}
        ).decode()
    )


class DictBook:
    """The reference book: a dict per side, filled from the wire strings."""

    def __init__(self) -> None:
        self.sides: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        self.seq = -1

    def apply(self, entry: dict[str, Any], *, snapshot: bool) -> None:
        if snapshot:
            self.sides = {"bids": {}, "asks": {}}
        for name in ("bids", "asks"):
            for price, size, deprecated, orders in entry[name]:
                assert deprecated == "0"
                assert (size == "0") == (orders == "0")
                if Decimal(size) == 0:
                    del self.sides[name][Decimal(price)]
                else:
                    self.sides[name][Decimal(price)] = Decimal(size)
        self.seq = entry["seqId"]

    def best(self, name: str, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        levels = sorted(self.sides[name].items(), reverse=name == "bids")
        return levels[:depth]

    def okx_checksum(self) -> int:
        def plain(value: Decimal) -> str:
            return format(value.normalize(), "f")

        parts: list[str] = []
        bids, asks = self.best("bids", 25), self.best("asks", 25)
        for index in range(max(len(bids), len(asks))):
            for levels in (bids, asks):
                if index < len(levels):
                    parts.append(f"{plain(levels[index][0])}:{plain(levels[index][1])}")
        value = zlib.crc32(":".join(parts).encode())
        return value - 2**32 if value >= 2**31 else value


async def test_replaying_the_wire_gives_the_best_400_true_levels_and_real_checksums(
    sim: OkxSimulator,
) -> None:
    async with connect(sim.ws_url) as ws:
        await subscribe(ws)
        ack = await receive(ws)
        assert ack == {
            "event": "subscribe",
            "arg": {"channel": "books", "instId": "BTC-USDT"},
            "connId": ack["connId"],
        }
        snapshot = await receive(ws)
        assert snapshot["action"] == "snapshot"
        (entry,) = snapshot["data"]
        assert (entry["prevSeqId"], entry["seqId"]) == (-1, sim.seq_id(BTC))
        assert len(entry["bids"]) == len(entry["asks"]) == 400
        book = DictBook()
        book.apply(entry, snapshot=True)
        assert entry["checksum"] == book.okx_checksum() != 0
        await sim.publish(300, BTC)
        while book.seq != sim.seq_id(BTC):
            push = await receive(ws)
            assert push["action"] == "update"
            (entry,) = push["data"]
            assert entry["prevSeqId"] == book.seq, "every push names the one before it"
            assert entry["seqId"] > entry["prevSeqId"]
            book.apply(entry, snapshot=False)
            assert entry["checksum"] == book.okx_checksum()
            assert len(book.sides["bids"]) == len(book.sides["asks"]) == 400
        truth = sim.true_top(BTC)
        sides: tuple[tuple[str, BookSide], ...] = (("bids", "bid"), ("asks", "ask"))
        for name, side in sides:
            assert book.best(name) == [(level.price, level.size) for level in truth.levels(side)]
        assert sim.true_book(BTC).level_count("bid") > 400


async def test_ping_is_answered_pong(sim: OkxSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send("ping")
        assert await receive(ws) == "pong"
    assert sim.pings == 1


async def test_unsubscribe_is_acknowledged_and_stops_the_pushes(sim: OkxSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await subscribe(ws)
        await receive(ws)
        await receive(ws)
        arg = {"channel": "books", "instId": "BTC-USDT"}
        await ws.send(orjson.dumps({"id": "7", "op": "unsubscribe", "args": [arg]}).decode())
        ack = await receive(ws)
        assert (ack["id"], ack["event"], ack["arg"]) == ("7", "unsubscribe", arg)
        await sim.publish(20, BTC)
        await ws.send("ping")
        assert await receive(ws) == "pong", "no push after the unsubscription"
    assert (sim.subscriptions[BTC], sim.unsubscriptions[BTC]) == (1, 1)


async def test_other_instruments_pushes_do_not_reach_a_client(sim: OkxSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await subscribe(ws, "ETH-USDT")
        await receive(ws)
        await receive(ws)
        await sim.publish(20, BTC)
        await ws.send("ping")
        assert await receive(ws) == "pong"


@pytest.mark.parametrize(
    ("request_text", "code"),
    [
        ('{"op":"subscribe","args":[{"channel":"books","instId":"DOGE-USDT"}]}', "60018"),
        ('{"op":"subscribe","args":[{"channel":"books5","instId":"BTC-USDT"}]}', "60018"),
        ('{"op":"subscribe","argss":[]}', "60012"),
        ('{"op":"login"}', "60012"),
        ("hello", "60012"),
    ],
)
async def test_bad_requests_get_okx_error_events(
    sim: OkxSimulator, request_text: str, code: str
) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send(request_text)
        error = await receive(ws)
        assert (error["event"], error["code"]) == ("error", code)
        assert error["connId"]


async def test_withheld_snapshot_leaves_a_subscription_without_its_snapshot(
    sim: OkxSimulator,
) -> None:
    sim.withhold_snapshots(BTC)
    async with connect(sim.ws_url) as ws:
        await subscribe(ws)
        assert (await receive(ws))["event"] == "subscribe"
        await sim.publish(5, BTC)
        assert (await receive(ws))["action"] == "update", "updates, but no snapshot"


async def test_sequence_reset_and_no_change_push_follow_the_documented_ids(
    sim: OkxSimulator,
) -> None:
    async with connect(sim.ws_url) as ws:
        await subscribe(ws)
        await receive(ws)
        seq = (await receive(ws))["data"][0]["seqId"]
        await sim.send_heartbeat(BTC)
        entry = (await receive(ws))["data"][0]
        assert (entry["prevSeqId"], entry["seqId"], entry["bids"], entry["asks"]) == (
            seq,
            seq,
            [],
            [],
        )
        sim.reset_sequence(BTC)
        await sim.publish(5, BTC)
        entry = (await receive(ws))["data"][0]
        assert entry["prevSeqId"] == seq
        assert entry["seqId"] < seq
        following = (await receive(ws))["data"][0]
        assert following["prevSeqId"] == entry["seqId"] < following["seqId"]


async def test_only_the_public_path_accepts_websockets(sim: OkxSimulator) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(sim.ws_url.replace("/public", "/private")):
            pass
