"""Binance spot order books: the diff-depth websocket stream plus REST depth snapshots.

Follows Binance's published procedure, "How to manage a local order book correctly"
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly,
source: https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md):

1. Open the stream ``<symbol>@depth@100ms`` (here: one connection to ``/ws`` and a
   ``SUBSCRIBE`` request for every symbol) and buffer its ``depthUpdate`` events.
2. Get a depth snapshot, ``GET /api/v3/depth?symbol=BTCUSDT&limit=1000``
   (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints#order-book).
3. If the snapshot is older than the buffered stream (its ``lastUpdateId + 1`` is below the
   first event's ``U``), get another snapshot.
4. Drop the buffered events with ``u <= lastUpdateId``; the first one left spans the snapshot
   (``U <= lastUpdateId + 1 <= u``). Set the book to the snapshot, then apply the buffered and
   all later events: an event whose ``U`` is above the book's update ID + 1 means events were
   missed, so the book is thrown away and the process starts again (normally ``U`` is the
   previous event's ``u + 1``). Quantities are absolute; quantity 0 removes the level; removing a
   level the book does not have is normal.

The generic parts (buffering, the replay, resync, reconnect, counters) live in
:mod:`sor.feeds.sync` and :mod:`sor.feeds.feed`; this module is the wire format and
:meth:`BinanceSpotAdapter.verdict`, the rule above.

Parsing: a ``depthUpdate`` payload (the event's fields as documented in "Diff. Depth Stream",
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream)
is handed whole to the core (:class:`sor._core.BinanceDepthParser`), which reads the JSON and
parses every level at the market's precision in one call; the book then applies the parsed
batch without parsing again. Anything the core does not accept (other messages, and any
malformed one) is read again in Python (``orjson``), which reports what is wrong exactly as
for the other adapters.

Request weight: a snapshot of up to 100/500/1,000/5,000 levels weighs 5/25/50/250 of the IP's
6,000 per minute; a 429 or 418 answer carries ``Retry-After`` seconds, and every snapshot request
goes through a :class:`WeightLimiter` that honours it.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import orjson

from sor._core import BinanceDepthParser
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
    Reconnect,
    SequenceVerdict,
    load_json,
    read_levels,
    refuse_what_the_core_refused,
)
from sor.feeds.http import HttpError, get_json
from sor.feeds.ratelimit import WeightLimiter

__all__ = [
    "BINANCE_REST_URL",
    "BINANCE_WEIGHT_PER_MINUTE",
    "BINANCE_WS_URL",
    "MAX_STREAMS_PER_CONNECTION",
    "BinanceSpotAdapter",
    "binance_symbol",
    "default_limiter",
    "depth_weight",
    "parse_snapshot",
]

#: Live websocket endpoint for raw streams.
BINANCE_WS_URL = "wss://stream.binance.com:9443/ws"
#: Live REST endpoint.
BINANCE_REST_URL = "https://api.binance.com"
#: Binance's request-weight limit per IP and minute (``exchangeInfo`` ``REQUEST_WEIGHT``).
BINANCE_WEIGHT_PER_MINUTE = 6_000
#: Most streams one connection may carry.
MAX_STREAMS_PER_CONNECTION = 1_024

_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1_000, 50), (5_000, 250))


def depth_weight(limit: int) -> int:
    """Request weight of ``GET /api/v3/depth`` with ``limit`` levels per side."""
    for most, weight in _DEPTH_WEIGHTS:
        if limit <= most:
            return weight
    return _DEPTH_WEIGHTS[-1][1]


def binance_symbol(symbol: str) -> str:
    """Binance's name of a unified symbol (``"BTC/USDT"`` -> ``"BTCUSDT"``)."""
    return symbol.replace("/", "").upper()


