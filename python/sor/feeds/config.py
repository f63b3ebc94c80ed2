"""Timeouts, backoff and staleness settings of a feed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from sor._core import InvalidInput
from sor.feeds.backoff import BackoffPolicy


@dataclass(frozen=True)
class FeedConfig:
    """How a feed connects, detects trouble and retries (all durations in seconds).

    The defaults suit live exchanges; tests shrink them to milliseconds.
    """

    open_timeout: float = 10.0
    """Connecting and the websocket handshake."""
    send_timeout: float = 10.0
    """Sending one message (the subscription)."""
    close_timeout: float = 5.0
    """The closing handshake, after which the connection is dropped."""
    ping_interval: float | None = 20.0
    """How often the client pings the server (None: never)."""
    ping_timeout: float | None = 20.0
    """How long a ping may wait for its pong before the connection is considered dead."""
    receive_timeout: float = 60.0
    """A connection that delivers no message for this long is stalled and replaced."""
    staleness: float = 10.0
    """A book with no update for this long is stale (not fresh, so not routed to)."""
    staleness_by_symbol: Mapping[str, float] = field(default_factory=dict)
    """Per-symbol staleness limits overriding ``staleness`` (quiet markets need longer ones)."""
    reconnect_backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    """Delays between connection attempts; reset once a book is live again."""
    resync_backoff: BackoffPolicy = field(
        default_factory=lambda: BackoffPolicy(initial=0.25, maximum=30.0)
    )
    """Delays before each snapshot attempt of a symbol that lost sync."""
    snapshot_timeout: float = 10.0
    """For exchanges that send snapshots on the stream: how long to wait for one after
    (re)subscribing before asking again (after the next resync backoff delay)."""
    resync_backoff_reset: float = 60.0
    """A book live for this long starts its resync backoff over at the next failure."""
    max_buffer: int = 10_000
    """Deltas kept per symbol while waiting for a snapshot (the oldest are dropped first)."""
    max_buffer_bytes: int = 32 * 1024 * 1024
    """Wire bytes of the deltas kept per symbol while waiting for a snapshot (the oldest are
    dropped first): with ``max_buffer``, it bounds what a slow snapshot can make a feed hold."""
    max_message_size: int = 8 * 1024 * 1024
    """Largest websocket message accepted, in bytes; the adapter's own
    ``ExchangeAdapter.max_message_size`` (near the exchange's real largest message) caps it."""
    seed: int | None = None
    """Seed of the jitter's random numbers (None: unpredictable)."""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("ping_interval", "ping_timeout") and value is None:
                continue
            numeric = isinstance(value, float | int) and not isinstance(value, bool)
            if numeric and item.name != "seed" and not (math.isfinite(value) and value > 0):
                raise InvalidInput(f"{item.name}: expected a positive number, got {value}")
        for symbol, limit in self.staleness_by_symbol.items():
            if not (math.isfinite(limit) and limit > 0):
                raise InvalidInput(f"staleness_by_symbol[{symbol!r}]: expected > 0, got {limit}")

    def staleness_for(self, symbol: str) -> float:
        """The staleness limit of ``symbol``, in seconds."""
        return self.staleness_by_symbol.get(symbol, self.staleness)
