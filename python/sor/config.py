"""Settings of sor, validated at construction (routing settings for now).

The defaults are the original requirements': max latency 1,000 ms, min liquidity score 2.0, max
slippage 100 bps, cache TTL 5 s, latency categories 50/100/200/500 ms, weights price 0.4 /
liquidity 0.3 / latency 0.2 / reliability 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sor._core import InvalidInput, Weights
from sor._validate import to_enum, to_float
from sor.models import DEFAULT_LATENCY_THRESHOLDS, LatencyThresholds, RoutingStrategy

__all__ = ["RouterSettings", "ScoringWeights"]

#: The core caps the liquidity ratio (depth within the slippage bound / order) at this value.
LIQUIDITY_RATIO_CAP = 10.0


@dataclass(frozen=True)
class ScoringWeights:
    """Weights of the best-execution score's factors (non-negative, scaled to sum to 1)."""

    price: float = 0.4
    liquidity: float = 0.3
    latency: float = 0.2
    reliability: float = 0.1

    def __post_init__(self) -> None:
        names = ("price", "liquidity", "latency", "reliability")
        values = [to_float(getattr(self, name), f"weights.{name}") for name in names]
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
        for name in ("max_latency_ms", "low_latency_ms", "max_book_age_s"):
            if to_float(getattr(self, name), name) <= 0:
                raise InvalidInput(f"{name}: must be > 0, got {getattr(self, name)!r}")
        to_float(self.min_liquidity_score, "min_liquidity_score", high=LIQUIDITY_RATIO_CAP)
        to_float(self.max_slippage_bps, "max_slippage_bps", high=10_000.0)
        to_float(self.cache_ttl_s, "cache_ttl_s")
        size = self.cache_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput(f"cache_size: expected an int >= 0, got {size!r}")

    @property
    def cache_enabled(self) -> bool:
        """True if decisions are cached."""
        return self.cache_ttl_s > 0 and self.cache_size > 0
