"""Execution: orders sent for the router's decisions, with automatic failover, reconciliation
of unknown outcomes by client order id, and risk limits (:class:`Executor`,
:class:`ExecutionReport`), and a decision as ccxt's ``RouteResult`` (:func:`route_result`)."""

from sor.execution.executor import Executor
from sor.execution.report import (
    Attempt,
    AttemptOutcome,
    AttemptStage,
    ExecutionReport,
    ExecutionStatus,
    VenueFill,
)
from sor.execution.route_result import route_result
from sor.execution.settings import ExecutionSettings

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "AttemptStage",
    "ExecutionReport",
    "ExecutionSettings",
    "ExecutionStatus",
    "Executor",
    "VenueFill",
    "route_result",
]
