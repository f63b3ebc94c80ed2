"""The interface every exchange adapter implements; the feed machinery does the rest.

An adapter knows one exchange's wire protocol and nothing about connections, retries or
counters:

- where to connect and what to send to subscribe (:meth:`ExchangeAdapter.stream_url`,
  :meth:`ExchangeAdapter.subscribe_messages`);
- how to read a message (:meth:`ExchangeAdapter.parse` returns snapshots, deltas, control
  messages or a reconnect request, and raises :class:`MalformedMessage` for anything it cannot
  read);
- the exchange's sequence rule (:meth:`ExchangeAdapter.verdict`: apply, skip or gap);
- its checksum, if it sends one (:meth:`ExchangeAdapter.checksum_matches`);
- how to get a fresh snapshot (:meth:`ExchangeAdapter.fetch_snapshot` for exchanges that serve
  it over REST, such as Binance).

Exchanges that send the snapshot on the stream itself (Coinbase, Kraken, OKX, Bybit) return it
from :meth:`parse` as a :class:`BookSnapshot`, and resync by subscribing again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from sor._core import InvalidInput, OrderBook
from sor.feeds.events import BookDelta, BookSnapshot, FeedEvent, Market, Verdict


class ExchangeAdapter(ABC):
    """One exchange's market-data protocol, for the markets given at construction."""

    #: Short exchange name, as in ccxt (``"binance"``).
    name: str = ""
    #: True if every lost update shows as a sequence gap on the next one, so a message that could
    #: not even be attributed to a symbol does not force a resync (the next update tells).
    gapless_sequences: bool = True

    def __init__(self, markets: Sequence[Market]) -> None:
        if not markets:
            raise InvalidInput("markets: expected at least one market")
        by_symbol: dict[str, Market] = {}
        for market in markets:
            if market.symbol in by_symbol:
                raise InvalidInput(f"markets: {market.symbol} is listed twice")
            by_symbol[market.symbol] = market
        self._markets = by_symbol

    @property
    def markets(self) -> Mapping[str, Market]:
        """The markets of this adapter, by unified symbol."""
        return self._markets

    def new_book(self, symbol: str) -> OrderBook:
        """An empty book at the precision of ``symbol``'s market."""
        market = self._markets[symbol]
        return OrderBook(market.price_decimals, market.size_decimals)

    @abstractmethod
    def stream_url(self) -> str:
        """The websocket URL to connect to."""

    @abstractmethod
    def subscribe_messages(self) -> list[bytes]:
        """The messages to send right after connecting (may be empty)."""

    @abstractmethod
    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """The events in one websocket message; raises :class:`MalformedMessage` if unreadable."""

    @abstractmethod
    def verdict(self, book_sequence: int, delta: BookDelta) -> Verdict:
        """Whether ``delta`` continues a book whose last update had sequence ``book_sequence``."""

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        """True if ``book`` (after applying a delta) has the exchange's ``checksum``.

        Only called for deltas that carry a checksum; exchanges without one never get here.
        """
        raise NotImplementedError(f"{self.name} sends no checksum")

    @abstractmethod
    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        """A fresh full snapshot of ``symbol``'s book; raises on any failure.

        Implementations respect the exchange's request weights (see
        :class:`sor.feeds.ratelimit.WeightLimiter`) and bound the request with a timeout.
        """
