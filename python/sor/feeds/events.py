"""What an exchange adapter turns a websocket message into: book snapshots, book deltas, control.

Adapters parse raw frames into these small objects; the feed machinery applies them to the
per-symbol books. Prices and sizes stay the exchange's decimal strings all the way into the Rust
core, which parses them exactly at the market's precision (never through a float).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import orjson

from sor.markets.book_market import BookMarket as BookMarket

__all__ = [
    "BookDelta",
    "BookMarket",
    "BookSide",
    "BookSnapshot",
    "Change",
    "Control",
    "FeedEvent",
    "Level",
    "MalformedMessage",
    "Reconnect",
    "SequenceVerdict",
    "describe_json",
    "load_json",
    "read_levels",
    "refuse_what_the_core_refused",
]

#: Which side of a book a level is on.
BookSide = Literal["bid", "ask"]

#: A ``(price, size)`` level as the exchange wrote it (decimal strings).
Level = tuple[str, str]
#: A ``(side, price, size)`` change as :meth:`sor.OrderBook.apply_deltas` takes it.
Change = tuple[BookSide, str, str]


@dataclass(slots=True)
class BookSnapshot:
    """A full book for one symbol at exchange sequence ``sequence`` (best-first levels)."""

    symbol: str
    sequence: int
    bids: list[Level]
    asks: list[Level]


@dataclass(slots=True)
class BookDelta:
    """Changes to one symbol's book covering exchange updates ``first_sequence..=final_sequence``.

    ``changes`` are absolute sizes (size ``"0"`` removes the level): a list of ``(side, price,
    size)`` tuples, or a :class:`sor._core.DepthChanges` parsed from the payload by the core
    (Binance), a sequence of the same tuples. ``previous_sequence`` is set
    by exchanges that chain events explicitly (OKX ``prevSeqId``), ``checksum`` by exchanges that
    send one (Kraken, OKX); both stay None for Binance spot.
    """

    symbol: str
    first_sequence: int
    final_sequence: int
    changes: Sequence[Change]
    previous_sequence: int | None = None
    checksum: int | None = None
    checksum_only: bool = False
    """True if the exchange sent no sequence IDs with it and its ``checksum`` alone checks it
    (OKX pushes without ``seqId``): counted in ``FeedStats.checksum_only``."""


@dataclass(frozen=True, slots=True)
class Control:
    """A message that carries no book data (subscription acknowledgement, heartbeat)."""

    description: str


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The exchange asked the client to reconnect (for example Binance's ``serverShutdown``)."""

    reason: str
    gap: bool = False
    """True if the reconnect is due to lost messages (a gap in a connection-wide sequence, such
    as Coinbase's ``sequence_num``): the feed counts it in ``FeedStats.gaps`` too."""


#: Everything :meth:`ExchangeAdapter.parse` may return for one message.
FeedEvent = BookSnapshot | BookDelta | Control | Reconnect


class MalformedMessage(Exception):  # noqa: N818 (reads better at the raise sites)
    """A message could not be understood; ``symbol`` is set when the book it was for is known.

    ``resync_all`` is set by an adapter when the message may have carried changes to a book it
    cannot name and no later message would show the loss (Coinbase: an ``l2_data`` message that
    used up its connection-wide ``sequence_num`` but names no subscribed product): the feed then
    resyncs every book.
    """

    def __init__(self, reason: str, symbol: str | None = None, *, resync_all: bool = False) -> None:
        super().__init__(reason if symbol is None else f"{reason} ({symbol})")
        self.reason = reason
        self.symbol = symbol
        self.resync_all = resync_all


def load_json(data: bytes) -> object:
    """The JSON value of a websocket message; raises :class:`MalformedMessage` if it is not
    JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedMessage("invalid JSON") from None


def describe_json(value: object) -> str:
    """What kind of JSON value ``value`` is, for an error message (``"a string '65000'"``)."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if type(value) is str:
        text = value if len(value) <= 24 else value[:24] + "..."
        return f"a string {text!r}"
    if type(value) is int or type(value) is float:
        return "a number"
    if type(value) is list:
        return f"an array of {len(value)}"
    if type(value) is dict:
        return "an object"
    return type(value).__name__


def read_levels(levels: object, field: str, symbol: str | None) -> list[Level]:
    """The levels of ``field`` (``"b"``, ``"bids"``): every one a ``[price, size, ...]`` array
    whose first two items are strings; raises :class:`MalformedMessage` naming the first that
    is not.

    The one strict level reader of every adapter whose levels are arrays of decimal strings
    (Binance, OKX, Bybit; extra items, such as OKX's order count, are not read). Anything else
    (a string such as ``"65000"``, which indexing would read character by character; numbers;
    objects; a pair with one item) makes the whole message malformed, so nothing of it is
    applied. Whether the strings are decimals of the market's precision is the book's check.
    """
    if type(levels) is not list:
        raise MalformedMessage(
            f"{field}: expected an array of levels, got {describe_json(levels)}", symbol
        )
    parsed: list[Level] = []
    append = parsed.append
    for index, level in enumerate(levels):
        if type(level) is list and len(level) >= 2:
            price = level[0]
            size = level[1]
            if type(price) is str and type(size) is str:
                append((price, size))
                continue
            which, value = ("price", price) if type(price) is not str else ("size", size)
            raise MalformedMessage(
                f"{field}[{index}].{which}: expected a decimal string, got {describe_json(value)}",
                symbol,
            )
        raise MalformedMessage(
            f"{field}[{index}]: expected a [price, size] array of strings, got "
            f"{describe_json(level)}",
            symbol,
        )
    return parsed


class SequenceVerdict(Enum):
    """What a book should do with a delta, given the sequence number of its last update."""

    APPLY = "apply"
    """The delta continues the book: apply it."""
    SKIP = "skip"
    """The delta is older than the book (already contained in it): drop it."""
    GAP = "gap"
    """Updates are missing between the book and the delta: the book must be rebuilt."""


def refuse_what_the_core_refused(
    events: Sequence[FeedEvent], refused: Exception, *, resync_all: bool = False
) -> Sequence[FeedEvent]:
    """What an adapter returns for a payload the core's parser refused, given what the Python
    reader made of it (``events``): the same events if none touches a book, otherwise raises
    :class:`MalformedMessage` with the core's reason.

    The adapters whose payloads the core parses read a refused payload again in Python, to say
    what is wrong. When the Python reader finds nothing wrong (a duplicated key, which it reads
    as its last value; a number the core's types cannot hold; a level finer than the market),
    the core's refusal stands: nothing the core refused is applied to a book. The error names
    the book when the Python reader found exactly one; ``resync_all`` is passed on when it found
    several. A reading without book events (a heartbeat, an update too old to use) is returned
    as it is: it changes no book.
    """
    symbols = {event.symbol for event in events if isinstance(event, BookSnapshot | BookDelta)}
    if not symbols:
        return events
    symbol = symbols.pop() if len(symbols) == 1 else None
    raise MalformedMessage(str(refused), symbol, resync_all=resync_all and symbol is None)
