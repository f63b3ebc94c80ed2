"""Timeouts, backoff and staleness settings of a feed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from sor._validate import to_float, to_int
from sor.errors import InvalidInput
from sor.feeds.backoff import MAX_DURATION_S, BackoffPolicy

__all__ = ["FeedConfig"]

#: The settings that are durations in seconds, each in (0, MAX_DURATION_S].
_DURATIONS = frozenset(
    {
        "open_timeout",
        "send_timeout",
        "close_timeout",
        "ping_interval",
        "ping_timeout",
        "receive_timeout",
        "staleness",
        "snapshot_timeout",
        "resync_backoff_reset",
    }
)
#: The integer settings and their ranges.
_INTEGERS = {
    "max_buffer": (1, 10_000_000),
    "max_buffer_bytes": (1, 16 * 1024**3),
    "max_message_size": (1, 1024**3),
    "seed": (0, 2**64 - 1),
}
#: The settings that may be None.
_OPTIONAL = frozenset({"ping_interval", "ping_timeout", "seed"})


@dataclass(frozen=True)
class FeedConfig:
    """How a feed connects, detects trouble and retries (all durations in seconds).

    The defaults suit live exchanges; tests shrink them to milliseconds. Every number is
    range-checked: durations in (0, 86400] s, ``max_buffer`` in [1, 10000000] deltas,
    ``max_buffer_bytes`` in [1, 17179869184] bytes (16 GiB), ``max_message_size`` in
    [1, 1073741824] bytes (1 GiB), ``seed`` in [0, 2**64 - 1].
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
            name, value = item.name, getattr(self, item.name)
            if name in _OPTIONAL and value is None:
                continue
            if name in _INTEGERS:
                low, high = _INTEGERS[name]
                to_int(value, name, low=low, high=high)
            elif name in _DURATIONS:
                to_float(value, name, high=MAX_DURATION_S, above_low=True)
        if not isinstance(self.staleness_by_symbol, Mapping):
            raise InvalidInput(
                f"staleness_by_symbol: expected a mapping, got {type(self.staleness_by_symbol)}"
            )
        for symbol, limit in self.staleness_by_symbol.items():
            to_float(limit, f"staleness_by_symbol[{symbol!r}]", high=MAX_DURATION_S, above_low=True)
        for name in ("reconnect_backoff", "resync_backoff"):
            if not isinstance(getattr(self, name), BackoffPolicy):
                raise InvalidInput(f"{name}: expected a BackoffPolicy, got {getattr(self, name)!r}")

    def staleness_for(self, symbol: str) -> float:
        """The staleness limit of ``symbol``, in seconds."""
        return self.staleness_by_symbol.get(symbol, self.staleness)
