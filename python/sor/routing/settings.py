"""The router's section of the settings: :class:`RouterSettings` and :class:`ScoringWeights`.

The routing defaults are the original requirements': max latency 1,000 ms, min liquidity score
2.0, max slippage 100 bps, cache TTL 5 s, latency categories 50/100/200/500 ms, weights price
0.4 / liquidity 0.3 / latency 0.2 / reliability 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sor._core import LIQUIDITY_RATIO_CAP, Weights
from sor._validate import to_bps, to_enum, to_float, to_int
from sor.errors import InvalidInput
from sor.health.metrics import DEFAULT_LATENCY_THRESHOLDS, MAX_LATENCY_MS, LatencyThresholds
from sor.orders import RoutingStrategy

__all__ = ["LIQUIDITY_RATIO_CAP", "MAX_CACHE_SIZE", "RouterSettings", "ScoringWeights"]

#: Largest duration setting, in seconds (a day).
MAX_DURATION_S = 86_400.0
#: Largest routing cache, in decisions.
MAX_CACHE_SIZE = 10_000_000
#: Largest scoring weight (weights are scaled to sum to 1).
MAX_WEIGHT = 1_000.0


@dataclass(frozen=True)
class ScoringWeights:
    """Weights of the best-execution score's factors (each in [0, 1000], at least one positive;
    scaled to sum to 1)."""

    price: float = 0.4
    liquidity: float = 0.3
    latency: float = 0.2
    reliability: float = 0.1

    def __post_init__(self) -> None:
        names = ("price", "liquidity", "latency", "reliability")
        values = [
            to_float(getattr(self, name), f"weights.{name}", high=MAX_WEIGHT) for name in names
        ]
        if not any(values):
            raise InvalidInput("weights: at least one weight must be positive")

    def to_core(self) -> Weights:
        """The core's ``Weights``."""
        return Weights(self.price, self.liquidity, self.latency, self.reliability)


@dataclass(frozen=True)
class RouterSettings:
    """How :class:`sor.SmartOrderRouter` routes.

    - ``default_strategy``: the strategy of orders that do not name one;
    - ``weights``: the best-execution score's weights;
    - ``max_latency_ms``: venues slower than this (latency EMA) are never routed to;
    - ``low_latency_ms``: the ``lowest_latency`` strategy only uses venues under this;
    - ``latency_thresholds``: the latency categories reported with each candidate;
    - ``min_liquidity_score``: depth within the slippage bound must be at least this multiple of
      the order (per venue for single-venue strategies, across the venues of a split); at most
      10, where the core caps the ratio; 0 disables the check;
    - ``max_slippage_bps``: the default bound on the worst price taken, versus the best price;
    - ``max_book_age_s``: a book not updated for longer than this is stale and not routed to;
    - ``cache_ttl_s``, ``cache_size``: the routing cache (0 for either disables it).

    Every number is range-checked: latencies in (0, 600000] ms, ``max_book_age_s`` in
    (0, 86400], ``cache_ttl_s`` in [0, 86400], ``cache_size`` in [0, 10000000],
    ``min_liquidity_score`` in [0, 10], ``max_slippage_bps`` in [0, 10000].
    """

    default_strategy: RoutingStrategy = RoutingStrategy.BEST_EXECUTION
    weights: ScoringWeights = field(default_factory=ScoringWeights)
    max_latency_ms: float = 1_000.0
    low_latency_ms: float = 100.0
    latency_thresholds: LatencyThresholds = DEFAULT_LATENCY_THRESHOLDS
    min_liquidity_score: float = 2.0
    max_slippage_bps: float = 100.0
    max_book_age_s: float = 5.0
    cache_ttl_s: float = 5.0
    cache_size: int = 1_024

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "default_strategy",
            to_enum(RoutingStrategy, self.default_strategy, "default_strategy"),
        )
        if not isinstance(self.weights, ScoringWeights):
            raise InvalidInput(f"weights: expected ScoringWeights, got {self.weights!r}")
        if not isinstance(self.latency_thresholds, LatencyThresholds):
            raise InvalidInput(
                f"latency_thresholds: expected LatencyThresholds, got {self.latency_thresholds!r}"
            )
        for name in ("max_latency_ms", "low_latency_ms"):
            to_float(getattr(self, name), name, high=MAX_LATENCY_MS, above_low=True)
        to_float(self.max_book_age_s, "max_book_age_s", high=MAX_DURATION_S, above_low=True)
        to_float(self.min_liquidity_score, "min_liquidity_score", high=LIQUIDITY_RATIO_CAP)
        to_bps(self.max_slippage_bps, "max_slippage_bps")
        to_float(self.cache_ttl_s, "cache_ttl_s", high=MAX_DURATION_S)
        to_int(self.cache_size, "cache_size", low=0, high=MAX_CACHE_SIZE)

    @property
    def cache_enabled(self) -> bool:
        """True if decisions are cached."""
        return self.cache_ttl_s > 0 and self.cache_size > 0
