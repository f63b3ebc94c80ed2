"""A local Binance spot market-data server: the diff-depth websocket stream and the REST snapshot.

It speaks Binance's wire protocol on 127.0.0.1 (one port for both; see
https://github.com/binance/binance-spot-api-docs, ``web-socket-streams.md`` and ``rest-api.md``):

- websocket ``/ws`` (streams added with ``{"method": "SUBSCRIBE", "params": [...], "id": 1}``,
  answered ``{"result": null, "id": 1}``) or ``/ws/<stream>``; the streams
  ``<symbol>@depth@100ms`` and ``<symbol>@depth`` carry ``depthUpdate`` events
  (``e``, ``E``, ``s``, ``U``, ``u``, ``b``, ``a``; decimals written with 8 places like Binance);
- ``GET /api/v3/depth?symbol=BTCUSDT&limit=1000``: ``{"lastUpdateId", "bids", "asks"}``, with
  Binance's request weights (5/25/50/250 by limit), the ``X-MBX-USED-WEIGHT-1M`` header, and
  ``429`` plus ``Retry-After`` past the per-minute weight limit.
- ``GET /api/v3/exchangeInfo`` (all markets, ``symbol=`` or ``symbols=[...]``; weight 20): each
  market's trading rules with Binance's filters (``PRICE_FILTER`` ``tickSize``, ``LOT_SIZE``
  ``stepSize``/``minQty``, ``NOTIONAL`` ``minNotional``, ...), the tick and step being the
  precision of its book model; ``GET /api/v3/ping`` and ``GET /api/v3/time`` (weight 1). With
  these and the depth endpoint, ccxt's ``binance`` loads the markets and order books of the
  simulator, and ccxt.pro's ``watch_order_book`` syncs from its stream
  (:meth:`BinanceSimulator.ccxt_config`; https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information,
  https://developers.binance.com/docs/binance-spot-api-docs/filters).

Each market's book is a seeded :class:`BookModel` that keeps the exact truth
(:meth:`BinanceSimulator.true_book`). Events are published on demand (:meth:`publish`, for
tests) or every ``interval`` seconds (for demos). Faults are injected on demand: a dropped event
(a gap), a disconnect, a stall, malformed JSON, an update with bad fields, a crossed update,
failing or stale snapshots, a ``serverShutdown`` event.
"""

from __future__ import annotations

import email.utils
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from sor._core import OrderBook
from sor._decimal import EXACT
from sor.errors import InvalidInput
from sor.sim.book_model import SimMarket, Step, format_decimal
from sor.sim.server import SimulatorBase

__all__ = [
    "EXCHANGE_INFO_WEIGHT",
    "WEIGHT_PER_MINUTE",
    "WIRE_DECIMALS",
    "BinanceSimulator",
    "SnapshotRequest",
]

#: Binance writes prices and quantities with this many decimals.
WIRE_DECIMALS = 8
#: Binance's default request-weight limit per IP and minute.
WEIGHT_PER_MINUTE = 6_000
_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1_000, 50), (5_000, 250))
#: Request weight of ``GET /api/v3/exchangeInfo``.
EXCHANGE_INFO_WEIGHT = 20


@dataclass(frozen=True)
class SnapshotRequest:
    """One ``GET /api/v3/depth`` the simulator answered."""

    at: float
    """When it arrived (``time.monotonic()``)."""
    symbol: str
    limit: int
    status: int


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    streams: set[str] = field(default_factory=set)
    stalled: bool = False


