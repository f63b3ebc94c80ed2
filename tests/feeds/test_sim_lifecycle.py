"""Every simulator has the one life cycle of :class:`SimulatorBase`: it serves on a free port of
127.0.0.1, counts its clients, and its stop drops and forgets every one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from feed_support import poll_until
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from sor.sim import (
    BinanceSimulator,
    BybitSimulator,
    CoinbaseSimulator,
    KrakenSimulator,
    OkxSimulator,
    SimMarket,
)
from sor.sim.server import SimulatorBase

MARKETS = [SimMarket("BTC/USDT", mid="65000")]

SIMULATORS: dict[str, Callable[[], SimulatorBase[Any]]] = {
    "binance": lambda: BinanceSimulator(MARKETS, seed=1),
    "bybit": lambda: BybitSimulator(MARKETS, seed=1),
    "coinbase": lambda: CoinbaseSimulator(MARKETS, seed=1),
    "kraken": lambda: KrakenSimulator(MARKETS, seed=1),
    "okx": lambda: OkxSimulator(MARKETS, seed=1),
}

pytestmark = pytest.mark.parametrize("make", SIMULATORS.values(), ids=SIMULATORS.keys())


async def test_simulator_serves_on_a_free_local_port_and_forgets_its_clients_on_stop(
    make: Callable[[], SimulatorBase[Any]],
) -> None:
    sim = make()
    await SimulatorBase.start(sim)
    try:
        assert sim.host == "127.0.0.1"
        assert sim.port > 0
        assert sim.ws_url == f"ws://127.0.0.1:{sim.port}{sim.ws_path}"
        async with connect(sim.ws_url) as first, connect(sim.ws_url) as second:
            await poll_until(lambda: sim.connected == 2, what="two clients")
            assert sim.connections == 2
            await SimulatorBase.stop(sim)
            assert sim.connected == 0
            for ws in (first, second):
                await asyncio.wait_for(ws.wait_closed(), 2.0)
    finally:
        await SimulatorBase.stop(sim)


async def test_simulator_starts_again_after_a_stop_as_an_async_context_manager(
    make: Callable[[], SimulatorBase[Any]],
) -> None:
    sim = make()
    async with sim as started:
        assert started is sim
        async with connect(sim.ws_url):
            await poll_until(lambda: sim.connected == 1, what="a client")
    assert sim.connected == 0
    async with sim:
        async with connect(sim.ws_url):
            await poll_until(lambda: sim.connected == 1, what="a client after the restart")
        await poll_until(lambda: sim.connected == 0, what="the client gone")
    assert sim.connections == 2


async def test_simulator_refuses_a_websocket_on_another_path(
    make: Callable[[], SimulatorBase[Any]],
) -> None:
    async with make() as sim:
        with pytest.raises(InvalidStatus):
            async with connect(f"ws://127.0.0.1:{sim.port}/nowhere"):
                pass
