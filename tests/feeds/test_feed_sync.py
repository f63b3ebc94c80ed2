"""The per-symbol sync state machine under Binance's sequence rule (no network).

The cases follow the steps of Binance's "How to manage a local order book correctly"
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly).
"""

from __future__ import annotations

import random
import zlib
from decimal import Decimal

from sor import OrderBook
from sor.feeds import (
    Backoff,
    BinanceSpotAdapter,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BookSync,
    Feed,
    FeedConfig,
    Outcome,
    SyncState,
)

MARKET = BookMarket("BTC/USDT", price_decimals=2, size_decimals=8)


def adapter() -> BinanceSpotAdapter:
    return BinanceSpotAdapter([MARKET], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9")


def new_sync(max_buffer: int = 100, source: BinanceSpotAdapter | None = None) -> BookSync:
    source = source or adapter()
    return BookSync(
        MARKET.symbol,
        source.new_book(MARKET.symbol),
        source,
        Backoff(rng=random.Random(1)),
        max_buffer=max_buffer,
        now=0.0,
    )


def snapshot(last_update_id: int) -> BookSnapshot:
    return BookSnapshot(
        MARKET.symbol,
        last_update_id,
        bids=[("100.00000000", "1.00000000"), ("99.00000000", "2.00000000")],
        asks=[("101.00000000", "1.50000000"), ("102.00000000", "3.00000000")],
    )


def delta(first: int, final: int, *changes: tuple[str, str, str]) -> BookDelta:
    return BookDelta(MARKET.symbol, first, final, [(s, p, q) for s, p, q in changes])  # type: ignore[misc]


def levels(book: OrderBook, side: str) -> list[tuple[Decimal, Decimal]]:
    """The levels of a side as ``(price, size)`` decimals, best first."""
    return [(level.price, level.size) for level in book.levels(side)]  # type: ignore[arg-type]


def lv(price: str, size: str) -> tuple[Decimal, Decimal]:
    return (Decimal(price), Decimal(size))


def test_deltas_before_the_snapshot_are_buffered_and_the_book_stays_empty() -> None:
    sync = new_sync()
    assert sync.on_delta(delta(5, 7, ("bid", "100.5", "1")), now=1.0) is Outcome.BUFFERED
    assert sync.state is SyncState.SYNCING
    assert sync.buffered == 1
    assert sync.book.level_count("bid") == 0


def test_buffered_deltas_up_to_last_update_id_are_dropped_and_the_rest_replayed() -> None:
    sync = new_sync()
    sync.on_delta(delta(95, 100, ("bid", "100", "9")), now=1.0)  # u <= lastUpdateId: dropped
    sync.on_delta(delta(101, 103, ("bid", "100.5", "1")), now=1.0)  # spans 101 = lastUpdateId + 1
    sync.on_delta(delta(104, 104, ("ask", "101", "0")), now=1.0)
    assert sync.on_snapshot(snapshot(100), now=2.0) is Outcome.LIVE
    assert sync.state is SyncState.LIVE
    assert sync.book.sequence == 104
    assert levels(sync.book, "bid") == [lv("100.5", "1"), lv("100", "1"), lv("99", "2")]
    assert levels(sync.book, "ask") == [lv("102", "3")]
    assert sync.buffered == 0


def test_first_event_may_start_before_the_snapshot_if_it_spans_last_update_id_plus_one() -> None:
    sync = new_sync()
    sync.on_delta(delta(98, 102, ("bid", "99", "0")), now=1.0)  # U <= 101 <= u
    assert sync.on_snapshot(snapshot(100), now=2.0) is Outcome.LIVE
    assert sync.book.sequence == 102
    assert levels(sync.book, "bid") == [lv("100", "1")]


def test_snapshot_older_than_the_first_buffered_event_is_refused_and_the_buffer_kept() -> None:
    sync = new_sync()
    sync.on_delta(delta(110, 112, ("bid", "100.5", "1")), now=1.0)
    assert sync.on_snapshot(snapshot(100), now=2.0) is Outcome.STALE_SNAPSHOT
    assert sync.state is SyncState.SYNCING
    assert sync.book.level_count("bid") == 0
    assert sync.buffered == 1
    # A newer snapshot that the buffered event continues is accepted.
    assert sync.on_snapshot(snapshot(109), now=3.0) is Outcome.LIVE
    assert sync.book.sequence == 112


def test_event_that_skips_an_update_id_is_a_gap() -> None:
    sync = new_sync()
    assert sync.on_snapshot(snapshot(100), now=1.0) is Outcome.LIVE
    assert sync.on_delta(delta(101, 105, ("bid", "100.5", "1")), now=2.0) is Outcome.APPLIED
    assert sync.on_delta(delta(107, 108, ("bid", "100.6", "1")), now=3.0) is Outcome.GAP
    assert sync.book.sequence == 105, "the gapped event is not applied"


def test_gap_between_buffered_events_is_found_during_the_replay() -> None:
    sync = new_sync()
    sync.on_delta(delta(101, 102, ("bid", "100.5", "1")), now=1.0)
    sync.on_delta(delta(104, 105, ("bid", "100.6", "1")), now=1.0)  # 103 is missing
    assert sync.on_snapshot(snapshot(100), now=2.0) is Outcome.GAP


def test_gap_before_any_event_connects_to_the_snapshot_means_the_snapshot_is_stale() -> None:
    sync = new_sync()
    assert sync.on_snapshot(snapshot(100), now=1.0) is Outcome.LIVE  # nothing buffered yet
    assert sync.on_delta(delta(150, 151, ("bid", "100.5", "1")), now=2.0) is Outcome.STALE_SNAPSHOT


def test_gap_is_real_once_a_received_event_reached_the_snapshot() -> None:
    buffered_first = new_sync()
    buffered_first.on_delta(delta(99, 100, ("bid", "100", "1")), now=1.0)  # ends at the snapshot
    assert buffered_first.on_snapshot(snapshot(100), now=2.0) is Outcome.LIVE
    assert buffered_first.on_delta(delta(102, 102), now=3.0) is Outcome.GAP

    snapshot_first = new_sync()
    assert snapshot_first.on_snapshot(snapshot(100), now=1.0) is Outcome.LIVE
    assert snapshot_first.on_delta(delta(99, 100), now=2.0) is Outcome.SKIPPED
    assert snapshot_first.on_delta(delta(102, 102), now=3.0) is Outcome.GAP


def test_events_already_in_the_book_are_skipped() -> None:
    sync = new_sync()
    sync.on_snapshot(snapshot(100), now=1.0)
    before = sync.book.copy()
    assert sync.on_delta(delta(90, 100, ("bid", "100", "5")), now=2.0) is Outcome.SKIPPED
    assert sync.book == before


def test_update_that_would_cross_the_book_is_refused_whole() -> None:
    sync = new_sync()
    sync.on_snapshot(snapshot(100), now=1.0)
    before = sync.book.copy()
    crossing = delta(101, 101, ("ask", "102", "7"), ("bid", "101", "1"))
    assert sync.on_delta(crossing, now=2.0) is Outcome.CROSSED
    assert sync.book == before, "all or nothing: the first change was not applied either"
    assert sync.book.sequence == 100


def test_update_with_unparsable_price_is_refused_as_malformed() -> None:
    sync = new_sync()
    sync.on_snapshot(snapshot(100), now=1.0)
    assert sync.on_delta(delta(101, 101, ("bid", "12x.5", "1")), now=2.0) is Outcome.MALFORMED
    assert sync.on_delta(delta(101, 101, ("bid", "100.001", "1")), now=2.0) is Outcome.MALFORMED


def test_crossed_snapshot_is_refused_and_leaves_an_empty_book() -> None:
    sync = new_sync()
    bad = BookSnapshot(MARKET.symbol, 100, [("101", "1")], [("100", "1")])
    assert sync.on_snapshot(bad, now=1.0) is Outcome.BAD_SNAPSHOT
    assert sync.state is SyncState.SYNCING
    assert sync.book.level_count("bid") == 0


def test_reset_empties_the_book_and_a_live_book_becomes_resyncing() -> None:
    sync = new_sync()
    sync.on_snapshot(snapshot(100), now=1.0)
    sync.on_delta(delta(101, 101, ("bid", "100.5", "1")), now=2.0)
    sync.reset()
    assert sync.state is SyncState.RESYNCING
    assert sync.book.level_count("bid") == sync.book.level_count("ask") == 0
    assert sync.live_since is None
    assert sync.on_delta(delta(102, 102, ("bid", "100.5", "2")), now=3.0) is Outcome.BUFFERED


def test_last_update_moves_only_when_the_book_changes() -> None:
    sync = new_sync()
    sync.on_snapshot(snapshot(100), now=5.0)
    assert sync.age(now=7.0) == 2.0
    sync.on_delta(delta(90, 95), now=8.0)  # skipped
    assert sync.age(now=8.0) == 3.0
    sync.on_delta(delta(101, 101, ("bid", "100.5", "1")), now=9.0)
    assert sync.age(now=9.5) == 0.5


def test_buffer_keeps_only_the_newest_events() -> None:
    sync = new_sync(max_buffer=3)
    for first in range(101, 106):
        sync.on_delta(delta(first, first, ("bid", "100.5", str(first))), now=1.0)
    assert sync.buffered == 3
    # The oldest two were dropped, so a snapshot at 100 no longer connects: refetch.
    assert sync.on_snapshot(snapshot(100), now=2.0) is Outcome.STALE_SNAPSHOT
    assert sync.on_snapshot(snapshot(102), now=2.0) is Outcome.LIVE
    assert levels(sync.book, "bid")[0] == lv("100.5", "105")


class _ChecksummedAdapter(BinanceSpotAdapter):
    """Binance's rule plus a CRC32 of the best bid, standing in for Kraken/OKX checksums."""

    def checksum_matches(self, book: OrderBook, checksum: int) -> bool:
        best = book.best_bid()
        text = f"{best.price_ticks}:{best.size_lots}" if best else ""
        return zlib.crc32(text.encode()) == checksum


def test_delta_whose_checksum_does_not_match_the_book_is_reported() -> None:
    source = _ChecksummedAdapter(
        [MARKET], ws_url="ws://127.0.0.1:9/ws", rest_url="http://127.0.0.1:9"
    )
    sync = new_sync(source=source)
    sync.on_snapshot(snapshot(100), now=1.0)
    good = delta(101, 101, ("bid", "100.5", "1"))
    good.checksum = zlib.crc32(b"10050:100000000")
    assert sync.on_delta(good, now=2.0) is Outcome.APPLIED
    bad = delta(102, 102, ("bid", "100.5", "2"))
    bad.checksum = zlib.crc32(b"10050:100000000")  # the book now holds 2, not 1
    assert sync.on_delta(bad, now=3.0) is Outcome.CHECKSUM_FAILED


def test_buffer_is_bounded_in_bytes_too_dropping_the_oldest() -> None:
    # 120 buffered deltas of 1 MB held 231 MB when only their count was bounded.
    source = adapter()
    sync = BookSync(
        MARKET.symbol,
        source.new_book(MARKET.symbol),
        source,
        Backoff(rng=random.Random(1)),
        max_buffer=10_000,
        max_buffer_bytes=3_000_000,
        now=0.0,
    )
    for first in range(101, 221):
        sync.on_delta(delta(first, first, ("bid", "100.5", str(first))), now=1.0, size=1_000_000)
    assert sync.buffered == 3
    assert sync.buffered_bytes == 3_000_000
    assert sync.on_snapshot(snapshot(217), now=2.0) is Outcome.LIVE
    assert levels(sync.book, "bid")[0] == lv("100.5", "220")
    assert sync.buffered_bytes == 0


def test_feed_caps_frames_at_the_adapter_s_largest_message() -> None:
    assert adapter().max_message_size == 1 << 20
    feed = Feed(adapter(), FeedConfig(max_message_size=64 * 1024))
    assert feed.max_message_size == 64 * 1024, "the config may lower it"
    assert Feed(adapter()).max_message_size == 1 << 20, "but the adapter's is the default cap"