def default_limiter() -> WeightLimiter:
    """A limiter that uses at most half of the IP's weight and spaces snapshots 250 ms apart."""
    return WeightLimiter(BINANCE_WEIGHT_PER_MINUTE // 2, window=60.0, min_interval=0.25)


class BinanceSpotAdapter(ExchangeAdapter):
    """Binance spot's diff-depth stream and REST snapshots for the given markets.

    ``markets`` carry each book's precision (until market discovery through ccxt provides it).
    ``ws_url`` and ``rest_url`` default to the live endpoints (tests point them at
    :class:`sor.sim.BinanceSimulator`). ``depth_limit`` is the snapshot depth per side,
    ``update_speed_ms`` the stream's cadence (100 or 1000), ``request_timeout`` bounds each
    snapshot request in seconds. ``limiter`` budgets snapshot requests; share one between every
    Binance adapter that uses the same IP (the default is one per adapter).
    """

    name = "binance"
    gapless_sequences = True
    #: Binance's largest stream messages are diff-depth events: one 100 ms batch of changed
    #: levels, ``["65000.01","0.5"]`` (about 25 bytes) each, a few KB even in fast markets (the
    #: 5,000-level snapshot comes over REST, not the websocket). 1 MiB leaves a wide margin.
    max_message_size = 1 << 20

    def __init__(
        self,
        markets: Sequence[BookMarket],
        *,
        ws_url: str = BINANCE_WS_URL,
        rest_url: str = BINANCE_REST_URL,
        depth_limit: int = 1_000,
        update_speed_ms: int = 100,
        request_timeout: float = 10.0,
        limiter: WeightLimiter | None = None,
    ) -> None:
        super().__init__(markets)
        if len(markets) > MAX_STREAMS_PER_CONNECTION:
            raise InvalidInput(
                f"markets: at most {MAX_STREAMS_PER_CONNECTION} per connection, got {len(markets)}"
            )
        if not 1 <= depth_limit <= 5_000:
            raise InvalidInput(f"depth_limit: expected 1..=5000, got {depth_limit}")
        if update_speed_ms not in (100, 1_000):
            raise InvalidInput(f"update_speed_ms: expected 100 or 1000, got {update_speed_ms}")
        if not request_timeout > 0:
            raise InvalidInput(f"request_timeout: expected > 0 seconds, got {request_timeout}")
        self.ws_url = ws_url.rstrip("/")
        self.rest_url = rest_url.rstrip("/")
        self.depth_limit = depth_limit
        self.update_speed_ms = update_speed_ms
        self.request_timeout = request_timeout
        self.limiter = limiter or default_limiter()
        self._symbols = ExchangeSymbols(self.markets, binance_symbol)
        self._depth_parser = BinanceDepthParser(
            {
                binance_symbol(symbol): (symbol, market.price_decimals, market.size_decimals)
                for symbol, market in self.markets.items()
            }
        )

    def stream_name(self, symbol: str) -> str:
        """The diff-depth stream of ``symbol`` (``"btcusdt@depth@100ms"``)."""
        suffix = "@100ms" if self.update_speed_ms == 100 else ""
        return f"{binance_symbol(symbol).lower()}@depth{suffix}"

    def stream_url(self) -> str:
        """The raw-stream endpoint; streams are added by :meth:`subscribe_messages`."""
        return self.ws_url

    def subscribe_messages(self) -> list[bytes]:
        """One ``SUBSCRIBE`` request for every symbol's diff-depth stream."""
        params = [self.stream_name(symbol) for symbol in self.markets]
        return [orjson.dumps({"method": "SUBSCRIBE", "params": params, "id": 1})]

    def parse(self, data: bytes) -> Sequence[FeedEvent]:
        """Reads a ``depthUpdate`` event, a request's response or a ``serverShutdown``."""
        if type(data) is bytes:
            try:
                update = self._depth_parser.parse(data)
            except InvalidInput as refused:
                # Read again below, which says what is wrong with it; what the core refuses is
                # never accepted (duplicated keys, numbers beyond u64, which Python would read).
                return refuse_what_the_core_refused(self._parse_python(data), refused)
            if update is not None:
                symbol, first, final, changes = update
                return (BookDelta(symbol, first, final, changes),)
        return self._parse_python(data)

    def _parse_python(self, data: bytes) -> Sequence[FeedEvent]:
        """:meth:`parse` in Python: for what the core does not read, and to name what is wrong."""
        message = load_json(data)
        if type(message) is dict and "stream" in message and "data" in message:
            message = message["data"]  # a combined-stream wrapper
        if type(message) is not dict:
            raise MalformedMessage("expected a JSON object")
        event = message.get("e")
        if event == "depthUpdate":
            return (self._depth_update(message),)
        if event == "serverShutdown":
            return (Reconnect("serverShutdown"),)
        if "id" in message and "result" in message:
            return (Control(f"response to request {message['id']!r}"),)
        if "code" in message or "error" in message:
            raise MalformedMessage(f"error response: {data[:200]!r}")
        raise MalformedMessage(f"unexpected message (e={event!r})")

    def _depth_update(self, message: dict[str, object]) -> BookDelta:
        exchange_symbol = message.get("s")
        symbol = self._symbols.unified(exchange_symbol)
        if symbol is None:
            raise MalformedMessage(f"depthUpdate for a symbol not subscribed: {exchange_symbol!r}")
        first = message.get("U")
        final = message.get("u")
        if type(first) is not int or type(final) is not int or not 0 <= first <= final < 2**64:
            raise MalformedMessage(f"bad update IDs U={first!r} u={final!r}", symbol)
        changes: list[Change] = [
            ("bid", price, size) for price, size in read_levels(message.get("b"), "b", symbol)
        ]
        changes += [
            ("ask", price, size) for price, size in read_levels(message.get("a"), "a", symbol)
        ]
        return BookDelta(symbol, first, final, changes)

    def verdict(self, book_sequence: int, delta: BookDelta) -> SequenceVerdict:
        """Binance's rule: drop ``u <= book``; a gap if ``U > book + 1``; otherwise apply."""
        if delta.final_sequence <= book_sequence:
            return SequenceVerdict.SKIP
        if delta.first_sequence > book_sequence + 1:
            return SequenceVerdict.GAP
        return SequenceVerdict.APPLY

    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        """``GET /api/v3/depth`` for ``symbol``, within the limiter's weight budget."""
        query = urlencode({"symbol": binance_symbol(symbol), "limit": self.depth_limit})
        url = f"{self.rest_url}/api/v3/depth?{query}"
        await self.limiter.acquire(depth_weight(self.depth_limit))
        try:
            response = await get_json(url, timeout=self.request_timeout)
        except HttpError as error:
            if error.status in (418, 429):
                # Binance: back off for Retry-After seconds or risk an IP ban.
                self.limiter.pause(error.retry_after if error.retry_after is not None else 60.0)
            raise
        return parse_snapshot(symbol, response.body)


def parse_snapshot(symbol: str, body: object) -> BookSnapshot:
    """Reads a ``GET /api/v3/depth`` response body; raises :class:`MalformedMessage`."""
    if type(body) is not dict:
        raise MalformedMessage("depth snapshot: expected a JSON object", symbol)
    last_update_id = body.get("lastUpdateId")
    bids = body.get("bids")
    asks = body.get("asks")
    if type(last_update_id) is not int or not 0 <= last_update_id < 2**64:
        raise MalformedMessage(f"depth snapshot: bad lastUpdateId {last_update_id!r}", symbol)
    bid_levels = read_levels(bids, "depth snapshot: bids", symbol)
    ask_levels = read_levels(asks, "depth snapshot: asks", symbol)
    return BookSnapshot(symbol, last_update_id, bid_levels, ask_levels)
