"""Venue health: the figures (latency, success rate, uptime, latency categories) and where the
router reads them from (:class:`HealthSource`, :class:`InMemoryHealth`)."""

from sor.health.breaker import BreakerState, CircuitBreaker
from sor.health.metrics import (
    DEFAULT_LATENCY_THRESHOLDS,
    MAX_LATENCY_MS,
    ExchangeMetrics,
    LatencyCategory,
    LatencyThresholds,
)
from sor.health.monitor import HealthMonitor, HealthSettings, Pingable
from sor.health.source import HealthSource, InMemoryHealth

__all__ = [
    "DEFAULT_LATENCY_THRESHOLDS",
    "MAX_LATENCY_MS",
    "BreakerState",
    "CircuitBreaker",
    "ExchangeMetrics",
    "HealthMonitor",
    "HealthSettings",
    "HealthSource",
    "InMemoryHealth",
    "LatencyCategory",
    "LatencyThresholds",
    "Pingable",
]
