"""OKX order books: the v5 public websocket ``books`` channel (400 levels, snapshot on the stream).

Follows OKX's published API v5 documentation, "WS / Order book channel"
(https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel), with its
"Sequence ID" and "Checksum" sections, and the websocket overview
(https://www.okx.com/docs-v5/en/#overview-websocket-connect,
https://www.okx.com/docs-v5/en/#overview-websocket-notification):

- Connect to ``wss://ws.okx.com:8443/ws/v5/public`` and send
  ``{"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}`` (one argument per
  instrument; the unified ``BTC/USDT`` is OKX's ``BTC-USDT``). OKX answers
  ``{"event": "subscribe", "arg": {...}, "connId": ...}`` and then pushes
  ``{"arg": {...}, "action": "snapshot" | "update", "data": [{"asks", "bids", "ts", "checksum",
  "prevSeqId", "seqId"}]}``: first a snapshot of 400 levels per side, then every 100 ms the
  changes. A level is ``[price, size, "0", numOrders]`` (the third field is deprecated and always
  ``"0"``); a size is absolute and ``"0"`` removes the level. The channel covers the best 400
  levels per side: the book is cut to them after every update (:attr:`OkxAdapter.max_depth`),
  so deeper levels, which the channel does not keep in sync, never linger in it.
- Sequence: ``prevSeqId`` of an update equals the ``seqId`` of the previous message of that
  instrument (a snapshot has ``prevSeqId`` -1). An update whose ``prevSeqId`` is not the book's
  last ``seqId`` means messages were lost: resync. Two documented exceptions still chain by
  ``prevSeqId``, so both are applied: with no change for a while (about 60 s) OKX sends an
  update with empty ``asks``/``bids`` and ``seqId == prevSeqId`` (the book is unchanged and still
  current); after maintenance the sequence may be reset, and the update then has a ``seqId``
  smaller than its ``prevSeqId`` ("subsequent messages will follow the regular sequencing rule":
  the book continues from the new, smaller ``seqId``).
- Pushes without ``seqId``/``prevSeqId`` (older OKX captures, some channels) are checked by
  their checksum alone: the adapter numbers them itself, each chained to the one before, and
  every such update is counted in ``FeedStats.checksum_only``. A lost push then shows only in
  the next checksum (which covers the best 25 levels per side); a push with neither sequence
  IDs nor a non-zero checksum cannot be checked at all and is refused (such a book never goes
  live, and, never live, is not counted as resynced). They are read in Python (the core reads
  the documented shape only).
- Checksum: CRC32 (as a signed 32-bit integer) of the best 25 bids and asks, interleaved
  ``bid:ask:bid:ask`` as ``price:size`` joined by ``:`` (levels missing on one side are left out),
  computed on the book after the message. OKX deprecated it in 2026 (the field stays and is
  always 0: https://www.okx.com/help/okx-order-book-channels-checksum-field-deprecation), so it is
  verified only when non-zero, with :meth:`sor.OrderBook.okx_checksum`. A snapshot's checksum is
  checked the same way: a non-zero one becomes a no-change update right after the snapshot.
- Resync of one instrument: unsubscribe and subscribe again
  (:meth:`OkxAdapter.resubscribe_messages`); the new subscription starts with a fresh snapshot,
  which replaces the book.
- Keep-alive: OKX closes a connection that received nothing for 30 s, and asks clients to send
  the text ``ping`` when nothing has arrived for N < 30 s; it answers the text ``pong``
  (:meth:`OkxAdapter.heartbeat_message`, :attr:`OkxAdapter.heartbeat_interval`).
  ``{"event": "notice", "code": "64008"}`` announces a disconnect for a service upgrade: the
  adapter asks the feed to reconnect.

The generic parts (resubscribing, resync backoff, reconnect, counters) live in
:mod:`sor.feeds.sync` and :mod:`sor.feeds.feed`; this module is the wire format and
:meth:`OkxAdapter.verdict`, the rule above. OKX recommends fewer than 30 channels of 400 levels per
connection: use several adapters (feeds) for more instruments.

Parsing: a ``books`` push of one entry is handed whole to the core
(:class:`sor._core.OkxBooksParser`), which reads the JSON and parses every level at the market's
precision in one call; an update's changes are then applied without parsing again. Anything the
core does not accept (events, and any push off the documented shape) is read again in Python
(``orjson``), which reports what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from sor._core import OkxBooksParser, OrderBook, split_sides
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
    Reconnect,
    SequenceVerdict,
    load_json,
    read_levels,
)

__all__ = [
    "BOOKS_CHANNEL",
    "BOOKS_DEPTH",
    "CHECKSUM_DEPTH",
    "OKX_WS_URL",
    "PING_AFTER_IDLE",
    "PING_MESSAGE",
    "PONG_MESSAGE",
    "SERVICE_UPGRADE_NOTICE",
    "OkxAdapter",
    "books_arg",
    "okx_inst_id",
]

#: Live public websocket endpoint.
OKX_WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
#: The order book channel: 400 levels per side, changes every 100 ms.
BOOKS_CHANNEL = "books"
#: Levels per side of the ``books`` channel.
BOOKS_DEPTH = 400
#: Levels per side that the checksum covers.
CHECKSUM_DEPTH = 25
#: The text OKX wants when a connection has been quiet for :data:`PING_AFTER_IDLE` seconds.
PING_MESSAGE = b"ping"
#: The text OKX answers to :data:`PING_MESSAGE`.
PONG_MESSAGE = b"pong"
#: Seconds of silence after which a client should send :data:`PING_MESSAGE` (OKX: N < 30).
PING_AFTER_IDLE = 20.0
#: The ``notice`` code announcing a disconnect for a service upgrade.
SERVICE_UPGRADE_NOTICE = "64008"


def okx_inst_id(symbol: str) -> str:
    """OKX's instrument ID of a unified spot symbol (``"BTC/USDT"`` -> ``"BTC-USDT"``)."""
    return symbol.replace("/", "-").upper()


