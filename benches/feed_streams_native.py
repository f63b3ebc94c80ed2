"""Seeded Coinbase, Kraken v2, OKX and Bybit book-update streams and the handlers timed on them.

The native-adapter counterpart of :mod:`feed_stream` (Binance). One pass of a
:class:`sor.sim.book_model.BookModel` (the Binance stream's market and process: a 2-decimal
BTC book around 65,000, 1,000 levels a side, activity near the top, mid moves that sweep
levels, bursts) feeds four streams of :data:`MESSAGES` update messages with exactly
:data:`LEVELS_PER_MESSAGE` distinct changed levels each, in each exchange's exact wire format.
The bytes come from the simulators' own message builders (``sor.sim.coinbase``,
``sor.sim.kraken``, ``sor.sim.okx``, ``sor.sim.bybit``; private ones included, called as is), and
the snapshot that makes a book live is the simulator's own snapshot message. The four
simulators are built with one seed, so their models are the same book: the model of the
Coinbase simulator is stepped, and its changes drive every stream. Messages are deterministic
apart from the wall-clock timestamps the builders stamp (fixed width, so sizes are too).

What each stream sends is what the exchange's channel keeps in sync, cut into 20-level messages
(a level changed twice in one message appears once, with its last size):

- **Coinbase** ``level2``: the whole book; every change, as the Binance stream has them.
  ``sequence_num`` counts the messages of the connection (the snapshot included).
- **Kraken v2** ``book`` at depth :data:`KRAKEN_DEPTH`: the changes within the best ``depth``
  levels of a side, the levels that come back into scope when one inside goes, and (as Kraken
  documents) no removal for a level pushed out by an insert: the client truncates. Every update
  carries the CRC32 of the true top 10 after it, which the feed checks.
- **OKX** ``books`` (400 levels, ``checksum`` 0 as OKX sends since its deprecation): the
  changes within the best 400, levels entering that window as inserts and leaving it as removals;
  ``seqId`` grows by the number of book events a message covers, ``prevSeqId`` chains them.
- **Bybit** ``orderbook.1000`` (the depth :mod:`sor.sim.embedded` uses): like OKX at 1,000
  levels, ``u`` growing by one per message.

A change that moves two levels of a window (an insert and the level it pushes out, a removal and
the level that comes back) may straddle two messages; the book between them is then one level
long or short at the window's edge, which the next message settles (Kraken's checksum covers the
top 10 only, so it holds throughout). The oracle of every stream is an exact integer replay of
its messages under the exchange's rules (apply, then truncate for Kraken and OKX), and the
generator checks that replay against the true window every :data:`CHECK_EVERY` messages and at
the end.

The handlers, each doing everything a feed does per message except the socket read:

- :class:`NativePath`: sor's feed as :meth:`sor.feeds.Feed._receive` runs it: the counters,
  the adapter's ``parse``, then :meth:`BookSync.on_delta` (or ``on_snapshot``) on a live book:
  the exchange's sequence rule, the all-or-nothing apply in the Rust book, Kraken's and OKX's
  truncation, Kraken's checksum.
- :func:`receive_dict`: a plain Python handler per exchange: ``orjson``, the exchange's sequence
  rule, a ``dict[str, str]`` per side keyed by the price string, the truncation where the
  exchange wants it (sorting only then) and, for Kraken, its checksum of the top 10 in Python
  (``heapq.nsmallest`` / ``nlargest`` of the price strings by value).
"""

from __future__ import annotations

import bisect
import heapq
import random
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson

from sor.feeds import (
    Backoff,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    FeedStats,
    KrakenAdapter,
    MalformedMessage,
    OkxAdapter,
    Outcome,
)
from sor.feeds.exchanges.kraken import decode_exact
from sor.feeds.sync import FAILURES, SyncState
from sor.sim import coinbase as coinbase_sim
from sor.sim import okx as okx_sim
from sor.sim.book_model import BookModel, SimMarket, Step
from sor.sim.bybit import BybitSimulator
from sor.sim.coinbase import CoinbaseSimulator
from sor.sim.kraken import KrakenSimulator, levels_checksum
from sor.sim.okx import OkxSimulator

