"""Venue health figures: latency, success rate, uptime and the latency categories."""

from __future__ import annotations

from dataclasses import dataclass

from sor._validate import (
    StrEnum,
    quote,
    to_float,
)
from sor.errors import InvalidInput

__all__ = [
    "DEFAULT_LATENCY_THRESHOLDS",
    "MAX_LATENCY_MS",
    "ExchangeMetrics",
    "LatencyCategory",
    "LatencyThresholds",
]


class LatencyCategory(StrEnum):
    """How fast a venue answers, by the thresholds of :class:`LatencyThresholds`."""

    EXCELLENT = "excellent"
    GOOD = "good"
    ACCEPTABLE = "acceptable"
    POOR = "poor"
    UNACCEPTABLE = "unacceptable"


#: Largest latency setting or threshold, in milliseconds (10 minutes).
MAX_LATENCY_MS = 600_000.0


@dataclass(frozen=True)
class LatencyThresholds:
    """Upper bounds (exclusive, in milliseconds) of the latency categories: each in
    [0, 600000], increasing strictly."""

    excellent_ms: float = 50.0
    good_ms: float = 100.0
    acceptable_ms: float = 200.0
    poor_ms: float = 500.0

    def __post_init__(self) -> None:
        names = ("excellent_ms", "good_ms", "acceptable_ms", "poor_ms")
        bounds = [
            to_float(
                getattr(self, name),
                f"latency_thresholds.{name}",
                high=MAX_LATENCY_MS,
            )
            for name in names
        ]
        if list(bounds) != sorted(bounds) or len(set(bounds)) != 4:
            raise InvalidInput(
                "latency_thresholds: must increase strictly (excellent < good < acceptable "
                f"< poor), got {tuple(bounds)}"
            )

    def categorize(self, latency_ms: float) -> LatencyCategory:
        """The category of a latency in milliseconds."""
        if latency_ms < self.excellent_ms:
            return LatencyCategory.EXCELLENT
        if latency_ms < self.good_ms:
            return LatencyCategory.GOOD
        if latency_ms < self.acceptable_ms:
            return LatencyCategory.ACCEPTABLE
        if latency_ms < self.poor_ms:
            return LatencyCategory.POOR
        return LatencyCategory.UNACCEPTABLE


DEFAULT_LATENCY_THRESHOLDS = LatencyThresholds()


@dataclass(frozen=True)
class ExchangeMetrics:
    """A venue's health figures, as health monitoring reports them.

    ``latency_ema_ms``: exponential moving average of request round trips, in milliseconds;
    ``success_rate``: share of recent requests that succeeded, in [0, 1] (the router's
    *reliability* factor); ``consecutive_failures``: failed requests since the last success;
    ``uptime``: share of health checks the venue passed, in [0, 1]; ``health_score``: the
    monitor's overall figure in [0, 1] (reported, not used for ranking); ``circuit_open``: the
    circuit breaker is open, so the venue must not be routed to.
    """

    venue: str
    latency_ema_ms: float
    success_rate: float = 1.0
    consecutive_failures: int = 0
    uptime: float = 1.0
    health_score: float = 1.0
    circuit_open: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.venue, str) or not self.venue:
            raise InvalidInput(f"venue: expected a non-empty str, got {quote(self.venue)}")
        to_float(self.latency_ema_ms, "latency_ema_ms")
        for name in ("success_rate", "uptime", "health_score"):
            to_float(getattr(self, name), name, high=1.0)
        failures = self.consecutive_failures
        if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
            raise InvalidInput(f"consecutive_failures: expected an int >= 0, got {quote(failures)}")
        if not isinstance(self.circuit_open, bool):
            raise InvalidInput(f"circuit_open: expected a bool, got {quote(self.circuit_open)}")

    @property
    def latency_category(self) -> LatencyCategory:
        """The latency category by the default thresholds (50/100/200/500 ms)."""
        return DEFAULT_LATENCY_THRESHOLDS.categorize(self.latency_ema_ms)
