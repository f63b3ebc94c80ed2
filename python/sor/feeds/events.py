"""What an exchange adapter turns a websocket message into: book snapshots, book deltas, control.

Adapters parse raw frames into these small objects; the feed machinery applies them to the
per-symbol books. Prices and sizes stay the exchange's decimal strings all the way into the Rust
core, which parses them exactly at the market's precision (never through a float).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from sor._core import InvalidInput

#: Which side of a book a level is on.
BookSide = Literal["bid", "ask"]

#: A ``(price, size)`` level as the exchange wrote it (decimal strings).
Level = tuple[str, str]
#: A ``(side, price, size)`` change as :meth:`sor.OrderBook.apply_deltas` takes it.
Change = tuple[BookSide, str, str]

_UNIFIED_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Market:
    """One market a feed keeps a book for: its unified symbol and the book's precision.

    ``symbol`` is ccxt's unified form (``"BTC/USDT"``); ``price_decimals`` and ``size_decimals``
    are the decimal places of the exchange's price tick and size step.
    """

    symbol: str
    price_decimals: int
    size_decimals: int

    def __post_init__(self) -> None:
        if not _UNIFIED_SYMBOL.match(self.symbol):
            raise InvalidInput(
                f"symbol: expected a unified symbol like 'BTC/USDT', got {self.symbol!r}"
            )
        for name in ("price_decimals", "size_decimals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 18:
                raise InvalidInput(f"{name}: expected an integer in 0..=18, got {value!r}")

    @property
    def base(self) -> str:
        """The base currency (``"BTC"`` in ``"BTC/USDT"``)."""
        return self.symbol.split("/", 1)[0]

    @property
    def quote(self) -> str:
        """The quote currency (``"USDT"`` in ``"BTC/USDT"``)."""
        return self.symbol.split("/", 1)[1]


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
    """A message could not be understood; ``symbol`` is set when the book it was for is known."""

    def __init__(self, reason: str, symbol: str | None = None) -> None:
        super().__init__(reason if symbol is None else f"{reason} ({symbol})")
        self.reason = reason
        self.symbol = symbol


class Verdict(Enum):
    """What a book should do with a delta, given the sequence number of its last update."""

    APPLY = "apply"
    """The delta continues the book: apply it."""
    SKIP = "skip"
    """The delta is older than the book (already contained in it): drop it."""
    GAP = "gap"
    """Updates are missing between the book and the delta: the book must be rebuilt."""