def books_arg(inst_id: str) -> dict[str, str]:
    """The subscription argument of one instrument's ``books`` channel."""
    return {"channel": BOOKS_CHANNEL, "instId": inst_id}


class OkxAdapter(ExchangeAdapter):
    """OKX's ``books`` channel (400 levels per side) for the given spot markets.

    ``markets`` carry each book's precision. ``ws_url`` defaults to the live public endpoint
    (tests point it at :class:`sor.sim.OkxSimulator`).
    """

    name = "okx"
    # Every update names the one before it (prevSeqId), so a lost message always shows.
    gapless_sequences = True
    snapshots_on_stream = True
    #: The largest push is the ``books`` snapshot: 400 levels per side of about 30 bytes
    #: (``["8476.98","415","0","13"]``), some 25 KB. 256 KiB.
    max_message_size = 256 * 1024
    # The channel keeps 400 levels per side; what lies deeper is not kept in sync.
    max_depth = BOOKS_DEPTH
    #: Seconds between application-level pings (OKX: the text ``ping`` when nothing has arrived
    #: for N < 30 s; sending it every N s whatever arrived also keeps the connection); see
    #: :meth:`heartbeat_message`. Its ``pong`` answer parses as :class:`Control`.
    heartbeat_interval: float | None = PING_AFTER_IDLE

    def __init__(self, markets: Sequence[BookMarket], *, ws_url: str = OKX_WS_URL) -> None:
        super().__init__(markets)
        self.ws_url = ws_url
        self._inst_ids = ExchangeSymbols(self.markets, okx_inst_id)
        # Per instrument: the adapter's own number of the last push read without sequence IDs.
        self._unsequenced = dict.fromkeys(self.markets, 0)
        self._books_parser = OkxBooksParser(
            {
                okx_inst_id(symbol): (symbol, market.price_decimals, market.size_decimals)
                for symbol, market in self.markets.items()
            }
        )

    def stream_url(self) -> str:
        """The public websocket endpoint; channels are added by :meth:`subscribe_messages`."""
        return self.ws_url

    def subscribe_messages(self) -> list[bytes]:
        """One ``subscribe`` request for every instrument's ``books`` channel."""
        args = [books_arg(okx_inst_id(symbol)) for symbol in self.markets]
        return [orjson.dumps({"op": "subscribe", "args": args})]

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        """``unsubscribe`` then ``subscribe`` of ``symbol``: OKX then sends a fresh snapshot."""
        if symbol not in self.markets:
            raise InvalidInput(f"symbol: {symbol!r} is not one of this adapter's markets")
        args = [books_arg(okx_inst_id(symbol))]
        return [
            orjson.dumps({"op": "unsubscribe", "args": args}),
            orjson.dumps({"op": "subscribe", "args": args}),
        ]

    def heartbeat_message(self) -> bytes:
        """The application-level ping (the text ``ping``) to send every :attr:`heartbeat_interval`
        seconds; OKX answers the text ``pong``."""
        return PING_MESSAGE

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """Reads a ``books`` push, an event (subscribe, unsubscribe, error, notice) or ``pong``."""
        if data == PONG_MESSAGE:
            return (Control("pong"),)
        if type(data) is bytes:
            parsed = self._parse_in_core(data)
            if parsed is not None:
                return parsed
        message = load_json(data)
        if type(message) is not dict:
            raise MalformedMessage("expected a JSON object")
        if "event" in message:
            return (self._event(message),)
        arg = message.get("arg")
        if type(arg) is not dict or "data" not in message:
            raise MalformedMessage("expected an event or a push with arg and data")
        channel = arg.get("channel")
        if channel != BOOKS_CHANNEL:
            raise MalformedMessage(f"push of an unexpected channel {channel!r}")
        inst_id = arg.get("instId")
        symbol = self._inst_ids.unified(inst_id)
        if symbol is None:
            raise MalformedMessage(f"books push for an instrument not subscribed: {inst_id!r}")
        action = message.get("action")
        entries = message["data"]
        if action not in ("snapshot", "update"):
            raise MalformedMessage(f"unknown action {action!r}", symbol)
        if type(entries) is not list or not entries:
            raise MalformedMessage("data must be a non-empty list", symbol)
        events: list[FeedEvent] = []
        number = self._unsequenced[symbol]
        for entry in entries:
            if type(entry) is not dict:
                raise MalformedMessage("a data entry is not an object", symbol)
            if "seqId" not in entry and "prevSeqId" not in entry:
                number += 1
                events.extend(_checksum_only(symbol, action, entry, number))
            elif action == "snapshot":
                events.extend(_snapshot(symbol, entry))
            else:
                events.append(_update(symbol, entry))
        self._unsequenced[symbol] = number  # only once the whole push has been read
        return events

    def _parse_in_core(self, data: bytes) -> Sequence[FeedEvent] | None:
        """The events of a ``books`` push read by the core; None for anything it refuses."""
        try:
            push = self._books_parser.parse(data)
        except InvalidInput:
            return None  # read again in Python, which says what is wrong with it
        if push is None:
            return None
        symbol, action, sequence, previous, checksum, changes = push
        if action == "snapshot":
            bids, asks = split_sides(changes)
            events: list[FeedEvent] = [BookSnapshot(symbol, sequence, bids, asks)]
            if checksum is not None:
                # Checked like any update's: a no-change update chained to the snapshot.
                events.append(BookDelta(symbol, sequence, sequence, [], sequence, checksum))
            return events
        return (BookDelta(symbol, sequence, sequence, changes, previous, checksum),)

    def _event(self, message: dict[str, object]) -> FeedEvent:
        event = message["event"]
        if event in ("subscribe", "unsubscribe"):
            arg = message.get("arg")
            inst_id = arg.get("instId") if type(arg) is dict else None
            return Control(f"{event}d {inst_id}")
        if event == "notice":
            if message.get("code") == SERVICE_UPGRADE_NOTICE:
                return Reconnect(f"notice {SERVICE_UPGRADE_NOTICE}: {message.get('msg')}")
            return Control(f"notice {message.get('code')}: {message.get('msg')}")
        if event in ("channel-conn-count", "channel-conn-count-error"):
            return Control(f"{event}: {message.get('channel')} {message.get('connCount')}")
        if event == "error":
            raise MalformedMessage(f"error {message.get('code')}: {message.get('msg')}")
        raise MalformedMessage(f"unexpected event {event!r}")

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """OKX's rule: apply if ``prevSeqId`` is the book's ``seqId``; older: skip; else a gap.

        ``seqId == prevSeqId`` (no change) and ``seqId < prevSeqId`` (a sequence reset) both
        chain by ``prevSeqId``, so they are applied.
        """
        previous = delta.previous_sequence
        if previous == book_sequence:
            return SequenceVerdict.APPLY
        if (
            previous is not None
            and previous < book_sequence
            and delta.final_sequence <= book_sequence
        ):
            return SequenceVerdict.SKIP  # already contained in the book (a duplicate)
        return SequenceVerdict.GAP

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        """True if the book's best 25 levels per side have OKX's CRC32 ``checksum``."""
        return book.okx_checksum() == checksum