from .data import BookData, Level, Side
from .feed_stream import LEVELS_PER_MESSAGE, MESSAGES, PRICE_DECIMALS, SIZE_DECIMALS, ticks

Exchange = Literal["coinbase", "kraken", "okx", "bybit"]
"""The native adapters measured here."""
EXCHANGES: tuple[Exchange, ...] = ("coinbase", "kraken", "okx", "bybit")
"""Every native adapter, in report order."""

SEED = 11
"""The simulators' seed (the same for all four: their models are one book)."""
KRAKEN_DEPTH = 1_000
"""Depth of the Kraken subscription (as :mod:`sor.sim.embedded` subscribes)."""
OKX_DEPTH = okx_sim.DEPTH
"""Levels per side of OKX's ``books`` channel (400)."""
BYBIT_DEPTH = 1_000
"""Depth of the Bybit topic (as :mod:`sor.sim.embedded` subscribes)."""
CHECK_EVERY = 250
"""The generator compares its replay with the true window every this many messages."""

SYMBOLS: dict[Exchange, str] = {
    "coinbase": "BTC/USD",
    "kraken": "BTC/USD",
    "okx": "BTC/USDT",
    "bybit": "BTC/USDT",
}
"""Each stream's market (unified symbol; all at the Binance stream's precision)."""
DEPTHS: dict[Exchange, int | None] = {
    "coinbase": None,
    "kraken": KRAKEN_DEPTH,
    "okx": OKX_DEPTH,
    "bybit": BYBIT_DEPTH,
}
"""Levels per side each channel keeps in sync (None: the whole book)."""
TRUNCATES: dict[Exchange, bool] = {
    "coinbase": False,
    "kraken": True,
    "okx": True,
    "bybit": False,
}
"""Whether the feed cuts the book to the depth after every update (``adapter.max_depth``)."""

# --- Groups and labels (``extra_info["impl"]`` as in feed_stream; see report.py) ---------------

TITLES: dict[Exchange, str] = {
    "coinbase": "Coinbase Advanced Trade level2",
    "kraken": f"Kraken v2 book (depth {KRAKEN_DEPTH:,}, CRC32 checked)",
    "okx": "OKX books (400 levels)",
    "bybit": f"Bybit v5 orderbook.{BYBIT_DEPTH}",
}
"""Each exchange's channel, as its benchmark group names it."""


def group(exchange: Exchange) -> str:
    """The benchmark group of ``exchange``'s feed throughput."""
    return (
        f"feed: {TITLES[exchange]} updates, {MESSAGES:,} messages x {LEVELS_PER_MESSAGE} levels, "
        "parse + apply"
    )


GROUPS: tuple[str, ...] = tuple(group(exchange) for exchange in EXCHANGES)
"""The groups of this module, in report order."""


# --- The streams -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NativeStream:
    """One exchange's snapshot message, the update messages after it, and the book they lead to."""

    exchange: Exchange
    symbol: str
    snapshot: bytes
    """The simulator's snapshot message (makes the book live)."""
    messages: list[bytes]
    """The update messages, in order."""
    final: BookData
    """The book after every message, in ticks and lots (the oracle)."""
    final_sequence: int
    """The sequence number a book has after the last message (Kraken: the adapter's count)."""
    model_changes: int
    """Book events (model changes) the messages cover."""

    @property
    def bytes(self) -> int:
        """Total size of the update messages, in bytes."""
        return sum(len(m) for m in self.messages)

    def market(self) -> BookMarket:
        """The stream's market as sor's feeds take it."""
        return BookMarket(self.symbol, PRICE_DECIMALS, SIZE_DECIMALS)


Change = tuple[Side, int, int]
"""``(side, ticks, lots)``; 0 lots removes the level."""


