"""Venue health: the figures (latency, success rate, uptime, latency categories) and where the
router reads them from (:class:`HealthSource`, :class:`InMemoryHealth`)."""

from sor.health.metrics import (
    DEFAULT_LATENCY_THRESHOLDS,
    MAX_LATENCY_MS,
    ExchangeMetrics,
    LatencyCategory,
    LatencyThresholds,
)
from sor.health.source import HealthSource, InMemoryHealth

__all__ = [
    "DEFAULT_LATENCY_THRESHOLDS",
    "MAX_LATENCY_MS",
    "ExchangeMetrics",
    "HealthSource",
    "InMemoryHealth",
    "LatencyCategory",
    "LatencyThresholds",
]
