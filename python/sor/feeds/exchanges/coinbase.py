"""Coinbase Advanced Trade order books: the ``level2`` websocket channel plus ``heartbeats``.

Follows Coinbase's published documentation of the Advanced Trade market-data websocket:

- channels, with the ``level2`` and ``heartbeats`` sample messages:
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
  (also https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/level2);
- subscribing, unsubscribing, sequence numbers:
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview.

The rules, as documented:

1. Connect to ``wss://advanced-trade-ws.coinbase.com`` and send one ``subscribe`` message per
   channel within 5 seconds: ``{"type": "subscribe", "product_ids": ["BTC-USD"], "channel":
   "level2"}`` and ``{"type": "subscribe", "channel": "heartbeats"}`` (most channels close
   after 60-90 s without updates unless heartbeats are subscribed too). ``level2`` needs no
   authentication; a ``jwt`` field may be added (a fresh JWT for every message: they expire
   after 2 minutes), see :class:`CoinbaseAdvancedAdapter`'s ``jwt`` hook.
2. Messages arrive on channel ``l2_data`` with ``events`` of ``type`` ``"snapshot"`` (the
   whole book of ``product_id``, sent after subscribing) or ``"update"``; each of their
   ``updates`` has ``side`` (``"bid"`` or ``"offer"``), ``price_level`` and ``new_quantity``,
   the new size at that price (not a difference); ``"0"`` removes the level.
3. Every message carries ``sequence_num``. The overview says a number more than one above the
   previous one means a message was dropped and a lower one can be ignored. The overview calls
   the numbers "per product", but the stream numbers every message of a connection, across
   every channel and product (heartbeats and subscription acknowledgements included; every
   documented sample of every channel starts at 0), as clients that track it observe. So a gap
   means a message of an unknown product (or channel) was lost: this adapter returns
   :class:`Reconnect` with ``gap=True`` (counted in the feed's ``gaps``), which rebuilds every
   book from fresh snapshots, and
   :meth:`CoinbaseAdvancedAdapter.on_connect` restarts the count for each connection.
4. "New message types can be added at any time. Clients are expected to ignore messages they do
   not support": messages of other channels are read as :class:`Control`; an ``error`` message
   (``{"type": "error", "message": ...}``) is malformed (counted and logged).

One symbol resyncs with an ``unsubscribe`` then a ``subscribe`` of its product on ``level2``,
which sends a fresh snapshot. A book's sequence is the ``sequence_num`` of the last message
applied to it: the numbers of one book are increasing but not consecutive (other products and
heartbeats share the counter), so :meth:`CoinbaseAdvancedAdapter.verdict` only drops what is
older than the book.

Parsing: a payload is handed whole to the core first (:class:`sor._core.CoinbaseLevel2Parser`),
which reads an ``l2_data`` message and parses every level of every event at its market's
precision in one call (a snapshot's levels come out best first, as the Python path sorts them);
the book then applies the parsed batch without parsing again. Anything the core does not accept
(other channels, errors, and any malformed message) is read again in Python (``orjson``), which
reports what is wrong exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

import orjson

from sor._core import CoinbaseLevel2Parser, DepthChanges
from sor._decimal import parse
from sor.errors import InvalidInput
from sor.feeds.adapter import ExchangeAdapter, ExchangeSymbols
from sor.feeds.events import (
    BookDelta,
    BookMarket,
    BookSide,
    BookSnapshot,
    Change,
    Control,
    FeedEvent,
    Level,
    MalformedMessage,
    Reconnect,
    SequenceVerdict,
    describe_json,
    load_json,
    refuse_what_the_core_refused,
)

__all__ = [
    "COINBASE_WS_URL",
    "HEARTBEATS_CHANNEL",
    "LEVEL2_CHANNEL",
    "LEVEL2_DATA_CHANNEL",
    "CoinbaseAdvancedAdapter",
    "JwtProvider",
    "coinbase_product",
    "levels_best_first",
]

#: Live market-data websocket endpoint.
COINBASE_WS_URL = "wss://advanced-trade-ws.coinbase.com"
#: The book channel, and the channel name its messages carry.
LEVEL2_CHANNEL = "level2"
LEVEL2_DATA_CHANNEL = "l2_data"
#: The channel that keeps every subscription open and shows lost messages.
HEARTBEATS_CHANNEL = "heartbeats"

_SIDES: dict[object, BookSide] = {"bid": "bid", "offer": "ask"}

#: A JWT provider: returns a fresh token for each message it is asked for.
JwtProvider = Callable[[], str]


def coinbase_product(symbol: str) -> str:
    """Coinbase's product ID of a unified symbol (``"BTC/USD"`` -> ``"BTC-USD"``)."""
    return symbol.replace("/", "-").upper()


