"""The Binance simulator speaks Binance's wire protocol (REST depth endpoint and websocket)."""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from sor.feeds import HttpError
from sor.feeds.http import get_json
from sor.sim import BinanceSimulator, SimMarket


async def test_depth_endpoint_answers_like_binance(sim: BinanceSimulator) -> None:
    response = await get_json(f"{sim.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5", timeout=2)
    body = response.body
    assert isinstance(body, dict)
    assert body.keys() == {"lastUpdateId", "bids", "asks"}
    assert body["lastUpdateId"] == sim.update_id("BTC/USDT")
    assert len(body["bids"]) == len(body["asks"]) == 5
    best_bid, best_ask = body["bids"][0], body["asks"][0]
    assert len(best_bid[0].split(".")[1]) == 8, "decimals written with 8 places, like Binance"
    assert float(best_bid[0]) < float(best_ask[0])
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-mbx-used-weight-1m"] == "5"
    assert sim.snapshot_requests[-1].limit == 5


@pytest.mark.parametrize(
    ("query", "code"),
    [("symbol=NOPEUSDT", -1121), ("symbol=BTCUSDT&limit=abc", -1100)],
)
async def test_depth_endpoint_rejects_bad_requests_with_binance_error_codes(
    sim: BinanceSimulator, query: str, code: int
) -> None:
    with pytest.raises(HttpError) as raised:
        await get_json(f"{sim.rest_url}/api/v3/depth?{query}", timeout=2)
    assert raised.value.status == 400
    assert orjson.loads(raised.value.body)["code"] == code


async def test_depth_endpoint_answers_429_with_retry_after_past_the_weight_limit() -> None:
    async with BinanceSimulator([SimMarket("BTC/USDT")], weight_limit=100) as sim:
        url = f"{sim.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=1000"
        await get_json(url, timeout=2)
        await get_json(url, timeout=2)
        with pytest.raises(HttpError) as raised:
            await get_json(url, timeout=2)
        assert raised.value.status == 429
        assert raised.value.retry_after is not None
        assert 1 <= raised.value.retry_after <= 60
        assert [r.status for r in sim.snapshot_requests] == [200, 200, 429]


async def test_websocket_subscription_streams_depth_updates(sim: BinanceSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send(
            orjson.dumps(
                {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 7}
            ).decode()
        )
        assert orjson.loads(await ws.recv()) == {"result": None, "id": 7}
        await ws.send('{"method": "LIST_SUBSCRIPTIONS", "id": 8}')
        assert orjson.loads(await ws.recv()) == {"result": ["btcusdt@depth@100ms"], "id": 8}
        before = sim.update_id("BTC/USDT")
        await sim.publish(1, "BTC/USDT")
        await sim.publish(1, "ETH/USDT")  # not subscribed: not sent
        await sim.publish(1, "BTC/USDT")
        first = orjson.loads(await ws.recv())
        second = orjson.loads(await ws.recv())
    assert first.keys() == {"e", "E", "s", "U", "u", "b", "a"}
    assert (first["e"], first["s"]) == ("depthUpdate", "BTCUSDT")
    assert first["U"] == before + 1
    assert second["U"] == first["u"] + 1
    assert second["u"] == sim.update_id("BTC/USDT")


async def test_websocket_stream_in_the_path_needs_no_subscription(sim: BinanceSimulator) -> None:
    async with connect(f"{sim.ws_url}/ethusdt@depth") as ws:
        await sim.publish(1, "ETH/USDT")
        assert orjson.loads(await ws.recv())["s"] == "ETHUSDT"


async def test_websocket_answers_bad_requests_with_documented_errors(sim: BinanceSimulator) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send("{not json")
        assert orjson.loads(await ws.recv())["code"] == 3
        await ws.send('{"method": "NOPE", "id": 1}')
        assert orjson.loads(await ws.recv())["code"] == 2


async def test_websocket_on_an_unknown_path_is_refused(sim: BinanceSimulator) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://127.0.0.1:{sim.port}/nowhere"):
            pass


async def test_get_json_reports_an_unreachable_server(sim: BinanceSimulator) -> None:
    await sim.stop()
    with pytest.raises(HttpError) as raised:
        await get_json(f"{sim.rest_url}/api/v3/depth?symbol=BTCUSDT", timeout=1)
    assert raised.value.status is None
