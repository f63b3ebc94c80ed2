"""A small async JSON GET for REST snapshots, on ``aiohttp`` (no thread, no blocking call).

The feeds make a few REST calls (one snapshot per resync). Each has a timeout that is enforced
for real: a request that times out is abandoned with its socket closed, whatever the server
does. (A blocking ``urllib`` call in a worker thread could not be: a server trickling its
answer a byte at a time kept the thread reading after the caller had given up, and eight
timeouts left six threads stuck in the loop's default executor, where every reconnect's name
lookup then waited.) ``aiohttp`` is already installed with ccxt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson

__all__ = ["HttpError", "JsonResponse", "get_json"]

_MAX_BODY = 64 * 1024 * 1024
_MAX_ERROR_BODY = 4096


class HttpError(Exception):
    """A REST request failed; ``status`` is the HTTP status (None if no response arrived)."""

    def __init__(
        self,
        url: str,
        status: int | None,
        reason: str,
        retry_after: float | None,
        body: bytes = b"",
    ) -> None:
        detail = f" {body[:200]!r}" if body else ""
        super().__init__(f"GET {url}: {status or 'no response'} {reason}{detail}".rstrip())
        self.url = url
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        """Seconds to wait before the next request, from the ``Retry-After`` header."""
        self.body = body
        """The start of the error response's body (exchanges put their error code there)."""


@dataclass(frozen=True)
class JsonResponse:
    """A decoded JSON body and the response headers (names lower-cased)."""

    body: object
    headers: dict[str, str]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def _read(content: aiohttp.StreamReader, most: int) -> bytes:
    """The body, up to ``most + 1`` bytes (one more than allowed shows it is too large)."""
    chunks: list[bytes] = []
    size = 0
    while size <= most:
        chunk = await content.read(min(1 << 20, most + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def get_json(url: str, *, timeout: float, user_agent: str = "sor") -> JsonResponse:
    """GETs ``url`` and decodes its JSON body; raises :class:`HttpError` on any failure.

    ``timeout`` (seconds) bounds the connection and each read; the whole call is also bounded
    by ``2 * timeout`` so a slow trickle of bytes cannot hold a resync forever. On any failure,
    the timeout included, the connection is closed before this returns.
    """
    if not url.startswith(("http://", "https://")):
        raise HttpError(url, None, "only http and https URLs are allowed", None)
    limits = aiohttp.ClientTimeout(total=2 * timeout, sock_connect=timeout, sock_read=timeout)
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    try:
        async with (
            aiohttp.ClientSession(timeout=limits, headers=headers) as session,
            session.get(url) as response,
        ):
            if response.status >= 400:
                try:
                    body = await response.content.read(_MAX_ERROR_BODY)
                except (aiohttp.ClientError, OSError):
                    body = b""
                retry_after = _retry_after(response.headers)
                raise HttpError(url, response.status, response.reason or "", retry_after, body)
            raw = await _read(response.content, _MAX_BODY)
            received = {name.lower(): value for name, value in response.headers.items()}
    except asyncio.TimeoutError:
        raise HttpError(url, None, f"timed out after {2 * timeout:g} s", None) from None
    except (aiohttp.ClientError, OSError) as error:
        raise HttpError(url, None, str(error) or type(error).__name__, None) from None
    if len(raw) > _MAX_BODY:
        raise HttpError(url, 200, "response body too large", None)
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise HttpError(url, 200, f"invalid JSON: {error}", None) from None
    return JsonResponse(decoded, received)