class _Window:
    """An exchange channel's view of the true book: the best ``depth`` levels per side.

    Follows the truth one change at a time and returns what the channel publishes for it.
    ``implicit_evictions``: a level pushed out by an insert is not sent (Kraken); if it then
    disappears from the truth before the message ends, its removal is sent (as the simulator's
    diff of the message's before and after views does), so that no stale level survives the
    client's truncation.
    """

    def __init__(self, model: BookModel, depth: int | None, *, implicit_evictions: bool) -> None:
        self.depth = depth
        self.implicit_evictions = implicit_evictions
        self.sizes: dict[Side, dict[int, int]] = {
            "bid": dict(model.levels("bid")),
            "ask": dict(model.levels("ask")),
        }
        # Best first: bids by -ticks, asks by ticks.
        self.keys: dict[Side, list[int]] = {
            "bid": sorted(-tick for tick in self.sizes["bid"]),
            "ask": sorted(self.sizes["ask"]),
        }
        self.pushed_out: set[tuple[Side, int]] = set()
        """Levels pushed out of the window since the current message started (implicit)."""

    def top(self, side: Side, limit: int | None = None) -> list[tuple[int, int]]:
        """The best ``limit`` (default: the window's) levels of ``side`` as ``(ticks, lots)``."""
        sign = -1 if side == "bid" else 1
        sizes = self.sizes[side]
        keys = self.keys[side][: self.depth if limit is None else limit]
        return [(sign * key, sizes[sign * key]) for key in keys]

    def apply(self, side: Side, tick: int, lots: int) -> list[Change]:
        """Applies one true change; returns the channel's changes for it (0, 1 or 2)."""
        sizes = self.sizes[side]
        keys = self.keys[side]
        sign = -1 if side == "bid" else 1
        key = sign * tick
        index = bisect.bisect_left(keys, key)
        present = index < len(keys) and keys[index] == key
        depth = self.depth if self.depth is not None else len(keys) + 1
        out: list[Change] = []
        if lots:
            if not present:
                keys.insert(index, key)
            sizes[tick] = lots
            if index < depth:
                out.append((side, tick, lots))
                if not present and len(keys) > depth:
                    evicted = sign * keys[depth]
                    if self.implicit_evictions:
                        self.pushed_out.add((side, evicted))
                    else:
                        out.append((side, evicted, 0))
            self.pushed_out.discard((side, tick))
        elif present:
            del keys[index]
            del sizes[tick]
            if index < depth:
                out.append((side, tick, 0))
                if len(keys) >= depth:
                    entering = sign * keys[depth - 1]
                    out.append((side, entering, sizes[entering]))
                    self.pushed_out.discard((side, entering))
            elif (side, tick) in self.pushed_out:
                self.pushed_out.discard((side, tick))
                out.append((side, tick, 0))
        return out


class _Replay:
    """The book a correct client keeps: each message applied, then cut to ``depth`` if asked."""

    def __init__(self, window: _Window, truncate_to: int | None) -> None:
        self.truncate_to = truncate_to
        self.sizes: dict[Side, dict[int, int]] = {
            side: dict(window.top(side)) for side in ("bid", "ask")
        }

    def apply(self, changes: dict[tuple[Side, int], int]) -> None:
        """Applies one message's changes (absolute sizes; 0 removes)."""
        for (side, tick), lots in changes.items():
            if lots:
                self.sizes[side][tick] = lots
            else:
                self.sizes[side].pop(tick, None)
        if self.truncate_to is not None:
            for side in ("bid", "ask"):
                sizes = self.sizes[side]
                if len(sizes) > self.truncate_to:
                    kept = sorted(sizes, reverse=side == "bid")[: self.truncate_to]
                    self.sizes[side] = {tick: sizes[tick] for tick in kept}

    def book(self) -> BookData:
        """The levels, best first."""

        def side(name: Side) -> tuple[Level, ...]:
            sizes = self.sizes[name]
            return tuple(Level(t, sizes[t]) for t in sorted(sizes, reverse=name == "bid"))

        return BookData(bids=side("bid"), asks=side("ask"))


