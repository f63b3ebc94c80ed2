"""Where the router reads each venue's latency, reliability and circuit state.

:class:`HealthSource` is what the router needs; :class:`InMemoryHealth` is a source whose figures
are set by hand (tests, demos, or a caller with its own monitoring). The health monitor of the
execution layer (latency EMA, success rate, circuit breaker) will implement the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from sor._validate import quote
from sor.errors import InvalidInput
from sor.health.metrics import ExchangeMetrics

__all__ = ["HealthSource", "InMemoryHealth"]


class HealthSource(Protocol):
    """Per-venue health figures, with a version that changes whenever any figure changes."""

    @property
    def version(self) -> int:
        """Bumped by every change (the router's cache compares it)."""
        ...

    def metrics(self, venue: str) -> ExchangeMetrics | None:
        """The venue's current figures, or None if it has none (not routed to)."""
        ...


class InMemoryHealth:
    """Health figures held in memory and set by the caller."""

    def __init__(self, metrics: Iterable[ExchangeMetrics] = ()) -> None:
        self._metrics: dict[str, ExchangeMetrics] = {}
        self._version = 0
        for item in metrics:
            self.set(item)

    @property
    def version(self) -> int:
        """Bumped by every change."""
        return self._version

    def metrics(self, venue: str) -> ExchangeMetrics | None:
        """The venue's current figures, or None."""
        return self._metrics.get(venue)

    def set(self, metrics: ExchangeMetrics) -> None:
        """Sets (or replaces) one venue's figures."""
        if not isinstance(metrics, ExchangeMetrics):
            raise InvalidInput(f"metrics: expected ExchangeMetrics, got {quote(metrics)}")
        self._metrics[metrics.venue] = metrics
        self._version += 1

    def remove(self, venue: str) -> None:
        """Forgets a venue's figures (it is then not routed to)."""
        if self._metrics.pop(venue, None) is not None:
            self._version += 1

    def open_circuit(self, venue: str) -> None:
        """Opens the venue's circuit breaker: it is not routed to until closed."""
        self._set_circuit(venue, True)

    def close_circuit(self, venue: str) -> None:
        """Closes the venue's circuit breaker."""
        self._set_circuit(venue, False)

    def _set_circuit(self, venue: str, is_open: bool) -> None:
        current = self._metrics.get(venue)
        if current is None:
            raise InvalidInput(f"venue: no health figures for {quote(venue)}")
        self.set(replace(current, circuit_open=is_open))
