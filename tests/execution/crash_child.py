"""The process the crash test kills: executes orders through ccxt on a local Binance server, with
a journal on disk, until it is killed (``python crash_child.py URL JOURNAL SEED``)."""

from __future__ import annotations

import asyncio
import random
import sys
from decimal import Decimal

from sor import ExchangeMetrics, InMemoryHealth, OrderBook, OrderRequest, SmartOrderRouter, Venue
from sor.clients import CcxtClient
from sor.execution import ExecutionSettings, Executor
from sor.journal import SqliteJournal

SYMBOL = "BTC/USDT"
KEY, SECRET = "crash-key", "crash-secret"


async def main(url: str, journal_path: str, seed: int) -> None:
    rest = f"{url}/api/v3"
    config = {
        "urls": {"api": {"public": rest, "private": rest}},
        "apiKey": KEY,
        "secret": SECRET,
        "timeout": 5_000,
        "timeout_on_exit": 0,
    }
    client = CcxtClient.create("binance", config=config, env={})
    markets = await client.load_markets()
    depth = await client.exchange.fetch_order_book(SYMBOL, 1000)
    book = OrderBook(2, 5)
    book.apply_snapshot(
        bids=[(str(p), str(q)) for p, q, *_ in depth["bids"]],
        asks=[(str(p), str(q)) for p, q, *_ in depth["asks"]],
    )
    router = SmartOrderRouter(
        [Venue("binance", [markets[SYMBOL]])],
        health=InMemoryHealth([ExchangeMetrics("binance", 20.0)]),
    )
    router.set_book("binance", SYMBOL, book)
    journal = SqliteJournal(journal_path)
    executor = Executor(
        router, {"binance": client}, ExecutionSettings(max_attempts=3), journal=journal
    )
    rng = random.Random(seed)
    print("ready", flush=True)
    while True:
        amount = Decimal(rng.randint(1, 5_000)) / 10_000
        side = rng.choice(["buy", "sell"])
        await executor.execute(OrderRequest(SYMBOL, side, amount, max_slippage_bps=200))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
