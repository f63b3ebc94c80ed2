"""The embedded journal: SQLite in WAL mode, every write committed (``synchronous=FULL``) before
the order it describes is sent."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from decimal import Decimal

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal.records import IN_FLIGHT, AttemptRecord, ExecutionRecord, Settlement
from sor.orders import OrderRequest

__all__ = ["SqliteJournal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    amount TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    status TEXT,
    filled TEXT,
    finished_ns INTEGER
);
CREATE TABLE IF NOT EXISTS attempts (
    client_order_id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL REFERENCES executions (execution_id),
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    amount TEXT NOT NULL,
    price TEXT,
    sent_ns INTEGER NOT NULL,
    state TEXT NOT NULL,
    filled TEXT NOT NULL DEFAULT '0',
    cost TEXT NOT NULL DEFAULT '0',
    fee TEXT NOT NULL DEFAULT '0',
    error TEXT,
    updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts (state) WHERE state = 'in_flight';
CREATE INDEX IF NOT EXISTS attempts_by_execution ON attempts (execution_id, sent_ns);
"""


class SqliteJournal:
    """A :class:`sor.journal.Journal` in the SQLite file ``path`` (``":memory:"`` for tests).

    ``synchronous`` is SQLite's durability setting: ``"FULL"`` (the default) makes every write
    survive a power loss once it returns; ``"NORMAL"`` survives a crash of the process only.

    A new execution is written in the same transaction as its first attempt (or its end, when
    nothing was sent), and settlements in the transaction of the write they come with: a
    single-venue order costs two durable writes (its attempt before it is sent; its outcome and
    end after), and a new execution is not listed by :meth:`executions` until the first.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise JournalError(f"synchronous: expected FULL, NORMAL or EXTRA, got {synchronous!r}")
        try:
            self._db = sqlite3.connect(os.fspath(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise JournalError(f"journal {os.fspath(path)!r}: {error}") from error
        #: Executions begun and not written yet, with the statement that writes each.
        self._pending: dict[str, tuple[str, tuple[object, ...]]] = {}

    def _write(
        self,
        sql: str,
        values: tuple[object, ...],
        execution_id: str = "",
        settled: Sequence[Settlement] = (),
    ) -> int:
        """Runs ``sql`` in one transaction with the pending begin of ``execution_id`` (if there
        is one) before it and the settlements ``settled`` after it: all are written or none.
        Returns ``sql``'s row count."""
        begin = self._pending.get(execution_id)
        db = self._db
        try:
            if begin is None and not settled:
                return db.execute(sql, values).rowcount  # one statement: its own transaction
            db.execute("BEGIN IMMEDIATE")
            try:
                if begin is not None:
                    db.execute(*begin)
                count = db.execute(sql, values).rowcount if sql else 0
                if settled:
                    _settle(db, settled)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if begin is not None:
                del self._pending[execution_id]
            return count
        except sqlite3.IntegrityError as error:
            raise JournalError(f"journal: {error}") from error
        except sqlite3.Error as error:
            raise JournalError(f"journal: cannot write: {error}") from error

    def begin(self, execution_id: str, order: OrderRequest, created_ns: int) -> None:
        """Records a new execution of ``order``: written with its first attempt, or its end."""
        if execution_id in self._pending:
            raise JournalError(f"journal: execution {execution_id!r} is already begun")
        self._pending[execution_id] = (
            "INSERT INTO executions (execution_id, symbol, side, amount, created_ns)"
            " VALUES (?, ?, ?, ?, ?)",
            (execution_id, order.symbol, order.side.value, str(order.amount), created_ns),
        )

    def sent(
        self,
        execution_id: str,
        venue: str,
        order: PlaceOrder,
        sent_ns: int,
        settled: Sequence[Settlement] = (),
    ) -> None:
        """Writes an attempt as in flight, before it is sent (a client order id only once),
        with how earlier attempts ended."""
        self._write(
            "INSERT INTO attempts (client_order_id, execution_id, venue, symbol, side, amount,"
            " price, sent_ns, state, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "UPDATE executions SET status = ?, filled = ?, finished_ns = ? WHERE execution_id = ?",
            (status, str(filled), finished_ns, execution_id),
            execution_id,
            settled,
        )

    def in_flight(self) -> list[AttemptRecord]:
        """Attempts sent and not settled, oldest first."""
        return self._attempts("WHERE state = ? ORDER BY sent_ns", (IN_FLIGHT,))

    def executions(self, limit: int = 100) -> list[ExecutionRecord]:
        """The latest executions, newest first."""
        rows = self._db.execute(
            "SELECT execution_id, symbol, side, amount, created_ns, status, filled, finished_ns"
            " FROM executions ORDER BY created_ns DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            ExecutionRecord(
                r[0],
                r[1],
                r[2],
                Decimal(r[3]),
                r[4],
                r[5],
                None if r[6] is None else Decimal(r[6]),
                r[7],
            )
            for r in rows
        ]

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        """An execution's attempts, in the order they were sent."""
        return self._attempts("WHERE execution_id = ? ORDER BY sent_ns", (execution_id,))

    def _attempts(self, where: str, values: tuple[object, ...]) -> list[AttemptRecord]:
        rows = self._db.execute(
            "SELECT client_order_id, execution_id, venue, symbol, side, amount, price, sent_ns,"
            f" state, filled, cost, fee, error FROM attempts {where}",
            values,
        ).fetchall()
        return [
            AttemptRecord(
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
            for r in rows
        ]

    def close(self) -> None:
        """Closes the database."""
        self._db.close()


def _settle(db: sqlite3.Connection, settled: Sequence[Settlement]) -> None:
    """Writes ``settled`` in the open transaction; raises :class:`JournalError` when one of them
    names an attempt never sent (the caller rolls back)."""
    now = time.time_ns()
    changed = db.executemany(
        "UPDATE attempts SET state = ?, filled = ?, cost = ?, fee = ?, error = ?,"
        " updated_ns = ? WHERE client_order_id = ?",
        [
            (s.state, str(s.filled), str(s.cost), str(s.fee), s.error, now, s.client_order_id)
            for s in settled
        ],
    ).rowcount
    if changed != len(settled):
        known = {
            row[0]
            for row in db.execute(
                f"SELECT client_order_id FROM attempts WHERE client_order_id IN"
                f" ({', '.join('?' * len(settled))})",
                [s.client_order_id for s in settled],
            )
        }
        missing = ", ".join(repr(cid) for s in settled if (cid := s.client_order_id) not in known)
        raise JournalError(f"journal: no attempt {missing} to settle")