def _split(changes: dict[tuple[Side, int], int]) -> tuple[list[tuple[int, int]], ...]:
    """A message's changes as ``(bids, asks)`` of ``(ticks, lots)``, each side best first."""
    bids = sorted(((t, q) for (s, t), q in changes.items() if s == "bid"), reverse=True)
    asks = sorted((t, q) for (s, t), q in changes.items() if s == "ask")
    return bids, asks


class _Writer:
    """One exchange's stream under construction: its window, replay, sequence and builder."""

    def __init__(self, exchange: Exchange, window: _Window, snapshot: bytes) -> None:
        self.exchange = exchange
        self.window = window
        self.replay = _Replay(window, DEPTHS[exchange] if TRUNCATES[exchange] else None)
        self.snapshot = snapshot
        self.messages: list[bytes] = []
        self.chunk: dict[tuple[Side, int], int] = {}
        self.consumed = 0
        self.model_changes = 0
        self.sequence = 0
        self.clean = True
        """Whether the last message ended on a whole change (no window change carried over)."""
        self.build: Callable[[dict[tuple[Side, int], int]], bytes] = lambda _: b""

    def feed(self, side: Side, tick: int, lots: int, limit: int) -> None:
        """Follows one true change; emits a message each time 20 distinct levels have changed
        (until ``limit`` messages: then the stream, and its window, stop)."""
        if len(self.messages) == limit:
            return
        changes = self.window.apply(side, tick, lots)
        self.consumed += 1
        for position, (change_side, change_tick, change_lots) in enumerate(changes):
            if len(self.messages) == limit:
                return
            self.chunk[(change_side, change_tick)] = change_lots
            if len(self.chunk) == LEVELS_PER_MESSAGE:
                self._emit(clean=position == len(changes) - 1)

    def _emit(self, *, clean: bool) -> None:
        self.messages.append(self.build(self.chunk))
        self.replay.apply(self.chunk)
        self.model_changes += self.consumed
        self.chunk = {}
        self.consumed = 0
        self.window.pushed_out.clear()  # the client truncates at the end of every message
        self.clean = clean
        if clean and len(self.messages) % CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        """Asserts that the replay is the true window (valid at a message boundary that does not
        split a change's two window changes)."""
        for side in ("bid", "ask"):
            expected = dict(self.window.top(side))
            if self.replay.sizes[side] != expected:
                raise AssertionError(
                    f"{self.exchange} stream: after message {len(self.messages)} the replayed "
                    f"{side}s differ from the channel's true window"
                )


def _sim_market(symbol: str) -> SimMarket:
    return SimMarket(symbol, PRICE_DECIMALS, SIZE_DECIMALS, mid="65000", levels_per_side=1_000)


def _same_book(model: BookModel, other: BookModel) -> None:
    if model.levels("bid") != other.levels("bid") or model.levels("ask") != other.levels("ask"):
        raise AssertionError("the simulators' models differ: they must share one seed")


def make_native_streams(messages: int = MESSAGES, seed: int = SEED) -> dict[Exchange, NativeStream]:
    """The four seeded streams, each of ``messages`` messages of 20 changed levels."""
    coinbase = CoinbaseSimulator([_sim_market(SYMBOLS["coinbase"])], seed=seed)
    kraken = KrakenSimulator([_sim_market(SYMBOLS["kraken"])], seed=seed)
    okx = OkxSimulator([_sim_market(SYMBOLS["okx"])], seed=seed, checksums="zero")
    bybit = BybitSimulator([_sim_market(SYMBOLS["bybit"])], seed=seed, depth=BYBIT_DEPTH)
    model = coinbase.model(SYMBOLS["coinbase"])  # the truth every stream follows
    for other in (kraken, okx, bybit):
        _same_book(model, other.model(other.symbols[0]))
    writers = {
        "coinbase": _coinbase_writer(coinbase, model),
        "kraken": _kraken_writer(kraken, model),
        "okx": _okx_writer(okx, model),
        "bybit": _bybit_writer(bybit, model),
    }
    while any(len(w.messages) < messages for w in writers.values()):
        for side, tick, lots in model.step().changes:
            for writer in writers.values():
                writer.feed(side, tick, lots, messages)
    streams: dict[Exchange, NativeStream] = {}
    for exchange, writer in writers.items():
        if writer.clean:  # the last message ended on a whole change: check the end
            writer.check()
        streams[exchange] = NativeStream(
            exchange,
            SYMBOLS[exchange],
            writer.snapshot,
            writer.messages,
            writer.replay.book(),
            writer.sequence,
            writer.model_changes,
        )
    return streams


