"""A seeded stream of Binance ``depthUpdate`` messages, and the three handlers timed on it.

The stream comes from the simulators' own :class:`sor.sim.book_model.BookModel` (a random-walk
BTC/USDT book of 1,000 levels a side: log-normal sizes, activity concentrated near the top,
moves of the mid that sweep levels, and bursts of 30 to a few hundred changes at once). Its
changes are cut into messages of exactly :data:`LEVELS_PER_MESSAGE` distinct levels each, written
as Binance writes them (``orjson`` compact JSON, prices and quantities as strings with 8
decimals: ``["65000.01000000", "0.01234000"]``), with consecutive update IDs ``U``/``u``. An
exact integer book (ticks and lots) follows the stream and is the oracle every handler's final
book is checked against. (The model never crosses its book, and sor's book would refuse a
message that did: the sor rows would fail.)

The handlers, each doing everything a feed does per message except the socket read:

- :class:`SorPath`: sor's feed as :meth:`sor.feeds.Feed._receive` runs it: the counters,
  :meth:`BinanceSpotAdapter.parse`, then :meth:`BookSync.on_delta` on a live book, which checks
  the update IDs and applies the changes to the Rust book (all or nothing, crossing checked).
- :class:`SorStringPath`: the same, with the adapter's former parsing in Python (``orjson``, a
  ``(side, price, size)`` tuple of strings per level, parsed to integers by the core).
- :class:`DictBook`: a plain Python handler: ``orjson``, the update-ID rule, and a
  ``dict[str, str]`` per side keyed by the price string (sorted only when read).
- :class:`CryptofeedStyle`: cryptofeed's Binance handler (``cryptofeed/exchanges/binance.py``,
  ``Binance._check_update_id`` and ``Binance._book``): ``orjson``, its update-ID rule,
  ``Decimal(price)``, ``Decimal(qty)``, the per-message delta lists it hands to its callback,
  and a ``sortedcontainers.SortedDict`` per side.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import orjson
from sortedcontainers import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
    SortedDict,
)

from sor.feeds import (
    Backoff,
    BinanceSpotAdapter,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    FeedStats,
    MalformedMessage,
    Outcome,
)
from sor.feeds.events import Change
from sor.feeds.sync import FAILURES
from sor.sim.book_model import BookModel, SimMarket, format_decimal

from .data import BookData, Level, Side

SYMBOL = "BTC/USDT"
"""The stream's market (unified symbol)."""
EXCHANGE_SYMBOL = "BTCUSDT"
"""Its Binance name."""
PRICE_DECIMALS = 2
"""Decimal places of the market's prices (a tick is 0.01 USDT)."""
SIZE_DECIMALS = 8
"""Decimal places of the market's quantities."""
WIRE_DECIMALS = 8
"""Decimal places Binance writes prices and quantities with."""
LEVELS_PER_MESSAGE = 20
"""Distinct changed levels in every message."""
MESSAGES = 5_000
"""Messages in the stream."""
EVENT_INTERVAL_MS = 100
"""Event time between messages (the ``@100ms`` stream)."""

# --- Implementation labels (``extra_info["impl"]``, see report.py) ---------------------------

SOR = "sor"
"""sor's feed path: the adapter hands the raw payload to the core."""
SOR_STRINGS = "sor (orjson + str tuples)"
"""sor's feed path with the parsing in Python (the adapter's former path)."""
DICT = "pure Python (orjson + dict of str)"
"""A plain Python handler over ``dict[str, str]`` books."""
CRYPTOFEED = "cryptofeed-style (orjson + Decimal + SortedDict)"
"""cryptofeed's Binance handler, over ``sortedcontainers.SortedDict`` books."""

GROUP = (
    f"Binance depthUpdate stream: {MESSAGES:,} messages x {LEVELS_PER_MESSAGE} levels, "
    "parse + apply"
)
"""The benchmark group of the feed throughput."""


@dataclass(frozen=True, slots=True)
class FeedStream:
    """A REST-style snapshot, the messages that follow it, and the book they lead to."""

    snapshot_id: int
    """``lastUpdateId`` of the snapshot."""
    bids: list[tuple[str, str]]
    """Snapshot bids as Binance writes them, best first."""
    asks: list[tuple[str, str]]
    """Snapshot asks, best first."""
    messages: list[bytes]
    """The raw ``depthUpdate`` payloads, in order; the first one spans the snapshot."""
    final: BookData
    """The book after every message, in ticks and lots (the oracle)."""
    final_update_id: int
    """``u`` of the last message."""

    @property
    def bytes(self) -> int:
        """Total size of the messages, in bytes."""
        return sum(len(m) for m in self.messages)


