"""Bybit v5 spot order books: the public ``orderbook.{depth}.{symbol}`` websocket topic.

Follows Bybit's published v5 documentation (source: https://github.com/bybit-exchange/docs):

- the topic: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
  (``docs/v5/websocket/public/orderbook.mdx``);
- connecting, subscribing, heartbeats: https://bybit-exchange.github.io/docs/v5/ws/connect
  (``docs/v5/websocket/wss-authentication.mdx``).

The rules, as documented:

1. Connect to ``wss://stream.bybit.com/v5/public/spot`` and send ``{"op": "subscribe", "args":
   ["orderbook.200.BTCUSDT", ...]}`` (spot: at most 10 args per request). Spot depths are 1,
   50, 200 and 1000 levels (pushed every 10, 20, 100 and 200 ms).
2. After subscribing, a ``snapshot`` arrives, then a ``delta`` every time the book changes:
   size ``"0"`` deletes a level, an unknown price is inserted, a known one updated. Any new
   ``snapshot`` resets the local book (Bybit re-sends one "if there is a problem on Bybit's
   end"; depth 1 sends only snapshots, repeated every 3 s without change, with the same ``u``).
3. ``u`` is the update ID. "Occasionally, you'll receive "u"=1, which is a snapshot data due to
   the restart of the service. So please overwrite your local orderbook": a message with
   ``u == 1`` replaces the book whatever its ``type``.
4. Send ``{"op": "ping"}`` every 20 seconds (application level; the answer is ``{"success":
   true, "ret_msg": "pong", "op": "ping", ...}`` on spot): see
   :meth:`BybitSpotAdapter.heartbeat_message`.

Gaps. Until October 2024 the English page said ``u`` "Is a sequence"; it now says only "Update
ID" (the Chinese page still says "一般情況下該id是連續的", in general the ID is continuous), and
nothing promises that it grows by exactly one per message. Clients that check it rely on ``u``
growing by one per message of a topic, and the only other documented case is the restart to 1.
So :meth:`BybitSpotAdapter.verdict` treats ``u > book + 1`` as a gap (``strict_gaps``, the
default): a false alarm costs one resubscription (a snapshot on the stream, no request weight),
while a missed gap would keep a wrong book. ``strict_gaps=False`` only drops updates
not newer than the book, for a stream that turns out to skip IDs.

Parsing: an orderbook message is handed whole to the core
(:class:`sor._core.BybitOrderbookParser`), which reads the JSON and parses every level at the
market's precision in one call; a delta's changes are then applied without parsing again.
Anything the core does not accept (answers, pongs, and any message off the documented shape) is
read again in Python (``orjson``), which reports what is wrong.

One symbol resyncs with an ``unsubscribe`` then a ``subscribe`` of its topic (Bybit refuses a
topic already subscribed), which sends a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

import orjson

from sor._core import BybitOrderbookParser, split_sides
from sor.errors import InvalidInput
from sor.feeds.adapter import ExchangeAdapter, ExchangeSymbols
from sor.feeds.events import (
    BookDelta,
    BookMarket,
    BookSnapshot,
    Change,
    Control,
    FeedEvent,
    MalformedMessage,
    SequenceVerdict,
    load_json,
    read_levels,
    refuse_what_the_core_refused,
)
from sor.feeds.exchanges.coinbase import levels_best_first

__all__ = [
    "BYBIT_SPOT_WS_URL",
    "PING_INTERVAL",
    "SPOT_ARGS_PER_REQUEST",
    "SPOT_DEPTHS",
    "BybitSpotAdapter",
    "bybit_symbol",
]

#: Live public spot websocket endpoint.
BYBIT_SPOT_WS_URL = "wss://stream.bybit.com/v5/public/spot"
#: Orderbook depths of the spot topic.
SPOT_DEPTHS = (1, 50, 200, 1_000)
#: Spot accepts at most this many topics per subscribe request.
SPOT_ARGS_PER_REQUEST = 10
#: Bybit recommends a ping every this many seconds.
PING_INTERVAL = 20.0


def bybit_symbol(symbol: str) -> str:
    """Bybit's name of a unified symbol (``"BTC/USDT"`` -> ``"BTCUSDT"``)."""
    return symbol.replace("/", "").upper()


