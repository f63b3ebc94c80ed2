"""A venue client for any exchange ccxt supports, through ``ccxt.async_support``.

:class:`CcxtClient` sends orders at the market's precision (``amount_to_precision``,
``price_to_precision``), never under the market's minimum amount or notional, with sor's client
order id as ``params={"clientOrderId": cid}``; it looks an order up with
``fetch_order(None, symbol, {"clientOrderId": cid})`` (a symbol is required). An order is a
limit IOC at the given price, or a market order when there is none. ccxt's errors pass through
unchanged, so :func:`sor.clients.classify_error` sorts them; the HTTP status of the answer is
kept in :attr:`CcxtClient.last_http_status` for it, and a ``Retry-After`` delay in
:attr:`CcxtClient.retry_after_s` for the back-off.

Credentials come from the environment (``SOR_<EXCHANGE>_API_KEY``, ``SOR_<EXCHANGE>_SECRET``,
and ``SOR_<EXCHANGE>_PASSWORD`` where the exchange needs one) or from a TOML secrets file with
one table per exchange (``[binance] apiKey = "..." secret = "..."``). They are never logged nor
shown: ``repr`` names the exchange only.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async

from sor._decimal import EXACT
from sor.clients.protocol import OrderStatus, PlaceOrder, VenueOrder
from sor.errors import InvalidInput
from sor.markets import Market
from sor.markets.ccxt_markets import venue_market
from sor.orders import OrderSide

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["BINANCE_SPOT_OPTIONS", "CcxtClient", "credentials"]

#: Options that keep ccxt's ``binance`` on spot: without them ``load_markets`` also calls the
#: margin, futures and capital endpoints.
BINANCE_SPOT_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}

_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.CLOSED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def credentials(
    exchange_id: str,
    env: Mapping[str, str] | None = None,
    secrets_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The API credentials of ``exchange_id`` as ccxt takes them (``apiKey``, ``secret``,
    ``password``): from the secrets file's table for the exchange, overridden by the
    environment's ``SOR_<EXCHANGE>_API_KEY`` / ``_SECRET`` / ``_PASSWORD``. Empty if none."""
    found: dict[str, str] = {}
    if secrets_file is not None:
        try:
            table = tomllib.loads(Path(secrets_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise InvalidInput(f"secrets file: cannot read it ({type(error).__name__})") from None
        section = table.get(exchange_id, {})
        if not isinstance(section, dict):
            raise InvalidInput(f"secrets file: [{exchange_id}] must be a table")
        for key in ("apiKey", "secret", "password"):
            value = section.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise InvalidInput(f"secrets file: {exchange_id}.{key} must be a string")
                found[key] = value
    environ = os.environ if env is None else env
    prefix = f"SOR_{exchange_id.upper()}_"
    for key, name in (("apiKey", "API_KEY"), ("secret", "SECRET"), ("password", "PASSWORD")):
        value = environ.get(prefix + name)
        if value:
            found[key] = value
    return found


def _seconds(header: object) -> float | None:
    """A ``Retry-After`` header's delay in seconds (None if absent or not a number of seconds)."""
    try:
        seconds = float(str(header))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3_600 else None


def _decimal(value: object) -> Decimal:
    """A ccxt figure (float, str or None) as a Decimal (None is 0)."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value))


class CcxtClient:
    """A :class:`sor.clients.VenueClient` over one ``ccxt.async_support`` exchange instance.

    ``name`` is the venue's name for the router (the exchange id by default).
    """

    def __init__(self, exchange: Any, name: str | None = None) -> None:
        self.exchange = exchange
        self._name = name or str(exchange.id)
        self.last_http_status: int | None = None
        self.retry_after_s: float | None = None
        self._seen_status: int | None = None
        self._seen_retry_after: float | None = None
        answer_hook = exchange.on_rest_response

        def seen(code: Any, *rest: Any) -> Any:  # ccxt calls it with every HTTP answer
            self._seen_status = code if isinstance(code, int) else None
            headers = rest[3] if len(rest) > 3 and isinstance(rest[3], Mapping) else {}
            self._seen_retry_after = _seconds(headers.get("Retry-After"))
            return answer_hook(code, *rest)

        exchange.on_rest_response = seen

    @classmethod
    def create(
        cls,
        exchange_id: str,
        *,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        secrets_file: str | os.PathLike[str] | None = None,
        name: str | None = None,
    ) -> CcxtClient:
        """A client for ccxt's ``exchange_id``, with credentials from the environment or the
        secrets file, and Binance kept on spot."""
        exchange_class = getattr(ccxt_async, exchange_id, None)
        if exchange_class is None:
            raise InvalidInput(f"exchange: ccxt has no exchange {exchange_id!r}")
        settings: dict[str, Any] = {"enableRateLimit": True}
        if exchange_id == "binance":
            settings["options"] = dict(BINANCE_SPOT_OPTIONS)
        for key, value in (config or {}).items():
            if key == "options" and isinstance(value, Mapping):
                settings["options"] = {**settings.get("options", {}), **value}
            else:
                settings[key] = value
        settings.update(credentials(exchange_id, env, secrets_file))
        return cls(exchange_class(settings), name)

    def __repr__(self) -> str:
        return f"CcxtClient({self._name!r})"

    @property
    def name(self) -> str:
        """The venue's name."""
        return self._name

    async def load_markets(self) -> Mapping[str, Market]:
        """The exchange's spot markets sor can use, by unified symbol."""
        loaded = await self._call(self.exchange.load_markets)
        markets = {}
        for symbol, market in loaded.items():
            if market.get("spot") is not True:
                continue
            try:
                markets[symbol] = venue_market(self.exchange, symbol)
            except InvalidInput:
                continue
        return markets

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        self.last_http_status = self._seen_status = None
        self.retry_after_s = self._seen_retry_after = None
        try:
            return await method(*args, **kwargs)
        except ccxt.BaseError:
            self.last_http_status = self._seen_status
            self.retry_after_s = self._seen_retry_after
            raise

    def _market(self, symbol: str) -> Market:
        if not self.exchange.markets:
            raise InvalidInput(f"{self._name}: markets are not loaded (call load_markets)")
        return venue_market(self.exchange, symbol)

    async def create_order(self, order: PlaceOrder) -> VenueOrder:
        """Sends ``order`` once: a limit IOC at its price, or a market order without one."""
        market = self._market(order.symbol)
        amount = Decimal(self.exchange.amount_to_precision(order.symbol, str(order.amount)))
        if amount != order.amount:
            raise InvalidInput(
                f"amount: {order.amount} is not on {self._name}'s {order.symbol} step "
                f"({market.amount_step})"
            )
        if amount < market.min_amount:
            raise InvalidInput(f"amount: {amount} is below {self._name}'s minimum")
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.price is None:
            kind, price_text = "market", None
        else:
            kind = "limit"
            price_text = self.exchange.price_to_precision(order.symbol, str(order.price))
            if EXACT.multiply(Decimal(price_text), amount) < market.min_cost:
                raise InvalidInput(f"amount: the order's value is below {self._name}'s minimum")
            params["timeInForce"] = "IOC"
        answer = await self._call(
            self.exchange.create_order,
            order.symbol,
            kind,
            order.side.value,
            str(amount),
            price_text,
            params,
        )
        return self._venue_order(answer, order.symbol, order.client_order_id, market)

    def _venue_order(
        self, answer: Mapping[str, Any], symbol: str, cid: str, market: Market
    ) -> VenueOrder:
        filled = _decimal(answer.get("filled"))
        cost = _decimal(answer.get("cost"))
        fee = Decimal(0)
        currency = market.quote
        fees = answer.get("fees") or ([answer["fee"]] if answer.get("fee") else [])
        for item in fees:
            if not item or item.get("cost") is None:
                continue
            amount, asset = _decimal(item["cost"]), item.get("currency") or market.quote
            if asset == market.base and filled:
                # A fee taken in the base is valued at the order's average price.
                amount = EXACT.multiply(amount, EXACT.divide(cost, filled)) if cost else amount
            currency = asset
            fee = EXACT.add(fee, amount) if asset in (market.base, market.quote) else fee
        status = _STATUS.get(str(answer.get("status")), OrderStatus.OPEN)
        price = answer.get("price")
        return VenueOrder(
            venue=self._name,
            symbol=symbol,
            side=OrderSide(answer.get("side") or "buy"),
            client_order_id=str(answer.get("clientOrderId") or cid),
            venue_order_id=str(answer.get("id")),
            status=status,
            amount=_decimal(answer.get("amount")),
            filled=filled,
            cost=cost,
            fee=fee,
            fee_currency=currency,
            price=None if price is None else _decimal(price),
        )

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The order sent with ``client_order_id``, or None if the exchange has no such order."""
        market = self._market(symbol)
        try:
            answer = await self._call(
                self.exchange.fetch_order, None, symbol, {"clientOrderId": client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        return self._venue_order(answer, symbol, client_order_id, market)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Cancels the order if it is open; its final state (None if there is no such order)."""
        market = self._market(symbol)
        try:
            answer = await self._call(
                self.exchange.cancel_order, None, symbol, {"clientOrderId": client_order_id}
            )
        except ccxt.OrderNotFound:
            return await self.fetch_order(symbol, client_order_id)
        return self._venue_order(answer, symbol, client_order_id, market)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Every open order (of ``symbol``, or all)."""
        answers = await self._call(self.exchange.fetch_open_orders, symbol)
        return [
            self._venue_order(
                a, a["symbol"], str(a.get("clientOrderId")), self._market(a["symbol"])
            )
            for a in answers
        ]

    async def fetch_balance(self) -> dict[str, Decimal]:
        """Free balance of each currency held."""
        balance = await self._call(self.exchange.fetch_balance)
        free = balance.get("free") or {}
        return {currency: _decimal(value) for currency, value in free.items() if value}

    async def ping(self) -> float:
        """The round trip of the exchange's time endpoint (its status where it has none)."""
        started = time.perf_counter()
        if self.exchange.has.get("fetchTime"):
            await self._call(self.exchange.fetch_time)
        else:
            await self._call(self.exchange.fetch_status)
        return (time.perf_counter() - started) * 1_000

    async def resync_clock(self) -> None:
        """Measures the exchange's clock against this machine's, so that signed requests carry
        timestamps it accepts (after it refused one: Binance -1021)."""
        if hasattr(self.exchange, "load_time_difference"):
            await self._call(self.exchange.load_time_difference)

    async def close(self) -> None:
        """Closes ccxt's HTTP session."""
        await self.exchange.close()