def _wire(units: int, decimals: int) -> str:
    return format_decimal(units, decimals, WIRE_DECIMALS)


def _side_levels(book: dict[int, int], side: Side) -> tuple[Level, ...]:
    prices = sorted(book, reverse=side == "bid")
    return tuple(Level(p, book[p]) for p in prices)


def make_stream(messages: int = MESSAGES, seed: int = 7) -> FeedStream:
    """The seeded stream: ``messages`` messages of :data:`LEVELS_PER_MESSAGE` levels each."""
    market = SimMarket(SYMBOL, PRICE_DECIMALS, SIZE_DECIMALS, mid="65000", levels_per_side=1_000)
    model = BookModel(market, random.Random(seed))
    truth: dict[Side, dict[int, int]] = {
        "bid": dict(model.levels("bid")),
        "ask": dict(model.levels("ask")),
    }
    snapshot_id = model.update_id
    bids = [(_wire(p, PRICE_DECIMALS), _wire(s, SIZE_DECIMALS)) for p, s in model.levels("bid")]
    asks = [(_wire(p, PRICE_DECIMALS), _wire(s, SIZE_DECIMALS)) for p, s in model.levels("ask")]
    out: list[bytes] = []
    chunk: dict[tuple[Side, int], int] = {}
    consumed = 0
    last_id = snapshot_id
    # Binance: the first event after the snapshot spans it (U <= lastUpdateId + 1 <= u).
    first_id = snapshot_id - 3
    event_time = 1_767_225_600_000
    while len(out) < messages:
        for side, tick, lots in model.step().changes:
            chunk[(side, tick)] = lots  # absolute sizes: the last value of a level wins
            consumed += 1
            if len(chunk) < LEVELS_PER_MESSAGE:
                continue
            for (change_side, change_tick), change_lots in chunk.items():
                if change_lots:
                    truth[change_side][change_tick] = change_lots
                else:
                    truth[change_side].pop(change_tick, None)
            final_id = last_id + consumed
            payload = {
                "e": "depthUpdate",
                "E": event_time,
                "s": EXCHANGE_SYMBOL,
                "U": first_id,
                "u": final_id,
                "b": [
                    [_wire(t, PRICE_DECIMALS), _wire(q, SIZE_DECIMALS)]
                    for (s, t), q in chunk.items()
                    if s == "bid"
                ],
                "a": [
                    [_wire(t, PRICE_DECIMALS), _wire(q, SIZE_DECIMALS)]
                    for (s, t), q in chunk.items()
                    if s == "ask"
                ],
            }
            out.append(orjson.dumps(payload))
            event_time += EVENT_INTERVAL_MS
            last_id = final_id
            first_id = final_id + 1
            chunk = {}
            consumed = 0
            if len(out) == messages:
                break
    final = BookData(bids=_side_levels(truth["bid"], "bid"), asks=_side_levels(truth["ask"], "ask"))
    return FeedStream(snapshot_id, bids, asks, out, final, last_id)


def market() -> BookMarket:
    """The stream's market as sor's feeds take it."""
    return BookMarket(SYMBOL, PRICE_DECIMALS, SIZE_DECIMALS)


def ticks(text: str, decimals: int) -> int:
    """An exchange decimal string as an integer count of ``10**-decimals`` (exact)."""
    value = Decimal(text).scaleb(decimals)
    if value != value.to_integral_value():
        raise ValueError(f"{text} has more than {decimals} decimals")
    return int(value)


# --- sor ---------------------------------------------------------------------------------------


