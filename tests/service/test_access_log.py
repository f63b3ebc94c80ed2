"""The service's access log: one line per request in the service's log shape, written in
batches, never a header, query string or body."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from sor.service.access_log import ACCESS_LOGGER, AccessLog


async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A minimal ASGI app: 404 for /missing, an error for /boom, 200 otherwise."""
    if scope["path"] == "/boom":
        raise RuntimeError("boom")
    status = 404 if scope["path"] == "/missing" else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"secret-body"})


def request(path: str, method: str = "GET", query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "http_version": "1.1",
        "client": ("127.0.0.1", 5123),
        "headers": [(b"authorization", b"Bearer very-secret-token")],
    }


async def call(log: AccessLog, scope: dict[str, Any]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    await log(scope, receive, send)


def test_lines_are_batched_and_say_client_method_path_version_and_status() -> None:
    stream = io.StringIO()
    log = AccessLog(answer, flush_s=0.05, stream=stream)

    async def run() -> str:
        await call(log, request("/api/route", "POST", b"token=hunter2"))
        await call(log, request("/missing"))
        written_at_once = stream.getvalue()
        await asyncio.sleep(0.15)
        assert written_at_once == "", "lines wait for the batch"
        return stream.getvalue()

    text = asyncio.run(run())
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        f' INFO {ACCESS_LOGGER}: 127.0.0.1:5123 - "POST /api/route HTTP/1.1" 200'
    )
    assert lines[1].endswith('"GET /missing HTTP/1.1" 404')
    for secret in ("very-secret-token", "hunter2", "secret-body"):
        assert secret not in text


def test_json_lines_and_an_unanswered_request_logged_as_500() -> None:
    stream = io.StringIO()
    log = AccessLog(answer, json_lines=True, stream=stream)

    async def run() -> None:
        with pytest.raises(RuntimeError):
            await call(log, request("/boom"))
        log.flush()

    asyncio.run(run())
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["logger"] == ACCESS_LOGGER
    assert entry["message"] == '127.0.0.1:5123 - "GET /boom HTTP/1.1" 500'
    assert entry["time"].endswith("Z")
    assert len(entry["time"]) == len("2026-12-07T17:00:00.000Z")


def test_other_scopes_pass_through_unlogged() -> None:
    stream = io.StringIO()
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    log = AccessLog(app, stream=stream)
    asyncio.run(call(log, {"type": "lifespan"}))
    log.flush()
    assert seen == ["lifespan"]
    assert stream.getvalue() == ""