class BinanceSimulator(SimulatorBase[_Client]):
    """A Binance spot market-data server on 127.0.0.1 with the true books kept for comparison."""

    #: The raw-stream endpoint (Binance's ``wss://stream.binance.com:9443/ws``); streams may
    #: also be named in the path (``/ws/<stream>``).
    ws_path = "/ws"

    def __init__(
        self,
        markets: Sequence[SimMarket],
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = None,
        weight_limit: int = WEIGHT_PER_MINUTE,
        ping_interval: float | None = 20.0,
        min_notional: str = "5",
    ) -> None:
        super().__init__(
            markets,
            seed=seed,
            host=host,
            port=port,
            interval=interval,
            ping_interval=ping_interval,
        )
        self._by_exchange = {_binance_symbol(symbol): symbol for symbol in self._models}
        self._streams = {
            symbol: {
                f"{_binance_symbol(symbol).lower()}@depth@100ms",
                f"{_binance_symbol(symbol).lower()}@depth",
            }
            for symbol in self._models
        }
        self.weight_limit = weight_limit
        self._drop: Counter[str] = Counter()
        self._held: dict[str, bytes] = {}
        self._failures: deque[tuple[int, float | None]] = deque()
        self._weights: deque[tuple[float, int]] = deque()
        self.snapshot_requests: list[SnapshotRequest] = []
        """Every depth snapshot request answered, in order."""
        self.rest_requests: list[str] = []
        """The path and query of every REST request received, in order."""
        try:
            notional = Decimal(min_notional)
        except ArithmeticError:
            notional = Decimal(-1)
        if not notional.is_finite() or notional < 0 or notional != round(notional, WIRE_DECIMALS):
            raise InvalidInput(
                f"min_notional: expected a decimal >= 0 with at most {WIRE_DECIMALS} places, "
                f"got {min_notional!r}"
            )
        self.min_notional = min_notional
        """Every market's ``NOTIONAL`` filter minimum, in quote units."""
        self.events_sent = 0
        """``depthUpdate`` events sent (one per event, whatever the number of clients)."""

    # -- endpoints ----------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        """The REST endpoint (Binance's ``https://api.binance.com``)."""
        return f"http://{self.host}:{self._port}"

    # -- the truth ----------------------------------------------------------------------------

    def true_book(self, symbol: str) -> OrderBook:
        """The exact current book of ``symbol``."""
        return self._models[symbol].to_order_book()

    def update_id(self, symbol: str) -> int:
        """The last update ID of ``symbol``."""
        return self._models[symbol].update_id

    def subscribers(self, symbol: str) -> int:
        """Connected clients subscribed to a depth stream of ``symbol``."""
        streams = self._streams[symbol]
        return sum(1 for client in self._clients if client.streams & streams)

    # -- streaming ----------------------------------------------------------------------------

    async def publish(self, count: int = 1, symbol: str | None = None) -> None:
        """Moves the books by ``count`` events (of ``symbol`` or random markets) and sends them."""
        symbols = self.symbols
        for _ in range(count):
            target = symbol if symbol is not None else self._rng.choice(symbols)
            step = self._models[target].step()
            if self._drop[target] > 0:
                self._drop[target] -= 1
                continue
            await self._broadcast(target, self._mutated(target, self._depth_update(target, step)))

    def _depth_update(self, symbol: str, step: Step) -> bytes:
        model = self._models[symbol]
        price_decimals = model.market.price_decimals
        size_decimals = model.market.size_decimals
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        for side, tick, lots in step.changes:
            level = [
                format_decimal(tick, price_decimals, WIRE_DECIMALS),
                format_decimal(lots, size_decimals, WIRE_DECIMALS),
            ]
            (bids if side == "bid" else asks).append(level)
        return self._event(symbol, step.first, step.final, bids, asks)

    def _event(
        self, symbol: str, first: int, final: int, bids: list[list[str]], asks: list[list[str]]
    ) -> bytes:
        return orjson.dumps(
            {
                "e": "depthUpdate",
                "E": time.time_ns() // 1_000_000,
                "s": _binance_symbol(symbol),
                "U": first,
                "u": final,
                "b": bids,
                "a": asks,
            }
        )

    async def _broadcast(self, symbol: str | None, payload: bytes) -> None:
        """Sends ``payload`` to every live client subscribed to ``symbol`` (all if None)."""
        streams = self._streams[symbol] if symbol is not None else None
        self.events_sent += 1
        for client in list(self._clients):
            if client.stalled or (streams is not None and not client.streams & streams):
                continue
            try:
                await client.connection.send(payload, text=True)
            except ConnectionClosed:
                self._clients.discard(client)

    # -- faults -------------------------------------------------------------------------------

    def drop_next(self, symbol: str, count: int = 1) -> None:
        """The next ``count`` events of ``symbol`` change the book but are not sent (a gap)."""
        self._drop[symbol] += count

    async def send_malformed(
        self, symbol: str | None = None, kind: Literal["json", "fields"] = "json"
    ) -> None:
        """Sends a bad message: truncated JSON (``"json"``, to every client subscribed to
        ``symbol`` or to all) or a ``depthUpdate`` of ``symbol`` whose price is not a number
        (``"fields"``; it uses an update ID, so the update is lost to the client)."""
        if kind == "json":
            await self._broadcast(symbol, b'{"e":"depthUpdate","E":17000000,"s":"')
            return
        if symbol is None:
            raise InvalidInput("symbol: a 'fields' malformed update needs a symbol")
        first, final = self._models[symbol].skip_ids(1)
        await self._broadcast(symbol, self._event(symbol, first, final, [["12x.5", "1.0"]], []))

    async def send_crossed(self, symbol: str) -> None:
        """Sends a well-sequenced update that would cross the book (the truth ignores it)."""
        model = self._models[symbol]
        _side, tick, lots = model.crossing_change()
        first, final = model.skip_ids(1)
        level = [
            format_decimal(tick, model.market.price_decimals, WIRE_DECIMALS),
            format_decimal(lots, model.market.size_decimals, WIRE_DECIMALS),
        ]
        await self._broadcast(symbol, self._event(symbol, first, final, [level], []))

    async def send_server_shutdown(self) -> None:
        """Sends Binance's ``serverShutdown`` event to every client."""
        payload = orjson.dumps({"e": "serverShutdown", "E": time.time_ns() // 1_000_000})
        await self._broadcast(None, payload)

    def fail_snapshots(
        self, count: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        """The next ``count`` snapshot requests fail with ``status`` (and ``Retry-After``)."""
        for _ in range(count):
            self._failures.append((status, retry_after))

    def hold_snapshot(self, symbol: str, limit: int = 1_000) -> None:
        """The next snapshot request of ``symbol`` gets the book as it is now (it will be stale)."""
        self._held[symbol] = self._snapshot_body(symbol, limit)

    # -- websocket ----------------------------------------------------------------------------

    def _accept(self, connection: ServerConnection) -> _Client:
        assert connection.request is not None
        path = urlsplit(connection.request.path).path
        return _Client(connection, {s for s in path.split("/")[2:] if s})

    async def _converse(self, client: _Client) -> None:
        async for message in client.connection:
            reply = self._control(client, message)
            await client.connection.send(orjson.dumps(reply), text=True)

    def _control(self, client: _Client, message: str | bytes) -> dict[str, object]:
        """Answers a ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS`` request."""
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            return {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}
        if type(request) is not dict or "method" not in request:
            return {"code": 2, "msg": "Invalid request: missing field `method`"}
        request_id = request.get("id")
        method = request["method"]
        params = request.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if type(params) is not list or not all(type(p) is str for p in params):
                return {
                    "code": 2,
                    "msg": "Invalid request: params must be stream names",
                    "id": request_id,
                }
            if method == "SUBSCRIBE":
                client.streams.update(params)
            else:
                client.streams.difference_update(params)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(client.streams), "id": request_id}
        return {
            "code": 2,
            "msg": f"Invalid request: unknown variant {method!r}, expected one of "
            "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`",
            "id": request_id,
        }

    # -- REST ---------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if url.path == "/ws" or url.path.startswith("/ws/"):
                return None  # go on with the websocket handshake
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        self.rest_requests.append(request.path)
        if url.path == "/api/v3/exchangeInfo":
            return self._exchange_info_response(parse_qs(url.query))
        if url.path == "/api/v3/ping":
            return self._weighed(1, {})
        if url.path == "/api/v3/time":
            return self._weighed(1, {"serverTime": _now_ms()})
        if url.path != "/api/v3/depth":
            return _json(HTTPStatus.NOT_FOUND, {"code": -1000, "msg": "Unknown path."})
        query = parse_qs(url.query)
        exchange_symbol = query.get("symbol", [""])[0]
        symbol = self._by_exchange.get(exchange_symbol)
        if symbol is None:
            return _json(HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."})
        try:
            limit = min(5_000, int(query.get("limit", ["100"])[0]))
        except ValueError:
            return _json(
                HTTPStatus.BAD_REQUEST,
                {"code": -1100, "msg": "Illegal characters found in parameter 'limit'."},
            )
        if limit <= 0:
            return _json(
                HTTPStatus.BAD_REQUEST, {"code": -1100, "msg": "Illegal parameter 'limit'."}
            )
        now = time.monotonic()
        while self._weights and self._weights[0][0] <= now - 60.0:
            self._weights.popleft()
        used = sum(weight for _, weight in self._weights)
        weight = _depth_weight(limit)
        if self._failures:
            status, retry_after = self._failures.popleft()
        elif used + weight > self.weight_limit:
            status, retry_after = 429, max(1.0, self._weights[0][0] + 60.0 - now)
        else:
            status, retry_after = 200, None
        self.snapshot_requests.append(SnapshotRequest(now, symbol, limit, status))
        if status != 200:
            body = (
                {"code": -1003, "msg": "Too many requests."}
                if status == 429
                else {"code": -1000, "msg": "Unknown error."}
            )
            response = _json(HTTPStatus(status), body)
            if retry_after is not None:
                response.headers["Retry-After"] = f"{retry_after:g}"
            return response
        self._weights.append((now, weight))
        held = self._held.pop(symbol, None)
        response = _json(
            HTTPStatus.OK, held if held is not None else self._snapshot_body(symbol, limit)
        )
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used + weight)
        return response

    def _weighed(self, weight: int, body: object) -> Response:
        """Answers ``body`` if ``weight`` fits in this minute's budget, else ``429``."""
        now = time.monotonic()
        while self._weights and self._weights[0][0] <= now - 60.0:
            self._weights.popleft()
        used = sum(weight for _, weight in self._weights)
        if used + weight > self.weight_limit:
            response = _json(
                HTTPStatus.TOO_MANY_REQUESTS, {"code": -1003, "msg": "Too many requests."}
            )
            response.headers["Retry-After"] = f"{max(1.0, self._weights[0][0] + 60.0 - now):g}"
            return response
        self._weights.append((now, weight))
        response = _json(HTTPStatus.OK, body)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(used + weight)
        return response

    def _exchange_info_response(self, query: dict[str, list[str]]) -> Response:
        """``GET /api/v3/exchangeInfo`` with no parameter, ``symbol=`` or ``symbols=[...]``."""
        wanted: list[str] | None = None
        if "symbol" in query:
            wanted = [query["symbol"][0]]
        elif "symbols" in query:
            try:
                names = orjson.loads(query["symbols"][0])
            except orjson.JSONDecodeError:
                names = None
            if type(names) is not list or not all(type(n) is str for n in names):
                return _json(
                    HTTPStatus.BAD_REQUEST,
                    {"code": -1100, "msg": "Illegal characters found in parameter 'symbols'."},
                )
            wanted = names
        if wanted is not None and any(name not in self._by_exchange for name in wanted):
            return _json(HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."})
        symbols = [self._by_exchange[name] for name in wanted] if wanted else self.symbols
        return self._weighed(EXCHANGE_INFO_WEIGHT, self.exchange_info(symbols))

    def exchange_info(self, symbols: Sequence[str] | None = None) -> dict[str, object]:
        """The ``GET /api/v3/exchangeInfo`` body for ``symbols`` (default: every market).

        Each market's ``PRICE_FILTER`` ``tickSize`` and ``LOT_SIZE`` ``stepSize`` are the
        precision of its book model (``10**-price_decimals`` and ``10**-size_decimals``), so a
        client that reads its precision from here parses the simulator's books exactly.
        """
        return {
            "timezone": "UTC",
            "serverTime": _now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.weight_limit,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200_000},
                {
                    "rateLimitType": "RAW_REQUESTS",
                    "interval": "MINUTE",
                    "intervalNum": 5,
                    "limit": 61_000,
                },
            ],
            "exchangeFilters": [],
            "symbols": [
                self._symbol_info(symbol)
                for symbol in (self.symbols if symbols is None else symbols)
            ],
        }

    def _symbol_info(self, symbol: str) -> dict[str, object]:
        market = self._models[symbol].market
        base, quote = symbol.split("/", 1)
        tick = format_decimal(1, market.price_decimals, WIRE_DECIMALS)
        step = format_decimal(1, market.size_decimals, WIRE_DECIMALS)
        # Far above any price the random walk reaches, as Binance's maxPrice is for BTCUSDT.
        max_price = max(1_000_000, 100 * int(Decimal(market.mid)))
        return {
            "symbol": _binance_symbol(symbol),
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": tick,
                    "maxPrice": format_decimal(max_price, 0, WIRE_DECIMALS),
                    "tickSize": tick,
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": step,
                    "maxQty": format_decimal(9_000, 0, WIRE_DECIMALS),
                    "stepSize": step,
                },
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": format_decimal(0, 0, WIRE_DECIMALS),
                    "maxQty": format_decimal(100, 0, WIRE_DECIMALS),
                    "stepSize": format_decimal(0, 0, WIRE_DECIMALS),
                },
                {
                    "filterType": "TRAILING_DELTA",
                    "minTrailingAboveDelta": 10,
                    "maxTrailingAboveDelta": 2000,
                    "minTrailingBelowDelta": 10,
                    "maxTrailingBelowDelta": 2000,
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": "5",
                    "bidMultiplierDown": "0.2",
                    "askMultiplierUp": "5",
                    "askMultiplierDown": "0.2",
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": format_decimal(
                        int(Decimal(self.min_notional).scaleb(WIRE_DECIMALS, EXACT)),
                        WIRE_DECIMALS,
                    ),
                    "applyMinToMarket": True,
                    "maxNotional": format_decimal(9_000_000, 0, WIRE_DECIMALS),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": [
                "NONE",
                "EXPIRE_TAKER",
                "EXPIRE_MAKER",
                "EXPIRE_BOTH",
            ],
        }

    def ccxt_config(self) -> dict[str, object]:
        """Settings that point a ccxt ``binance`` (REST, and ccxt.pro's websocket) at this server.

        ``ccxt.async_support.binance(sim.ccxt_config())`` loads the simulator's spot markets
        (``GET /api/v3/exchangeInfo``) and order books (``GET /api/v3/depth``);
        ``ccxt.pro.binance(sim.ccxt_config())`` also watches its diff-depth stream. Only spot
        markets are fetched, and no endpoint that needs an API key is called.
        """
        rest = f"{self.rest_url}/api/v3"
        return {
            "urls": {
                "api": {
                    "public": rest,
                    "private": rest,
                    "v1": f"{self.rest_url}/api/v1",
                    "ws": {"spot": self.ws_url, "margin": self.ws_url},
                }
            },
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }

    def _snapshot_body(self, symbol: str, limit: int) -> bytes:
        model = self._models[symbol]
        price_decimals = model.market.price_decimals
        size_decimals = model.market.size_decimals

        def wire(levels: list[tuple[int, int]]) -> list[list[str]]:
            return [
                [
                    format_decimal(tick, price_decimals, WIRE_DECIMALS),
                    format_decimal(lots, size_decimals, WIRE_DECIMALS),
                ]
                for tick, lots in levels
            ]

        return orjson.dumps(
            {
                "lastUpdateId": model.update_id,
                "bids": wire(model.levels("bid", limit)),
                "asks": wire(model.levels("ask", limit)),
            }
        )


def _json(status: HTTPStatus, body: object) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "application/json;charset=UTF-8"),
            ("Content-Length", str(len(data))),
        ]
    )
    return Response(status.value, status.phrase, headers, data)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _binance_symbol(symbol: str) -> str:
    return symbol.replace("/", "").upper()


def _depth_weight(limit: int) -> int:
    for most, weight in _DEPTH_WEIGHTS:
        if limit <= most:
            return weight
    return _DEPTH_WEIGHTS[-1][1]
