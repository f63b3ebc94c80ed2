"""Request-weight budgeting for REST snapshot requests.

Exchanges limit REST usage by *request weight* per IP over a time window (Binance: 6,000 per
minute; a 1,000-level depth snapshot weighs 50) and ban clients that burst past it. A feed that
loses several books at once (a reconnect, a bad minute) must not fire all their snapshot requests
together: every snapshot request goes through one :class:`WeightLimiter`, which spaces requests
at least ``min_interval`` apart, keeps the weight of the last ``window`` seconds within
``budget``, and pauses everything after the exchange says "too many requests".
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from sor.errors import InvalidInput

__all__ = ["WeightLimiter"]


class WeightLimiter:
    """Admits weighted requests one at a time, first come first served, within a budget.

    Share one limiter between every feed that talks to the same exchange from the same IP.
    """

    def __init__(
        self,
        budget: int,
        window: float = 60.0,
        min_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget <= 0:
            raise InvalidInput(f"budget: expected a positive weight, got {budget}")
        if window <= 0:
            raise InvalidInput(f"window: expected a positive number of seconds, got {window}")
        if min_interval < 0:
            raise InvalidInput(f"min_interval: expected >= 0 seconds, got {min_interval}")
        self.budget = budget
        self.window = window
        self.min_interval = min_interval
        self._clock = clock
        self._admitted: deque[tuple[float, int]] = deque()
        self._last_admitted = float("-inf")
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()

    def used_weight(self) -> int:
        """Weight admitted during the last ``window`` seconds."""
        self._expire(self._clock())
        return sum(weight for _, weight in self._admitted)

    def pause(self, seconds: float) -> None:
        """Admits nothing for ``seconds`` (the exchange's ``Retry-After`` after a 429 or 418)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    async def acquire(self, weight: int) -> None:
        """Waits until a request of ``weight`` may be sent, then counts it as sent."""
        if not 0 < weight <= self.budget:
            raise InvalidInput(f"weight: expected 1..={self.budget}, got {weight}")
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now, weight)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._admitted.append((now, weight))
            self._last_admitted = now

    def _wait_needed(self, now: float, weight: int) -> float:
        self._expire(now)
        wait = max(self._paused_until - now, self._last_admitted + self.min_interval - now)
        used = sum(w for _, w in self._admitted)
        if used + weight > self.budget:
            # Wait until enough of the oldest requests leave the window.
            excess = used + weight - self.budget
            for admitted_at, w in self._admitted:
                excess -= w
                if excess <= 0:
                    wait = max(wait, admitted_at + self.window - now)
                    break
        return wait

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - self.window:
            self._admitted.popleft()