class SorStringAdapter(BinanceSpotAdapter):
    """:class:`BinanceSpotAdapter` with its former ``depthUpdate`` parsing, in Python.

    Reads the message with ``orjson`` and hands the book a list of ``(side, price, size)`` string
    tuples, as the other adapters do; the core parses the strings at the book's precision.
    """

    def parse(self, data: bytes) -> Sequence[BookDelta]:
        """Reads a ``depthUpdate`` message (only those: the benchmark sends nothing else)."""
        message = orjson.loads(data)
        if type(message) is not dict or message.get("e") != "depthUpdate":
            raise MalformedMessage("expected a depthUpdate event")
        symbol = self._symbols.unified(message.get("s"))
        if symbol is None:
            raise MalformedMessage("depthUpdate for a symbol not subscribed")
        first = message.get("U")
        final = message.get("u")
        if type(first) is not int or type(final) is not int or not 0 <= first <= final:
            raise MalformedMessage(f"bad update IDs U={first!r} u={final!r}", symbol)
        bids = message.get("b")
        asks = message.get("a")
        if type(bids) is not list or type(asks) is not list:
            raise MalformedMessage("b and a must be lists", symbol)
        try:
            changes: list[Change] = [("bid", level[0], level[1]) for level in bids]
            changes += [("ask", level[0], level[1]) for level in asks]
        except (IndexError, KeyError, TypeError):
            raise MalformedMessage("a level is not a [price, quantity] pair", symbol) from None
        return (BookDelta(symbol, first, final, changes),)


@dataclass
class SorPath:
    """A live sor book behind an adapter, fed the way :class:`sor.feeds.Feed` feeds it."""

    adapter: BinanceSpotAdapter
    syncs: dict[str, BookSync]
    stats: FeedStats = field(default_factory=FeedStats)
    last_message: float = 0.0

    @staticmethod
    def live(stream: FeedStream, adapter_type: type[BinanceSpotAdapter]) -> SorPath:
        """A path whose book is live at the stream's snapshot."""
        adapter = adapter_type(
            [market()], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9"
        )
        sync = BookSync(
            SYMBOL,
            adapter.new_book(SYMBOL),
            adapter,
            Backoff(rng=random.Random(0)),
            max_buffer=10_000,
            now=time.monotonic(),
        )
        snapshot = BookSnapshot(SYMBOL, stream.snapshot_id, stream.bids, stream.asks)
        if sync.on_snapshot(snapshot, time.monotonic()) is not Outcome.LIVE:
            raise AssertionError("the stream's snapshot did not make the book live")
        return SorPath(adapter, {SYMBOL: sync})

    def receive(self, messages: Sequence[bytes]) -> None:
        """Handles ``messages`` as ``Feed._receive`` does (minus the socket and the logging)."""
        stats = self.stats
        parse = self.adapter.parse
        syncs = self.syncs
        monotonic = time.monotonic
        for data in messages:
            now = monotonic()
            self.last_message = now
            stats.messages += 1
            stats.bytes += len(data)
            try:
                events = parse(data)
            except MalformedMessage as error:
                raise AssertionError(f"malformed: {error}") from None
            for event in events:
                if isinstance(event, BookDelta):
                    sync = syncs.get(event.symbol)
                    if sync is None:
                        raise AssertionError("update for an unknown symbol")
                    outcome = sync.on_delta(event, now)
                    if outcome in FAILURES or outcome is Outcome.STALE_SNAPSHOT:
                        raise AssertionError(f"the feed would resync: {outcome}")

    def levels(self) -> BookData:
        """The book's levels in ticks and lots, best first."""
        book = self.syncs[SYMBOL].book
        return BookData(
            bids=tuple(Level(lv.price_ticks, lv.size_lots) for lv in book.levels("bid")),
            asks=tuple(Level(lv.price_ticks, lv.size_lots) for lv in book.levels("ask")),
        )

    @property
    def sequence(self) -> int:
        """The book's last applied update ID."""
        return self.syncs[SYMBOL].book.sequence


# --- A plain Python dict book ------------------------------------------------------------------


class GapError(Exception):
    """A handler saw missing updates (never expected in the benchmark's stream)."""


@dataclass(slots=True)
class DictBook:
    """One symbol's book as plain dicts: price string -> quantity string, per side."""

    update_id: int
    bids: dict[str, str]
    asks: dict[str, str]

    @staticmethod
    def live(stream: FeedStream) -> dict[str, DictBook]:
        """Books by exchange symbol, set to the stream's snapshot."""
        return {EXCHANGE_SYMBOL: DictBook(stream.snapshot_id, dict(stream.bids), dict(stream.asks))}

    def levels(self) -> BookData:
        """The levels in ticks and lots, best first (sorted now: the dicts are not)."""

        def side(levels: dict[str, str], best_high: bool) -> tuple[Level, ...]:
            parsed = [
                Level(ticks(p, PRICE_DECIMALS), ticks(q, SIZE_DECIMALS)) for p, q in levels.items()
            ]
            return tuple(sorted(parsed, key=lambda lv: lv.price, reverse=best_high))

        return BookData(bids=side(self.bids, True), asks=side(self.asks, False))


