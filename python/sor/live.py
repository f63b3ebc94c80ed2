"""A runtime on the exchanges' live public market data, with paper fills.

:func:`live_runtime` loads each exchange's markets through ccxt (public endpoints, no
credentials), keeps their books live through sor's native feeds (Binance, Coinbase, Kraken,
OKX, Bybit), and fills orders in simulation on those books (:class:`sor.clients.PaperClient`),
while each venue's health comes from real round trips to its time endpoint. Nothing is ever
sent to an exchange but public requests. ``sor route`` and ``sor serve --paper`` run on it::

    runtime = await live_runtime(settings, ["binance", "okx"], ["BTC/USDT"])
    async with runtime:
        decision = runtime.router.route(sor.OrderRequest("BTC/USDT", "buy", "0.5"))

``config`` and ``adapter_options`` point an exchange elsewhere (its ccxt settings, such as
``urls``; its adapter's ``ws_url``/``rest_url``): the tests run it against local simulators.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sor.clients import CcxtClient, PaperClient, SimulatedClient, VenueClient
from sor.config import Settings
from sor.errors import InvalidInput
from sor.feeds import (
    BinanceSpotAdapter,
    BookSource,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    KrakenAdapter,
    OkxAdapter,
)
from sor.journal import Journal
from sor.markets import BookMarket, Market, Venue
from sor.markets.ccxt_markets import feed_market
from sor.runtime import Runtime

__all__ = ["LIVE_EXCHANGES", "LiveVenue", "live_runtime", "load_live_venue"]

#: Each exchange sor has a native feed for: its feed adapter, given the markets to keep.
LIVE_EXCHANGES: dict[str, Callable[..., ExchangeAdapter]] = {
    "binance": BinanceSpotAdapter,
    "coinbase": CoinbaseAdvancedAdapter,
    "kraken": KrakenAdapter,
    "okx": OkxAdapter,
    "bybit": BybitSpotAdapter,
}

#: ccxt options that keep market loading on spot (the others also load derivatives).
_SPOT_ONLY: dict[str, dict[str, Any]] = {
    "okx": {"fetchMarkets": {"types": ["spot"]}},
    "bybit": {"fetchMarkets": {"types": ["spot"]}},
}


class LiveVenue:
    """One exchange: what the router knows of it, its feed adapter, and its public client."""

    def __init__(self, venue: Venue, adapter: ExchangeAdapter, exchange: CcxtClient) -> None:
        self.venue = venue
        self.adapter = adapter
        self.exchange = exchange


async def load_live_venue(
    name: str,
    symbols: Sequence[str],
    *,
    config: Mapping[str, Any] | None = None,
    adapter_options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> LiveVenue | None:
    """``name``'s markets among ``symbols`` (None when it lists none of them), loaded through
    ccxt's public endpoints; its client has the credentials of ``env`` (none by default, so
    it can only read). ccxt's errors propagate (closing the client first)."""
    if name not in LIVE_EXCHANGES:
        raise InvalidInput(
            f"exchanges: no native feed for {name!r} (known: {', '.join(LIVE_EXCHANGES)})"
        )
    settings = dict(config or {})
    settings["options"] = {**_SPOT_ONLY.get(name, {}), **dict(settings.get("options", {}))}
    exchange = CcxtClient.create(name, config=settings, env={} if env is None else env)
    try:
        markets = await exchange.load_markets()
    except BaseException:
        await exchange.close()
        raise
    chosen: list[Market] = [markets[symbol] for symbol in symbols if symbol in markets]
    if not chosen:
        await exchange.close()
        return None
    book_markets: list[BookMarket] = [feed_market(market) for market in chosen]
    adapter = LIVE_EXCHANGES[name](book_markets, **dict(adapter_options or {}))
    return LiveVenue(Venue(name, chosen), adapter, exchange)


class _PublicClients:
    """Closes the exchanges' public clients when the runtime stops (a runtime service)."""

    def __init__(self, clients: Sequence[CcxtClient]) -> None:
        self._clients = list(clients)

    async def start(self) -> None:
        """Nothing to start: the clients were opened to load the markets."""

    async def stop(self) -> None:
        """Closes every client."""
        await asyncio.gather(*(c.close() for c in self._clients), return_exceptions=True)


async def live_runtime(
    settings: Settings,
    exchanges: Sequence[str],
    symbols: Sequence[str],
    *,
    journal: Journal | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    adapter_options: Mapping[str, Mapping[str, Any]] | None = None,
    trade_env: Mapping[str, str] | None = None,
) -> Runtime:
    """A runtime over ``exchanges``' live books of ``symbols``, with paper fills on them; with
    ``trade_env`` (the environment holding each exchange's credentials), orders go to the
    exchanges themselves through ccxt instead.

    Raises :class:`sor.InvalidInput` for an exchange sor has no feed for, or when no exchange
    lists any of the symbols; an exchange that lists none of them is left out."""
    if not exchanges:
        raise InvalidInput("exchanges: expected at least one exchange")
    if not symbols:
        raise InvalidInput("symbols: expected at least one symbol")
    loaded = await asyncio.gather(
        *(
            load_live_venue(
                name,
                symbols,
                config=(config or {}).get(name),
                adapter_options=(adapter_options or {}).get(name),
                env=trade_env,
            )
            for name in exchanges
        ),
        return_exceptions=True,
    )
    live = [item for item in loaded if isinstance(item, LiveVenue)]
    failed = [item for item in loaded if isinstance(item, BaseException)]
    if failed:
        await _PublicClients([v.exchange for v in live]).stop()
        raise failed[0]
    if not live:
        raise InvalidInput(
            f"symbols: no exchange of {', '.join(exchanges)} lists {', '.join(symbols)}"
        )

    def paper_clients(feeds: Mapping[str, BookSource]) -> dict[str, VenueClient]:
        if trade_env is not None:
            return {v.venue.name: v.exchange for v in live}
        return {
            v.venue.name: PaperClient(
                SimulatedClient(
                    v.venue.name,
                    list(v.venue.markets.values()),
                    {symbol: feeds[v.venue.name].book(symbol) for symbol in v.venue.markets},
                ),
                v.exchange,
            )
            for v in live
        }

    return Runtime(
        [v.venue for v in live],
        {v.venue.name: v.adapter for v in live},
        settings=settings,
        services=(_PublicClients([v.exchange for v in live]),),
        clients=paper_clients,
        journal=journal,
    )