def _coinbase_writer(sim: CoinbaseSimulator, model: BookModel) -> _Writer:
    symbol = sim.symbols[0]
    # sequence_num 0 is the subscriptions acknowledgement, 1 the snapshot.
    snapshot = coinbase_sim._envelope("l2_data", 1, sim._snapshot_events(symbol))
    writer = _Writer("coinbase", _Window(model, None, implicit_evictions=False), snapshot)
    writer.sequence = 1

    def build(changes: dict[tuple[Side, int], int]) -> bytes:
        writer.sequence += 1
        step = Step(0, 0, [(side, tick, lots) for (side, tick), lots in changes.items()])
        return coinbase_sim._envelope("l2_data", writer.sequence, sim._update_events(symbol, step))

    writer.build = build
    return writer


def _kraken_writer(sim: KrakenSimulator, model: BookModel) -> _Writer:
    symbol = sim.symbols[0]
    snapshot = sim._snapshot(symbol, KRAKEN_DEPTH)
    window = _Window(model, KRAKEN_DEPTH, implicit_evictions=True)
    writer = _Writer("kraken", window, snapshot)
    # The adapter numbers a symbol's messages itself: the snapshot takes 1 and its checksum 2.
    writer.sequence = 2

    def build(changes: dict[tuple[Side, int], int]) -> bytes:
        writer.sequence += 1
        bids, asks = _split(changes)
        checksum = levels_checksum(window.top("ask", 10), window.top("bid", 10))
        return sim._book_message(symbol, "update", bids, asks, checksum)

    writer.build = build
    return writer


def _okx_writer(sim: OkxSimulator, model: BookModel) -> _Writer:
    instrument = sim._instruments[sim.symbols[0]]
    market = instrument.model.market
    snapshot = sim._snapshot(instrument)
    writer = _Writer("okx", _Window(model, OKX_DEPTH, implicit_evictions=False), snapshot)
    writer.sequence = instrument.seq

    def build(changes: dict[tuple[Side, int], int]) -> bytes:
        previous = writer.sequence
        writer.sequence += writer.consumed  # seqId counts the book events the push covers
        bids, asks = _split(changes)
        return sim._push(
            instrument,
            "update",
            [okx_sim._level(t, q, market) for t, q in bids],
            [okx_sim._level(t, q, market) for t, q in asks],
            previous,
            writer.sequence,
            0,
        )

    writer.build = build
    return writer


def _bybit_writer(sim: BybitSimulator, model: BookModel) -> _Writer:
    symbol = sim.symbols[0]
    snapshot = sim._snapshot(symbol)
    writer = _Writer("bybit", _Window(model, BYBIT_DEPTH, implicit_evictions=False), snapshot)
    writer.sequence = sim.update_id(symbol)

    def build(changes: dict[tuple[Side, int], int]) -> bytes:
        writer.sequence += 1
        bids, asks = _split(changes)
        return sim._message(symbol, "delta", bids, asks, update_id=writer.sequence)

    writer.build = build
    return writer


# --- sor ---------------------------------------------------------------------------------------


def new_adapter(stream: NativeStream) -> ExchangeAdapter:
    """The stream's exchange adapter, configured as the simulators' feeds are."""
    markets = [stream.market()]
    url = "ws://127.0.0.1:9/ws"
    if stream.exchange == "coinbase":
        return CoinbaseAdvancedAdapter(markets, ws_url=url)
    if stream.exchange == "kraken":
        return KrakenAdapter(markets, depth=KRAKEN_DEPTH, ws_url=url)
    if stream.exchange == "okx":
        return OkxAdapter(markets, ws_url=url)
    return BybitSpotAdapter(markets, ws_url=url, depth=BYBIT_DEPTH)


