"""The synchronisation state of one symbol's book: syncing, live, resyncing (no I/O here).

A :class:`BookSync` buffers deltas until a snapshot arrives, checks that the snapshot is not
older than the buffered stream, replays the buffer on top of it, then applies each delta the
exchange's sequence rule admits. For exchanges that send snapshots on the stream
(:attr:`ExchangeAdapter.snapshots_on_stream`) nothing is buffered: a delta that arrives before
the snapshot is older than it (the snapshot follows it on the stream) and is dropped, and a
snapshot that arrives while the book is live replaces the book. After each delta the book is
cut to the adapter's :attr:`ExchangeAdapter.max_depth`, if it has one, before its checksum is
checked.

Every method returns an :class:`Outcome`; the feed decides what to count and when to fetch a
new snapshot. A book that may be wrong is never kept: on any failure the feed calls
:meth:`BookSync.reset`, which empties it until the next snapshot.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

from sor._core import OrderBook
from sor._validate import StrEnum
from sor.errors import BookError, InvalidInput
from sor.feeds.adapter import ExchangeAdapter
from sor.feeds.backoff import Backoff
from sor.feeds.events import BookDelta, BookSnapshot, SequenceVerdict

__all__ = ["FAILURES", "BookSync", "Outcome", "SyncState"]


class SyncState(StrEnum):
    """Where a book is in its life cycle."""

    SYNCING = "syncing"
    """Waiting for its first snapshot (deltas are buffered)."""
    LIVE = "live"
    """In sync with the exchange: every delta is checked and applied."""
    RESYNCING = "resyncing"
    """Was live, then lost sync (gap, bad update, reconnect): empty until the next snapshot."""
    STOPPED = "stopped"
    """The feed is stopped."""


class Outcome(Enum):
    """What happened to one delta or snapshot."""

    BUFFERED = "buffered"
    """The book is waiting for a snapshot; the delta was kept for replay."""
    SKIPPED = "skipped"
    """The delta was older than the book and dropped."""
    DROPPED = "dropped"
    """The book waits for a snapshot on the stream, which will contain the delta: dropped."""
    APPLIED = "applied"
    """The delta was applied."""
    LIVE = "live"
    """The snapshot was applied and the buffered deltas replayed: the book is live."""
    STALE_SNAPSHOT = "stale_snapshot"
    """The snapshot is older than the first delta received: fetch another one."""
    BAD_SNAPSHOT = "bad_snapshot"
    """The snapshot could not be applied (crossed, unparsable levels)."""
    GAP = "gap"
    """Updates are missing between the book and the delta."""
    CROSSED = "crossed"
    """The delta would have crossed the book; it was refused."""
    MALFORMED = "malformed"
    """The delta's levels could not be parsed; it was refused."""
    CHECKSUM_FAILED = "checksum_failed"
    """After the delta the book's checksum did not match the exchange's."""


#: Outcomes after which the book may be wrong and must be rebuilt from a fresh snapshot.
FAILURES = frozenset({Outcome.GAP, Outcome.CROSSED, Outcome.MALFORMED, Outcome.CHECKSUM_FAILED})


