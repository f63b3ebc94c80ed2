"""Per-feed counters and health reports, for monitoring and metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["BookHealth", "FeedHealth", "FeedStats"]


@dataclass
class FeedStats:
    """Counters of one feed since it was created (they only grow).

    - ``messages``, ``bytes``: websocket messages received and their size.
    - ``snapshots``: snapshots applied to a book; ``snapshot_failures``: snapshot requests that
      failed (network, HTTP status, bad body) and, for exchanges that send snapshots on the
      stream, (re)subscriptions whose snapshot did not arrive within
      ``FeedConfig.snapshot_timeout``; ``stale_snapshots``: snapshots older than the stream
      (refetched, as the exchange's procedure says).
    - ``resyncs``: books thrown away and rebuilt because they could be wrong (gap, checksum
      failure, refused update, malformed update). Reconnects rebuild every book too but are
      counted in ``reconnects`` only.
    - ``gaps``: sequence gaps, those of one book's sequence (that book resyncs) and those of a
      connection-wide one (an adapter's ``Reconnect(gap=True)``: every book is rebuilt, also
      counted in ``reconnects``); ``checksum_failures``: book checksums that did not match (always 0
      for exchanges without checksums, such as Binance); ``crossed``: updates the book refused
      because they would cross it; ``malformed``: messages that could not be understood or were
      not expected.
    - ``reconnects``: connections lost (or refused) after which the feed connected again.
    - ``checksum_only``: book updates that came without sequence IDs and were checked by their
      checksum alone (OKX pushes without ``seqId``/``prevSeqId``): a lost update is found only
      by the next checksum, which covers the best levels only (OKX: 25 per side).

    ``resyncs`` counts only books that were live: a book still waiting for its first good
    snapshot that is refused again is not resynced, only re-requested.
    """

    messages: int = 0
    bytes: int = 0
    snapshots: int = 0
    snapshot_failures: int = 0
    stale_snapshots: int = 0
    resyncs: int = 0
    gaps: int = 0
    checksum_failures: int = 0
    crossed: int = 0
    malformed: int = 0
    reconnects: int = 0
    checksum_only: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)


@dataclass(frozen=True)
class BookHealth:
    """The state of one symbol's book at one moment."""

    symbol: str
    state: str
    fresh: bool
    last_update_age: float
    """Seconds since the book was last updated (since the feed started if it never was)."""
    sequence: int
    bid_levels: int
    ask_levels: int


@dataclass(frozen=True)
class FeedHealth:
    """A feed's counters and the state of each of its books at one moment."""

    exchange: str
    connected: bool
    counters: dict[str, int]
    books: tuple[BookHealth, ...]

    @property
    def last_update_age(self) -> float:
        """The oldest ``last_update_age`` of the feed's books, in seconds (0 with no books)."""
        return max((book.last_update_age for book in self.books), default=0.0)
