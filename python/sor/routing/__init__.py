"""Routing: :class:`SmartOrderRouter`, the decision it returns, and how it gets there.

``router`` is the public entry point; ``decision`` holds what it returns (a
:class:`RoutingDecision`, its parts, explanation and rejections); ``settings`` its section of the
settings; ``cache`` the decision cache; the other modules are the stages of one decision.
"""

from sor.routing.decision import (
    CandidateScore,
    Explanation,
    NoRouteReason,
    Rejection,
    RejectReason,
    RoutePart,
    RoutingDecision,
    RoutingReason,
)
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings, ScoringWeights

__all__ = [
    "CandidateScore",
    "Explanation",
    "NoRouteReason",
    "RejectReason",
    "Rejection",
    "RoutePart",
    "RouterSettings",
    "RoutingDecision",
    "RoutingReason",
    "ScoringWeights",
    "SmartOrderRouter",
]