def _sequence_ids(symbol: str, entry: dict[str, object]) -> tuple[int, int]:
    sequence = entry.get("seqId")
    previous = entry.get("prevSeqId")
    if (
        type(sequence) is not int
        or type(previous) is not int
        or not 0 <= sequence < 2**63
        or not -1 <= previous < 2**63
    ):
        raise MalformedMessage(
            f"bad sequence IDs seqId={sequence!r} prevSeqId={previous!r}", symbol
        )
    return sequence, previous


def _checksum(symbol: str, entry: dict[str, object]) -> int | None:
    """The entry's checksum, None if absent or 0 (OKX's value since the deprecation)."""
    checksum = entry.get("checksum")
    if checksum is None or checksum == 0:
        return None
    if type(checksum) is not int or not -(2**31) <= checksum < 2**31:
        raise MalformedMessage(f"bad checksum {checksum!r}", symbol)
    return checksum


def _sides(symbol: str, entry: dict[str, object]) -> tuple[list[Level], list[Level]]:
    return read_levels(entry.get("bids"), "bids", symbol), read_levels(
        entry.get("asks"), "asks", symbol
    )


def _snapshot(symbol: str, entry: dict[str, object]) -> list[FeedEvent]:
    sequence, previous = _sequence_ids(symbol, entry)
    if previous != -1:
        raise MalformedMessage(f"snapshot with prevSeqId {previous} (expected -1)", symbol)
    bids, asks = _sides(symbol, entry)
    events: list[FeedEvent] = [BookSnapshot(symbol, sequence, bids, asks)]
    checksum = _checksum(symbol, entry)
    if checksum is not None:
        # Checked like any update's: a no-change update chained to the snapshot.
        events.append(BookDelta(symbol, sequence, sequence, [], sequence, checksum))
    return events


