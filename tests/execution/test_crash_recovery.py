"""SIGKILL the executing process at random points; the journal settles what it left in flight,
with no double fill and no order sent without its record, and every execution it left
unfinished gets its end."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from decimal import Decimal
from pathlib import Path

from sor import ExchangeMetrics, InMemoryHealth, SmartOrderRouter, Venue
from sor.clients import CcxtClient
from sor.execution import ExecutionSettings, Executor
from sor.journal import IN_FLIGHT, SqliteJournal
from sor.sim import BinanceSimulator, SimMarket
from sor.sim.binance_rest import BinanceRestServer, OrderFault

CHILD = Path(__file__).with_name("crash_child.py")
SYMBOL = "BTC/USDT"
#: The faults the children's orders meet: late answers and dropped ones, after the order is taken.
LATE = (OrderFault.DELAY_AFTER_ACCEPT, OrderFault.DROP_AFTER_ACCEPT, None)


async def run_and_kill(url: str, journal: Path, seed: int, after_s: float) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        url,
        str(journal),
        str(seed),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    ready = await asyncio.wait_for(child.stdout.readline(), 60)
    assert ready.strip() == b"ready"
    await asyncio.sleep(after_s)
    child.send_signal(signal.SIGKILL)
    await child.wait()


async def test_killed_mid_execution_the_journal_settles_everything_without_a_double_fill(
    tmp_path: Path,
) -> None:
    journal_path = tmp_path / "journal.db"
    rng = random.Random(2026)
    market = SimMarket(SYMBOL, price_decimals=2, size_decimals=5, mid="65000")
    async with BinanceSimulator([market], seed=5) as sim:
        server = BinanceRestServer(
            sim,
            api_key="crash-key",
            api_secret="crash-secret",
            balances={"USDT": "100000000", "BTC": "10000"},
        )
        server.delay_s = 0.05  # answers come late, so kills land while orders are in flight
        async with server:
            for round_ in range(4):
                server.fail_next_order(*[rng.choice(LATE) for _ in range(50)])
                await run_and_kill(server.url, journal_path, round_, rng.uniform(0.3, 1.2))
            journal = SqliteJournal(journal_path)
            left = journal.in_flight()
            unfinished = [e for e in journal.executions(limit=10_000) if e.status is None]
            client = CcxtClient.create(
                "binance", config={**server.ccxt_config(), "timeout_on_exit": 0}, env={}
            )
            try:
                markets = await client.load_markets()
                router = SmartOrderRouter(
                    [Venue("binance", [markets[SYMBOL]])],
                    health=InMemoryHealth([ExchangeMetrics("binance", 20.0)]),
                )
                settings = ExecutionSettings(settle_after_s=0.0, reconcile_interval_s=0.05)
                executor = Executor(router, {"binance": client}, settings, journal=journal)
                assert await executor.recover() == []
            finally:
                await client.close()
            placed = {o["clientOrderId"]: o for o in server.orders()}
    assert journal.in_flight() == []
    executions = journal.executions(limit=10_000)
    assert executions  # the children did execute
    recorded = {}
    for execution in executions:
        attempts = journal.attempts(execution.execution_id)
        filled = sum((a.filled for a in attempts), Decimal(0))
        assert filled <= execution.amount  # never more than the order, across its attempts
        for attempt in attempts:
            assert attempt.state != IN_FLIGHT
            recorded[attempt.client_order_id] = attempt
    # Every order the venue got was journaled first, and the journal says what it filled.
    assert set(placed) <= set(recorded)
    for cid, order in placed.items():
        assert recorded[cid].filled == Decimal(order["executedQty"])
    # Every execution has its end (the one each kill interrupted too), as its attempts filled.
    for execution in executions:
        assert execution.status is not None, execution
        if execution.status == "held":  # ended unknown; its attempts were settled later
            continue
        filled = sum((a.filled for a in journal.attempts(execution.execution_id)), Decimal(0))
        assert execution.filled == filled
        expected = "filled" if filled == execution.amount else "partial" if filled else "failed"
        assert execution.status == expected
    print(
        f"{len(left)} attempts left in flight by the kills, all settled;"
        f" {len(unfinished)} executions left unfinished, all ended"
    )
