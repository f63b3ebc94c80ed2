"""Type stubs for ``sor._core``, the Rust core of sor (written by hand, checked by stubtest).

Prices and sizes are exact fixed-point numbers at a book's precision: ``price_decimals`` places
for prices (a *tick* is ``10**-price_decimals``), ``size_decimals`` for sizes (a *lot* is
``10**-size_decimals``). Decimal inputs are ``str``, ``decimal.Decimal`` or ``int``; floats are
refused everywhere except :meth:`OrderBook.from_floats`, which rounds them explicitly.

Basis points (taker fees, slippage and depth bounds) are :data:`BpsLike`: ``str``, ``Decimal``,
``int`` or ``float``, a float read as the decimal it prints as (``7.5``, ``0.1``). They are held
exactly to 1e-4 bps: anything finer (``0.00004``) is refused, never rounded. A taker fee must be
at least 0 and below 10,000 bps (100%).

Every argument is checked by the core: a wrong type, an out-of-range int, text that is not valid
Unicode or an int too large to print raises :class:`InvalidInput` naming the argument, and a
message quotes at most 40 characters of an input (see :func:`excerpt`).
"""

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import ClassVar, Final, Literal, SupportsIndex, TypeAlias, final, overload

import numpy as np
from numpy.typing import NDArray

DecimalLike: TypeAlias = str | Decimal | int
BpsLike: TypeAlias = str | Decimal | int | float
BookSide: TypeAlias = Literal["bid", "ask"]
TakerSide: TypeAlias = Literal["buy", "sell"]

class SorError(Exception):
    """Base class of every error sor raises."""

class InvalidInput(SorError, ValueError):  # noqa: N818 (the name STYLE.md gives)
    """An argument is malformed or out of range; the message names it."""

class BookError(SorError, ValueError):
    """A book update was refused (unsorted, crossed); the book is unchanged."""

class RoutingError(SorError):
    """No valid route or allocation exists for the request."""

LIQUIDITY_RATIO_CAP: Final[float]
"""The core caps the liquidity ratio (depth within the slippage bound / order) at this value."""

