"""The HTTP API's request and response bodies (pydantic), built from sor's own types.

A request body is an order in sor's terms: the fields of :class:`sor.OrderRequest`, with the
same names, enums and defaults (a test keeps them equal). Amounts and prices may be JSON numbers
or decimal strings; both are read exactly (the service parses JSON numbers as ``Decimal``, see
:mod:`sor.service.exact_json`). Every figure that is exact in sor (quantities, prices, notional,
fills, fees of fills) is a decimal string in a response; scores, estimates and times are numbers.

A response model's ``of`` gives its body as plain JSON values, which the service serializes
once (orjson) without building the model: the models are the OpenAPI spec's, and the tests hold
every body to them (each one validated, and schemathesis against the spec).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from sor._decimal import fmt
from sor.execution import Attempt, ExecutionReport
from sor.orders import OrderRequest, OrderSide, OrderType, RoutingStrategy
from sor.routing import CandidateScore, Rejection, RoutePart, RoutingDecision

__all__ = [
    "AttemptOut",
    "DecisionOut",
    "ErrorOut",
    "ExecutionOut",
    "OrderBody",
    "PartOut",
    "RejectionOut",
    "ScoreOut",
]

#: An exact decimal: a JSON number or a string such as "0.5" (never NaN or infinite).
DecimalIn = Annotated[
    Decimal | str,
    Field(
        description='a decimal number: a JSON number or a string such as "0.5"',
        examples=["0.5"],
    ),
]


class OrderBody(BaseModel):
    """An order, as :class:`sor.OrderRequest` takes it."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    symbol: str = Field(
        description="ccxt's unified symbol, BASE/QUOTE",
        examples=["BTC/USDT"],
        pattern=r"^[^/\s]+/[^/\s]+$",
        max_length=64,
    )
    side: OrderSide
    amount: DecimalIn
    order_type: OrderType = OrderType.MARKET
    limit_price: DecimalIn | None = None
    strategy: RoutingStrategy | None = None
    max_slippage_bps: float | None = Field(default=None, allow_inf_nan=False)
    preferred_exchanges: list[str] | None = None
    excluded_exchanges: list[str] | None = None
    only_preferred: bool = False
    client_id: str | None = None

    def order(self) -> OrderRequest:
        """The order (raises :class:`sor.InvalidInput` naming the field that is wrong)."""
        return OrderRequest(
            self.symbol,
            self.side,
            self.amount,
            order_type=self.order_type,
            limit_price=self.limit_price,
            strategy=self.strategy,
            max_slippage_bps=self.max_slippage_bps,
            preferred_exchanges=self.preferred_exchanges,
            excluded_exchanges=self.excluded_exchanges,
            only_preferred=self.only_preferred,
            client_id=self.client_id,
        )


class ErrorDetail(BaseModel):
    """One problem with a request: where (``loc``, the field) and what (``msg``)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """A refused request: every problem, each naming its field."""

    detail: list[ErrorDetail]


class RejectionOut(BaseModel):
    """A venue left out of a decision, and why."""

    venue: str
    reason: str
    detail: str

    @staticmethod
    def of(rejection: Rejection) -> dict[str, object]:
        """The body of ``rejection``."""
        return {
            "venue": rejection.venue,
            "reason": rejection.reason.value,
            "detail": rejection.detail,
        }


class NoRouteOut(BaseModel):
    """No venue, nor split, can take the whole order: why, in a trader's words and as codes."""

    error: str = "no_route"
    reason: str
    message: str
    available: str | None
    rejections: list[RejectionOut]


class PartOut(BaseModel):
    """What one venue is expected to fill."""

    venue: str
    quantity: str
    average_price: float
    worst_price: str | None
    notional: str
    fee: float
    total: float
    effective_price: float
    slippage_bps: float
    levels: int

    @staticmethod
    def of(part: RoutePart) -> dict[str, object]:
        """The body of ``part``."""
        worst = part.worst_price
        return {
            "venue": part.venue,
            "quantity": fmt(part.quantity),
            "average_price": part.average_price,
            "worst_price": None if worst is None else fmt(worst),
            "notional": fmt(part.notional),
            "fee": part.fee,
            "total": part.total,
            "effective_price": part.effective_price,
            "slippage_bps": part.slippage_bps,
            "levels": part.levels,
        }


class ScoreOut(BaseModel):
    """One candidate venue's score: the composite and each factor's contribution."""

    venue: str
    total: float
    price: float
    liquidity: float
    latency: float
    reliability: float
    liquidity_ratio: float
    latency_ms: float
    latency_category: str
    qualified: bool
    rejection: RejectionOut | None

    @staticmethod
    def of(score: CandidateScore) -> dict[str, object]:
        """The body of ``score``."""
        parts = score.contributions
        return {
            "venue": score.venue,
            "total": score.total,
            "price": parts.price,
            "liquidity": parts.liquidity,
            "latency": parts.latency,
            "reliability": parts.reliability,
            "liquidity_ratio": score.liquidity_ratio,
            "latency_ms": score.latency_ms,
            "latency_category": score.latency_category.value,
            "qualified": score.qualified,
            "rejection": None if score.rejection is None else RejectionOut.of(score.rejection),
        }


