"""A bounded load run of ``sor serve`` on loopback: route requests per second and p50/p99 latency
at 1, 16 and 64 concurrent clients, and execute requests on the simulated clients.

The service runs as its own process (``python -m sor serve``, one uvicorn worker, on the five
embedded simulators), so the load generator
does not share its interpreter. The generator is a minimal keep-alive HTTP/1.1 client on
asyncio streams (one connection per client), so that it costs far less than the service. Both
run on this machine: on 2 cores the generator takes CPU the
service would otherwise have, so the figures are a floor. Run::

    python -m benches.service_load                 # 3,000 route requests per level, 300 executes,
                                                   # with the access log on, then off
    python -m benches.service_load --requests 500  # shorter

It prints a Markdown table (the README's) and exits non-zero if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "load-test-token-0123456789"
ROUTE = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.5"}
EXECUTE = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}


@dataclass(frozen=True)
class LoadResult:
    """One level of the run: how many requests at how many clients, and how fast."""

    endpoint: str
    access_log: bool
    clients: int
    requests: int
    failed: int
    seconds: float
    latencies_s: tuple[float, ...]

    @property
    def per_second(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        """A latency percentile, in milliseconds."""
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1_000

    def row(self) -> str:
        """The result as a Markdown table row."""
        log = "on" if self.access_log else "off"
        return (
            f"| {self.endpoint} | {log} | {self.clients} | {self.requests:,} |"
            f" {self.per_second:,.0f} |"
            f" {self.percentile(0.5):.2f} ms | {self.percentile(0.99):.2f} ms |"
            f" {self.failed} |"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_service(journal: Path, access_log: bool) -> tuple[subprocess.Popen[bytes], str]:
    """``sor serve`` on a free port with its journal at ``journal`` and its log (an access line
    per request, as deployed) beside it; returns once it is healthy."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOR_")}
    env.update(
        SOR_API_TOKEN=TOKEN,
        SOR_JOURNAL__URL=str(journal),
        SOR_SERVICE__ACCESS_LOG="true" if access_log else "false",
    )
    if any((ROOT / "python" / "sor").glob("_core*.so")):  # a tree with its core built in place
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "python"), env.get("PYTHONPATH")])
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "sor", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(journal.parent / "serve.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    asyncio.run(_wait_healthy(url, process))
    return process, url


async def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"sor serve exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                async with session.get(f"{url}/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("sor serve did not become healthy within 60 s")


async def _connection(host: str, port: int, request: bytes) -> Callable[[], Awaitable[int]]:
    """A keep-alive HTTP/1.1 connection that sends ``request`` and reads one answer per call
    (its status). Minimal on purpose: the generator must cost far less than the service."""
    reader, writer = await asyncio.open_connection(host, port)

    async def call() -> int:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        return status

    return call


async def load(
    url: str, endpoint: str, body: dict[str, str], clients: int, requests: int, access_log: bool
) -> LoadResult:
    """``requests`` POSTs of ``body`` to ``endpoint`` from ``clients`` concurrent clients, each
    on a keep-alive connection of its own."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    request = (
        f"POST {endpoint} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    calls = [await _connection(host, int(port), request) for _ in range(clients)]
    latencies: list[float] = []
    failed = 0
    remaining = requests

    async def client(call: Callable[[], Awaitable[int]]) -> None:
        nonlocal remaining, failed
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            if await call() != 200:
                failed += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(call) for call in calls))
    seconds = time.perf_counter() - started
    return LoadResult(endpoint, access_log, clients, requests, failed, seconds, tuple(latencies))


def run(requests: int, executes: int, levels: tuple[int, ...] = (1, 16, 64)) -> list[LoadResult]:
    """The whole run: a fresh service with its access log on, then one with it off; route at
    each level, then execute at 16, on each."""
    results = []
    for access_log in (True, False):
        with tempfile.TemporaryDirectory() as directory:
            process, url = start_service(Path(directory) / "journal.db", access_log)
            try:
                steps = [("/api/route", ROUTE, 4, min(200, requests))]  # the warm-up, not kept
                steps += [("/api/route", ROUTE, clients, requests) for clients in levels]
                steps.append(("/api/execute", EXECUTE, 16, executes))
                for endpoint, body, clients, count in steps:
                    results.append(
                        asyncio.run(load(url, endpoint, body, clients, count, access_log))
                    )
                del results[-len(steps)]
            finally:
                process.terminate()
                process.wait(timeout=60)
    return results


def table(results: list[LoadResult]) -> str:
    """The results as the README's Markdown table."""
    head = (
        "| endpoint | access log | clients | requests | requests/s | p50 | p99 | failed |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|"
    )
    return "\n".join([head, *(result.row() for result in results)])


def main() -> int:
    """Runs the load and prints the table; non-zero if any request failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3_000, help="route requests per level")
    parser.add_argument("--executes", type=int, default=300, help="execute requests")
    options = parser.parse_args()
    results = run(options.requests, options.executes)
    print(table(results))
    for access_log in (True, False):
        routes = [r for r in results if r.access_log is access_log and r.endpoint == "/api/route"]
        median = statistics.median(r.per_second for r in routes)
        print(f"access log {'on' if access_log else 'off'}: route median {median:,.0f} requests/s")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
