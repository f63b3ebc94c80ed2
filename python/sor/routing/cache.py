"""The routing cache: recent decisions by order parameters, never older than their books.

An entry is served only while all of these hold: its TTL has not expired; every book of the
symbol (routed to or not) still has the version the decision was computed on; every book that
was fresh then is still fresh now; the health figures and the router's venues, markets and
balances have not changed since. Anything else and the order is routed again. The cache is a
bounded LRU: the least recently used entry is dropped when it is full.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from sor._core import OrderBook
from sor.orders import OrderRequest
from sor.routing.decision import RoutingDecision

__all__ = ["CacheStats", "RouteCache", "cache_key"]


def cache_key(order: OrderRequest) -> Hashable:
    """What identifies an order for routing: every parameter but the client id."""
    return (
        order.symbol,
        order.side,
        order.amount,
        order.order_type,
        order.limit_price,
        order.strategy,
        order.max_slippage_bps,
        order.preferred_exchanges,
        frozenset(order.excluded_exchanges),
        order.only_preferred,
    )


@dataclass(frozen=True)
class CacheStats:
    """How the cache has served: hits, misses (including refused stale entries) and size."""

    hits: int
    misses: int
    size: int


@dataclass(frozen=True)
class _Entry:
    decision: RoutingDecision
    expires_ns: int
    books: tuple[tuple[OrderBook, int], ...]
    fresh_until_ns: int
    health_version: int
    generation: int


class RouteCache:
    """A bounded LRU of routing decisions with a TTL, checked against book versions."""

    def __init__(self, ttl_s: float, size: int) -> None:
        self._ttl_ns = int(ttl_s * 1e9)
        self._size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._hits = 0
        self._misses = 0

    @property
    def enabled(self) -> bool:
        """False when the TTL or the size is zero."""
        return self._ttl_ns > 0 and self._size > 0

    def get(
        self, key: Hashable, now_ns: int, health_version: int, generation: int
    ) -> RoutingDecision | None:
        """The cached decision for ``key`` if it is still valid, else None (and it is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            self._misses += 1
            return None
        if (
            now_ns > entry.expires_ns
            or now_ns > entry.fresh_until_ns
            or entry.health_version != health_version
            or entry.generation != generation
            or any(book.version != version for book, version in entry.books)
        ):
            del self._entries[key]
            self._misses += 1
            return None
        self._entries.move_to_end(key)
        self._hits += 1
        return entry.decision

    def put(
        self,
        key: Hashable,
        decision: RoutingDecision,
        now_ns: int,
        books: tuple[tuple[OrderBook, int], ...],
        fresh_until_ns: int,
        health_version: int,
        generation: int,
    ) -> None:
        """Stores a decision computed at ``now_ns`` on ``books`` (each with its version then)."""
        if not self.enabled:
            return
        self._entries[key] = _Entry(
            decision, now_ns + self._ttl_ns, books, fresh_until_ns, health_version, generation
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drops every entry."""
        self._entries.clear()

    def stats(self) -> CacheStats:
        """Hits, misses and current size."""
        return CacheStats(self._hits, self._misses, len(self._entries))
