"""What the SQLite and PostgreSQL journals share: the statements that write and read executions
and attempts, the transactions they run in, and the lease renewed with them.

A backend supplies a small dialect (:class:`SqlJournal`'s abstract methods): how it runs one
statement, how it opens a transaction, how it writes settlements, how it takes attempts in
flight over, and how a driver error becomes a :class:`sor.JournalError`. The statements here
are written with qmark placeholders (``?``); a driver that wants another style rewrites them
when it runs them (no statement here holds a literal ``?`` or ``%``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal._lease import Lease, Owned, partition
from sor.journal._rows import ATTEMPT_COLUMNS, EXECUTION_COLUMNS, attempt_record, execution_record
from sor.journal.records import IN_FLIGHT, AttemptRecord, ExecutionRecord, Settlement
from sor.orders import OrderRequest

__all__ = ["ADDED_COLUMNS", "INDEXES", "RENEW", "Cursor", "SqlJournal", "missing_settlements"]

#: The columns added to the tables since the first journals, as (table, column), all ``TEXT``
#: and NULL in the rows written before them: attempts with no owner (any instance may take
#: them over), executions with no client id, and with no owner (any instance may finish
#: them). A backend adds those missing when it opens a journal, before it creates
#: :data:`INDEXES`.
ADDED_COLUMNS = (("attempts", "owner"), ("executions", "client_id"), ("executions", "owner"))

#: The indexes of the tables (created when missing, once :data:`ADDED_COLUMNS` are there).
INDEXES = (
    "CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts (state) WHERE state = 'in_flight'",
    "CREATE INDEX IF NOT EXISTS attempts_by_execution ON attempts (execution_id, sent_ns)",
    "CREATE INDEX IF NOT EXISTS executions_by_client_id ON executions (client_id, created_ns)",
    "CREATE INDEX IF NOT EXISTS executions_unfinished ON executions (created_ns)"
    " WHERE status IS NULL",
)

#: Renews (or takes) an instance's lease.
RENEW = (
    "INSERT INTO instances (instance_id, lease_until_ns) VALUES (?, ?)"
    " ON CONFLICT (instance_id) DO UPDATE SET lease_until_ns = excluded.lease_until_ns"
)

#: Writes a new execution (with its first attempt, or its end).
_BEGIN = (
    "INSERT INTO executions (execution_id, symbol, side, amount, created_ns, client_id, owner)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

#: Writes an attempt as in flight, owned by this instance.
_SENT = (
    "INSERT INTO attempts (client_order_id, execution_id, venue, symbol, side, amount, price,"
    " sent_ns, state, updated_ns, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: Writes how an execution ended.
_FINISH = "UPDATE executions SET status = ?, filled = ?, finished_ns = ? WHERE execution_id = ?"

#: No attempt of the execution of the row at hand is in flight (the state is the parameter).
_NONE_IN_FLIGHT = (
    "NOT EXISTS (SELECT 1 FROM attempts"
    " WHERE attempts.execution_id = executions.execution_id AND state = ?)"
)

#: The unfinished executions with no attempt in flight that an instance may finish, oldest
#: first: those of no owner, its own, and those whose owner holds no lease running at the
#: given time (parameters: the in-flight state, the instance, the time).
_UNFINISHED = (
    f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE status IS NULL AND {_NONE_IN_FLIGHT}"
    " AND (owner IS NULL OR owner = ? OR NOT EXISTS (SELECT 1 FROM instances"
    " WHERE instance_id = executions.owner AND lease_until_ns >= ?))"
    " ORDER BY created_ns"
)

#: Writes how an execution ended, provided it is still unfinished and none of its attempts
#: is in flight (one statement: of two instances writing it at once, one does).
_FINISH_UNFINISHED = f"{_FINISH} AND status IS NULL AND {_NONE_IN_FLIGHT}"

#: Every attempt in flight with its owner and the end of the owner's lease, oldest first.
_OWNED = (
    f"SELECT {ATTEMPT_COLUMNS}, owner, lease_until_ns FROM attempts"
    " LEFT JOIN instances ON instance_id = owner WHERE state = ? ORDER BY sent_ns"
)

#: The execution an id names: by execution id, else by an attempt's client order id, else the
#: newest with that client id (each an indexed lookup; ``found_by`` ranks them).
_FIND = (
    f"SELECT {EXECUTION_COLUMNS}, 0 AS found_by FROM executions WHERE execution_id = ?"
    f" UNION ALL SELECT {EXECUTION_COLUMNS}, 1 FROM executions"
    " WHERE execution_id = (SELECT execution_id FROM attempts WHERE client_order_id = ?)"
    f" UNION ALL SELECT * FROM (SELECT {EXECUTION_COLUMNS}, 2 FROM executions"
    " WHERE client_id = ? ORDER BY created_ns DESC LIMIT 1) AS by_client_id"
    " ORDER BY found_by LIMIT 1"
)


class Cursor(Protocol):
    """What the journal reads of a statement run: its rows, or how many rows it changed."""

    @property
    def rowcount(self) -> int:
        """How many rows the statement changed."""
        ...

    def fetchall(self) -> list[Any]:
        """The rows the statement read."""
        ...


class SqlJournal(ABC):
    """A :class:`sor.journal.Journal` in a SQL database with the journal's tables, over the
    dialect a backend supplies.

    A new execution is written in the same transaction as its first attempt (or its end, when
    nothing was sent), and settlements in the transaction of the write they come with. The
    instance's lease is renewed with the first write after half of it has passed (in the same
    transaction), and on :meth:`renew`.
    """

    #: What the driver raises: every such error becomes a :class:`sor.JournalError`.
    _driver_error: ClassVar[type[Exception]]

    def __init__(self, instance_id: str | None, lease_s: float) -> None:
        self._lease = Lease(instance_id, lease_s)
        #: This instance's name in the journal: the owner of the executions and attempts it writes.
        self.instance_id = self._lease.instance_id
        #: How long this instance's lease on its attempts lasts without renewal, in seconds.
        self.lease_s = lease_s
        #: Executions begun and not written yet, with the statement that writes each.
        self._pending: dict[str, tuple[str, tuple[object, ...]]] = {}
        self._closed = False

    # The dialect: what each backend does its own way.

    @abstractmethod
    def _run(self, sql: str, values: Sequence[object] = ()) -> Cursor:
        """Runs one statement (qmark placeholders); outside :meth:`_transaction`, it is a
        transaction of its own. Raises the driver's errors (or a :class:`JournalError`)."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[object]:
        """One transaction around the statements :meth:`_run` runs in it: committed when the
        block ends, rolled back when it raises."""

    @abstractmethod
    def _settle_in(self, settled: Sequence[Settlement]) -> None:
        """Writes ``settled`` in the open transaction (the last settlement of a client order id
        wins); raises :class:`JournalError` when one names an attempt never sent (see
        :func:`missing_settlements`)."""

    @abstractmethod
    def _take(self, takeable: Sequence[Owned]) -> None:
        """Renews the lease (when due) and takes ``takeable`` over in one transaction, leaving
        alone an attempt whose owner changed, or renewed its lease, since it was read."""

    @abstractmethod
    def _error(self, error: Exception, doing: str) -> JournalError:
        """The driver's ``error``, met while ``doing`` something, as a :class:`JournalError`
        that names the problem (a constraint that failed, by its name)."""

    # What every backend does the same way.

    def _write(
        self,
        sql: str,
        values: tuple[object, ...],
        execution_id: str = "",
        settled: Sequence[Settlement] = (),
    ) -> int:
        """Runs ``sql`` in one transaction with the pending begin of ``execution_id`` (if there
        is one) before it and the settlements ``settled`` after it: all are written or none.
        Returns ``sql``'s row count. The lease is renewed first in the same transaction when
        it is due."""
        begin = self._pending.get(execution_id)
        renewal = self._lease.next() if self._lease.due() else None
        try:
            if begin is None and not settled and renewal is None:
                count = self._run(sql, values).rowcount  # one statement: its own transaction
            else:
                with self._transaction():
                    if renewal is not None:
                        self._run(RENEW, (self.instance_id, renewal[0]))
                    if begin is not None:
                        self._run(*begin)
                    count = self._run(sql, values).rowcount if sql else 0
                    if settled:
                        self._settle_in(settled)
        except self._driver_error as error:
            raise self._error(error, "cannot write") from error
        if renewal is not None:
            self._lease.renewed(renewal[1])
        if begin is not None:
            del self._pending[execution_id]
        return count

    def _read(self, sql: str, values: Sequence[object] = ()) -> list[Any]:
        """The rows of ``sql``."""
        try:
            return self._run(sql, values).fetchall()
        except self._driver_error as error:
            raise self._error(error, "cannot read") from error

    def begin(self, execution_id: str, order: OrderRequest, created_ns: int) -> None:
        """Records a new execution of ``order``: written with its first attempt, or its end."""
        if execution_id in self._pending:
            raise JournalError(f"journal: execution {execution_id!r} is already begun")
        self._pending[execution_id] = (
            _BEGIN,
            (
                execution_id,
                order.symbol,
                order.side.value,
                str(order.amount),
                created_ns,
                order.client_id,
                self.instance_id,
            ),
        )

    def sent(
        self,
        execution_id: str,
        venue: str,
        order: PlaceOrder,
        sent_ns: int,
        settled: Sequence[Settlement] = (),
    ) -> None:
        """Writes an attempt as in flight, owned by this instance, before it is sent (a client
        order id only once, across instances), with how earlier attempts ended."""
        self._write(
            _SENT,
            (
                order.client_order_id,
                execution_id,
                venue,
                order.symbol,
                order.side.value,
                str(order.amount),
                None if order.price is None else str(order.price),
                sent_ns,
                IN_FLIGHT,
                sent_ns,
                self.instance_id,
            ),
            execution_id,
            settled,
        )

    def settle(self, settled: Sequence[Settlement]) -> None:
        """Writes how attempts ended, all or none."""
        if settled:
            self._write("", (), settled=settled)

    def finish(
        self,
        execution_id: str,
        status: str,
        filled: Decimal,
        finished_ns: int,
        settled: Sequence[Settlement] = (),
    ) -> None:
        """Writes how the execution ended, with how its last attempts ended."""
        self._write(
            _FINISH, (status, str(filled), finished_ns, execution_id), execution_id, settled
        )

    def in_flight(self) -> list[AttemptRecord]:
        """Attempts sent and not settled, oldest first, whichever instance owns them."""
        return self._attempts("WHERE state = ? ORDER BY sent_ns", (IN_FLIGHT,))

    def claim_in_flight(self, exclude: Collection[str] = ()) -> list[AttemptRecord]:
        """The attempts in flight this instance may look up now, oldest first: its own but those
        in ``exclude``, and those of instances whose lease has expired (or of no instance),
        which it takes over in one transaction. Only reads when there is nothing to take over
        and the lease is not due for renewal."""
        try:
            own, takeable = partition(self._owned(), self.instance_id, exclude, time.time_ns())
            if not takeable and not self._lease.due():
                return own
            self._take(takeable)
            own, _ = partition(self._owned(), self.instance_id, exclude, time.time_ns())
            return own
        except self._driver_error as error:
            raise self._error(error, "cannot claim attempts in flight") from error

    def _owned(self) -> list[Owned]:
        """Every attempt in flight with its owner and the end of the owner's lease."""
        rows = self._run(_OWNED, (IN_FLIGHT,)).fetchall()
        return [Owned(attempt_record(r), r[13], r[14]) for r in rows]

    def renew(self) -> None:
        """Renews this instance's lease for ``lease_s`` seconds from now."""
        until, taken_at = self._lease.next()
        try:
            self._run(RENEW, (self.instance_id, until))
        except self._driver_error as error:
            raise self._error(error, "cannot renew the lease") from error
        self._lease.renewed(taken_at)

    def executions(self, limit: int = 100) -> list[ExecutionRecord]:
        """The latest executions, newest first."""
        rows = self._read(
            f"SELECT {EXECUTION_COLUMNS} FROM executions ORDER BY created_ns DESC LIMIT ?",
            (limit,),
        )
        return [execution_record(r) for r in rows]

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        """An execution's attempts, in the order they were sent."""
        return self._attempts("WHERE execution_id = ? ORDER BY sent_ns", (execution_id,))

    def claim_unfinished(self, exclude: Collection[str] = ()) -> list[ExecutionRecord]:
        """The executions this instance may finish now, oldest first: unfinished, none of
        their attempts in flight, and its own (but the execution ids in ``exclude``, running
        now), of no owner, or of an owner that holds no running lease. Only reads."""
        rows = self._read(_UNFINISHED, (IN_FLIGHT, self.instance_id, time.time_ns()))
        found = [execution_record(r) for r in rows]
        return [e for e in found if e.execution_id not in exclude]

    def finish_claimed(
        self, execution_id: str, status: str, filled: Decimal, finished_ns: int
    ) -> bool:
        """Writes how an execution :meth:`claim_unfinished` returned ended, unless it has been
        finished, or has an attempt in flight, since; whether it wrote."""
        values = (status, str(filled), finished_ns, execution_id, IN_FLIGHT)
        return self._write(_FINISH_UNFINISHED, values) == 1

    def find(self, order_id: str) -> ExecutionRecord | None:
        """The execution with the execution id ``order_id``, else the one with an attempt of
        that client order id, else the newest whose order had that client id; None if none."""
        rows = self._read(_FIND, (order_id, order_id, order_id))
        return execution_record(rows[0]) if rows else None

    def _attempts(self, where: str, values: tuple[object, ...]) -> list[AttemptRecord]:
        rows = self._read(f"SELECT {ATTEMPT_COLUMNS} FROM attempts {where}", values)
        return [attempt_record(r) for r in rows]


def missing_settlements(cids: Collection[str], known: Collection[str]) -> JournalError:
    """The error of settlements for ``cids`` of which only ``known`` name an attempt sent."""
    missing = ", ".join(repr(cid) for cid in cids if cid not in known)
    return JournalError(f"journal: no attempt {missing} to settle")
