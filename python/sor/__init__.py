"""sor: a smart order router for crypto markets, with an exact Rust order-book core.

The core (``sor._core``) keeps exact fixed-point order books and does every loop over price
levels: walking a side, fee-inclusive cost, explainable venue scoring and multi-venue allocation.
"""

from sor._core import (
    Allocation,
    AllocationPart,
    BookError,
    Candidate,
    ExecutionCost,
    FactorScores,
    InvalidInput,
    Level,
    OrderBook,
    Ranking,
    RoutingError,
    SorError,
    VenueRules,
    VenueScore,
    WalkResult,
    Weights,
    allocate,
    allocate_many,
    execution_cost,
    rank_venues,
    score,
    walk_many,
)

__all__ = [
    "Allocation",
    "AllocationPart",
    "BookError",
    "Candidate",
    "ExecutionCost",
    "FactorScores",
    "InvalidInput",
    "Level",
    "OrderBook",
    "Ranking",
    "RoutingError",
    "SorError",
    "VenueRules",
    "VenueScore",
    "WalkResult",
    "Weights",
    "allocate",
    "allocate_many",
    "execution_cost",
    "rank_venues",
    "score",
    "walk_many",
]