class BookSync:
    """One symbol's book and the state that keeps it in sync with the exchange."""

    def __init__(
        self,
        symbol: str,
        book: OrderBook,
        adapter: ExchangeAdapter,
        backoff: Backoff,
        *,
        max_buffer: int,
        now: float,
        max_buffer_bytes: int | None = None,
    ) -> None:
        self.symbol = symbol
        self.book = book
        self.backoff = backoff
        """Delays between this symbol's snapshot attempts."""
        self.state = SyncState.SYNCING
        self.last_update = now
        """When the book last changed (monotonic seconds); the feed's start if it never did."""
        self.live_since: float | None = None
        """When the book last became live (monotonic seconds), None if it is not live."""
        self._adapter = adapter
        self._buffer: deque[BookDelta] = deque(maxlen=max_buffer)
        # The wire size of each buffered delta's message, and their sum, bounded by
        # max_buffer_bytes (None: by the count alone).
        self._sizes: deque[int] = deque(maxlen=max_buffer)
        self._buffered_bytes = 0
        self._max_buffer_bytes = max_buffer_bytes
        # True once the stream is known to reach the current snapshot (a delta was applied on
        # top of it, or a received delta ended at or after it): until then a gap means the
        # snapshot was older than the stream, not that the stream lost updates.
        self._bridged = False
        # The highest final sequence among the deltas buffered since the last reset.
        self._buffered_through = -1
        self._ever_live = False
        self._stream_snapshots = adapter.snapshots_on_stream
        self._max_depth = adapter.max_depth

    @property
    def buffered(self) -> int:
        """Number of deltas waiting for a snapshot."""
        return len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        """Wire bytes of the messages of the deltas waiting for a snapshot."""
        return self._buffered_bytes

    def age(self, now: float) -> float:
        """Seconds since the book last changed."""
        return max(0.0, now - self.last_update)

    def reset(self) -> None:
        """Throws the book away: empty, waiting for a fresh snapshot, buffering deltas."""
        self.state = SyncState.RESYNCING if self._ever_live else SyncState.SYNCING
        self.live_since = None
        self._clear_buffer()
        self._bridged = False
        self._buffered_through = -1
        self.book.clear()

    def stop(self) -> None:
        """Marks the book stopped (the feed is no longer running); its levels are cleared."""
        self.reset()
        self.state = SyncState.STOPPED

    def on_delta(self, delta: BookDelta, now: float, size: int = 0) -> Outcome:
        """Buffers ``delta`` while waiting for a snapshot, otherwise checks and applies it.

        ``size`` is the wire size (bytes) of the message that carried it: the buffer keeps at
        most ``max_buffer`` deltas and ``max_buffer_bytes`` bytes, dropping the oldest first
        (the next snapshot then no longer connects, and another is fetched).
        """
        if self.state is not SyncState.LIVE:
            if self._stream_snapshots:
                return Outcome.DROPPED
            buffer = self._buffer
            sizes = self._sizes
            if len(buffer) == buffer.maxlen and sizes:
                self._buffered_bytes -= sizes[0]  # the append below drops the oldest
            buffer.append(delta)
            sizes.append(size)
            self._buffered_bytes += size
            limit = self._max_buffer_bytes
            if limit is not None:
                while self._buffered_bytes > limit and buffer:
                    buffer.popleft()
                    self._buffered_bytes -= sizes.popleft()
            self._buffered_through = max(self._buffered_through, delta.final_sequence)
            return Outcome.BUFFERED
        return self._apply(delta, now)

    def _clear_buffer(self) -> None:
        self._buffer.clear()
        self._sizes.clear()
        self._buffered_bytes = 0

    def on_snapshot(self, snapshot: BookSnapshot, now: float) -> Outcome:
        """Rebuilds the book from ``snapshot`` and replays the buffered deltas on top of it.

        Returns :attr:`Outcome.LIVE` on success. A snapshot older than the first buffered delta
        that it should connect to is refused (:attr:`Outcome.STALE_SNAPSHOT`) and the buffer is
        kept for the next snapshot; a failure during the replay is returned as is. A snapshot
        that cannot be applied (:attr:`Outcome.BAD_SNAPSHOT`) leaves the book empty and, if it
        was live, resyncing.
        """
        verdict = self._adapter.verdict
        for delta in self._buffer:
            first = verdict(snapshot.sequence, delta)
            if first is SequenceVerdict.SKIP:
                continue
            if first is SequenceVerdict.GAP:
                return Outcome.STALE_SNAPSHOT
            break
        try:
            self.book.apply_snapshot(snapshot.bids, snapshot.asks, sequence=snapshot.sequence)
        except (BookError, InvalidInput, TypeError):
            if self.state is SyncState.LIVE:
                self.reset()  # a snapshot on the stream was meant to replace the book
            self.book.clear()
            return Outcome.BAD_SNAPSHOT
        self.state = SyncState.LIVE
        self._ever_live = True
        self.live_since = now
        self.last_update = now
        # A snapshot on the stream is followed by the deltas that continue it: any gap after it
        # is a lost update, never a snapshot older than the stream.
        self._bridged = self._stream_snapshots or self._buffered_through >= snapshot.sequence
        pending = list(self._buffer)
        self._clear_buffer()
        self._buffered_through = -1
        for delta in pending:
            outcome = self._apply(delta, now)
            if outcome in FAILURES or outcome is Outcome.STALE_SNAPSHOT:
                return outcome
        return Outcome.LIVE

    def _apply(self, delta: BookDelta, now: float) -> Outcome:
        verdict = self._adapter.verdict(self.book.sequence, delta)
        if verdict is SequenceVerdict.SKIP:
            if delta.final_sequence >= self.book.sequence:
                self._bridged = True  # the stream has reached the snapshot
            return Outcome.SKIPPED
        if verdict is SequenceVerdict.GAP:
            return Outcome.GAP if self._bridged else Outcome.STALE_SNAPSHOT
        try:
            self.book.apply_deltas(delta.changes, sequence=delta.final_sequence)
        except BookError:
            return Outcome.CROSSED
        except (InvalidInput, TypeError):
            return Outcome.MALFORMED
        if self._max_depth is not None:
            self.book.truncate(self._max_depth)
        if delta.checksum is not None and not self._adapter.checksum_matches(
            self.book, delta.checksum
        ):
            return Outcome.CHECKSUM_FAILED
        self._bridged = True
        self.last_update = now
        return Outcome.APPLIED
