"""``sor serve`` as a process: it starts, answers, and on SIGTERM lets the executions under way
finish, writes them, and exits 0; ``sor status`` and ``sor orders`` read it and its journal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
from service_support import TOKEN

from sor.journal import SqliteJournal

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOR_")}
    env.update(SOR_API_TOKEN=TOKEN, SOR_JOURNAL__URL=str(journal))
    python_path = [str(ROOT / "python"), env.get("PYTHONPATH", "")]
    if (ROOT / "python" / "sor" / "_core.abi3.so").exists() or any(
        (ROOT / "python" / "sor").glob("_core*.so")
    ):  # a development tree with its core built in place
        env["PYTHONPATH"] = os.pathsep.join(p for p in python_path if p)
    return env


def _sor(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``sor serve`` on a free port, once healthy: the process and its URL (killed at the end
    if the block did not stop it)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "sor", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(url, process)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("sor serve did not become healthy within 60 s")


async def _execute_many(url: str, count: int) -> list[httpx.Response]:
    answers = await _try_execute_many(url, count)
    assert all(isinstance(a, httpx.Response) for a in answers), answers
    return answers  # type: ignore[return-value]


async def _try_execute_many(url: str, count: int) -> list[httpx.Response | BaseException]:
    """``count`` concurrent executes; a request the service never answered is its error."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        order = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return await asyncio.gather(
            *(http.post("/api/execute", json=order, headers=headers) for _ in range(count)),
            return_exceptions=True,
        )


