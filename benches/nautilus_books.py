"""nautilus_trader baselines: L2 books built, updated and walked through its public Python API.

Importing this module needs nautilus_trader (the ``bench`` extra); the benchmarks that use it call
``pytest.importorskip("nautilus_trader")`` first, so they are skipped where it is not installed.

Prices and sizes are built with ``Price(float, precision)`` / ``Quantity(float, precision)``:
about six times faster than ``Price.from_str`` in 1.221 and exact at these precisions, so
nautilus gets its fastest path from exchange strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nautilus_trader.model.book import (  # type: ignore[import-not-found,unused-ignore]
    OrderBook,
)
from nautilus_trader.model.data import (  # type: ignore[import-not-found,unused-ignore]
    BookOrder,
    OrderBookDelta,
    OrderBookDeltas,
)
from nautilus_trader.model.enums import (  # type: ignore[import-not-found,unused-ignore]
    BookAction,
    BookType,
    OrderSide,
    RecordFlag,
)
from nautilus_trader.model.identifiers import (  # type: ignore[import-not-found,unused-ignore]
    InstrumentId,
)
from nautilus_trader.model.objects import (  # type: ignore[import-not-found,unused-ignore]
    Price,
    Quantity,
)

from .data import (
    LOTS_PER_UNIT,
    PRICE_DECIMALS,
    SIZE_DECIMALS,
    TICKS_PER_UNIT,
    BookData,
    DeltaStream,
    Level,
    Side,
    size_str,
)

INSTRUMENT = InstrumentId.from_str("BTCUSDT.BINANCE")
"""The instrument every nautilus book here is for."""

BUY = OrderSide.BUY
"""nautilus' order side for a buy (walks the asks)."""

_SIDES = {"bid": OrderSide.BUY, "ask": OrderSide.SELL}
_ACTIONS = {"insert": BookAction.ADD, "update": BookAction.UPDATE, "delete": BookAction.DELETE}


def new_book() -> OrderBook:
    """An empty L2 (market-by-price) book."""
    return OrderBook(INSTRUMENT, BookType.L2_MBP)


def quantity(lots: int) -> Quantity:
    """A nautilus quantity for ``lots`` at the book's size precision."""
    return Quantity(float(size_str(lots)), SIZE_DECIMALS)


def delta_from_strings(side: Side, price: str, size: str, flags: int = 0) -> OrderBookDelta:
    """An L2 delta from exchange strings, as a feed adapter builds it (size 0 deletes)."""
    amount = float(size)
    order = BookOrder(
        _SIDES[side], Price(float(price), PRICE_DECIMALS), Quantity(amount, SIZE_DECIMALS), 0
    )
    action = BookAction.UPDATE if amount else BookAction.DELETE
    return OrderBookDelta(INSTRUMENT, action, order, flags, 0, 0, 0)


def snapshot_deltas(
    bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]
) -> OrderBookDeltas:
    """A snapshot as nautilus represents one: CLEAR, then one ADD per level, flagged."""
    snapshot = int(RecordFlag.F_SNAPSHOT)
    deltas = [OrderBookDelta.clear(INSTRUMENT, 0, 0, 0)]
    for side, levels in ((OrderSide.BUY, bids), (OrderSide.SELL, asks)):
        for price, size in levels:
            order = BookOrder(
                side,
                Price(float(price), PRICE_DECIMALS),
                Quantity(float(size), SIZE_DECIMALS),
                0,
            )
            deltas.append(OrderBookDelta(INSTRUMENT, BookAction.ADD, order, snapshot, 0, 0, 0))
    return OrderBookDeltas(INSTRUMENT, deltas)


def apply_snapshot_strings(
    book: OrderBook, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]
) -> None:
    """Replaces the book's levels with a snapshot given as exchange strings."""
    book.apply_deltas(snapshot_deltas(bids, asks))


def build_book(data: BookData) -> OrderBook:
    """A nautilus book holding the levels of ``data``."""
    book = new_book()
    apply_snapshot_strings(book, data.bid_strings(), data.ask_strings())
    return book


def stream_deltas(stream: DeltaStream) -> list[OrderBookDelta]:
    """The stream's deltas as prebuilt nautilus objects (ADD / UPDATE / DELETE)."""
    out = []
    for delta in stream.deltas:
        order = BookOrder(
            _SIDES[delta.side],
            Price(delta.price / TICKS_PER_UNIT, PRICE_DECIMALS),
            Quantity(float(size_str(delta.size)), SIZE_DECIMALS),
            0,
        )
        out.append(OrderBookDelta(INSTRUMENT, _ACTIONS[delta.action], order, 0, 0, 0, 0))
    return out


def batch(deltas: Sequence[OrderBookDelta]) -> OrderBookDeltas:
    """One ``OrderBookDeltas`` batch of ``deltas``."""
    return OrderBookDeltas(INSTRUMENT, list(deltas))


def apply_each(book: OrderBook, deltas: Sequence[OrderBookDelta]) -> None:
    """Applies prebuilt deltas one call at a time."""
    apply = book.apply_delta
    for delta in deltas:
        apply(delta)


def apply_each_from_strings(book: OrderBook, deltas: Sequence[tuple[Side, str, str]]) -> None:
    """Builds each delta from exchange strings and applies it, one call at a time."""
    apply = book.apply_delta
    for side, price, size in deltas:
        apply(delta_from_strings(side, price, size))


def apply_batch_from_strings(book: OrderBook, deltas: Sequence[tuple[Side, str, str]]) -> None:
    """Builds every delta from exchange strings and applies them as one ``OrderBookDeltas``."""
    built = [delta_from_strings(side, price, size) for side, price, size in deltas]
    book.apply_deltas(OrderBookDeltas(INSTRUMENT, built))


def best_venue(books: Sequence[OrderBook], qty: Quantity, fee_factors: Sequence[float]) -> int:
    """The venue with the lowest fee-inclusive average price for a buy: one
    ``get_avg_px_for_quantity`` per venue, then a Python min."""
    best_index, best_price = -1, float("inf")
    for index, book in enumerate(books):
        price = book.get_avg_px_for_quantity(qty, BUY) * fee_factors[index]
        if price < best_price:
            best_index, best_price = index, price
    return best_index


def levels(book: OrderBook) -> BookData:
    """The book's levels in exact ticks and lots, best first."""

    def convert(side_levels: Sequence[Any]) -> tuple[Level, ...]:
        return tuple(
            Level(
                round(level.price.as_double() * TICKS_PER_UNIT),
                round(level.size() * LOTS_PER_UNIT),
            )
            for level in side_levels
        )

    return BookData(bids=convert(book.bids()), asks=convert(book.asks()))