class DecisionOut(BaseModel):
    """A routing decision: the route (``parts``), the failover chain (``alternatives``), and why."""

    symbol: str
    side: str
    amount: str
    strategy: str
    reason: str
    venues: list[str]
    parts: list[PartOut]
    alternatives: list[PartOut]
    scores: list[ScoreOut]
    rejections: list[RejectionOut]
    notional: str
    fee: float
    total: float
    average_price: float
    effective_price: float
    max_slippage_bps: float
    decision_time_us: float
    cached: bool
    proven_optimal: bool
    notes: list[str]
    book_versions: dict[str, int]

    @staticmethod
    def of(decision: RoutingDecision) -> dict[str, object]:
        """The body of ``decision``."""
        order = decision.order
        return {
            "symbol": order.symbol,
            "side": order.side.value,
            "amount": fmt(order.amount),
            "strategy": decision.strategy.value,
            "reason": decision.reason.value,
            "venues": list(decision.venues),
            "parts": [PartOut.of(part) for part in decision.parts],
            "alternatives": [PartOut.of(part) for part in decision.alternatives],
            "scores": [ScoreOut.of(score) for score in decision.scores],
            "rejections": [RejectionOut.of(r) for r in decision.rejections],
            "notional": fmt(decision.notional),
            "fee": decision.fee,
            "total": decision.total,
            "average_price": decision.average_price,
            "effective_price": decision.effective_price,
            "max_slippage_bps": decision.max_slippage_bps,
            "decision_time_us": decision.decision_time_us,
            "cached": decision.cached,
            "proven_optimal": decision.proven_optimal,
            "notes": list(decision.notes),
            "book_versions": dict(decision.book_versions),
        }


class AttemptOut(BaseModel):
    """One order sent to one venue, and how it ended."""

    venue: str
    client_order_id: str
    stage: str
    amount: str
    price: str | None
    sent_at_ns: int
    duration_ms: float
    outcome: str
    filled: str
    cost: str
    fee: str
    error: str | None
    reconciled: bool

    @staticmethod
    def of(attempt: Attempt) -> dict[str, object]:
        """The body of ``attempt``."""
        return {
            "venue": attempt.venue,
            "client_order_id": attempt.client_order_id,
            "stage": attempt.stage.value,
            "amount": fmt(attempt.amount),
            "price": None if attempt.price is None else fmt(attempt.price),
            "sent_at_ns": attempt.sent_at_ns,
            "duration_ms": attempt.duration_ms,
            "outcome": attempt.outcome.value,
            "filled": fmt(attempt.filled),
            "cost": fmt(attempt.cost),
            "fee": fmt(attempt.fee),
            "error": attempt.error,
            "reconciled": attempt.reconciled,
        }


class FillOut(BaseModel):
    """What one venue filled across its attempts."""

    venue: str
    filled: str
    cost: str
    fee: str


class ExecutionOut(BaseModel):
    """An execution's report: fills per venue, prices, every attempt and the failover path."""

    execution_id: str
    status: str
    symbol: str
    side: str
    amount: str
    filled: str
    remaining: str
    cost: str
    fees: str
    average_price: str | None
    expected_price: str | None
    slippage_bps: float | None
    reason: str | None
    elapsed_ms: float
    decisions: int
    failover_path: list[str]
    fills: list[FillOut]
    attempts: list[AttemptOut]

    @staticmethod
    def of(report: ExecutionReport) -> dict[str, object]:
        """The body of ``report``."""
        order, average, expected = report.order, report.average_price, report.expected_price
        return {
            "execution_id": report.execution_id,
            "status": report.status.value,
            "symbol": order.symbol,
            "side": order.side.value,
            "amount": fmt(order.amount),
            "filled": fmt(report.filled),
            "remaining": fmt(report.remaining),
            "cost": fmt(report.cost),
            "fees": fmt(report.fees),
            "average_price": None if average is None else fmt(average),
            "expected_price": None if expected is None else fmt(expected),
            "slippage_bps": report.slippage_bps,
            "reason": report.reason,
            "elapsed_ms": report.elapsed_ms,
            "decisions": report.decisions,
            "failover_path": list(report.failover_path),
            "fills": [
                {"venue": f.venue, "filled": fmt(f.filled), "cost": fmt(f.cost), "fee": fmt(f.fee)}
                for f in report.fills
            ],
            "attempts": [AttemptOut.of(a) for a in report.attempts],
        }
