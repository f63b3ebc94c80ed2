"""The feeds' REST client (``sor.feeds.http``) against real servers on 127.0.0.1.

The case that matters is a server that trickles its answer: a byte now and then, never
enough to trip a per-read timeout. Every timed-out request must be abandoned for real (its
socket closed), leaving no thread and no connection behind, or a few resyncs would fill the
loop's default executor and stall every name lookup of every reconnect.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import orjson
import pytest
from feed_support import poll_until

from sor.feeds import HttpError
from sor.feeds.http import get_json


class _Server:
    """An HTTP server on 127.0.0.1 that answers every request as ``mode`` says."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.open_connections = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3/depth"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.mode == "trickle":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                writer.write(b"Content-Length: 1000000\r\n\r\n{")
                while True:  # one byte every 50 ms, for ever
                    await asyncio.sleep(0.05)
                    writer.write(b" ")
                    await writer.drain()
            elif self.mode == "ok":
                body = orjson.dumps({"lastUpdateId": 1, "bids": [], "asks": []})
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            elif self.mode == "429":
                body = b'{"code":-1003,"msg":"Too many requests"}'
                writer.write(
                    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
            await reader.read()  # until the client closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()


@pytest.fixture
async def trickling() -> AsyncIterator[_Server]:
    server = _Server("trickle")
    await server.start()
    yield server
    await server.stop()


async def test_timed_out_requests_leave_no_thread_nor_connection_behind(
    trickling: _Server,
) -> None:
    threads = threading.active_count()
    for _ in range(8):
        with pytest.raises(HttpError, match="timed out"):
            await get_json(trickling.url, timeout=0.1)
    assert trickling.connections == 8
    await poll_until(lambda: trickling.open_connections == 0, 2.0, "every socket closed")
    assert threading.active_count() <= threads, "no worker thread is left reading"
    # The loop's executor is free: a name lookup does not wait behind stuck reads.
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.getaddrinfo("127.0.0.1", trickling.port), 1.0)


async def test_a_json_answer_is_decoded_with_its_headers() -> None:
    server = _Server("ok")
    await server.start()
    try:
        response = await get_json(server.url, timeout=2.0)
    finally:
        await server.stop()
    assert response.body == {"lastUpdateId": 1, "bids": [], "asks": []}
    assert response.headers["content-type"] == "application/json"


async def test_an_error_status_carries_its_retry_after_and_body() -> None:
    server = _Server("429")
    await server.start()
    try:
        with pytest.raises(HttpError) as raised:
            await get_json(server.url, timeout=2.0)
    finally:
        await server.stop()
    assert raised.value.status == 429
    assert raised.value.retry_after == 7.0
    assert b"Too many requests" in raised.value.body


async def test_an_unreachable_server_is_an_http_error_without_status() -> None:
    with pytest.raises(HttpError) as raised:
        await get_json("http://127.0.0.1:9/", timeout=1.0)
    assert raised.value.status is None


async def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(HttpError, match="only http"):
        await get_json("file:///etc/passwd", timeout=1.0)
