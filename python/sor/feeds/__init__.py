"""Live market data: exchange websocket feeds that keep exact :class:`sor.OrderBook` books.

A :class:`Feed` runs one websocket connection for an :class:`ExchangeAdapter` (one exchange's
wire protocol, for a list of :class:`BookMarket`) and keeps each market's book in sync: snapshot
plus deltas under the exchange's sequence rule, resync on any doubt, reconnect with backoff,
staleness, counters. Symbols are ccxt's unified form (``"BTC/USDT"``).

Exchanges without a native adapter go through ccxt: :class:`CcxtFeed` (ccxt.pro's
``watch_order_book``, or REST polling) keeps the same exact books.

Example::

    adapter = BinanceSpotAdapter([BookMarket("BTC/USDT", price_decimals=2, size_decimals=5)])
    async with Feed(adapter) as feed:
        await feed.wait_live()
        if feed.is_fresh("BTC/USDT"):
            print(feed.book("BTC/USDT").best_bid())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sor.feeds.adapter import ExchangeAdapter
    from sor.feeds.backoff import Backoff, BackoffPolicy
    from sor.feeds.ccxt_feed import CcxtFeed, CcxtFeedConfig, CcxtMode
    from sor.feeds.config import FeedConfig
    from sor.feeds.events import (
        BookDelta,
        BookMarket,
        BookSnapshot,
        Control,
        FeedEvent,
        MalformedMessage,
        Reconnect,
        SequenceVerdict,
    )
    from sor.feeds.exchanges.binance import BinanceSpotAdapter
    from sor.feeds.exchanges.bybit import BybitSpotAdapter
    from sor.feeds.exchanges.coinbase import CoinbaseAdvancedAdapter
    from sor.feeds.exchanges.kraken import KrakenAdapter
    from sor.feeds.exchanges.okx import OkxAdapter
    from sor.feeds.feed import Feed
    from sor.feeds.http import HttpError
    from sor.feeds.ratelimit import WeightLimiter
    from sor.feeds.source import BookSource
    from sor.feeds.stats import BookHealth, FeedHealth, FeedStats
    from sor.feeds.sync import BookSync, Outcome, SyncState

#: Where each public name lives: the package imports a module only when one of its names is
#: first used, so ``import sor`` (which needs FeedConfig) does not load every adapter.
_MODULES = {
    "Backoff": "backoff",
    "BackoffPolicy": "backoff",
    "BinanceSpotAdapter": "exchanges.binance",
    "BookDelta": "events",
    "BookHealth": "stats",
    "BookSnapshot": "events",
    "BookSource": "source",
    "BookSync": "sync",
    "BybitSpotAdapter": "exchanges.bybit",
    "CcxtFeed": "ccxt_feed",
    "CcxtFeedConfig": "ccxt_feed",
    "CcxtMode": "ccxt_feed",
    "CoinbaseAdvancedAdapter": "exchanges.coinbase",
    "Control": "events",
    "ExchangeAdapter": "adapter",
    "Feed": "feed",
    "FeedConfig": "config",
    "FeedEvent": "events",
    "FeedHealth": "stats",
    "FeedStats": "stats",
    "HttpError": "http",
    "KrakenAdapter": "exchanges.kraken",
    "MalformedMessage": "events",
    "BookMarket": "events",
    "OkxAdapter": "exchanges.okx",
    "Outcome": "sync",
    "Reconnect": "events",
    "SyncState": "sync",
    "SequenceVerdict": "events",
    "WeightLimiter": "ratelimit",
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'sor.feeds' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sor.feeds.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Backoff",
    "BackoffPolicy",
    "BinanceSpotAdapter",
    "BookDelta",
    "BookHealth",
    "BookMarket",
    "BookSnapshot",
    "BookSource",
    "BookSync",
    "BybitSpotAdapter",
    "CcxtFeed",
    "CcxtFeedConfig",
    "CcxtMode",
    "CoinbaseAdvancedAdapter",
    "Control",
    "ExchangeAdapter",
    "Feed",
    "FeedConfig",
    "FeedEvent",
    "FeedHealth",
    "FeedStats",
    "HttpError",
    "KrakenAdapter",
    "MalformedMessage",
    "OkxAdapter",
    "Outcome",
    "Reconnect",
    "SequenceVerdict",
    "SyncState",
    "WeightLimiter",
]
