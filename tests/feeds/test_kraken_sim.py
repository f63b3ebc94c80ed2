"""The Kraken simulator speaks Kraken's WebSocket v2 protocol (checked with a raw client)."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from sor.sim import KrakenSimulator, SimMarket

BTC = "BTC/USD"
MARKETS = (SimMarket(BTC, price_decimals=1, size_decimals=8, mid="65000", levels_per_side=200),)


@pytest.fixture
async def sim() -> AsyncIterator[KrakenSimulator]:
    async with KrakenSimulator(MARKETS, seed=3, heartbeat_interval=None) as simulator:
        yield simulator


async def receive(ws: ClientConnection) -> Any:
    """The next message, decoded with exact decimals (as Kraken's guide recommends)."""
    return json.loads(await ws.recv(), parse_float=Decimal)


async def request(ws: ClientConnection, body: dict[str, object]) -> None:
    await ws.send(orjson.dumps(body).decode())


def checksum_of(book: dict[str, dict[Decimal, Decimal]], price_places: int, qty_places: int) -> int:
    """Kraken's guide, literally: top 10 asks then bids, formatted, '.' removed, zeros stripped."""

    def text(value: Decimal, places: int) -> str:
        return f"{value:.{places}f}".replace(".", "").lstrip("0")

    asks = sorted(book["asks"].items())[:10]
    bids = sorted(book["bids"].items(), reverse=True)[:10]
    return zlib.crc32(
        "".join(text(p, price_places) + text(q, qty_places) for p, q in asks + bids).encode()
    )


def apply(book: dict[str, dict[Decimal, Decimal]], data: dict[str, Any], depth: int) -> None:
    for side in ("bids", "asks"):
        for level in data[side]:
            if level["qty"] == 0:
                book[side].pop(level["price"], None)
            else:
                book[side][level["price"]] = level["qty"]
        ordered = sorted(book[side], reverse=side == "bids")
        for price in ordered[depth:]:  # truncate to the subscribed depth, as the guide says
            del book[side][price]


async def test_status_then_ack_then_snapshot_with_its_checksum(sim: KrakenSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        status = await receive(ws)
        assert status["channel"] == "status"
        assert status["data"][0]["system"] == "online"
        await request(
            ws,
            {
                "method": "subscribe",
                "params": {"channel": "book", "symbol": [BTC], "depth": 25},
                "req_id": 7,
            },
        )
        ack = await receive(ws)
        assert ack["success"] is True
        assert ack["req_id"] == 7
        assert ack["result"] == {"channel": "book", "depth": 25, "snapshot": True, "symbol": BTC}
        snapshot = await receive(ws)
        assert (snapshot["channel"], snapshot["type"]) == ("book", "snapshot")
        (data,) = snapshot["data"]
        assert len(data["bids"]) == len(data["asks"]) == 25
        assert isinstance(data["bids"][0]["price"], Decimal), "numbers, not strings, on the wire"
        assert data["checksum"] == sim.checksum(BTC)
        book = {
            "bids": {lv["price"]: lv["qty"] for lv in data["bids"]},
            "asks": {lv["price"]: lv["qty"] for lv in data["asks"]},
        }
        assert checksum_of(book, 1, 8) == data["checksum"]


async def test_updates_keep_a_client_book_of_each_depth_equal_to_the_truth(
    sim: KrakenSimulator,
) -> None:
    # At depth 1,000 the view holds the whole book (200 levels a side): its changes are the
    # model's own, not a comparison of two views.
    async with (
        connect(sim.ws_url) as shallow,
        connect(sim.ws_url) as deep,
        connect(sim.ws_url) as whole,
    ):
        subscribers = ((shallow, 10), (deep, 100), (whole, 1000))
        books: dict[int, dict[str, dict[Decimal, Decimal]]] = {}
        for ws, depth in subscribers:
            await receive(ws)  # status
            await request(
                ws,
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": [BTC], "depth": depth},
                },
            )
            await receive(ws)  # ack
            (data,) = (await receive(ws))["data"]
            books[depth] = {"bids": {}, "asks": {}}
            apply(books[depth], data, depth)
        await sim.publish(300)
        for ws, depth in subscribers:
            while True:
                try:
                    message = json.loads(await _recv_now(ws), parse_float=Decimal)
                except asyncio.TimeoutError:
                    break
                (data,) = message["data"]
                apply(books[depth], data, depth)
                assert checksum_of(books[depth], 1, 8) == data["checksum"]
            truth = sim.true_book(BTC, depth)
            assert sorted(books[depth]["bids"].items(), reverse=True) == [
                (level.price, level.size) for level in truth.levels("bid")
            ]
            assert sorted(books[depth]["asks"].items()) == [
                (level.price, level.size) for level in truth.levels("ask")
            ]


async def _recv_now(ws: ClientConnection) -> str | bytes:
    """The next message already sent (the simulator has finished publishing)."""
    return await asyncio.wait_for(ws.recv(), 0.2)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"channel": "book", "symbol": ["NOPE/USD"]}, "Currency pair not supported NOPE/USD"),
        ({"channel": "book", "symbol": [BTC], "depth": 50}, "Invalid depth value"),
        ({"channel": "trade", "symbol": [BTC]}, "Channel not supported"),
    ],
    ids=["unknown-pair", "bad-depth", "other-channel"],
)
async def test_bad_subscriptions_are_refused_with_success_false(
    sim: KrakenSimulator, params: dict[str, object], error: str
) -> None:
    async with connect(sim.ws_url) as ws:
        await receive(ws)
        await request(ws, {"method": "subscribe", "params": params, "req_id": 1})
        reply = await receive(ws)
        assert reply["success"] is False
        assert reply["error"] == error
        assert reply["req_id"] == 1


async def test_ping_pong_and_unsubscribe(sim: KrakenSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await receive(ws)
        await request(ws, {"method": "ping", "req_id": 101})
        pong = await receive(ws)
        assert (pong["method"], pong["req_id"]) == ("pong", 101)
        await request(ws, {"method": "subscribe", "params": {"channel": "book", "symbol": [BTC]}})
        await receive(ws)
        await receive(ws)
        assert sim.subscribers(BTC) == 1
        await request(ws, {"method": "unsubscribe", "params": {"channel": "book", "symbol": [BTC]}})
        ack = await receive(ws)
        assert (ack["method"], ack["success"], ack["result"]["symbol"]) == (
            "unsubscribe",
            True,
            BTC,
        )
        assert sim.subscribers(BTC) == 0
