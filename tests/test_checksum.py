"""The exchange book checksums of the Rust core (Kraken v2, OKX) against their documentation
and against an obvious pure-Python reference built from the books' decimal levels with zlib.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from itertools import zip_longest

from hypothesis import given
from hypothesis import strategies as st

from sor import OrderBook

# Kraken's worked example, https://docs.kraken.com/api/docs/guides/spot-ws-book-v2 (BTC/USD,
# price precision 1, quantity precision 8): the snapshot's checksum is 3310070434.
KRAKEN_BIDS = [
    ("45283.5", "0.10000000"),
    ("45283.4", "1.54582015"),
    ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"),
    ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"),
    ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]
KRAKEN_ASKS = [
    ("45285.2", "0.00100000"),
    ("45286.4", "1.54571953"),
    ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"),
    ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"),
    ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]


def kraken_reference(book: OrderBook) -> int:
    """Kraken's string as its guide builds it: fixed-precision, '.' removed, zeros stripped."""

    def digits(value: Decimal, decimals: int) -> str:
        return f"{value:.{decimals}f}".replace(".", "").lstrip("0")

    text = "".join(
        digits(level.price, book.price_decimals) + digits(level.size, book.size_decimals)
        for side in ("ask", "bid")
        for level in book.levels(side, 10)
    )
    return zlib.crc32(text.encode())


def okx_reference(book: OrderBook) -> int:
    """OKX's string: best 25 bids and asks interleaved as price:size, joined by ':'; signed."""

    def plain(value: Decimal) -> str:
        text = f"{value:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    bids = [f"{plain(lv.price)}:{plain(lv.size)}" for lv in book.levels("bid", 25)]
    asks = [f"{plain(lv.price)}:{plain(lv.size)}" for lv in book.levels("ask", 25)]
    items = [item for pair in zip_longest(bids, asks) for item in pair if item is not None]
    crc = zlib.crc32(":".join(items).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def make_book(
    price_decimals: int,
    size_decimals: int,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
) -> OrderBook:
    book = OrderBook(price_decimals, size_decimals)
    book.apply_snapshot(bids, asks)
    return book


def test_kraken_checksum_reproduces_the_documented_v2_example() -> None:
    book = make_book(1, 8, KRAKEN_BIDS, KRAKEN_ASKS)
    assert book.kraken_checksum() == 3_310_070_434
    assert kraken_reference(book) == 3_310_070_434


def test_kraken_checksum_ignores_levels_beyond_the_tenth_and_sees_the_top_ones() -> None:
    book = make_book(1, 8, KRAKEN_BIDS, KRAKEN_ASKS)
    book.apply_deltas([("bid", "45200.0", "1"), ("ask", "45350.0", "2")])
    assert book.kraken_checksum() == 3_310_070_434
    book.apply_delta("ask", "45285.2", "0.00100001")
    assert book.kraken_checksum() != 3_310_070_434


def test_okx_checksum_reproduces_the_documented_examples() -> None:
    # https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
    even = make_book(1, 0, [("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")])
    assert even.okx_checksum() == -1_881_014_294
    uneven = make_book(1, 0, [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")])
    assert uneven.okx_checksum() == 831_078_360
    assert okx_reference(even) == -1_881_014_294
    assert okx_reference(uneven) == 831_078_360


def test_okx_checksum_writes_values_without_padding_zeros() -> None:
    book = make_book(4, 8, [("3366.1000", "7.00000000")], [("3366.8", "9.5")])
    assert book.okx_checksum() == okx_reference(book)
    expected = zlib.crc32(b"3366.1:7:3366.8:9.5")
    assert book.okx_checksum() == (expected - (1 << 32) if expected >= 1 << 31 else expected)


def test_empty_book_checksums_are_zero() -> None:
    assert OrderBook(2, 8).kraken_checksum() == 0
    assert OrderBook(2, 8).okx_checksum() == 0


@st.composite
def books(draw: st.DrawFn) -> OrderBook:
    """Books of 0..40 levels per side at any precision, with prices and sizes of any length."""
    price_decimals = draw(st.integers(0, 12))
    size_decimals = draw(st.integers(0, 12))
    big = draw(st.booleans())
    ticks = draw(
        st.lists(st.integers(1, 10**15 if big else 10**6), min_size=0, max_size=80, unique=True)
    )
    ticks.sort()
    split = draw(st.integers(0, len(ticks)))
    sizes = st.integers(1, 10**17 if big else 10**4)
    scale_p, scale_s = Decimal(10) ** -price_decimals, Decimal(10) ** -size_decimals

    def level(tick: int) -> tuple[Decimal, Decimal]:
        return (tick * scale_p, draw(sizes) * scale_s)

    bids = [level(t) for t in reversed(ticks[:split])]
    asks = [level(t) for t in ticks[split:]]
    return make_book(price_decimals, size_decimals, bids, asks)  # type: ignore[arg-type]


@given(books())
def test_kraken_checksum_equals_the_python_reference(book: OrderBook) -> None:
    assert book.kraken_checksum() == kraken_reference(book)


@given(books())
def test_okx_checksum_equals_the_python_reference(book: OrderBook) -> None:
    assert book.okx_checksum() == okx_reference(book)
