"""What an execution did: every attempt, the fills per venue, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sor._decimal import APPROX, EXACT, total
from sor._validate import StrEnum
from sor.orders import OrderRequest, OrderSide

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "AttemptStage",
    "ExecutionReport",
    "ExecutionStatus",
    "VenueFill",
]


class AttemptOutcome(StrEnum):
    """How one order sent to one venue ended."""

    FILLED = "filled"
    """Filled in full."""
    PARTIAL = "partial"
    """Filled in part; the rest was cancelled (IOC)."""
    NOT_FILLED = "not_filled"
    """Accepted, nothing filled (nothing within the limit price when it arrived)."""
    REJECTED = "rejected"
    """Refused by the venue: nothing placed."""
    RETRY = "retry"
    """Throttled or a refused timestamp: nothing placed; sent again after a back-off."""
    NOT_PLACED = "not_placed"
    """The outcome was unknown; the lookup found that it never reached the venue."""
    UNKNOWN = "unknown"
    """The outcome is still unknown past the reconciliation deadline: the remainder is held."""


class AttemptStage(StrEnum):
    """Which stage of the failover chain sent an order."""

    PRIMARY = "primary"
    """The first decision: its primary venue, or every part of its split."""
    ALTERNATIVE = "alternative"
    """A later decision for the remainder under the order's own constraints: the next-ranked
    venues, on the books as they are then, without the venues that failed."""
    EMERGENCY = "emergency"
    """Any healthy venue, once nothing qualifies under the order's constraints: a split over
    every venue whose breaker is closed, preferences and the router's quality thresholds
    (liquidity, latency) relaxed; the limit price, slippage bound and exclusions still hold."""


@dataclass(frozen=True)
class Attempt:
    """One order sent: where, with which client order id, when, and how it ended.

    ``reconciled`` says the outcome was learnt by looking the order up after an unknown
    outcome (a timeout, a dropped connection), not from the venue's answer.
    """

    venue: str
    client_order_id: str
    amount: Decimal
    price: Decimal | None
    sent_at_ns: int
    duration_ms: float
    outcome: AttemptOutcome
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    error: str | None = None
    reconciled: bool = False
    stage: AttemptStage = AttemptStage.PRIMARY


class ExecutionStatus(StrEnum):
    """How a whole execution ended."""

    FILLED = "filled"
    """The whole order filled."""
    PARTIAL = "partial"
    """Part filled; no venue could take the rest."""
    FAILED = "failed"
    """Nothing filled."""
    HELD = "held"
    """An order's outcome is still unknown: the remainder was held, not sent elsewhere."""


@dataclass(frozen=True)
class VenueFill:
    """What one venue filled across its attempts."""

    venue: str
    filled: Decimal
    cost: Decimal
    fee: Decimal


@dataclass(frozen=True)
class ExecutionReport:
    """The result of :meth:`sor.execution.Executor.execute`.

    ``execution_id`` is the execution's id in the journal (and in :mod:`sor.service`'s
    ``/api/orders/{id}``); ``expected_price`` is the first decision's average price (None when
    no route was found);
    ``failover_path`` the venues in the order they were tried; ``reason`` says why the order
    did not fill in full, in a trader's words (None when it did).
    """

    order: OrderRequest
    status: ExecutionStatus
    attempts: tuple[Attempt, ...]
    expected_price: Decimal | None
    reason: str | None
    elapsed_ms: float
    decisions: int
    execution_id: str = ""

    @property
    def filled(self) -> Decimal:
        """Base quantity filled, across venues."""
        return total(a.filled for a in self.attempts)

    @property
    def remaining(self) -> Decimal:
        """Base quantity not filled."""
        return EXACT.subtract(self.order.amount, self.filled)

    @property
    def cost(self) -> Decimal:
        """Quote notional filled, before fees."""
        return total(a.cost for a in self.attempts)

    @property
    def fees(self) -> Decimal:
        """Fees paid, in quote units."""
        return total(a.fee for a in self.attempts)

    @property
    def average_price(self) -> Decimal | None:
        """``cost / filled`` (None if nothing filled)."""
        filled = self.filled
        return APPROX.divide(self.cost, filled) if filled else None

    @property
    def fills(self) -> tuple[VenueFill, ...]:
        """What each venue filled, in the order the venues were first tried."""
        by_venue: dict[str, list[Attempt]] = {}
        for attempt in self.attempts:
            by_venue.setdefault(attempt.venue, []).append(attempt)
        return tuple(
            VenueFill(
                venue,
                total(a.filled for a in attempts),
                total(a.cost for a in attempts),
                total(a.fee for a in attempts),
            )
            for venue, attempts in by_venue.items()
            if any(a.filled for a in attempts)
        )

    @property
    def failover_path(self) -> tuple[str, ...]:
        """The venues tried, in order (each once)."""
        return tuple(dict.fromkeys(a.venue for a in self.attempts))

    @property
    def slippage_bps(self) -> float | None:
        """Realised average price versus the expected one, in basis points; positive is worse
        than expected (paid more on a buy, received less on a sell)."""
        price, expected = self.average_price, self.expected_price
        if price is None or expected is None:
            return None
        worse = APPROX.subtract(price, expected)
        if self.order.side is OrderSide.SELL:
            worse = APPROX.minus(worse)
        return float(APPROX.divide(APPROX.multiply(worse, 10_000), expected))