@final
class Level:
    """One price level of a book."""

    @property
    def price(self) -> Decimal:
        """Price in quote units."""
    @property
    def size(self) -> Decimal:
        """Size in base units."""
    @property
    def price_ticks(self) -> int:
        """Price as an integer count of ticks."""
    @property
    def size_lots(self) -> int:
        """Size as an integer count of lots."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class OrderBook:
    """An exact order book for one market on one venue (mutable, safe to share between threads).

    Threads: any number of threads may read and write one book at once. Every read (a walk, a
    screen, ``walk_many``, ``allocate_many``, ``screen_batch``, the properties) works on one
    whole version of the book, taken when the call starts, even if it releases the GIL and a
    writer replaces the book meanwhile; every write (``apply_*``, ``clear``, ``truncate``) is
    all or nothing. A write never waits for a reader: if a reader still holds the version being
    replaced, the writer copies the book first. Two successive calls may see two versions: use
    :meth:`copy` (O(1)) to read one version over several calls.
    """

    def __new__(cls, price_decimals: int, size_decimals: int) -> OrderBook: ...
    @staticmethod
    def from_floats(
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        price_decimals: int,
        size_decimals: int,
        sequence: int = 0,
    ) -> OrderBook:
        """Builds a book from float levels, rounding each to the nearest tick and lot."""
    @property
    def price_decimals(self) -> int:
        """Decimal places of prices."""
    @property
    def size_decimals(self) -> int:
        """Decimal places of sizes."""
    @property
    def sequence(self) -> int:
        """Exchange sequence number of the last update."""
    @property
    def updated_at_ns(self) -> int:
        """When the last update was applied, in nanoseconds since the Unix epoch."""
    @property
    def version(self) -> int:
        """Counter bumped by every successful update."""
    def apply_snapshot(
        self,
        bids: Sequence[tuple[DecimalLike, DecimalLike]],
        asks: Sequence[tuple[DecimalLike, DecimalLike]],
        sequence: int = 0,
        timestamp_ns: int | None = None,
    ) -> None:
        """Replaces the book with best-first ``(price, size)`` levels; all or nothing."""
    def apply_delta(
        self,
        side: BookSide,
        price: DecimalLike,
        size: DecimalLike,
        sequence: int | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Sets the size at a price (size 0 removes the level); refused if it crosses the book."""
    def apply_deltas(
        self,
        deltas: Sequence[tuple[BookSide, DecimalLike, DecimalLike]],
        sequence: int | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Applies ``(side, price, size)`` deltas in order, all or nothing."""
    def apply_deltas_array(
        self,
        sides: NDArray[np.uint8],
        prices: NDArray[np.uint64],
        sizes: NDArray[np.uint64],
        sequence: int | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Applies deltas as arrays: side 0 = bid, 1 = ask; prices in ticks, sizes in lots."""
    def clear(self, timestamp_ns: int | None = None) -> None:
        """Removes every level (before a resync)."""
    def best_bid(self) -> Level | None:
        """The highest bid."""
    def best_ask(self) -> Level | None:
        """The lowest ask."""
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, in quote units."""
    def mid(self) -> float | None:
        """Average of best bid and best ask, in quote units."""
    def depth_within_bps(self, side: BookSide, bps: BpsLike) -> Decimal:
        """Total size on a side within ``bps`` basis points of that side's best price."""
    def depth_up_to(self, side: BookSide, price: DecimalLike) -> Decimal:
        """Total size on a side at prices at least as good as ``price`` (exact, however deep)."""
    def levels(self, side: BookSide, n: int | None = None) -> list[Level]:
        """The best ``n`` levels of a side (all if ``n`` is None), best first."""
    def level_count(self, side: BookSide) -> int:
        """Number of levels on a side."""
    def is_crossed(self) -> bool:
        """True if the best bid is at or above the best ask (never after a successful update)."""
    def kraken_checksum(self) -> int:
        """Kraken Spot WebSocket v2 ``book`` checksum: unsigned CRC32 of the best 10 asks then
        the best 10 bids, each price and size written at the book's decimals without the point
        and without leading zeros (the book's precisions must be the pair's)."""
    def okx_checksum(self) -> int:
        """OKX order book checksum: signed CRC32 of the best 25 bids and asks interleaved as
        ``price:size`` items joined by ``:``, values in their shortest decimal form."""
    def truncate(self, depth: int) -> int:
        """Removes the levels beyond the best ``depth`` of each side (for exchanges that stream a
        fixed depth, such as Kraken); returns how many were removed."""
    def price_to_ticks(self, price: DecimalLike) -> int:
        """Converts a price to ticks at this book's precision."""
    def size_to_lots(self, size: DecimalLike) -> int:
        """Converts a size to lots at this book's precision."""
    def walk(
        self,
        side: TakerSide,
        quantity: DecimalLike | None = None,
        *,
        notional: DecimalLike | None = None,
        limit_price: DecimalLike | None = None,
    ) -> WalkResult:
        """What a taker order would fill: by base quantity, quote notional and/or limit price.

        At least one bound is required, and a quantity or notional must be positive
        (:class:`InvalidInput` otherwise, naming it). ``notional`` is in quote units at up to
        ``price_decimals + size_decimals`` places; every ``WalkResult.notional`` is accepted
        back. A walk whose fill would exceed ``2**64 - 1`` lots (a limit or notional over a
        side that deep) is refused with :class:`InvalidInput` rather than reported cut short.
        """
    def cost(self, side: TakerSide, quantity: DecimalLike, taker_fee_bps: BpsLike) -> ExecutionCost:
        """Walks for a base quantity (positive) and adds the taker fee."""
    def affordable(
        self, funds: DecimalLike, taker_fee_bps: BpsLike, at_most: DecimalLike | None = None
    ) -> Decimal | None:
        """Most base quantity ``funds`` of quote buys from the asks with the taker fee on top
        (whole lots, computed in exact integers; funds finer than the book's notional unit are
        rounded down, funds past ``2**128 - 1`` units read as that), or None when the asks run
        out first (their depth is then the limit). With ``at_most`` (base units, rounded up to
        the book's lot), counting stops there: it is returned when the funds buy at least
        that much, so a cap that only matters up to an order's amount walks no further."""
    def copy(self) -> OrderBook:
        """An independent copy of the book, in O(1): the two share their levels until either
        is written (copy-on-write)."""
    def __eq__(self, other: object, /) -> bool:
        """Same precisions and same levels (sequence, timestamps and version are ignored)."""
    __hash__: None  # type: ignore[assignment]

@final
class WalkResult:
    """What walking one side of a book filled."""

    @property
    def side(self) -> TakerSide: ...
    @property
    def filled(self) -> Decimal:
        """Base quantity filled."""
    @property
    def filled_lots(self) -> int:
        """Base quantity filled, in lots."""
    @property
    def notional(self) -> Decimal:
        """Quote notional of the fill (exact)."""
    @property
    def notional_raw(self) -> int:
        """Notional in units of ``10**-(price_decimals + size_decimals)`` quote."""
    @property
    def average_price(self) -> float | None:
        """Average fill price in quote units (None if nothing filled)."""
    @property
    def best_price(self) -> Decimal | None:
        """Best price of the side when the walk started."""
    @property
    def worst_price(self) -> Decimal | None:
        """Price of the last level taken from."""
    @property
    def levels_consumed(self) -> int:
        """Number of levels taken from, including a partly taken last one."""
    @property
    def slippage_bps(self) -> float | None:
        """Average price versus best price, in basis points (None if nothing filled)."""
    @property
    def complete(self) -> bool:
        """True if the quantity or notional target was reached (always for a limit-only walk).

        A quantity is reached when all of it filled. A notional is reached when it was spent
        exactly, or when one more lot at the level where the walk stopped (partly taken, or
        past the limit price) would cost more than is left. A side that runs out first is
        incomplete however little is left; so is a walk the limit stopped while the next level
        was still affordable.
        """
    @property
    def price_decimals(self) -> int: ...
    @property
    def size_decimals(self) -> int: ...

def execution_cost(walk: WalkResult, taker_fee_bps: BpsLike) -> ExecutionCost:
    """The fee-inclusive cost of a walk."""

@final
class ExecutionCost:
    """A walk priced with the venue's taker fee."""

    @property
    def walk(self) -> WalkResult: ...
    @property
    def taker_fee_bps(self) -> float: ...
    @property
    def fee(self) -> float:
        """Fee paid, in quote units: the float nearest the exact value."""
    @property
    def total(self) -> float:
        """Notional plus fee for a buy (paid); notional minus fee for a sell (received): the
        float nearest the exact value."""
    @property
    def effective_price(self) -> float | None:
        """``total / filled``: the all-in price per unit of base (None if nothing filled)."""

@final
class Weights:
    """Scoring weights (any non-negative values, scaled to sum to 1)."""

    def __new__(
        cls,
        price: float = 0.4,
        liquidity: float = 0.3,
        latency: float = 0.2,
        reliability: float = 0.1,
    ) -> Weights: ...
    @property
    def price(self) -> float: ...
    @property
    def liquidity(self) -> float: ...
    @property
    def latency(self) -> float: ...
    @property
    def reliability(self) -> float: ...

@final
class FactorScores:
    """One number per scoring factor."""

    @property
    def price(self) -> float: ...
    @property
    def liquidity(self) -> float: ...
    @property
    def latency(self) -> float: ...
    @property
    def reliability(self) -> float: ...

@final
class VenueScore:
    """A candidate's score and how each factor contributed to it."""

    @property
    def index(self) -> int:
        """Position of the candidate in the input."""
    @property
    def total(self) -> float:
        """Weighted sum of the normalised factors, in [0, 1]."""
    @property
    def normalised(self) -> FactorScores:
        """Each factor min-max normalised across the candidates."""
    @property
    def contributions(self) -> FactorScores:
        """Each factor's weight times its normalised value (they sum to ``total``)."""

def score(
    factors: Sequence[tuple[float, float, float, float]], weights: Weights | None = None
) -> list[VenueScore]:
    """Scores ``(price, liquidity, latency, reliability)`` rows (higher is better), best first."""

@final
class Candidate:
    """One venue evaluated for an order by :func:`rank_venues`."""

    @property
    def index(self) -> int: ...
    @property
    def walk(self) -> WalkResult: ...
    @property
    def cost(self) -> ExecutionCost: ...
    @property
    def liquidity_ratio(self) -> float:
        """Depth within the slippage bound divided by the order quantity, capped at 10."""
    @property
    def eligible(self) -> bool:
        """True if the venue fills the whole order within the slippage bound."""
    @property
    def raw(self) -> FactorScores:
        """The higher-is-better factor values that were scored."""
    @property
    def score(self) -> VenueScore: ...

@final
class Ranking:
    """Venues ranked for one order, best first (eligible venues before the others)."""

    @property
    def best(self) -> int | None:
        """Input index of the best eligible venue, or None if no venue is eligible."""
    @property
    def candidates(self) -> list[Candidate]: ...
    def __len__(self) -> int: ...

def rank_venues(
    books: Sequence[OrderBook],
    side: TakerSide,
    quantity: DecimalLike,
    taker_fees_bps: Sequence[BpsLike],
    latencies_ms: Sequence[float],
    reliabilities: Sequence[float],
    weights: Weights | None = None,
    max_slippage_bps: BpsLike = 100.0,
) -> Ranking:
    """The best-execution ranking of several venues for one order, in one call."""

@final
class VenueRules:
    """A venue's trading rules for one market (quantities in base units)."""

    def __new__(
        cls,
        taker_fee_bps: BpsLike = 0.0,
        lot_size: DecimalLike | None = None,
        min_quantity: DecimalLike | None = None,
        min_notional: DecimalLike | None = None,
        max_quantity: DecimalLike | None = None,
    ) -> VenueRules: ...
    @property
    def taker_fee_bps(self) -> float: ...
    @property
    def lot_size(self) -> Decimal | None:
        """Quantity step; None means one lot of the book."""
    @property
    def min_quantity(self) -> Decimal: ...
    @property
    def min_notional(self) -> Decimal: ...
    @property
    def max_quantity(self) -> Decimal | None: ...

@final
class AllocationPart:
    """One venue's share of an allocation."""

    @property
    def index(self) -> int: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def walk(self) -> WalkResult: ...
    @property
    def cost(self) -> ExecutionCost: ...

@final
class Allocation:
    """An order split across venues for the lowest total all-in cost."""

    @property
    def parts(self) -> list[AllocationPart]: ...
    @property
    def requested(self) -> Decimal: ...
    @property
    def filled(self) -> Decimal: ...
    @property
    def unfilled(self) -> Decimal: ...
    @property
    def complete(self) -> bool: ...
    @property
    def total(self) -> float:
        """Sum of the parts' fee-inclusive totals (paid for a buy, received for a sell)."""
    @property
    def proven_optimal(self) -> bool:
        """True if no valid split places more, or as much for less (buy) / more (sell); False
        only when a search stopped at its node limit (the split is still valid)."""

def allocate(
    books: Sequence[OrderBook],
    side: TakerSide,
    quantity: DecimalLike,
    rules: Sequence[VenueRules],
) -> Allocation:
    """Splits one order across books for the lowest total all-in cost."""

def walk_many(
    books: Sequence[OrderBook], side: TakerSide, quantities: Sequence[DecimalLike]
) -> list[WalkResult]:
    """Walks ``books[i]`` for ``quantities[i]`` (each positive), without holding the GIL."""

def allocate_many(
    books: Sequence[OrderBook],
    side: TakerSide,
    quantities: Sequence[DecimalLike],
    rules: Sequence[VenueRules],
) -> list[Allocation]:
    """Allocates each quantity across the same books, without holding the GIL."""

@final
class DepthChanges(Sequence[tuple[BookSide, str, str]]):
    """Book changes parsed from one exchange message: a read-only sequence of
    ``(side, price, size)`` tuples of the exchange's strings, already parsed at a precision.

    :meth:`OrderBook.apply_deltas` applies it without parsing again (all or nothing, like any
    other deltas); a book of another precision parses its strings at its own. It compares equal
    to another ``DepthChanges`` or a ``list`` holding the same tuples.
    """

    @property
    def price_decimals(self) -> int:
        """Decimal places the prices were parsed at."""
    @property
    def size_decimals(self) -> int:
        """Decimal places the sizes were parsed at."""
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: SupportsIndex, /) -> tuple[BookSide, str, str]: ...
    @overload
    def __getitem__(self, index: slice, /) -> list[tuple[BookSide, str, str]]: ...
    def __iter__(self) -> Iterator[tuple[BookSide, str, str]]: ...
    def __reversed__(self) -> Iterator[tuple[BookSide, str, str]]: ...
    def __contains__(self, value: object, /) -> bool: ...
    def index(self, value: object, start: int = 0, stop: int | None = None) -> int:
        """The position of the first change equal to ``value`` (ValueError if there is none)."""
    def count(self, value: object) -> int:
        """How many changes are equal to ``value``."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class BinanceDepthParser:
    """Reads Binance spot ``depthUpdate`` payloads in the core, at each market's precision.

    ``markets`` maps Binance's symbol (``"BTCUSDT"``) to ``(symbol, price_decimals,
    size_decimals)``: the unified symbol to report and the precision of the market's book.
    """

    def __new__(cls, markets: dict[str, tuple[str, int, int]]) -> BinanceDepthParser: ...
    def parse(self, payload: bytes) -> tuple[str, int, int, DepthChanges] | None:
        """Parses one websocket payload of the diff-depth stream.

        Returns ``(symbol, U, u, changes)`` for a ``depthUpdate`` event: the unified symbol,
        the first and final update IDs and the bids then the asks, in message order. Returns
        None for any other JSON object (a request's response, ``serverShutdown``, a
        combined-stream wrapper). Raises :class:`InvalidInput`, naming the field and value,
        for invalid JSON, a missing or mistyped field, a symbol not in ``markets``, ``U``
        above ``u``, or a price or quantity that is not a non-negative decimal at the market's
        precision; nothing is returned then.
        """

@final
class OkxBooksParser:
    """Reads OKX v5 ``books`` channel pushes in the core, at each instrument's precision.

    ``markets`` maps OKX's instrument ID (``"BTC-USDT"``) to ``(symbol, price_decimals,
    size_decimals)``: the unified symbol to report and the precision of the market's book.
    """

    def __new__(cls, markets: dict[str, tuple[str, int, int]]) -> OkxBooksParser: ...
    def parse(
        self, payload: bytes
    ) -> tuple[str, Literal["snapshot", "update"], int, int, int | None, DepthChanges] | None:
        """Parses one websocket payload of the public channel.

        Returns ``(symbol, action, seqId, prevSeqId, checksum, changes)`` for a ``books`` push
        of exactly one data entry: the unified symbol, ``"snapshot"`` or ``"update"``, the
        sequence IDs, the checksum (None when absent, null or 0) and the bids then the asks, in
        message order. Returns None for an event (a JSON object with ``event``). Raises
        :class:`InvalidInput` for anything else: invalid JSON, a missing or mistyped field,
        another channel, an instrument not in ``markets``, several entries, sequence IDs that do
        not fit the action (a snapshot's ``prevSeqId`` is -1, an update's is not negative), a
        checksum outside the signed 32-bit range, or a price or size that is not a non-negative
        decimal at the market's precision.
        """

@final
class KrakenBookParser:
    """Reads Kraken WebSocket v2 ``book`` channel messages in the core, at each market's
    precision, keeping the text of every JSON number (Kraken writes prices and quantities as
    numbers, never read through a float here).

    ``markets`` maps Kraken's symbol (``"BTC/USD"``) to ``(symbol, price_decimals,
    size_decimals)``: the unified symbol to report and the precision of the market's book.
    """

    def __new__(cls, markets: dict[str, tuple[str, int, int]]) -> KrakenBookParser: ...
    def parse(
        self, payload: bytes
    ) -> tuple[str, Literal["snapshot", "update"], int, DepthChanges] | None:
        """Parses one websocket payload.

        Returns ``(symbol, type, checksum, changes)`` for a ``book`` message of exactly one data
        item: the unified symbol, ``"snapshot"`` or ``"update"``, the CRC32 of the top 10
        levels once applied, and the bids then the asks, in message order. Returns None for a
        message of another channel (heartbeat, status) or without one (a method's answer).
        Raises :class:`InvalidInput` for a ``book`` message of any other shape: an unknown
        type, no data or several items, a symbol not in ``markets``, a checksum that is not a
        32-bit unsigned integer, a snapshot without both sides, a side that is not an array of
        ``{price, qty}`` objects of JSON numbers, or a number that is not a non-negative
        decimal at the market's precision.
        """

@final
class BybitOrderbookParser:
    """Reads Bybit v5 ``orderbook.{depth}.{symbol}`` messages in the core, at each market's
    precision.

    ``markets`` maps the topic (``"orderbook.200.BTCUSDT"``) to ``(symbol, price_decimals,
    size_decimals)``: the unified symbol to report and the precision of the market's book.
    """

    def __new__(cls, markets: dict[str, tuple[str, int, int]]) -> BybitOrderbookParser: ...
    def parse(
        self, payload: bytes
    ) -> tuple[str, Literal["snapshot", "delta"], int, DepthChanges] | None:
        """Parses one websocket payload of the public spot stream.

        Returns ``(symbol, type, u, changes)`` for an orderbook message: the unified symbol,
        ``"snapshot"`` or ``"delta"``, the update ID and the bids then the asks, in message
        order. Returns None for a JSON object without a topic (a pong, a request's answer).
        Raises :class:`InvalidInput` for anything else: invalid JSON, a missing or mistyped
        field, a topic not in ``markets``, another type, ``u`` below 1, or a price or size that
        is not a non-negative decimal at the market's precision.
        """

def split_sides(changes: DepthChanges) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The bids and the asks of ``changes`` as ``(price, size)`` lists, in message order."""

@final
class CoinbaseLevel2Parser:
    """Reads Coinbase Advanced Trade ``level2`` payloads in the core, at each market's precision.

    ``markets`` maps Coinbase's product ID (``"BTC-USD"``) to ``(symbol, price_decimals,
    size_decimals)``: the unified symbol to report and the precision of the market's book.
    """

    def __new__(cls, markets: dict[str, tuple[str, int, int]]) -> CoinbaseLevel2Parser: ...
    def parse(
        self, payload: bytes
    ) -> tuple[int, list[tuple[str, Literal["snapshot", "update"], DepthChanges]]] | None:
        """Parses one websocket payload.

        Returns ``(sequence_num, events)`` for an ``l2_data`` message: per event, in message
        order, the unified symbol, ``"snapshot"`` or ``"update"`` and its changes (an update's
        in message order; a snapshot's non-empty levels, bids then asks, each side best first).
        Returns None for any other JSON object (other channels, an ``error`` message). Raises
        :class:`InvalidInput`, naming the field and value, for invalid JSON, a missing or
        mistyped field, a product not in ``markets``, an unknown event type or side, or a price
        or quantity that is not a non-negative decimal at the market's precision; nothing is
        returned then.
        """

#: Why a venue can or cannot take a whole order on its own (``Screen.verdicts``).
Verdict: TypeAlias = Literal[
    "qualified",
    "never_updated",
    "stale",
    "empty_book",
    "lot_size",
    "below_minimum",
    "above_maximum",
    "balance",
    "insufficient_liquidity",
    "limit_price",
    "slippage",
    "liquidity_score",
    "below_min_notional",
]

#: Why the first venue of a screen's ranking won (``Screen.reason``).
Ranked: TypeAlias = Literal[
    "only_venue", "best_price", "best_score", "lowest_latency", "best_liquidity", "lowest_cost"
]

#: Why a split has the route it has (``Split.reason``).
SplitReason: TypeAlias = Literal["split", "preferred_exchange", "lowest_cost"]

#: Why the core could not split an order (``Split.refusal``).
SplitRefusal: TypeAlias = Literal["no_venue", "depth", "liquidity_ratio", "lots"]

@final
class Split:
    """The split strategy's route over a screen's books (``Screen.split``), made in the
    screen's call: each walkable venue (fresh book, non-empty side) capped at its depth within
    the slippage bound and the limit price, its maximum and its balance cap, rounded down to
    its lot; the caps must hold the order and ``min_liquidity_ratio`` times it (exactly);
    preferred venues filled first as a group, then the others, each group one exact
    allocation; without preferences never dearer than the cheapest venue that qualified alone
    (exact totals compared), which then takes the whole order."""

    @property
    def parts(self) -> list[AllocationPart]:
        """The parts (``index``: the input position): preferred venues first in preference
        order, then the larger quantity first, then by input position; empty if refused."""
    @property
    def alternatives(self) -> list[int]:
        """Input positions of the venues that qualified alone, best all-in total first (ties
        in score order), the sole venue of a one-part split left out."""
    @property
    def reason(self) -> SplitReason | None:
        """Why this route (``None`` if refused)."""
    @property
    def proven_optimal(self) -> bool:
        """True if every allocation made is proven optimal."""
    @property
    def refusal(self) -> SplitRefusal | None:
        """Why the order cannot be split (``None``: it is)."""
    @property
    def figure(self) -> Decimal | None:
        """The refusal's figure: the caps' total (``"depth"``, ``"liquidity_ratio"``) or the
        most that can be placed (``"lots"``)."""

@final
class Screen:
    """What ``screen_venues`` found: a verdict per venue, the ranked candidates, the books'
    versions and update times when they were screened."""

    @property
    def verdicts(self) -> list[Verdict]:
        """One verdict per input venue."""
    @property
    def qualified(self) -> list[int]:
        """Input positions of the qualified venues, best composite score first."""
    @property
    def ordered(self) -> list[int]:
        """Input positions of the qualified venues in the order's ranking (its strategy's
        order), best first."""
    @property
    def reason(self) -> Ranked | None:
        """Why the first of ``ordered`` won; ``None`` if none qualified."""
    @property
    def candidates(self) -> list[Candidate]:
        """The walked venues (qualified or not), best composite score first."""
    def candidate(self, index: int) -> Candidate | None:
        """The candidate of the venue at input position ``index``, if it was walked."""
    def has_best_price(self, index: int) -> bool:
        """True if that venue qualified with the best fee-inclusive price of the qualified."""
    @property
    def split(self) -> Split | None:
        """The split, when the screen's ranking was ``"split"``; ``None`` otherwise."""
    @property
    def versions(self) -> list[int]:
        """Each input book's ``version`` when it was screened."""
    @property
    def updated_at_ns(self) -> list[int]:
        """Each input book's ``updated_at_ns`` when it was screened."""
    @property
    def balance_caps(self) -> list[Decimal | None]:
        """Each input venue's balance cap (base units) as the screen applied it: the one
        given, or for a buy with quote funds what they paid for at the screened book's prices
        (the lower of the two when both were given); None where none bound."""
    def __len__(self) -> int: ...

#: ``ranking`` (of ``screen_venues``, ``screen_set`` and ``ScreenRequest``) orders the qualified
#: venues of a screen (``Screen.ordered``) by a strategy: ``"best_execution"`` (the default, and
#: ``"split"``, which also splits the order: ``Screen.split``), ``"lowest_latency"``,
#: ``"best_liquidity"`` or ``"cost_optimization"``. ``preferences`` gives each venue's position
#: among the order's preferred venues (or ``None``), for the split.

def screen_venues(
    books: Sequence[OrderBook],
    side: TakerSide,
    quantity: DecimalLike,
    rules: Sequence[VenueRules],
    latencies_ms: Sequence[float],
    reliabilities: Sequence[float],
    balance_caps: Sequence[DecimalLike | None] | None,
    weights: Weights | None,
    max_slippage_bps: BpsLike,
    limit_price: DecimalLike | None,
    min_liquidity_ratio: float,
    now_ns: int,
    max_age_ns: int,
    ranking: str | None = None,
    preferences: Sequence[int | None] | None = None,
) -> Screen:
    """Which venues can take the whole order on their own under every constraint, ranked.

    Per venue, in order: book freshness (``now_ns``, ``max_age_ns``), a non-empty side, the
    amount against the lot size, minimum, maximum (``rules``) and balance cap; then the venues
    that passed are walked, priced, scored and ranked (normalised over exactly those), and each
    walk is checked: complete, within ``limit_price``, within the slippage bound, depth at
    least ``min_liquidity_ratio`` times the amount, notional at least the minimum.
    """

@final
class ScreenRequest:
    """One order's screen over its venues: ``screen_venues``' arguments but the clock, by name.

    The venues' sequences (``books``, ``rules``, ``latencies_ms``, ``reliabilities``) are
    converted here; the order's figures when it is screened. Errors name the argument."""

    def __new__(
        cls,
        books: Sequence[OrderBook],
        side: TakerSide,
        quantity: DecimalLike,
        rules: Sequence[VenueRules],
        latencies_ms: Sequence[float],
        reliabilities: Sequence[float],
        *,
        max_slippage_bps: BpsLike,
        min_liquidity_ratio: float,
        balance_caps: Sequence[DecimalLike | None] | None = None,
        weights: Weights | None = None,
        limit_price: DecimalLike | None = None,
        ranking: str | None = None,
        preferences: Sequence[int | None] | None = None,
    ) -> ScreenRequest: ...
    @staticmethod
    def over(
        venues: VenueSet,
        side: TakerSide,
        quantity: DecimalLike,
        *,
        max_slippage_bps: BpsLike,
        min_liquidity_ratio: float,
        balance_caps: Sequence[DecimalLike | None] | None = None,
        weights: Weights | None = None,
        limit_price: DecimalLike | None = None,
        ranking: str | None = None,
        preferences: Sequence[int | None] | None = None,
        quote_funds: Sequence[DecimalLike | None] | None = None,
    ) -> ScreenRequest:
        """A request over a prepared ``VenueSet`` (its venues converted once), with
        ``screen_set``'s order arguments, ``quote_funds`` included."""
    def screen(self, now_ns: int, max_age_ns: int) -> Screen:
        """This request's screen at ``now_ns`` (``screen_venues`` with these arguments)."""
    def __len__(self) -> int: ...

def screen_batch(requests: Sequence[ScreenRequest], now_ns: int, max_age_ns: int) -> list[Screen]:
    """Screens several orders in one call, without holding the GIL while the books are walked;
    the whole batch sees one version of each book. Errors name the request (``requests[i]``)."""

@final
class VenueSet:
    """The venues of a symbol as the router screens them again and again: books, rules and
    health figures, converted once (``screen_set``, ``rank_set``). The books are the live
    objects: each call reads their current version."""

    def __new__(
        cls,
        books: Sequence[OrderBook],
        rules: Sequence[VenueRules],
        latencies_ms: Sequence[float],
        reliabilities: Sequence[float],
    ) -> VenueSet: ...
    def __len__(self) -> int: ...

def rank_set(
    venues: VenueSet,
    side: TakerSide,
    quantity: DecimalLike,
    weights: Weights | None = None,
    max_slippage_bps: BpsLike = 100.0,
) -> Ranking:
    """``rank_venues`` over a prepared ``VenueSet``: its rules' taker fees and its health
    figures (the other rules do not rank, as in ``rank_venues``)."""

def screen_set(
    venues: VenueSet,
    side: TakerSide,
    quantity: DecimalLike,
    balance_caps: Sequence[DecimalLike | None] | None,
    weights: Weights | None,
    max_slippage_bps: BpsLike,
    limit_price: DecimalLike | None,
    min_liquidity_ratio: float,
    now_ns: int,
    max_age_ns: int,
    ranking: str | None = None,
    preferences: Sequence[int | None] | None = None,
    quote_funds: Sequence[DecimalLike | None] | None = None,
) -> Screen:
    """``screen_venues`` over a prepared ``VenueSet``. ``quote_funds`` (one per venue, or
    None) caps a buy at what the funds pay for at the screened book's prices with the venue's
    taker fee on top, in whole lots (counted no further than the order, unless the screen
    splits it); with a ``balance_caps`` entry too, the lower cap applies. A sell ignores them.
    ``Screen.balance_caps`` says which caps applied."""

def excerpt(text: str) -> str:
    """What an error message quotes of ``text``: the text itself if it has at most 40
    characters, else its first 40, ``"..."`` and its length (``"1111...(1000000 chars)"``)."""