@dataclass
class NativePath:
    """A live sor book behind a native adapter, fed the way :class:`sor.feeds.Feed` feeds it."""

    adapter: ExchangeAdapter
    syncs: dict[str, BookSync]
    symbol: str
    stats: FeedStats = field(default_factory=FeedStats)
    last_message: float = 0.0

    @staticmethod
    def live(stream: NativeStream) -> NativePath:
        """A path whose book was made live by the stream's snapshot message (read by the
        adapter, like any message)."""
        adapter = new_adapter(stream)
        adapter.on_connect()
        sync = BookSync(
            stream.symbol,
            adapter.new_book(stream.symbol),
            adapter,
            Backoff(rng=random.Random(0)),
            max_buffer=10_000,
            now=time.monotonic(),
        )
        path = NativePath(adapter, {stream.symbol: sync}, stream.symbol)
        path.receive([stream.snapshot])
        if sync.state is not SyncState.LIVE:
            raise AssertionError(f"{stream.exchange}: the snapshot did not make the book live")
        return path

    def receive(self, messages: Sequence[bytes]) -> None:
        """Handles ``messages`` as ``Feed._receive`` does (minus the socket and the logging);
        raises ``AssertionError`` where the feed would count a fault or resync."""
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
                elif isinstance(event, BookSnapshot):
                    sync = syncs.get(event.symbol)
                    if sync is None:
                        raise AssertionError("snapshot for an unknown symbol")
                    if sync.on_snapshot(event, now) is not Outcome.LIVE:
                        raise AssertionError("a snapshot was refused")
                else:
                    raise AssertionError(f"unexpected event {event!r}")

    def levels(self) -> BookData:
        """The book's levels in ticks and lots, best first."""
        book = self.syncs[self.symbol].book
        return BookData(
            bids=tuple(Level(lv.price_ticks, lv.size_lots) for lv in book.levels("bid")),
            asks=tuple(Level(lv.price_ticks, lv.size_lots) for lv in book.levels("ask")),
        )

    @property
    def sequence(self) -> int:
        """The book's last applied sequence number."""
        return self.syncs[self.symbol].book.sequence


# --- A plain Python dict book ------------------------------------------------------------------


class GapError(Exception):
    """A handler saw missing updates or a wrong checksum (never expected in these streams)."""


@dataclass(slots=True)
class DictBook:
    """One symbol's book as plain dicts (price string -> size string per side) and the state a
    Python handler keeps for the exchange's sequence rule."""

    exchange: Exchange
    sequence: int
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def live(stream: NativeStream) -> DictBook:
        """A book set to the stream's snapshot (read with the same handler, outside the
        timing)."""
        book = DictBook(stream.exchange, -1)
        receive_dict(book, [stream.snapshot])
        return book

    def levels(self) -> BookData:
        """The levels in ticks and lots, best first (sorted now: the dicts are not)."""

        def side(levels: dict[str, str], best_high: bool) -> tuple[Level, ...]:
            parsed = [
                Level(ticks(p, PRICE_DECIMALS), ticks(q, SIZE_DECIMALS)) for p, q in levels.items()
            ]
            return tuple(sorted(parsed, key=lambda lv: lv.price, reverse=best_high))

        return BookData(bids=side(self.bids, True), asks=side(self.asks, False))


def _set_levels(levels: dict[str, str], updates: Sequence[Sequence[str]]) -> None:
    for update in updates:
        price = update[0]
        size = update[1]
        if float(size) == 0.0:
            levels.pop(price, None)
        else:
            levels[price] = size


