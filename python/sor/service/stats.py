"""What the service has decided and executed: counts, latencies and failovers.

:class:`ServiceStats` is the one place these are counted: ``GET /api/routing/stats`` reads it as
JSON and ``GET /metrics`` as Prometheus families (:mod:`sor.service.metrics`), so the two never
disagree. Latencies are kept twice: in cumulative histogram buckets (for Prometheus, since the
start) and as the most recent samples (for percentiles that follow the present).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sor.execution import AttemptOutcome, ExecutionReport
from sor.routing import RoutingDecision

__all__ = [
    "DECISION_BUCKETS_S",
    "EXECUTION_BUCKETS_S",
    "Failover",
    "LatencyRecord",
    "ServiceStats",
    "failovers",
]

#: Upper bounds of the decision latency histogram, in seconds (1 us to 100 ms).
DECISION_BUCKETS_S = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2, 1e-1,
)  # fmt: skip
#: Upper bounds of the execution latency histogram, in seconds (100 us to 60 s).
EXECUTION_BUCKETS_S = (
    1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0, 60.0,
)  # fmt: skip
#: How many recent samples the percentiles are computed over.
RECENT = 10_000


@dataclass
class LatencyRecord:
    """Latencies of one kind: cumulative bucket counts, their sum, and the recent samples."""

    buckets: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total_s: float = 0.0
    count: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        """Counts one latency."""
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.total_s += seconds
        self.count += 1
        self.recent.append(seconds)

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus' buckets: ``(le, count at or under it)``, ending with ``+Inf``."""
        out, running = [], 0
        for bound, count in zip((*map(repr, self.buckets), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out

    def percentiles(self, scale: float) -> dict[str, float | int]:
        """p50, p90, p99 and max of the recent samples, times ``scale``, and the total count."""
        ordered = sorted(self.recent)
        figures: dict[str, float | int] = {"count": self.count}
        if not ordered:
            return figures
        for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            figures[name] = ordered[min(len(ordered) - 1, int(share * len(ordered)))] * scale
        figures["max"] = ordered[-1] * scale
        return figures


@dataclass(frozen=True)
class Failover:
    """One move of an execution from one venue to the next, and the outcome that caused it."""

    from_venue: str
    to_venue: str
    cause: str


def failovers(report: ExecutionReport) -> list[Failover]:
    """The failovers of ``report``: each time a venue's order did not fill in full and a later
    order went to another venue (the concurrent parts of a split are not failovers)."""
    moves = []
    attempts = report.attempts
    for earlier, later in itertools.pairwise(attempts):
        if earlier.venue != later.venue and earlier.outcome is not AttemptOutcome.FILLED:
            moves.append(Failover(earlier.venue, later.venue, earlier.outcome.value))
    return moves


class ServiceStats:
    """Counts of decisions (by strategy, venue, reason), refusals, executions (by status) and
    failovers, with decision and execution latencies."""

    def __init__(self) -> None:
        self.by_strategy: Counter[str] = Counter()
        self.by_venue: Counter[str] = Counter()
        self.by_reason: Counter[str] = Counter()
        self.no_route: Counter[str] = Counter()
        self.executions: Counter[str] = Counter()
        self.failovers: Counter[Failover] = Counter()
        self.attempts_written = 0
        self.reconciled = 0
        self.decision_latency = LatencyRecord(DECISION_BUCKETS_S)
        self.execution_latency = LatencyRecord(EXECUTION_BUCKETS_S)

    @property
    def decisions(self) -> int:
        """Decisions made."""
        return sum(self.by_strategy.values())

    def decided(self, decision: RoutingDecision, seconds: float) -> None:
        """Counts a decision that took ``seconds``."""
        self.by_strategy[decision.strategy.value] += 1
        self.by_reason[decision.reason.value] += 1
        for venue in decision.venues:
            self.by_venue[venue] += 1
        self.decision_latency.observe(seconds)

    def refused(self, reason: str, seconds: float) -> None:
        """Counts an order nothing could be routed for (``reason``: why, as a code)."""
        self.no_route[reason] += 1
        self.decision_latency.observe(seconds)

    def executed(self, report: ExecutionReport, journaled: bool) -> None:
        """Counts an execution (its attempts as journal records with ``journaled``)."""
        self.executions[report.status.value] += 1
        self.failovers.update(failovers(report))
        self.execution_latency.observe(report.elapsed_ms / 1_000)
        self.reconciled += sum(1 for a in report.attempts if a.reconciled)
        if journaled:
            self.attempts_written += len(report.attempts)

    def as_dict(self) -> dict[str, object]:
        """Everything, as ``GET /api/routing/stats`` shows it."""
        return {
            "decisions": self.decisions,
            "by_strategy": dict(self.by_strategy),
            "by_venue": dict(self.by_venue),
            "by_reason": dict(self.by_reason),
            "no_route": dict(self.no_route),
            "decision_latency_us": self.decision_latency.percentiles(1e6),
            "executions": dict(self.executions),
            "execution_latency_ms": self.execution_latency.percentiles(1e3),
            "failovers": sum(self.failovers.values()),
            "failovers_by_path": [
                {"from": f.from_venue, "to": f.to_venue, "cause": f.cause, "count": n}
                for f, n in sorted(
                    self.failovers.items(), key=lambda item: (item[0].from_venue, item[0].to_venue)
                )
            ],
        }