def _update(symbol: str, entry: dict[str, object]) -> BookDelta:
    sequence, previous = _sequence_ids(symbol, entry)
    if previous < 0:
        raise MalformedMessage(f"update with prevSeqId {previous} (the smallest ID is 0)", symbol)
    bids, asks = _sides(symbol, entry)
    changes: list[Change] = [("bid", price, size) for price, size in bids]
    changes += [("ask", price, size) for price, size in asks]
    return BookDelta(symbol, sequence, sequence, changes, previous, _checksum(symbol, entry))


def _checksum_only(
    symbol: str, action: str, entry: dict[str, object], number: int
) -> list[FeedEvent]:
    """The events of a push without ``seqId``/``prevSeqId``, numbered ``number`` by the adapter.

    Its checksum is then the only check (:attr:`BookDelta.checksum_only`): each push chains to
    the adapter's previous number, so a refused push shows as a gap, and a lost one as a
    checksum mismatch on the next push. A push without a checksum either (0 since OKX's
    deprecation) could never be checked: it is refused, so such a book never goes live.
    """
    checksum = _checksum(symbol, entry)
    if checksum is None:
        raise MalformedMessage(
            "push without seqId/prevSeqId and without a checksum: it cannot be checked", symbol
        )
    bids, asks = _sides(symbol, entry)
    if action == "snapshot":
        return [
            BookSnapshot(symbol, number, bids, asks),
            BookDelta(symbol, number, number, [], number, checksum, checksum_only=True),
        ]
    changes: list[Change] = [("bid", price, size) for price, size in bids]
    changes += [("ask", price, size) for price, size in asks]
    return [BookDelta(symbol, number, number, changes, number - 1, checksum, checksum_only=True)]