def _truncate(book: DictBook, depth: int) -> None:
    if len(book.bids) > depth:
        kept = sorted(book.bids, key=float, reverse=True)[:depth]
        book.bids = {price: book.bids[price] for price in kept}
    if len(book.asks) > depth:
        kept = sorted(book.asks, key=float)[:depth]
        book.asks = {price: book.asks[price] for price in kept}


def _kraken_digits(text: str, decimals: int) -> str:
    whole, _, fraction = text.partition(".")
    return (whole + fraction.ljust(decimals, "0")).lstrip("0")


def _kraken_checksum(book: DictBook) -> int:
    asks = heapq.nsmallest(10, book.asks, key=float)
    bids = heapq.nlargest(10, book.bids, key=float)
    text = "".join(
        _kraken_digits(price, PRICE_DECIMALS) + _kraken_digits(levels[price], SIZE_DECIMALS)
        for levels, prices in ((book.asks, asks), (book.bids, bids))
        for price in prices
    )
    return zlib.crc32(text.encode())


def receive_dict(book: DictBook, messages: Sequence[bytes]) -> None:
    """Handles ``messages`` of ``book``'s exchange with ``orjson`` and dict books."""
    handlers = {
        "coinbase": _coinbase_dict,
        "kraken": _kraken_dict,
        "okx": _okx_dict,
        "bybit": _bybit_dict,
    }
    handlers[book.exchange](book, messages)


def _coinbase_dict(book: DictBook, messages: Sequence[bytes]) -> None:
    loads = orjson.loads
    for data in messages:
        message = loads(data)
        sequence = message["sequence_num"]
        if book.sequence >= 0 and sequence != book.sequence + 1:
            raise GapError(f"sequence_num {sequence} after {book.sequence}")
        book.sequence = sequence
        if message["channel"] != "l2_data":
            continue
        for event in message["events"]:
            if event["type"] == "snapshot":
                book.bids.clear()
                book.asks.clear()
            for update in event["updates"]:
                levels = book.bids if update["side"] == "bid" else book.asks
                size = update["new_quantity"]
                if float(size) == 0.0:
                    levels.pop(update["price_level"], None)
                else:
                    levels[update["price_level"]] = size


def _kraken_dict(book: DictBook, messages: Sequence[bytes]) -> None:
    for data in messages:
        message = decode_exact(data)  # exact number text, as the checksum needs
        if message.get("channel") != "book":
            continue
        for item in message["data"]:
            if message["type"] == "snapshot":
                book.bids.clear()
                book.asks.clear()
            for key, levels in (("bids", book.bids), ("asks", book.asks)):
                for level in item[key]:
                    price, qty = str(level["price"]), str(level["qty"])
                    if float(qty) == 0.0:
                        levels.pop(price, None)
                    else:
                        levels[price] = qty
            _truncate(book, KRAKEN_DEPTH)
            if _kraken_checksum(book) != item["checksum"]:
                raise GapError("kraken checksum mismatch")
            book.sequence += 1


def _okx_dict(book: DictBook, messages: Sequence[bytes]) -> None:
    loads = orjson.loads
    for data in messages:
        message = loads(data)
        for entry in message["data"]:
            if message["action"] == "snapshot":
                book.bids.clear()
                book.asks.clear()
            elif entry["prevSeqId"] != book.sequence:
                raise GapError(f"prevSeqId {entry['prevSeqId']} after {book.sequence}")
            _set_levels(book.bids, entry["bids"])
            _set_levels(book.asks, entry["asks"])
            _truncate(book, OKX_DEPTH)
            book.sequence = entry["seqId"]


def _bybit_dict(book: DictBook, messages: Sequence[bytes]) -> None:
    loads = orjson.loads
    for data in messages:
        message = loads(data)
        body = message["data"]
        update_id = body["u"]
        if message["type"] == "snapshot" or update_id == 1:
            book.bids.clear()
            book.asks.clear()
        elif update_id <= book.sequence:
            continue
        elif update_id != book.sequence + 1:
            raise GapError(f"u={update_id} after {book.sequence}")
        _set_levels(book.bids, body["b"])
        _set_levels(book.asks, body["a"])
        book.sequence = update_id