async def _until_journaled(url: str, count: int) -> None:
    """Waits until the service's journal lists ``count`` executions (at most 30 s)."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        while time.monotonic() < deadline:
            listed = await http.get("/api/orders", params={"limit": 100}, headers=headers)
            if listed.status_code == 200 and len(listed.json()["orders"]) >= count:
                return
            await asyncio.sleep(0.002)
    raise AssertionError(f"the journal did not list {count} executions within 30 s")


def test_serve_answers_then_stops_on_sigterm_with_every_execution_written(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.db"
    env = _env(journal_path)
    with serving(env) as (process, url):
        status = _sor("status", "--url", url, env=env)
        assert status.returncode == 0, status.stderr
        for venue in ("binance", "coinbase", "kraken", "okx", "bybit"):
            assert venue in status.stdout
        first = asyncio.run(_execute_many(url, 5))
        assert [r.status_code for r in first] == [200] * 5

        async def execute_then_terminate() -> list[httpx.Response]:
            sending = asyncio.ensure_future(_execute_many(url, 8))
            # SIGTERM once the service has taken every request (each execution is journaled
            # when it starts): a request still on its way when the service stops listening
            # is refused, which a fixed sleep left to the machine's speed.
            await _until_journaled(url, len(first) + 8)
            process.send_signal(signal.SIGTERM)
            return await sending

        during = asyncio.run(execute_then_terminate())
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert TOKEN not in stderr
    answered = [r.json() for r in (*first, *during) if r.status_code == 200]
    journal = SqliteJournal(journal_path)
    records = {e.execution_id: e for e in journal.executions(limit=100)}
    assert journal.in_flight() == []
    for report in answered:  # every answered execution is in the journal, as it ended
        record = records[report["execution_id"]]
        assert (record.status, str(record.filled)) == (report["status"], report["filled"])
    assert all(record.status is not None for record in records.values())
    journal.close()

    listed = _sor("orders", "--journal", str(journal_path), "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    executions = json.loads(listed.stdout)["executions"]
    assert {e["execution_id"] for e in executions} == set(records)
    table = _sor("orders", "--journal", str(journal_path), "--limit", "3", env=env)
    assert table.returncode == 0, table.stderr
    assert "Journal: the latest 3 executions" in table.stdout


def test_the_commands_fail_with_messages_a_shell_user_can_act_on(tmp_path: Path) -> None:
    env = _env(tmp_path / "journal.db")
    down = _sor("status", "--url", f"http://127.0.0.1:{_free_port()}", env=env)
    assert down.returncode == 2
    assert "no sor service answers at" in down.stderr
    missing = _sor("orders", "--journal", str(tmp_path / "none.db"), env=env)
    assert missing.returncode == 1
    assert "no journal at" in missing.stderr
    bad = _sor("serve", env={**env, "SOR_SERVICE__PORT": "99999"})
    assert bad.returncode == 2
    assert "service.port" in bad.stderr
    short = _sor("serve", env={**env, "SOR_API_TOKEN": "short"})
    assert short.returncode == 2
    assert "SOR_API_TOKEN" in short.stderr
    assert "short" not in short.stderr.replace("SOR_API_TOKEN", "")


def test_json_logs_are_one_object_per_line_without_the_token(tmp_path: Path) -> None:
    env = {**_env(tmp_path / "journal.db"), "SOR_SERVICE__LOG_JSON": "true"}
    with serving(env) as (process, url):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        order = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}
        assert httpx.post(f"{url}/api/execute", json=order, headers=headers).status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any('"POST /api/execute HTTP/1.1" 200' in line["message"] for line in lines)
    assert TOKEN not in stderr


def test_two_instances_on_one_postgresql_journal_lose_nothing_when_one_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two ``sor serve`` on one PostgreSQL journal, executing at once: every client order id is
    written once; one is killed (SIGKILL) mid-run; once its lease runs out, the other takes
    over what it left in flight and settles it (each instance here trades on simulators of its
    own, so the survivor finds none of the dead one's orders: they settle as not placed), and
    writes the end of every execution the dead one left unfinished."""
    from sor.journal import PostgresJournal  # psycopg only where PostgreSQL is used

    base = {
        **_env(tmp_path / "unused.db"),
        "SOR_JOURNAL__URL": postgres_url,
        "SOR_JOURNAL__LEASE_S": "1",
        "SOR_EXECUTION__SETTLE_AFTER_S": "0.2",
    }
    with (
        serving({**base, "SOR_JOURNAL__INSTANCE_ID": "a"}) as (a, url_a),
        serving({**base, "SOR_JOURNAL__INSTANCE_ID": "b"}) as (_, url_b),
    ):

        async def both() -> list[list[httpx.Response]]:
            return list(await asyncio.gather(_execute_many(url_a, 10), _execute_many(url_b, 10)))

        answered = [r.json() for answers in asyncio.run(both()) for r in answers]
        assert all(r["status"] == "filled" for r in answered)

        async def kill_a_mid_run() -> list[httpx.Response | BaseException]:
            sending = asyncio.ensure_future(_try_execute_many(url_a, 12))
            watcher = PostgresJournal(postgres_url, instance_id="watcher")
            try:
                for _ in range(500):  # until a has orders in flight
                    if watcher.in_flight():
                        break
                    await asyncio.sleep(0.002)
            finally:
                watcher.close()
            a.kill()
            return await sending

        during = asyncio.run(kill_a_mid_run())
        answered += [r.json() for r in during if isinstance(r, httpx.Response)]
        time.sleep(1.5)  # a's lease runs out
        after = asyncio.run(_execute_many(url_b, 2))  # b looks a's orders up first
        assert [r.status_code for r in after] == [200, 200]
        answered += [r.json() for r in after]

    journal = PostgresJournal(postgres_url, instance_id="auditor")
    try:
        assert journal.in_flight() == []  # nothing the dead instance sent is left unsettled
        executions = {e.execution_id: e for e in journal.executions(limit=1_000)}
        cids = [a.client_order_id for e in executions for a in journal.attempts(e)]
        assert len(cids) == len(set(cids))
        unanswered = set(executions) - {r["execution_id"] for r in answered}
        taken_over = [a for e in unanswered for a in journal.attempts(e)]
        assert taken_over  # the kill landed while a's orders were in flight
        assert {a.state for a in taken_over} == {"not_placed"}
        # Every execution has its end: those the dead instance left unfinished as they filled.
        assert all(e.status is not None for e in executions.values())
        for execution_id in unanswered:
            execution = executions[execution_id]
            filled = sum((a.filled for a in journal.attempts(execution_id)), Decimal(0))
            assert execution.filled == filled
            expected = "filled" if filled == execution.amount else "partial" if filled else "failed"
            assert execution.status == expected
        for report in answered:  # every answer is in the journal as it ended
            assert executions[report["execution_id"]].status == report["status"]
            recorded = {a.client_order_id for a in journal.attempts(report["execution_id"])}
            assert recorded == {a["client_order_id"] for a in report["attempts"]}
    finally:
        journal.close()
