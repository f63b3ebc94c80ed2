"""The journal's rows read back as records: the column lists and conversions both backends
share (decimal figures are stored as their exact decimal strings)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sor.journal.records import AttemptRecord, ExecutionRecord

__all__ = ["ATTEMPT_COLUMNS", "EXECUTION_COLUMNS", "attempt_record", "execution_record"]

#: The columns :func:`execution_record` reads, in its order.
EXECUTION_COLUMNS = (
    "execution_id, symbol, side, amount, created_ns, status, filled, finished_ns, client_id"
)

#: The columns :func:`attempt_record` reads, in its order.
ATTEMPT_COLUMNS = (
    "client_order_id, execution_id, venue, symbol, side, amount, price, sent_ns, state, filled,"
    " cost, fee, error"
)


def execution_record(r: Sequence[Any]) -> ExecutionRecord:
    """The execution in a row of :data:`EXECUTION_COLUMNS` (further columns are ignored)."""
    return ExecutionRecord(
        r[0],
        r[1],
        r[2],
        Decimal(r[3]),
        r[4],
        r[5],
        None if r[6] is None else Decimal(r[6]),
        r[7],
        r[8],
    )


def attempt_record(r: Sequence[Any]) -> AttemptRecord:
    """The attempt in a row of :data:`ATTEMPT_COLUMNS` (further columns are ignored)."""
    return AttemptRecord(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        Decimal(r[5]),
        None if r[6] is None else Decimal(r[6]),
        r[7],
        r[8],
        Decimal(r[9]),
        Decimal(r[10]),
        Decimal(r[11]),
        r[12],
    )
