"""A local Binance spot REST server for trading, beside the Binance market-data simulator.

It speaks Binance's REST API on 127.0.0.1 (``aiohttp.web``; websockets' server cannot read a
request body, so a POST would never reach it), so that ccxt's real ``binance`` class trades on
it exactly as on Binance (https://developers.binance.com/docs/binance-spot-api-docs/rest-api):

- public: ``GET /api/v3/ping``, ``/api/v3/time``, ``/api/v3/exchangeInfo`` and ``/api/v3/depth``,
  from the market-data simulator's markets and true books;
- signed (HMAC-SHA256 of the query, or of the form body for a POST, keyed by the API secret;
  ``X-MBX-APIKEY``; ``timestamp`` within ``recvWindow``, 5,000 ms by default):
  ``GET /api/v3/account``, ``POST``/``GET``/``DELETE /api/v3/order``, ``GET /api/v3/openOrders``
  and ``GET /api/v3/myTrades``.

Orders take liquidity from the simulator's true book at the moment they arrive (the book is not
changed: the market is bigger than the account): ``MARKET`` walks it, ``LIMIT`` with ``IOC``
fills what the limit allows and expires the rest, ``FOK`` fills all or expires, ``GTC`` rests
what did not fill (open until cancelled). The filters are Binance's (``LOT_SIZE``,
``PRICE_FILTER``, ``NOTIONAL``), balances are checked and moved, the commission (taker fee) is
charged in the asset received, and errors carry Binance's codes: -2010 (insufficient balance,
or a client order id of an order still open: Binance accepts the id of a filled order again),
-2013 and -2011 (no such order), -1013 (filters), -1121 (symbol), -1021 (timestamp), -1022
(signature), -2015 (API key), -1102 (a parameter missing).

Faults on demand (:meth:`BinanceRestServer.fail_next_order`): accept the order then drop the
connection, accept then answer after a delay (past the client's timeout), HTTP 503 after
accepting, 429 or 418 with ``Retry-After`` (nothing accepted); and a clock skew.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web

from sor._decimal import APPROX, EXACT
from sor._lifecycle import AsyncService
from sor._validate import StrEnum
from sor.errors import InvalidInput
from sor.sim.binance import BinanceSimulator

__all__ = ["BinanceRestServer", "OrderFault"]

#: Binance's default ``recvWindow``, in milliseconds.
RECV_WINDOW_MS = 5_000


class OrderFault(StrEnum):
    """How the next order request goes wrong."""

    DROP_AFTER_ACCEPT = "drop_after_accept"
    """The order is placed, then the connection is dropped without an answer."""
    DELAY_AFTER_ACCEPT = "delay_after_accept"
    """The order is placed; the answer comes ``delay_s`` later (past the client's timeout)."""
    UNAVAILABLE_AFTER_ACCEPT = "unavailable_after_accept"
    """The order is placed; the answer is HTTP 503 with no error code."""
    RATE_LIMITED = "rate_limited"
    """HTTP 429 with ``Retry-After`` (code -1003): nothing placed."""
    BANNED = "banned"
    """HTTP 418 with ``Retry-After`` (code -1003): nothing placed."""


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    quantity: Decimal
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    status: str = "NEW"
    time_ms: int = 0
    fills: list[dict[str, str]] = field(default_factory=list)


def _text(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-8"), ROUND_FLOOR, APPROX), "f")


class BinanceRestServer(AsyncService):
    """Binance's spot trading REST API over ``market``'s true books, for one account.

    ``api_key`` and ``api_secret`` are the account's credentials (requests signed with any other
    are refused); ``balances`` its free balances by asset; ``taker_fee`` the commission rate.
    """

    def __init__(
        self,
        market: BinanceSimulator,
        *,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, str | Decimal] | None = None,
        taker_fee: str = "0.001",
        port: int = 0,
    ) -> None:
        if not api_key or not api_secret:
            raise InvalidInput("api_key, api_secret: expected non-empty credentials")
        self.market = market
        self._key = api_key
        self._secret = api_secret.encode()
        self.balances: dict[str, Decimal] = {
            asset: Decimal(value) for asset, value in (balances or {}).items()
        }
        self.taker_fee = Decimal(taker_fee)
        self._port = port
        self._runner: web.AppRunner | None = None
        self._orders: dict[int, _Order] = {}
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._faults: list[OrderFault | None] = []
        self.delay_s = 5.0
        self.retry_after_s = 1
        self.clock_skew_ms = 0
        self.requests: list[tuple[str, str]] = []

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Serves on 127.0.0.1 (a free port unless one was given)."""
        app = web.Application()
        app.router.add_get("/api/v3/ping", self._ping)
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/api/v3/account", self._signed(self._account))
        app.router.add_post("/api/v3/order", self._signed(self._new_order))
        app.router.add_get("/api/v3/order", self._signed(self._query_order))
        app.router.add_delete("/api/v3/order", self._signed(self._cancel_order))
        app.router.add_get("/api/v3/openOrders", self._signed(self._open_orders))
        app.router.add_get("/api/v3/myTrades", self._signed(self._my_trades))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        addresses = self._runner.addresses
        self._port = int(addresses[0][1])

    async def stop(self) -> None:
        """Stops serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    def ccxt_config(self) -> dict[str, Any]:
        """Settings that point ccxt's ``binance`` at this server for REST (spot only) and at the
        market-data simulator for websockets, with this account's credentials."""
        config = self.market.ccxt_config()
        rest = f"{self.url}/api/v3"
        urls = config["urls"]
        assert isinstance(urls, dict)
        urls["api"].update({"public": rest, "private": rest, "v1": f"{self.url}/api/v1"})
        config["apiKey"] = self._key
        config["secret"] = self._secret.decode()
        return config

    def fail_next_order(self, *faults: OrderFault | None) -> None:
        """The next order requests meet these faults, in order (None: that one meets none)."""
        self._faults.extend(faults)

    def orders(self) -> list[dict[str, Any]]:
        """Every order placed, as ``GET /api/v3/order`` shows it, oldest first."""
        return [self._order_body(order) for order in self._orders.values()]

    # -- plumbing ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_skew_ms

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response({"code": code, "msg": message}, status=status)

    def _signed(self, handler: Any) -> Any:
        async def checked(request: web.Request) -> web.StreamResponse:
            self.requests.append((request.method, request.path))
            try:
                params = await self._verify(request)
                response: web.StreamResponse = await handler(request, params)
                return response
            except _ApiError as refused:
                return self._error(refused.status, refused.code, refused.message)

        return checked

    async def _verify(self, request: web.Request) -> dict[str, str]:
        if request.headers.get("X-MBX-APIKEY") != self._key:
            raise _ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        query = request.query_string
        body = (await request.text()) if request.method == "POST" else ""
        total = query + body if not (query and body) else f"{query}{body}"
        payload, _, signature = total.rpartition("&signature=")
        if not signature and total.startswith("signature="):
            payload, signature = "", total.removeprefix("signature=")
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _ApiError(400, -1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        try:
            stamp = int(params["timestamp"])
            window = int(params.get("recvWindow", RECV_WINDOW_MS))
        except (KeyError, ValueError):
            raise _ApiError(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            ) from None
        now = self._now_ms()
        if stamp > now + 1_000 or now - stamp > window:
            raise _ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    def _symbol(self, params: Mapping[str, str]) -> str:
        wanted = params.get("symbol")
        for symbol in self.market.symbols:
            if symbol.replace("/", "") == wanted:
                return symbol
        if wanted is None:
            raise _ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent.")
        raise _ApiError(400, -1121, "Invalid symbol.")

    def _filters(self, symbol: str) -> dict[str, dict[str, Any]]:
        info = self.market.exchange_info([symbol])["symbols"]
        assert isinstance(info, list)
        return {f["filterType"]: f for f in info[0]["filters"]}

    # -- public endpoints --------------------------------------------------------------------

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._now_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.market.exchange_info())

    async def _depth(self, request: web.Request) -> web.Response:
        try:
            symbol = self._symbol(request.query)
        except _ApiError as refused:
            return self._error(refused.status, refused.code, refused.message)
        limit = int(request.query.get("limit", "100"))
        book = self.market.true_book(symbol)
        return web.json_response(
            {
                "lastUpdateId": book.sequence,
                "bids": [[_text(lv.price), _text(lv.size)] for lv in book.levels("bid", limit)],
                "asks": [[_text(lv.price), _text(lv.size)] for lv in book.levels("ask", limit)],
            }
        )

    # -- signed endpoints --------------------------------------------------------------------

    async def _account(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "updateTime": self._now_ms(),
                "accountType": "SPOT",
                "balances": [
                    {"asset": asset, "free": _text(free), "locked": "0.00000000"}
                    for asset, free in sorted(self.balances.items())
                ],
                "permissions": ["SPOT"],
            }
        )

    async def _new_order(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        fault = self._faults.pop(0) if self._faults else None
        if fault in (OrderFault.RATE_LIMITED, OrderFault.BANNED):
            status = 429 if fault is OrderFault.RATE_LIMITED else 418
            response = self._error(status, -1003, "Too many requests; current limit is exceeded.")
            response.headers["Retry-After"] = str(self.retry_after_s)
            return response
        order = self._place(params)
        body = self._order_body(order, full=True)
        if fault is OrderFault.DROP_AFTER_ACCEPT:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if fault is OrderFault.DELAY_AFTER_ACCEPT:
            await asyncio.sleep(self.delay_s)
        if fault is OrderFault.UNAVAILABLE_AFTER_ACCEPT:
            return web.Response(status=503, text="Service Unavailable")
        return web.json_response(body)

    def _place(self, params: dict[str, str]) -> _Order:
        symbol = self._symbol(params)
        side, kind = params.get("side"), params.get("type")
        if side not in ("BUY", "SELL"):
            raise _ApiError(400, -1102, "Mandatory parameter 'side' was not sent or is invalid.")
        if kind not in ("LIMIT", "MARKET"):
            raise _ApiError(400, -1116, "Invalid orderType.")
        try:
            quantity = Decimal(params["quantity"])
            price = Decimal(params["price"]) if kind == "LIMIT" else Decimal(0)
        except (KeyError, ArithmeticError):
            raise _ApiError(
                400, -1102, "Mandatory parameter 'quantity' or 'price' malformed."
            ) from None
        tif = params.get("timeInForce", "GTC" if kind == "LIMIT" else "")
        if kind == "LIMIT" and tif not in ("GTC", "IOC", "FOK"):
            raise _ApiError(400, -1115, "Invalid timeInForce.")
        cid = params.get("newClientOrderId") or f"sim{next(self._ids)}"
        if any(
            o.client_order_id == cid and o.status in ("NEW", "PARTIALLY_FILLED")
            for o in self._orders.values()
        ):
            raise _ApiError(400, -2010, "Duplicate order sent.")
        self._check_filters(symbol, quantity, price if kind == "LIMIT" else None)
        book = self.market.true_book(symbol)
        taker: Literal["bid", "ask"] = "ask" if side == "BUY" else "bid"
        limit = price if kind == "LIMIT" else None
        walk = book.walk("buy" if side == "BUY" else "sell", quantity, limit_price=limit)
        fills_all = walk.filled == quantity
        executed = walk.filled if (tif != "FOK" or fills_all) else Decimal(0)
        base, quote_asset = symbol.split("/", 1)
        reserve = EXACT.multiply(price, quantity) if kind == "LIMIT" else walk.notional
        if side == "BUY" and self.balances.get(quote_asset, Decimal(0)) < reserve:
            raise _ApiError(400, -2010, "Account has insufficient balance for requested action.")
        if side == "SELL" and self.balances.get(base, Decimal(0)) < quantity:
            raise _ApiError(400, -2010, "Account has insufficient balance for requested action.")
        order = _Order(
            symbol, next(self._ids), cid, side, kind, tif, price, quantity, time_ms=self._now_ms()
        )
        if executed:
            walk = book.walk("buy" if side == "BUY" else "sell", executed, limit_price=limit)
            self._fill(order, book.levels(taker, walk.levels_consumed), executed)
        if order.executed == quantity:
            order.status = "FILLED"
        elif kind == "MARKET" or tif in ("IOC", "FOK"):
            order.status = "EXPIRED"
        else:
            order.status = "PARTIALLY_FILLED" if order.executed else "NEW"
        self._orders[order.order_id] = order
        return order

    def _check_filters(self, symbol: str, quantity: Decimal, price: Decimal | None) -> None:
        filters = self._filters(symbol)
        lot = filters["LOT_SIZE"]
        step = Decimal(lot["stepSize"])
        if quantity < Decimal(lot["minQty"]) or quantity > Decimal(lot["maxQty"]):
            raise _ApiError(400, -1013, "Filter failure: LOT_SIZE")
        if EXACT.remainder(quantity, step):
            raise _ApiError(400, -1013, "Filter failure: LOT_SIZE")
        if price is not None:
            tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
            if price <= 0 or EXACT.remainder(price, tick):
                raise _ApiError(400, -1013, "Filter failure: PRICE_FILTER")
            if EXACT.multiply(price, quantity) < Decimal(filters["NOTIONAL"]["minNotional"]):
                raise _ApiError(400, -1013, "Filter failure: NOTIONAL")

    def _fill(self, order: _Order, levels: list[Any], quantity: Decimal) -> None:
        base, quote_asset = order.symbol.split("/", 1)
        left = quantity
        for level in levels:
            if not left:
                break
            qty = min(left, level.size)
            left = EXACT.subtract(left, qty)
            notional = EXACT.multiply(qty, level.price)
            if order.side == "BUY":
                commission, asset = EXACT.multiply(qty, self.taker_fee), base
                self._move(quote_asset, EXACT.minus(notional))
                self._move(base, EXACT.subtract(qty, commission))
            else:
                commission, asset = EXACT.multiply(notional, self.taker_fee), quote_asset
                self._move(base, EXACT.minus(qty))
                self._move(quote_asset, EXACT.subtract(notional, commission))
            order.executed = EXACT.add(order.executed, qty)
            order.quote = EXACT.add(order.quote, notional)
            order.fills.append(
                {
                    "price": _text(level.price),
                    "qty": _text(qty),
                    "commission": _text(commission),
                    "commissionAsset": asset,
                    "tradeId": str(next(self._trade_ids)),
                }
            )

    def _move(self, asset: str, amount: Decimal) -> None:
        self.balances[asset] = EXACT.add(self.balances.get(asset, Decimal(0)), amount)

    def _order_body(self, order: _Order, *, full: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": order.symbol.replace("/", ""),
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "price": _text(order.price),
            "origQty": _text(order.quantity),
            "executedQty": _text(order.executed),
            "cummulativeQuoteQty": _text(order.quote),
            "status": order.status,
            "timeInForce": order.time_in_force or "GTC",
            "type": order.type,
            "side": order.side,
            "workingTime": order.time_ms,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if full:
            body["transactTime"] = order.time_ms
            body["fills"] = order.fills
        else:
            body.update({"time": order.time_ms, "updateTime": order.time_ms, "isWorking": True})
        return body

    def _find(self, params: Mapping[str, str], missing_code: int) -> _Order:
        symbol = self._symbol(params)
        cid = params.get("origClientOrderId")
        order_id = params.get("orderId")
        if cid is None and order_id is None:
            raise _ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent.")
        matches = [
            o
            for o in self._orders.values()
            if o.symbol == symbol
            and (cid is None or o.client_order_id == cid)
            and (order_id is None or str(o.order_id) == order_id)
        ]
        if not matches:
            text = "Order does not exist." if missing_code == -2013 else "Unknown order sent."
            raise _ApiError(400, missing_code, text)
        return matches[-1]  # Binance answers with the latest order of a client order id

    async def _query_order(self, request: web.Request, params: dict[str, str]) -> web.Response:
        return web.json_response(self._order_body(self._find(params, -2013)))

    async def _cancel_order(self, request: web.Request, params: dict[str, str]) -> web.Response:
        order = self._find(params, -2011)
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise _ApiError(400, -2011, "Unknown order sent.")
        order.status = "CANCELED"
        body = self._order_body(order)
        body["origClientOrderId"] = order.client_order_id
        return web.json_response(body)

    async def _open_orders(self, request: web.Request, params: dict[str, str]) -> web.Response:
        symbol = self._symbol(params) if "symbol" in params else None
        return web.json_response(
            [
                self._order_body(o)
                for o in self._orders.values()
                if o.status in ("NEW", "PARTIALLY_FILLED") and symbol in (None, o.symbol)
            ]
        )

    async def _my_trades(self, request: web.Request, params: dict[str, str]) -> web.Response:
        symbol = self._symbol(params)
        trades = []
        for order in self._orders.values():
            if order.symbol != symbol:
                continue
            for fill in order.fills:
                trades.append(
                    {
                        "symbol": symbol.replace("/", ""),
                        "id": int(fill["tradeId"]),
                        "orderId": order.order_id,
                        "orderListId": -1,
                        "price": fill["price"],
                        "qty": fill["qty"],
                        "quoteQty": _text(
                            EXACT.multiply(Decimal(fill["qty"]), Decimal(fill["price"]))
                        ),
                        "commission": fill["commission"],
                        "commissionAsset": fill["commissionAsset"],
                        "time": order.time_ms,
                        "isBuyer": order.side == "BUY",
                        "isMaker": False,
                        "isBestMatch": True,
                    }
                )
        return web.json_response(trades)
