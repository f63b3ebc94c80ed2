"""The access log: a line per request (client, method, path, HTTP version, status; never a
header, a query's secrets or a body), written in batches.

uvicorn's own access log makes a ``logging`` record per request and writes and flushes each
line on its own: about a tenth of a route request's cost under load. :class:`AccessLog` is an
ASGI middleware that formats the line itself and writes what accumulated at most
``flush_s`` later in one write (as nginx's ``access_log ... buffer= flush=`` does), in the
same shape as the service's other log lines (text or JSON, see :mod:`sor.service.logs`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TextIO

__all__ = ["ACCESS_LOGGER", "AccessLog"]

#: The logger name access lines carry.
ACCESS_LOGGER = "sor.access"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessLog:
    """Wraps ``app``: every HTTP request it answers gets a line on ``stream`` (default
    ``sys.stderr``), JSON when ``json_lines``. Lines are written at most ``flush_s`` seconds
    after their request ended, and all of them by :meth:`flush` (the server calls it when it
    stops)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_lines: bool = False,
        flush_s: float = 0.25,
        stream: TextIO | None = None,
    ) -> None:
        self.app = app
        self._json = json_lines
        self._flush_s = flush_s
        self._stream = stream
        self._lines: list[str] = []
        self._scheduled = False
        #: The time prefix of the current second, and that second.
        self._second = -1
        self._prefix = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the request, then logs it (an unanswered request is logged with status 500,
        as uvicorn answers it)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._log(scope, status)

    def _log(self, scope: Scope, status: int) -> None:
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else "-"
        message = (
            f'{where} - "{scope["method"]} {scope["path"]} HTTP/{scope["http_version"]}" {status}'
        )
        self._lines.append(self._line(message))
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_later(self._flush_s, self.flush)
            except RuntimeError:  # no loop running: write at once
                self.flush()

    def _line(self, message: str) -> str:
        """One log line, as :func:`sor.service.logs.log_config` formats the others."""
        now = time.time()
        second = int(now)
        millis = int((now - second) * 1000)
        if self._json:
            if second != self._second:
                self._second = second
                self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            entry = {
                "time": f"{self._prefix}.{millis:03d}Z",
                "level": "info",
                "logger": ACCESS_LOGGER,
                "message": message,
            }
            return json.dumps(entry, ensure_ascii=False) + "\n"
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._prefix},{millis:03d} INFO {ACCESS_LOGGER}: {message}\n"

    def flush(self) -> None:
        """Writes every line not written yet, in one write."""
        self._scheduled = False
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        stream = self._stream if self._stream is not None else sys.stderr
        stream.write(text)
        stream.flush()