def receive_dict(books: dict[str, DictBook], messages: Sequence[bytes]) -> None:
    """Handles ``messages`` with ``orjson`` and dict books, under Binance's update-ID rule."""
    loads = orjson.loads
    for data in messages:
        message = loads(data)
        if message.get("e") != "depthUpdate":
            continue
        book = books[message["s"]]
        final = message["u"]
        if final <= book.update_id:
            continue
        if message["U"] > book.update_id + 1:
            raise GapError(f"{message['s']}: U={message['U']} after {book.update_id}")
        for key, levels in (("b", book.bids), ("a", book.asks)):
            for price, quantity in message[key]:
                if float(quantity) == 0.0:
                    levels.pop(price, None)
                else:
                    levels[price] = quantity
        book.update_id = final


# --- cryptofeed-style --------------------------------------------------------------------------


@dataclass(slots=True)
class CryptofeedStyle:
    """cryptofeed's Binance L2 handling: ``Decimal`` levels in a ``SortedDict`` per side.

    Follows ``cryptofeed.exchanges.binance.Binance``: ``_check_update_id`` (the update-ID rule,
    ``last_update_id`` per pair) and ``_book`` (a ``Decimal`` price and amount per level, the
    delta lists for the callback, delete on zero, otherwise set). The callback itself, and the
    timestamps it is given, are left out.
    """

    last_update_id: dict[str, int]
    books: dict[str, dict[str, SortedDict]]  # pair -> side -> SortedDict[Decimal, Decimal]
    deltas: int = 0
    """Delta dicts built (what the callback would have received)."""

    @staticmethod
    def live(stream: FeedStream) -> CryptofeedStyle:
        """The handler with its book set to the stream's snapshot (as ``_snapshot`` does)."""
        book = {
            "bid": SortedDict({Decimal(p): Decimal(q) for p, q in stream.bids}),
            "ask": SortedDict({Decimal(p): Decimal(q) for p, q in stream.asks}),
        }
        return CryptofeedStyle({EXCHANGE_SYMBOL: stream.snapshot_id}, {EXCHANGE_SYMBOL: book})

    def _check_update_id(self, pair: str, message: dict[str, object]) -> bool:
        """True if the message is to be skipped (cryptofeed's rule and order of checks)."""
        last = self.last_update_id[pair]
        first, final = message["U"], message["u"]
        assert isinstance(first, int)
        assert isinstance(final, int)
        if first <= last and final <= last:
            return True  # an old message
        if first <= last + 1 <= final or last + 1 == first:
            self.last_update_id[pair] = final
            return False
        raise GapError(f"{pair}: U={first} after {last}")

    def receive(self, messages: Sequence[bytes]) -> None:
        """Handles ``messages`` as cryptofeed's ``message_handler`` and ``_book`` do."""
        loads = orjson.loads
        for data in messages:
            message = loads(data)
            if "e" not in message or message["e"] != "depthUpdate":
                continue
            pair = message["s"]
            if self._check_update_id(pair, message):
                continue
            book = self.books[pair]
            delta: dict[str, list[tuple[Decimal, Decimal]]] = {"bid": [], "ask": []}
            for key, side in (("b", "bid"), ("a", "ask")):
                levels = book[side]
                changes = delta[side]
                for update in message[key]:
                    price = Decimal(update[0])
                    amount = Decimal(update[1])
                    changes.append((price, amount))
                    if amount == 0:
                        if price in levels:
                            del levels[price]
                    else:
                        levels[price] = amount
            self.deltas += 1

    def levels(self) -> BookData:
        """The levels in ticks and lots, best first."""
        book = self.books[EXCHANGE_SYMBOL]

        def side(items: list[tuple[Decimal, Decimal]]) -> tuple[Level, ...]:
            return tuple(
                Level(int(p.scaleb(PRICE_DECIMALS)), int(q.scaleb(SIZE_DECIMALS))) for p, q in items
            )

        return BookData(
            bids=side(list(reversed(book["bid"].items()))), asks=side(list(book["ask"].items()))
        )
