"""A circuit breaker per venue: closed, open after repeated failures, half-open to probe."""

from __future__ import annotations

import time
from collections.abc import Callable

from sor._validate import StrEnum, to_float, to_int

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Where a venue's breaker stands."""

    CLOSED = "closed"
    """Requests flow."""
    OPEN = "open"
    """Too many failures in a row: the venue is not routed to until ``open_for_s`` passes."""
    HALF_OPEN = "half_open"
    """The wait is over: one probe may go; its result closes or reopens the breaker."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` failures in a row; after ``open_for_s`` seconds it lets
    one probe through (half-open): a success closes it, a failure opens it again."""

    def __init__(
        self,
        failure_threshold: int = 5,
        open_for_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = to_int(failure_threshold, "failure_threshold", low=1, high=1_000)
        self.open_for_s = to_float(open_for_s, "open_for_s", high=86_400.0)
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker turns half-open once its wait is over)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.open_for_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """True if a request may go now (in half-open, only the one probe)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record(self, ok: bool) -> None:
        """Counts one request's result."""
        self._probing = False
        if ok:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