class CoinbaseAdvancedAdapter(ExchangeAdapter):
    """Coinbase Advanced Trade's ``level2`` and ``heartbeats`` channels for the given markets.

    ``markets`` carry each book's precision. ``ws_url`` defaults to the live endpoint (tests
    point it at :class:`sor.sim.CoinbaseSimulator`). ``jwt``, if given, is called for every
    subscribe and unsubscribe message and its token is sent in the ``jwt`` field ("for the most
    reliable connection, authenticate with a CDP API key"); the adapter never logs it, and does
    not keep it.
    """

    name = "coinbase"
    # A lost message shows as a gap in the connection's sequence_num on the next message.
    gapless_sequences = True
    snapshots_on_stream = True
    #: The ``level2`` snapshot is the whole book: tens of thousands of levels for BTC-USD, each
    #: an update object of about 105 bytes, so several MB. 8 MiB (the feed's default cap).
    max_message_size = 8 * 1024 * 1024

    def __init__(
        self,
        markets: Sequence[BookMarket],
        *,
        ws_url: str = COINBASE_WS_URL,
        jwt: JwtProvider | None = None,
    ) -> None:
        super().__init__(markets)
        self.ws_url = ws_url
        self._jwt = jwt
        self._products = ExchangeSymbols(self.markets, coinbase_product)
        self._last_sequence: int | None = None
        self._level2_parser = CoinbaseLevel2Parser(
            {
                coinbase_product(symbol): (symbol, market.price_decimals, market.size_decimals)
                for symbol, market in self.markets.items()
            }
        )

    def __repr__(self) -> str:
        return (
            f"CoinbaseAdvancedAdapter(products={list(self._products)!r}, ws_url={self.ws_url!r}, "
            f"jwt={'set' if self._jwt is not None else None})"
        )

    @property
    def last_sequence(self) -> int | None:
        """The ``sequence_num`` of the last message read on this connection (None: none yet)."""
        return self._last_sequence

    def stream_url(self) -> str:
        """The market-data endpoint."""
        return self.ws_url

    def on_connect(self) -> None:
        """Forgets the previous connection's ``sequence_num``: every connection counts anew."""
        self._last_sequence = None

    def subscribe_messages(self) -> list[bytes]:
        """A ``heartbeats`` subscription, then a ``level2`` one for every product."""
        return [
            self._request("subscribe", HEARTBEATS_CHANNEL, None),
            self._request("subscribe", LEVEL2_CHANNEL, list(self._products)),
        ]

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        """Unsubscribes ``symbol``'s product from ``level2`` and subscribes it again."""
        products = [coinbase_product(symbol)]
        return [
            self._request("unsubscribe", LEVEL2_CHANNEL, products),
            self._request("subscribe", LEVEL2_CHANNEL, products),
        ]

    def _request(self, kind: str, channel: str, products: list[str] | None) -> bytes:
        request: dict[str, object] = {"type": kind}
        if products is not None:
            request["product_ids"] = products
        request["channel"] = channel
        if self._jwt is not None:
            request["jwt"] = self._jwt()
        return orjson.dumps(request)

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """Reads one message: book events, a heartbeat, an acknowledgement or an error.

        Returns :class:`Reconnect` if ``sequence_num`` shows that a message was lost.
        """
        if type(data) is bytes:
            try:
                level2 = self._level2_parser.parse(data)
            except InvalidInput as refused:
                # Read again below, which says what is wrong with it; what the core refuses is
                # never accepted (a duplicated key, which Python would read as its last value).
                # Its sequence_num may be used up: if no book can be named, every book resyncs.
                return refuse_what_the_core_refused(
                    self._parse_python(data), refused, resync_all=True
                )
            if level2 is not None:
                number, events = level2
                skipped = self._check_sequence(number)
                if skipped is not None:
                    return skipped
                return [
                    _core_event(symbol, kind, changes, number) for symbol, kind, changes in events
                ]
        return self._parse_python(data)

    def _parse_python(self, data: bytes) -> Sequence[FeedEvent]:
        """:meth:`parse` in Python: for what the core does not read, and to name what is wrong.

        Once a message's ``sequence_num`` is used up, a book message that cannot be attributed
        to a subscribed product raises :class:`MalformedMessage` with ``resync_all``: no later
        number would show that one of the books missed it.
        """
        message = load_json(data)
        if type(message) is not dict:
            raise MalformedMessage("expected a JSON object")
        if message.get("type") == "error":
            raise MalformedMessage(f"error message: {str(message.get('message'))[:200]!r}")
        sequence = message.get("sequence_num")
        if type(sequence) is not int or not 0 <= sequence < 2**64:
            raise MalformedMessage(f"bad sequence_num {sequence!r}")
        skipped = self._check_sequence(sequence)
        if skipped is not None:
            return skipped
        channel = message.get("channel")
        if type(channel) is not str:
            # It used a number that may have been a book's: no gap will show its loss.
            raise MalformedMessage(
                f"channel: expected a string, got {describe_json(channel)}", resync_all=True
            )
        if channel == LEVEL2_DATA_CHANNEL:
            try:
                return self._l2_data(message.get("events"), sequence)
            except MalformedMessage as error:
                if error.symbol is not None:
                    raise
                raise MalformedMessage(error.reason, resync_all=True) from None
        if channel == HEARTBEATS_CHANNEL:
            return (Control("heartbeat"),)
        if channel == "subscriptions":
            return (Control("subscriptions"),)
        return (Control(f"channel {channel!r} ignored"),)

    def _check_sequence(self, sequence: int) -> tuple[FeedEvent] | None:
        """Records ``sequence``; what to return instead of the message if it is old or late."""
        last = self._last_sequence
        if last is not None:
            if sequence <= last:
                # Documented: a number lower than the previous one can be ignored.
                return (Control(f"sequence_num {sequence} after {last}: ignored"),)
            if sequence > last + 1:
                self._last_sequence = sequence
                return (Reconnect(f"sequence_num gap: {last} then {sequence}", gap=True),)
        self._last_sequence = sequence
        return None

    def _l2_data(self, events: object, sequence: int) -> list[FeedEvent]:
        if type(events) is not list:
            raise MalformedMessage("l2_data: events must be a list")
        parsed: list[FeedEvent] = []
        for event in events:
            if type(event) is not dict:
                raise MalformedMessage("l2_data: an event is not an object")
            product = event.get("product_id")
            symbol = self._products.unified(product)
            if symbol is None:
                raise MalformedMessage(f"l2_data for a product not subscribed: {product!r}")
            kind = event.get("type")
            updates = event.get("updates")
            if type(updates) is not list:
                raise MalformedMessage("l2_data: updates must be a list", symbol)
            changes = _changes(updates, symbol)
            if kind == "update":
                parsed.append(BookDelta(symbol, sequence, sequence, changes))
            elif kind == "snapshot":
                bids, asks = levels_best_first(changes, symbol)
                parsed.append(BookSnapshot(symbol, sequence, bids, asks))
            else:
                raise MalformedMessage(f"l2_data: unknown event type {kind!r}", symbol)
        return parsed

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """Drops what is older than the book; applies the rest.

        A book's numbers skip whatever other products and heartbeats used: lost messages are
        found by :meth:`parse` on the connection-wide count, not here.
        """
        if delta.final_sequence < book_sequence:
            return SequenceVerdict.SKIP
        return SequenceVerdict.APPLY


