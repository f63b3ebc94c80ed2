"""A real ``sor serve`` app for the tests: uvicorn on 127.0.0.1 (a free port) over the embedded
simulators, in the test's event loop or in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import uvicorn

from sor.config import Settings
from sor.execution import ExecutionSettings
from sor.journal import Journal, SqliteJournal
from sor.routing import RouterSettings
from sor.runtime import Runtime
from sor.service import create_app

TOKEN = "test-token-0123456789abcdef"
#: Fast reconciliation, so that a fault's lookup settles in a test's time.
EXECUTION = ExecutionSettings(settle_after_s=0.2, reconcile_interval_s=0.05)


@dataclass
class Running:
    """A service that listens: its address, runtime and journal."""

    url: str
    runtime: Runtime
    journal: Journal | None
    server: uvicorn.Server


def _server(runtime: Runtime, token: str | None) -> uvicorn.Server:
    app = create_app(runtime, token=token)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    return uvicorn.Server(config)


def _runtime(journal: Journal | None, execution: ExecutionSettings) -> Runtime:
    settings = Settings(router=RouterSettings(cache_ttl_s=0))
    return Runtime.embedded(settings, levels=200, execution=execution, journal=journal)


def _url(server: uvicorn.Server) -> str:
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


@asynccontextmanager
async def running_service(
    *,
    token: str | None = TOKEN,
    journal: Journal | None = None,
    execution: ExecutionSettings = EXECUTION,
) -> AsyncIterator[Running]:
    """The service in this event loop, until the block ends."""
    runtime = _runtime(journal, execution)
    server = _server(runtime, token)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it did not start
        await asyncio.sleep(0.02)
    try:
        yield Running(_url(server), runtime, journal, server)
    finally:
        server.should_exit = True
        await task


@contextmanager
def service_in_thread(*, token: str | None = TOKEN) -> Iterator[Running]:
    """The service in a thread with its own event loop (for synchronous clients); its journal
    is made in that thread (SQLite connections stay in their thread)."""
    made: list[Running] = []
    ready = threading.Event()

    def run() -> None:
        journal = SqliteJournal(":memory:")
        runtime = _runtime(journal, EXECUTION)
        server = _server(runtime, token)
        made.append(Running("", runtime, journal, server))
        ready.set()
        server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    running = made[0]
    while not running.server.started:
        if not thread.is_alive():
            raise RuntimeError("the service did not start")
        threading.Event().wait(0.02)
    running.url = _url(running.server)
    try:
        yield running
    finally:
        running.server.should_exit = True
        thread.join(timeout=30)
