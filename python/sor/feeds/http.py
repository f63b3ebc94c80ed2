"""A small async JSON GET for REST snapshots (the standard library, run in a worker thread).

The feeds make a few REST calls (one snapshot per resync), so a blocking ``urllib`` call in
:func:`asyncio.to_thread` is enough and keeps the event loop free. Every call has a timeout.
"""

from __future__ import annotations

import asyncio
import email.message
import urllib.error
import urllib.request
from dataclasses import dataclass

import orjson

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


def _retry_after(headers: email.message.Message | None) -> float | None:
    if headers is None:
        return None
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _get(url: str, timeout: float, user_agent: str) -> JsonResponse:
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": user_agent}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(_MAX_BODY + 1)
            headers = {name.lower(): value for name, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        retry_after = _retry_after(error.headers)
        try:
            body = error.read(_MAX_ERROR_BODY)
        except OSError:
            body = b""
        finally:
            error.close()  # it holds the response and its socket
        raise HttpError(url, error.code, str(error.reason), retry_after, body) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise HttpError(url, None, str(reason), None) from None
    if len(raw) > _MAX_BODY:
        raise HttpError(url, 200, "response body too large", None)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise HttpError(url, 200, f"invalid JSON: {error}", None) from None
    return JsonResponse(body, headers)


async def get_json(url: str, *, timeout: float, user_agent: str = "sor") -> JsonResponse:
    """GETs ``url`` and decodes its JSON body; raises :class:`HttpError` on any failure.

    ``timeout`` (seconds) bounds the connection and each read; the whole call is also bounded
    by ``2 * timeout`` so a slow trickle of bytes cannot hold a resync forever.
    """
    if not url.startswith(("http://", "https://")):
        raise HttpError(url, None, "only http and https URLs are allowed", None)
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_get, url, timeout, user_agent), 2 * timeout
        )
    except asyncio.TimeoutError:
        raise HttpError(url, None, f"timed out after {2 * timeout:g} s", None) from None
