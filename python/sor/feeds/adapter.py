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

Exchanges that send the snapshot on the stream itself (Coinbase, Kraken, OKX, Bybit) set
:attr:`ExchangeAdapter.snapshots_on_stream`, return it from :meth:`parse` as a
:class:`BookSnapshot` (which replaces the book, also mid-stream), and resync one symbol with
:meth:`ExchangeAdapter.resubscribe_messages` (or, if they cannot, by a reconnect). The feed then
never calls :meth:`ExchangeAdapter.fetch_snapshot`. An adapter that keeps per-connection state
resets it in :meth:`ExchangeAdapter.on_connect`; one that finds the whole connection
untrustworthy returns :class:`sor.feeds.events.Reconnect` from :meth:`parse`. An exchange that
wants application-level pings sets :attr:`ExchangeAdapter.heartbeat_interval` and
:meth:`ExchangeAdapter.heartbeat_message`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from sor._core import OrderBook
from sor.errors import InvalidInput
from sor.feeds.events import BookDelta, BookMarket, BookSnapshot, FeedEvent, SequenceVerdict

__all__ = ["ExchangeAdapter", "ExchangeSymbols"]


class ExchangeSymbols:
    """Unified symbols by the exchange's own name for them (``BTCUSDT``, ``BTC-USDT``, a topic).

    Built once per adapter from its markets; two markets the exchange would name alike are
    refused, as the adapter could not tell their messages apart.
    """

    def __init__(self, symbols: Iterable[str], exchange_name: Callable[[str], str]) -> None:
        by_name: dict[str, str] = {}
        for symbol in symbols:
            name = exchange_name(symbol)
            if name in by_name:
                raise InvalidInput(f"markets: {symbol} and {by_name[name]} are both {name}")
            by_name[name] = symbol
        self._by_name = by_name

    def __iter__(self) -> Iterator[str]:
        """The exchange's names, in the order of the markets."""
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def unified(self, name: object) -> str | None:
        """The unified symbol the exchange calls ``name``; None for any other value or type."""
        return self._by_name.get(name) if type(name) is str else None


class ExchangeAdapter(ABC):
    """One exchange's market-data protocol, for the markets given at construction."""

    #: Short exchange name, as in ccxt (``"binance"``).
    name: str = ""
    #: True if every lost update shows as a sequence gap on the next one, so a message that could
    #: not even be attributed to a symbol does not force a resync (the next update tells).
    gapless_sequences: bool = True
    #: True if the exchange sends snapshots on the stream (after a subscription, and possibly
    #: mid-stream) instead of serving them over REST: the feed never calls
    #: :meth:`fetch_snapshot`, drops deltas that arrive while a book waits for its snapshot (the
    #: snapshot that follows them on the stream contains them) and resyncs a symbol by sending
    #: :meth:`resubscribe_messages`.
    snapshots_on_stream: bool = False
    #: Levels per side that the exchange's stream maintains, if it maintains a fixed depth
    #: (Kraken): after each delta the book keeps only its best ``max_depth`` levels per side,
    #: before the checksum is checked. None: the book keeps every level it is sent.
    max_depth: int | None = None
    #: Seconds between application-level pings, for exchanges that want them on top of the
    #: websocket's own pings (Bybit's ``{"op": "ping"}``, OKX's text ``ping``): the feed sends
    #: :meth:`heartbeat_message` this often on every connection. None (the default): never.
    heartbeat_interval: float | None = None
    #: Largest websocket message accepted from this exchange, in bytes: near the largest the
    #: exchange really sends (each adapter says why its value), so a runaway or hostile frame is
    #: refused by the websocket library before it is read into memory. The feed takes the
    #: smaller of this and ``FeedConfig.max_message_size``.
    max_message_size: int = 8 * 1024 * 1024

    def __init__(self, markets: Sequence[BookMarket]) -> None:
        if not markets:
            raise InvalidInput("markets: expected at least one market")
        by_symbol: dict[str, BookMarket] = {}
        for market in markets:
            if market.symbol in by_symbol:
                raise InvalidInput(f"markets: {market.symbol} is listed twice")
            by_symbol[market.symbol] = market
        self._markets = by_symbol

    @property
    def markets(self) -> Mapping[str, BookMarket]:
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
    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """Whether ``delta`` continues a book whose last update had sequence ``book_sequence``."""

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        """True if ``book`` (after applying a delta) has the exchange's ``checksum``.

        Only called for deltas that carry a checksum; exchanges without one never get here.
        """
        raise NotImplementedError(f"{self.name} sends no checksum")

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        """What to send on the open connection to get a fresh snapshot of ``symbol``.

        Typically an unsubscribe then a subscribe. Only used when :attr:`snapshots_on_stream` is
        set: the feed sends these when the symbol must resync (after the symbol's resync
        backoff) and again if no snapshot arrives within ``FeedConfig.snapshot_timeout``. An
        empty list (the default) means the exchange cannot resync one symbol: the feed
        reconnects instead, and every book is rebuilt from fresh snapshots.
        """
        return []

    def heartbeat_message(self) -> bytes:
        """The application-level ping the feed sends every :attr:`heartbeat_interval` seconds.

        Sent as a text frame; its answer is read by :meth:`parse` like any message (typically as
        :class:`sor.feeds.events.Control`). Only called when :attr:`heartbeat_interval` is set.
        """
        raise NotImplementedError(f"{self.name} has no application-level heartbeat")

    def on_connect(self) -> None:  # noqa: B027 (optional hook, empty by design)
        """Resets per-connection state: called at the start of every connection, first thing.

        For example a connection-wide sequence number (Coinbase). Does nothing by default.
        """

    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        """A fresh full snapshot of ``symbol``'s book over REST; raises on any failure.

        Implementations respect the exchange's request weights (see
        :class:`sor.feeds.ratelimit.WeightLimiter`) and bound the request with a timeout.
        Adapters with :attr:`snapshots_on_stream` need not implement it: the feed never calls it.
        """
        raise NotImplementedError(f"{self.name} sends its snapshots on the stream")
