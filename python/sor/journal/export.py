"""The journal listed and exported: executions with their attempts, as JSON or CSV.

Figures stay exact: decimals are written as their decimal strings, times as integer
nanoseconds since the epoch. Works on any :class:`sor.journal.Journal` backend.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import TextIO

from sor.journal.records import ExecutionRecord, Journal

__all__ = ["ATTEMPT_COLUMNS", "Where", "execution_entry", "export_csv", "export_json", "listing"]

#: Which executions to list (None: all).
Where = Callable[[ExecutionRecord], bool] | None
#: How many of the latest executions a filtered listing looks through, at most.
SCAN_LIMIT = 100_000

#: The CSV columns: the execution's, then its attempt's (one row per attempt; an execution
#: that sent nothing has one row with empty attempt columns).
ATTEMPT_COLUMNS = (
    "execution_id",
    "symbol",
    "side",
    "amount",
    "created_ns",
    "status",
    "filled",
    "finished_ns",
    "client_id",
    "client_order_id",
    "venue",
    "attempt_amount",
    "price",
    "sent_ns",
    "state",
    "attempt_filled",
    "cost",
    "fee",
    "error",
)

#: The fields of a listing's execution and attempt behind the CSV columns, in their order.
_EXECUTION_FIELDS = ATTEMPT_COLUMNS[: ATTEMPT_COLUMNS.index("client_order_id")]
_ATTEMPT_FIELDS = (
    "client_order_id",
    "venue",
    "amount",
    "price",
    "sent_ns",
    "state",
    "filled",
    "cost",
    "fee",
    "error",
)

Value = str | int | None


def _plain(value: object) -> Value:
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"unexpected journal value {value!r}")  # pragma: no cover - records are typed


def listing(journal: Journal, limit: int = 100, where: Where = None) -> list[dict[str, object]]:
    """The latest ``limit`` executions (of those ``where`` keeps, among the latest 100,000),
    newest first, each with its attempts in the order they were sent (``"attempts"``), as plain
    values (decimals as strings)."""
    result: list[dict[str, object]] = []
    executions = journal.executions(limit if where is None else SCAN_LIMIT)
    for execution in executions if where is None else filter(where, executions):
        if len(result) == limit:
            break
        result.append(execution_entry(journal, execution))
    return result


def execution_entry(journal: Journal, execution: ExecutionRecord) -> dict[str, object]:
    """``execution`` as :func:`listing` lists it: its fields and its attempts in the order
    they were sent (``"attempts"``, read from ``journal``), as plain values."""
    entry: dict[str, object] = {k: _plain(v) for k, v in asdict(execution).items()}
    entry["attempts"] = [
        {k: _plain(v) for k, v in asdict(a).items() if k not in ("execution_id", "symbol")}
        for a in journal.attempts(execution.execution_id)
    ]
    return entry


def export_json(journal: Journal, out: TextIO, limit: int = 100, where: Where = None) -> int:
    """Writes :func:`listing` to ``out`` as one JSON document; the number of executions."""
    executions = listing(journal, limit, where)
    json.dump({"executions": executions}, out, indent=2)
    out.write("\n")
    return len(executions)


def export_csv(journal: Journal, out: TextIO, limit: int = 100, where: Where = None) -> int:
    """Writes one CSV row per attempt (:data:`ATTEMPT_COLUMNS`) to ``out``; the number of rows."""
    writer = csv.writer(out)
    writer.writerow(ATTEMPT_COLUMNS)
    rows = 0
    for execution in listing(journal, limit, where):
        head = [execution[c] for c in _EXECUTION_FIELDS]
        attempts = execution["attempts"]
        assert isinstance(attempts, list)
        for attempt in attempts or [None]:
            tail = [None if attempt is None else attempt[f] for f in _ATTEMPT_FIELDS]
            writer.writerow(head + tail)
            rows += 1
    return rows