def _core_event(symbol: str, kind: str, changes: DepthChanges, sequence: int) -> FeedEvent:
    """The event of one ``l2_data`` event the core parsed (a snapshot's levels best first)."""
    if kind == "update":
        return BookDelta(symbol, sequence, sequence, changes)
    bids: list[Level] = []
    asks: list[Level] = []
    for side, price, size in changes:
        (bids if side == "bid" else asks).append((price, size))
    return BookSnapshot(symbol, sequence, bids, asks)


def _changes(updates: list[object], symbol: str) -> list[Change]:
    changes: list[Change] = []
    append = changes.append
    for update in updates:
        if type(update) is not dict:
            raise MalformedMessage("l2_data: an update is not an object", symbol)
        wire_side = update.get("side")
        side = _SIDES.get(wire_side) if type(wire_side) is str else None
        price = update.get("price_level")
        quantity = update.get("new_quantity")
        if side is None:
            shown = repr(wire_side) if type(wire_side) is str else describe_json(wire_side)
            raise MalformedMessage(f"l2_data: unknown side {shown}", symbol)
        if type(price) is not str or type(quantity) is not str:
            raise MalformedMessage(
                "l2_data: price_level and new_quantity must be decimal strings", symbol
            )
        append((side, price, quantity))
    return changes


def levels_best_first(changes: list[Change], symbol: str) -> tuple[list[Level], list[Level]]:
    """The non-empty levels of a full book given as changes, each side best first.

    Neither Coinbase nor Bybit (for a restart) promises an order for the levels of a full book,
    and :meth:`sor.OrderBook.apply_snapshot` wants them best first: they are sorted by exact
    decimal price (never a float). Raises :class:`MalformedMessage` for a price or size that is
    not a decimal number.
    """
    bids: list[tuple[Decimal, Level]] = []
    asks: list[tuple[Decimal, Level]] = []
    try:
        for side, price, size in changes:
            number, amount = parse(price), parse(size)
            if not (number.is_finite() and amount.is_finite()):
                raise ValueError(price)  # NaN or infinity: comparisons would trap or lie
            if amount == 0:
                continue
            (bids if side == "bid" else asks).append((number, (price, size)))
    except (InvalidOperation, TypeError, ValueError):
        raise MalformedMessage("a price or size is not a decimal number", symbol) from None
    bids.sort(key=lambda item: item[0], reverse=True)
    asks.sort(key=lambda item: item[0])
    return [level for _, level in bids], [level for _, level in asks]
