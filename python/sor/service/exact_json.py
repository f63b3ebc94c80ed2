"""Request bodies read exactly: JSON numbers become ``Decimal``, never ``float``.

FastAPI reads a JSON body with ``json.loads``, which turns ``0.1000000000000000055511`` into the
nearest float: an amount would be rounded before sor saw it. :class:`ExactJSONRoute` gives each
endpoint a request whose ``json()`` parses numbers with a fraction or an exponent as
``Decimal`` (integers stay ``int``), and refuses ``NaN`` and ``Infinity``, which are not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ExactJSONRequest", "ExactJSONRoute", "loads"]


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: bytes | str) -> Any:
    """``text`` as JSON, numbers with a fraction or an exponent as exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


class ExactJSONRequest(Request):
    """A request whose JSON body is read by :func:`loads`."""

    async def json(self) -> Any:
        """The body as JSON, exactly."""
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class ExactJSONRoute(APIRoute):
    """An endpoint that reads its JSON body exactly (see :class:`ExactJSONRequest`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint's handler, given an :class:`ExactJSONRequest`."""
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact
