"""Kraken spot market data: the WebSocket v2 ``book`` channel (level 2, CRC32-checked).

Follows Kraken's documentation:

- the channel, https://docs.kraken.com/api/docs/websocket-v2/book: subscribe with
  ``{"method": "subscribe", "params": {"channel": "book", "symbol": [...], "depth": 10,
  "snapshot": true}}`` (one acknowledgement per symbol), then a ``snapshot`` message and
  ``update`` messages, each ``{"channel": "book", "type": ..., "data": [{"symbol", "bids",
  "asks", "checksum", "timestamp"}]}`` with levels ``{"price": 0.5666, "qty": 4831.75496356}``;
  ``qty`` 0 removes a level; several updates of one level in one message are applied in order;
- maintaining the book and its checksum,
  https://docs.kraken.com/api/docs/guides/spot-ws-book-v2: apply every level of a message,
  then truncate the book to the subscribed depth ("you won't receive qty 0 for price levels
  that fall out of scope"), then compare the CRC32 of the top 10 asks and bids
  (:meth:`sor.OrderBook.kraken_checksum`) with the message's ``checksum``;
- heartbeats (``{"channel": "heartbeat"}``), the ``status`` channel and ``pong`` replies carry
  no book data (:class:`Control`), https://docs.kraken.com/api/docs/websocket-v2/heartbeat and
  https://docs.kraken.com/api/docs/websocket-v2/status.

Kraken v2 has no sequence numbers: the checksum is the only integrity check, so it is
verified on every update and on every snapshot (v2 snapshots carry one too). The adapter numbers
the messages of each symbol itself so that the book's ``sequence`` still counts updates.
Levels that fall out of the subscribed depth are dropped by the feed
(:attr:`KrakenAdapter.max_depth`); when a level inside the depth goes, Kraken sends the level
that comes back into scope, so no level is ever guessed. To resync one symbol the adapter
unsubscribes and subscribes it again, which makes Kraken send a fresh snapshot.

Prices and quantities are JSON numbers on the wire (``0.5666``). A float cannot hold every
decimal (a 17-digit quantity does not survive the trip), and book keys must never be floats, so
the adapter never lets them become floats: it decodes with the standard library's ``json``,
which hands every fractional number over as the exact text Kraken wrote (``parse_float=str``;
three times faster than quoting the numbers with a regular expression for ``orjson``), and the
Rust core then parses it at the market's precision (a value with more decimals
than the market refuses the update, and the book is resynced). The book's ``price_decimals``
and ``size_decimals`` must be the pair's ``price_precision`` and ``qty_precision`` (Kraken's
``instrument`` channel), as the checksum is computed at those precisions.

Symbols: the unified ``BTC/USD`` is also Kraken v2's name (v2 dropped v1's ``XBT``; an
``XBT`` or ``XDG`` given here is mapped to ``BTC`` / ``DOGE``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from itertools import count
from typing import Any

import orjson

from sor._core import KrakenBookParser, OrderBook, split_sides
from sor.errors import InvalidInput
from sor.feeds.adapter import ExchangeAdapter, ExchangeSymbols
from sor.feeds.events import (
    BookDelta,
    BookMarket,
    BookSnapshot,
    Change,
    Control,
    FeedEvent,
    Level,
    MalformedMessage,
    SequenceVerdict,
    describe_json,
)

__all__ = [
    "KRAKEN_DEPTHS",
    "KRAKEN_WS_URL",
    "JsonNumber",
    "KrakenAdapter",
    "decode_exact",
    "kraken_symbol",
]

logger = logging.getLogger(__name__)

#: Kraken's public WebSocket v2 endpoint.
KRAKEN_WS_URL = "wss://ws.kraken.com/v2"
#: The depths the ``book`` channel accepts (levels per side).
KRAKEN_DEPTHS = (10, 25, 100, 500, 1000)

_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}


def kraken_symbol(symbol: str) -> str:
    """Kraken v2's name of a unified symbol (``"BTC/USD"`` -> ``"BTC/USD"``, ``"XBT/USD"`` ->
    ``"BTC/USD"``): upper case, with Kraken's legacy asset codes replaced by their v2 names."""
    base, quote = symbol.upper().split("/", 1)
    return f"{_ALIASES.get(base, base)}/{_ALIASES.get(quote, quote)}"


class JsonNumber(str):
    """The exact text of a fractional JSON number (a ``str``, told apart from a JSON string)."""

    __slots__ = ()


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def decode_exact(data: bytes) -> Any:
    """The JSON of ``data`` with every fractional number kept as its exact text.

    Kraken v2 writes prices and quantities as JSON numbers; decoded as floats they could not be
    reproduced digit for digit (the checksum needs the digits) and must never become book keys.
    The standard library hands the number's own text to ``parse_float``, here kept as a
    :class:`JsonNumber` (a ``str``, so that a JSON string in its place can be refused);
    integers stay ``int``; ``NaN`` and ``Infinity`` are refused. Raises ``ValueError`` (also for
    JSON nested too deeply to read) .
    """
    try:
        return json.loads(data, parse_float=JsonNumber, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class KrakenAdapter(ExchangeAdapter):
    """Kraken spot's WebSocket v2 ``book`` channel for the given markets, at one depth.

    ``depth`` is the number of levels per side Kraken maintains (10, 25, 100, 500 or 1000);
    ``ws_url`` defaults to Kraken's production endpoint (tests point it at
    :class:`sor.sim.KrakenSimulator`).
    """

    name = "kraken"
    snapshots_on_stream = True
    #: The largest message is a snapshot at the deepest depth: 1,000 levels per side of about
    #: 45 bytes (``{"price":65000.1,"qty":0.12345678}``), under 100 KB. 1 MiB.
    max_message_size = 1 << 20

    def __init__(
        self, markets: Sequence[BookMarket], *, depth: int = 10, ws_url: str = KRAKEN_WS_URL
    ) -> None:
        super().__init__(markets)
        if depth not in KRAKEN_DEPTHS:
            raise InvalidInput(f"depth: expected one of {KRAKEN_DEPTHS}, got {depth!r}")
        self.depth = depth
        self.max_depth = depth
        # With more than the 10 checksummed levels, a lost update deeper in the book would go
        # unnoticed: a message that cannot be attributed to a symbol then resyncs every book.
        self.gapless_sequences = depth == 10
        self.ws_url = ws_url
        self._symbols = ExchangeSymbols(self.markets, kraken_symbol)
        self._sequences = dict.fromkeys(self.markets, 0)
        self._book_parser = KrakenBookParser(
            {
                kraken_symbol(symbol): (symbol, market.price_decimals, market.size_decimals)
                for symbol, market in self.markets.items()
            }
        )
        self._request_ids = count(1)

    def stream_url(self) -> str:
        """The v2 websocket endpoint."""
        return self.ws_url

    def subscribe_messages(self) -> list[bytes]:
        """One subscription to the ``book`` channel for every market, with snapshots."""
        return [self._request("subscribe", list(self._symbols), snapshot=True)]

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        """Unsubscribes then subscribes ``symbol`` again: Kraken answers with a fresh snapshot."""
        name = kraken_symbol(self.markets[symbol].symbol)
        return [
            self._request("unsubscribe", [name], snapshot=None),
            self._request("subscribe", [name], snapshot=True),
        ]

    def _request(self, method: str, symbols: list[str], *, snapshot: bool | None) -> bytes:
        params: dict[str, object] = {"channel": "book", "symbol": symbols, "depth": self.depth}
        if snapshot is not None:
            params["snapshot"] = snapshot
        return orjson.dumps({"method": method, "params": params, "req_id": next(self._request_ids)})

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """The events of one message; raises :class:`MalformedMessage` if it cannot be read.

        A ``book`` message of one item is read by the core (the numbers' text kept, levels
        parsed at the market's precision); anything else, or anything the core refuses, is
        read here, which says what is wrong with it.
        """
        if type(data) is bytes:
            parsed = self._parse_in_core(data)
            if parsed is not None:
                return parsed
        try:
            message = decode_exact(data)
        except ValueError as error:  # invalid JSON or UTF-8, nested too deeply
            raise MalformedMessage(f"invalid JSON: {error}") from None
        if type(message) is not dict:
            raise MalformedMessage("expected a JSON object")
        channel = message.get("channel")
        if channel == "book":
            return self._book(message)
        if channel == "heartbeat":
            return [Control("heartbeat")]
        if channel == "status":
            return [Control(f"status: {_status(message)}")]
        method = message.get("method")
        if method in ("subscribe", "unsubscribe"):
            return [self._acknowledgement(method, message)]
        if method == "pong":
            return [Control("pong")]
        if channel is not None:
            # A well-formed message of another channel: it cannot touch a book.
            return [Control(f"ignored a message of channel {channel!r}")]
        raise MalformedMessage("unexpected message")

    def _parse_in_core(self, data: bytes) -> Sequence[FeedEvent] | None:
        """The events of a ``book`` message read by the core; None for anything it refuses or
        leaves to the Python reader."""
        try:
            message = self._book_parser.parse(data)
        except InvalidInput:
            return None
        if message is None:
            return None
        symbol, kind, checksum, changes = message
        sequence = self._sequences[symbol] + 1
        events: list[FeedEvent]
        if kind == "snapshot":
            bids, asks = split_sides(changes)
            # v2 snapshots carry a checksum too: an empty delta has it checked at once.
            events = [
                BookSnapshot(symbol, sequence, bids, asks),
                BookDelta(symbol, sequence + 1, sequence + 1, [], checksum=checksum),
            ]
            sequence += 1
        else:
            events = [BookDelta(symbol, sequence, sequence, changes, checksum=checksum)]
        self._sequences[symbol] = sequence
        return events

    def _acknowledgement(self, method: str, message: dict[str, object]) -> Control:
        if message.get("success") is True:
            result = message.get("result")
            symbol = result.get("symbol") if isinstance(result, dict) else None
            return Control(f"{method}d {symbol}")
        # A refused subscription gets no snapshot: the feed keeps asking, with its backoff.
        error = message.get("error")
        logger.warning("kraken: %s refused: %s", method, error)
        return Control(f"{method} refused: {error}")

    def _book(self, message: dict[str, object]) -> list[FeedEvent]:
        kind = message.get("type")
        items = message.get("data")
        if kind not in ("snapshot", "update"):
            raise MalformedMessage(f"book message of unknown type {kind!r}")
        if type(items) is not list or not items:
            raise MalformedMessage("book message without data")
        events: list[FeedEvent] = []
        for item in items:
            symbol = self._symbol_of(item)
            # An update may leave out a side that did not change; a snapshot has both.
            bids = (
                _levels(item.get("bids"), "bids", symbol)
                if "bids" in item or kind == "snapshot"
                else []
            )
            asks = (
                _levels(item.get("asks"), "asks", symbol)
                if "asks" in item or kind == "snapshot"
                else []
            )
            checksum = item.get("checksum")
            if type(checksum) is not int or not 0 <= checksum < 1 << 32:
                raise MalformedMessage(f"bad checksum {checksum!r}", symbol)
            sequence = self._sequences[symbol] + 1
            if kind == "snapshot":
                events.append(BookSnapshot(symbol, sequence, bids, asks))
                # v2 snapshots carry a checksum too: an empty delta has it checked at once.
                sequence += 1
                events.append(BookDelta(symbol, sequence, sequence, [], checksum=checksum))
            else:
                changes: list[Change] = [("bid", price, qty) for price, qty in bids]
                changes.extend(("ask", price, qty) for price, qty in asks)
                events.append(BookDelta(symbol, sequence, sequence, changes, checksum=checksum))
            self._sequences[symbol] = sequence
        return events

    def _symbol_of(self, item: object) -> str:
        if type(item) is not dict:
            raise MalformedMessage("book data item is not an object")
        name = item.get("symbol")
        symbol = self._symbols.unified(name)
        if symbol is None:
            raise MalformedMessage(f"book data for an unknown symbol: {describe_json(name)}")
        return symbol

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """Always :attr:`SequenceVerdict.APPLY`: Kraken v2 has no sequence numbers to check.

        The messages arrive in order on one connection; a lost one shows in the next checksum.
        """
        return SequenceVerdict.APPLY

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        """True if the CRC32 of the book's top 10 levels is Kraken's ``checksum``."""
        return book.kraken_checksum() == checksum


def _levels(levels: object, field: str, symbol: str) -> list[Level]:
    """``[(price, qty)]`` text from ``[{"price": ..., "qty": ...}]`` as :func:`decode_exact` gives
    them; raises :class:`MalformedMessage` naming the first level that is not an object of two
    JSON numbers (a string, even a decimal one, is not what Kraken sends)."""
    if type(levels) is not list:
        raise MalformedMessage(
            f"{field}: expected an array of levels, got {describe_json(levels)}", symbol
        )
    parsed: list[Level] = []
    for index, level in enumerate(levels):
        if type(level) is not dict:
            raise MalformedMessage(
                f"{field}[{index}]: expected a {{price, qty}} object, got {describe_json(level)}",
                symbol,
            )
        price = _number(level.get("price"), f"{field}[{index}].price", symbol)
        qty = _number(level.get("qty"), f"{field}[{index}].qty", symbol)
        parsed.append((price, qty))
    return parsed


def _number(value: object, field: str, symbol: str) -> str:
    """The text of a JSON number (as :func:`decode_exact` keeps it); raises for anything else."""
    if type(value) is JsonNumber:
        return value
    if type(value) is int:
        return str(value)
    shown = "a string" if type(value) is str else describe_json(value)
    raise MalformedMessage(f"{field}: expected a number, got {shown}", symbol)


def _status(message: dict[str, object]) -> str:
    data = message.get("data")
    if type(data) is list and data and type(data[0]) is dict:
        return str(data[0].get("system", "unknown"))
    return "unknown"