class BybitSpotAdapter(ExchangeAdapter):
    """Bybit v5 spot's ``orderbook.{depth}.{symbol}`` topics for the given markets.

    ``markets`` carry each book's precision. ``ws_url`` defaults to the live spot endpoint
    (tests point it at :class:`sor.sim.BybitSimulator`); ``depth`` is one of 1, 50, 200 and
    1000; ``strict_gaps`` is explained in the module's documentation.
    """

    name = "bybit"
    # A lost message shows as a gap in its topic's ``u`` on the next message of that topic.
    gapless_sequences = True
    snapshots_on_stream = True
    #: The largest message is a depth-1000 snapshot: 1,000 levels per side of about 22 bytes
    #: (``["16493.50","0.006"]``), some 45 KB. 512 KiB.
    max_message_size = 512 * 1024
    #: Seconds between application-level pings (Bybit: "send the ping heartbeat packet every 20
    #: seconds"); see :meth:`heartbeat_message`.
    heartbeat_interval: float | None = PING_INTERVAL

    def __init__(
        self,
        markets: Sequence[BookMarket],
        *,
        ws_url: str = BYBIT_SPOT_WS_URL,
        depth: int = 200,
        strict_gaps: bool = True,
    ) -> None:
        super().__init__(markets)
        if depth not in SPOT_DEPTHS:
            raise InvalidInput(f"depth: expected one of {SPOT_DEPTHS}, got {depth!r}")
        self.ws_url = ws_url
        self.depth = depth
        self.strict_gaps = strict_gaps
        self._topics = ExchangeSymbols(self.markets, self.topic)
        self._orderbook_parser = BybitOrderbookParser(
            {
                self.topic(symbol): (symbol, market.price_decimals, market.size_decimals)
                for symbol, market in self.markets.items()
            }
        )
        self._request_ids = count(1)

    def topic(self, symbol: str) -> str:
        """The orderbook topic of ``symbol`` (``"orderbook.200.BTCUSDT"``)."""
        return f"orderbook.{self.depth}.{bybit_symbol(symbol)}"

    def stream_url(self) -> str:
        """The public spot endpoint."""
        return self.ws_url

    def subscribe_messages(self) -> list[bytes]:
        """``subscribe`` requests for every symbol's topic, 10 topics per request."""
        topics = list(self._topics)
        return [
            self._request("subscribe", topics[start : start + SPOT_ARGS_PER_REQUEST])
            for start in range(0, len(topics), SPOT_ARGS_PER_REQUEST)
        ]

    def resubscribe_messages(self, symbol: str) -> list[bytes]:
        """Unsubscribes ``symbol``'s topic and subscribes it again (a fresh snapshot follows)."""
        topic = [self.topic(symbol)]
        return [self._request("unsubscribe", topic), self._request("subscribe", topic)]

    def heartbeat_message(self) -> bytes:
        """The application-level ping to send every :attr:`heartbeat_interval` seconds."""
        return orjson.dumps({"req_id": str(next(self._request_ids)), "op": "ping"})

    def _request(self, op: str, args: list[str]) -> bytes:
        return orjson.dumps({"req_id": str(next(self._request_ids)), "op": op, "args": args})

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """Reads an orderbook snapshot or delta, a pong or a request's response."""
        if type(data) is bytes:
            try:
                parsed = self._parse_in_core(data)
            except InvalidInput as refused:
                # Read again below, which says what is wrong with it; what the core refuses is
                # never accepted (a duplicated key, which Python would read as its last value).
                return refuse_what_the_core_refused(self._parse_python(data), refused)
            if parsed is not None:
                return parsed
        return self._parse_python(data)

    def _parse_python(self, data: bytes) -> Sequence[FeedEvent]:
        """:meth:`parse` in Python: for what the core does not read, and to name what is wrong."""
        message = load_json(data)
        if type(message) is not dict:
            raise MalformedMessage("expected a JSON object")
        topic = message.get("topic")
        if topic is None:
            return (self._response(message),)
        symbol = self._topics.unified(topic)
        if symbol is None:
            raise MalformedMessage(f"message of a topic not subscribed: {topic!r}")
        data_ = message.get("data")
        if type(data_) is not dict:
            raise MalformedMessage("data must be an object", symbol)
        update_id = data_.get("u")
        if type(update_id) is not int or not 1 <= update_id < 2**64:
            raise MalformedMessage(f"bad update ID u={update_id!r}", symbol)
        bids = read_levels(data_.get("b"), "b", symbol)
        asks = read_levels(data_.get("a"), "a", symbol)
        kind = message.get("type")
        if kind == "snapshot":
            return (BookSnapshot(symbol, update_id, bids, asks),)
        if kind != "delta":
            raise MalformedMessage(f"unknown type {kind!r}", symbol)
        changes: list[Change] = [("bid", price, size) for price, size in bids]
        changes += [("ask", price, size) for price, size in asks]
        if update_id == 1:
            # The service restarted: this is the whole book (in no promised order).
            restart_bids, restart_asks = levels_best_first(changes, symbol)
            return (BookSnapshot(symbol, update_id, restart_bids, restart_asks),)
        return (BookDelta(symbol, update_id, update_id, changes),)

    def _parse_in_core(self, data: bytes) -> Sequence[FeedEvent] | None:
        """The event of an orderbook message read by the core; None for a message without a
        topic and for a restart's delta (``u == 1``), whose levels are read in Python. Raises
        :class:`sor.InvalidInput` for anything the core refuses."""
        parsed = self._orderbook_parser.parse(data)  # InvalidInput: see parse
        if parsed is None:
            return None
        symbol, kind, update_id, changes = parsed
        if kind == "snapshot":
            bids, asks = split_sides(changes)
            return (BookSnapshot(symbol, update_id, bids, asks),)
        if update_id == 1:
            return None
        return (BookDelta(symbol, update_id, update_id, changes),)

    @staticmethod
    def _response(message: dict[str, object]) -> Control:
        op = message.get("op")
        if message.get("success") is False:
            raise MalformedMessage(f"{op} failed: {str(message.get('ret_msg'))[:200]!r}")
        if op == "pong" or (op == "ping" and message.get("ret_msg") == "pong"):
            return Control("pong")
        if op in ("subscribe", "unsubscribe") or message.get("type") == "COMMAND_RESP":
            return Control(f"{op} acknowledged")
        raise MalformedMessage(f"unexpected message (op={op!r})")

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """Drops ``u <= book``; a gap if ``u > book + 1`` (with ``strict_gaps``); else applies."""
        if delta.final_sequence <= book_sequence:
            return SequenceVerdict.SKIP
        if self.strict_gaps and delta.first_sequence > book_sequence + 1:
            return SequenceVerdict.GAP
        return SequenceVerdict.APPLY
