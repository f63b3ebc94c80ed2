"""The HTTP API: FastAPI endpoints over a :class:`sor.runtime.Runtime`.

``create_app(runtime, token=...)`` gives an ASGI app that starts the runtime when it starts
and stops it when it stops (its lifespan). Endpoints:

- ``POST /api/route``: the routing decision for an order (409 with the reason when nothing can
  take it);
- ``POST /api/execute``: route and execute with failover (``Authorization: Bearer <token>``);
- ``GET /api/exchanges/status``: each venue's health figures, breaker and feed;
- ``GET /api/routing/stats``: decisions by strategy, venue and reason, latencies, failovers;
- ``GET /api/orders`` (the latest executions) and ``GET /api/orders/{order_id}`` (any one the
  journal ever kept, by its execution id, a client order id or its order's client id);
- ``GET /health`` (503 while nothing can be routed) and ``GET /metrics`` (Prometheus).

Bad input is a 422 whose ``detail`` names each field and its problem (sor's own checks
included, in FastAPI's shape); no request's content leads to a 5xx.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from sor.errors import InvalidInput, JournalError, NoRouteError, SorError
from sor.journal import Journal, execution_entry, listing
from sor.orders import OrderRequest
from sor.runtime import Runtime
from sor.service.auth import TokenCheck
from sor.service.exact_json import ExactJSONRoute
from sor.service.metrics import CONTENT_TYPE, metrics_registry, render
from sor.service.models import (
    DecisionOut,
    ErrorOut,
    ExecutionOut,
    NoRouteOut,
    OrderBody,
    RejectionOut,
)
from sor.service.stats import ServiceStats
from sor.service.status import service_health, venue_statuses

__all__ = ["ServiceState", "create_app"]

#: The most executions ``GET /api/orders`` lists (and looks through for its filters).
MAX_LISTED = 1_000


class ServiceState:
    """What the endpoints share: the runtime, the statistics and the token check."""

    def __init__(self, runtime: Runtime, token: str | None) -> None:
        self.runtime = runtime
        self.stats = ServiceStats()
        self.check_token = TokenCheck(token)
        self.started = False

    def require_started(self) -> Runtime:
        """The runtime, or a 503 while it is starting or stopping."""
        if not self.started:
            raise HTTPException(503, "the service is starting: its books are not live yet")
        return self.runtime


def _invalid(error: InvalidInput, fields: set[str]) -> JSONResponse:
    """sor's own refusal of a field as a 422 in FastAPI's shape (the field from the message)."""
    message = str(error)
    name = message.split(":", 1)[0]
    loc: list[str | int] = ["body", name] if name in fields else ["body"]
    body = ErrorOut.model_validate({"detail": [{"loc": loc, "msg": message, "type": "invalid"}]})
    return JSONResponse(body.model_dump(), status_code=422)


def _order(body: OrderBody) -> OrderRequest | JSONResponse:
    try:
        return body.order()
    except InvalidInput as error:
        return _invalid(error, set(OrderBody.model_fields))


def _no_route(error: NoRouteError) -> Response:
    body = {
        "error": "no_route",
        "reason": error.reason.value,
        "message": str(error),
        "available": None if error.available is None else format(error.available, "f"),
        "rejections": [RejectionOut.of(r) for r in error.rejections],
    }
    return Response(orjson.dumps(body), status_code=409, media_type="application/json")


_ERRORS: dict[int | str, dict[str, Any]] = {422: {"model": ErrorOut, "description": "bad input"}}
_STARTING: dict[int | str, dict[str, Any]] = {503: {"description": "starting: no live books yet"}}


def create_app(runtime: Runtime, *, token: str | None = None) -> FastAPI:
    """The API over ``runtime`` (started and stopped with the app); ``token`` is what
    ``POST /api/execute`` requires (None: execution over HTTP is refused)."""
    state = ServiceState(runtime, token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        state.started = True
        try:
            yield
        finally:
            state.started = False
            await runtime.stop()

    app = FastAPI(
        title="sor",
        summary="Smart order routing across crypto exchanges, with failover.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.sor = state
    registry = metrics_registry(runtime, state.stats, lambda: state.started)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's shape, without echoing the input back.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e["type"]}
            for e in error.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    def authorized(authorization: Annotated[str | None, Header()] = None) -> None:
        state.check_token(authorization)

    api = APIRouter(route_class=ExactJSONRoute)

    @api.post(
        "/api/route",
        response_model=DecisionOut,
        responses={**_ERRORS, **_STARTING, 409: {"model": NoRouteOut, "description": "no route"}},
    )
    async def route(body: OrderBody) -> Response:
        """The routing decision for an order: where, how much, at what all-in price, and why."""
        live = state.require_started()
        order = _order(body)
        if isinstance(order, JSONResponse):
            return order
        started = time.perf_counter()
        try:
            decision = live.router.route(order)
        except NoRouteError as error:
            state.stats.refused(error.reason.value, time.perf_counter() - started)
            return _no_route(error)
        except InvalidInput as error:
            return _invalid(error, set(OrderBody.model_fields))
        state.stats.decided(decision, time.perf_counter() - started)
        return _json(DecisionOut.of(decision))

    @api.post(
        "/api/execute",
        response_model=ExecutionOut,
        dependencies=[Depends(authorized)],
        responses={
            **_ERRORS,
            **_STARTING,
            401: {"description": "no valid bearer token"},
            403: {"description": "execution over HTTP is disabled (no token configured)"},
        },
    )
    async def execute(body: OrderBody) -> Response:
        """Routes and executes an order with automatic failover; the report of what filled."""
        live = state.require_started()
        order = _order(body)
        if isinstance(order, JSONResponse):
            return order
        try:
            executor = live.executor
        except InvalidInput:
            raise HTTPException(
                503, "this service has no venue clients: it cannot execute"
            ) from None
        try:
            report = await executor.execute(order)
        except InvalidInput as error:  # a risk limit
            return _invalid(error, set(OrderBody.model_fields))
        except JournalError as error:
            raise HTTPException(503, f"nothing was sent: {error}") from error
        state.stats.executed(report, journaled=live.journal is not None)
        return _json(ExecutionOut.of(report))

    @api.get("/api/exchanges/status", responses=_STARTING)
    async def exchanges_status() -> dict[str, object]:
        """Per venue: health figures, latency category, breaker state, feed state and book age."""
        live = state.require_started()
        return {"exchanges": [status.as_dict() for status in venue_statuses(live)]}

    @api.get("/api/routing/stats")
    async def routing_stats() -> dict[str, object]:
        """Decisions by strategy, venue and reason; latency percentiles; failovers."""
        return state.stats.as_dict()

    @api.get("/api/orders", responses={404: {"description": "no journal"}, **_STARTING})
    async def orders(
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
        status: Annotated[str | None, Query(max_length=32)] = None,
        symbol: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, object]:
        """The latest executions in the journal with their attempts, newest first."""
        journal = _journal(state)
        found = [
            entry
            for entry in listing(journal, MAX_LISTED if status or symbol else limit)
            if (status is None or entry["status"] == status)
            and (symbol is None or entry["symbol"] == symbol)
        ]
        return {"orders": found[:limit]}

    @api.get(
        "/api/orders/{order_id}",
        responses={404: {"description": "no such execution, or no journal"}, **_STARTING},
    )
    async def order(order_id: str) -> dict[str, object]:
        """One execution with its attempts, however old: the one with that execution id, else
        the one that sent an order with that client order id, else the newest whose order had
        that ``client_id`` (the trader's own id). 404 when the journal has none."""
        journal = _journal(state)
        found = journal.find(order_id)
        if found is None:
            raise HTTPException(404, "no execution with that id in the journal")
        return execution_entry(journal, found)

    @api.get("/health", responses={503: {"description": "nothing can be routed now"}})
    async def health() -> JSONResponse:
        """``ok`` (200) when a live, fresh book and a closed breaker exist; 503 otherwise."""
        routable, body = service_health(runtime, state.started)
        return JSONResponse(body, status_code=200 if routable else 503)

    @api.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus' text format."""
        return Response(render(registry), media_type=CONTENT_TYPE)

    app.include_router(api)

    @app.exception_handler(SorError)
    async def sor_error(request: Request, error: SorError) -> JSONResponse:
        # Anything of sor's own that an endpoint did not sort is the request's to fix.
        return JSONResponse(
            {"detail": [{"loc": ["body"], "msg": str(error), "type": "refused"}]},
            status_code=409,
        )

    return app


def _json(body: dict[str, object]) -> Response:
    """``body`` as a JSON response, serialized once (the endpoint's ``response_model`` documents
    it; FastAPI would build and validate the model on the way out)."""
    return Response(orjson.dumps(body), media_type="application/json")


def _journal(state: ServiceState) -> Journal:
    """The service's journal, or a 404 when it keeps none (a 503 while it is starting)."""
    journal = state.require_started().journal
    if journal is None:
        raise HTTPException(404, "this service keeps no journal")
    return journal
