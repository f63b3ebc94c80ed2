"""The embedded journal: SQLite in WAL mode, every write committed (``synchronous=FULL``) before
the order it describes is sent. Several processes may share one file (see
:meth:`SqliteJournal.claim_in_flight`)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Collection, Sequence
from decimal import Decimal

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal._lease import Lease, Owned, partition
from sor.journal._rows import ATTEMPT_COLUMNS, EXECUTION_COLUMNS, attempt_record, execution_record
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
    updated_ns INTEGER NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    lease_until_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts (state) WHERE state = 'in_flight';
CREATE INDEX IF NOT EXISTS attempts_by_execution ON attempts (execution_id, sent_ns);
"""

#: Renews (or takes) an instance's lease.
_RENEW = (
    "INSERT INTO instances (instance_id, lease_until_ns) VALUES (?, ?)"
    " ON CONFLICT (instance_id) DO UPDATE SET lease_until_ns = excluded.lease_until_ns"
)

#: Every attempt in flight with its owner and the end of the owner's lease, oldest first.
_OWNED = (
    f"SELECT {ATTEMPT_COLUMNS}, owner, lease_until_ns FROM attempts"
    " LEFT JOIN instances ON instance_id = owner WHERE state = ? ORDER BY sent_ns"
)

#: Takes an attempt in flight over from its owner (``IS``: or from no owner), provided the
#: owner still holds no lease running at the given time.
_TAKE = (
    "UPDATE attempts SET owner = ? WHERE client_order_id = ? AND state = ? AND owner IS ?"
    " AND NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = attempts.owner"
    " AND lease_until_ns >= ?)"
)


class SqliteJournal:
    """A :class:`sor.journal.Journal` in the SQLite file ``path`` (``":memory:"`` for tests).

    ``synchronous`` is SQLite's durability setting: ``"FULL"`` (the default) makes every write
    survive a power loss once it returns; ``"NORMAL"`` survives a crash of the process only.

    A new execution is written in the same transaction as its first attempt (or its end, when
    nothing was sent), and settlements in the transaction of the write they come with: a
    single-venue order costs two durable writes (its attempt before it is sent; its outcome and
    end after), and a new execution is not listed by :meth:`executions` until the first.

    ``instance_id`` names this instance (default: the host name), the owner of the attempts
    it writes; its lease on them lasts ``lease_s`` seconds from each renewal: when it is opened,
    with the first write after half of the lease has passed, and on :meth:`renew`. A file from
    before owners were recorded is migrated when opened: its attempts have no owner and can be
    taken over by any instance.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "FULL",
        instance_id: str | None = None,
        lease_s: float = 30.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise JournalError(f"synchronous: expected FULL, NORMAL or EXTRA, got {synchronous!r}")
        self._lease = Lease(instance_id, lease_s)
        #: This instance's name in the journal: the owner of the attempts it writes.
        self.instance_id = self._lease.instance_id
        self.lease_s = lease_s
        try:
            self._db = sqlite3.connect(os.fspath(path), isolation_level=None)
            _wal(self._db)
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            _migrate(self._db)
        except sqlite3.Error as error:
            if hasattr(self, "_db"):
                self._db.close()
            raise JournalError(f"journal {os.fspath(path)!r}: {error}") from error
        #: Executions begun and not written yet, with the statement that writes each.
        self._pending: dict[str, tuple[str, tuple[object, ...]]] = {}
        self._closed = False
        try:
            self.renew()
        except JournalError:
            self._db.close()
            raise

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
        db = self._db
        try:
            if begin is None and not settled and renewal is None:
                return db.execute(sql, values).rowcount  # one statement: its own transaction
            db.execute("BEGIN IMMEDIATE")
            try:
                if renewal is not None:
                    db.execute(_RENEW, (self.instance_id, renewal[0]))
                if begin is not None:
                    db.execute(*begin)
                count = db.execute(sql, values).rowcount if sql else 0
                if settled:
                    _settle(db, settled)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            if renewal is not None:
                self._lease.renewed(renewal[1])
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
            " price, sent_ns, state, updated_ns, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "UPDATE executions SET status = ?, filled = ?, finished_ns = ? WHERE execution_id = ?",
            (status, str(filled), finished_ns, execution_id),
            execution_id,
            settled,
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
        except sqlite3.Error as error:
            raise JournalError(f"journal: cannot claim attempts in flight: {error}") from error

    def _owned(self) -> list[Owned]:
        return [
            Owned(attempt_record(r), r[13], r[14])
            for r in self._db.execute(_OWNED, (IN_FLIGHT,)).fetchall()
        ]

    def _take(self, takeable: Sequence[Owned]) -> None:
        """Renews the lease (when due) and takes ``takeable`` over in one transaction; an
        attempt whose owner changed, or renewed its lease, since it was read is left alone."""
        renewal = self._lease.next() if self._lease.due() else None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if renewal is not None:
                db.execute(_RENEW, (self.instance_id, renewal[0]))
            now = time.time_ns()
            for row in takeable:
                cid = row.record.client_order_id
                db.execute(_TAKE, (self.instance_id, cid, IN_FLIGHT, row.owner, now))
            # The expired leases of the instances taken over from are of no further use.
            db.executemany(
                "DELETE FROM instances WHERE instance_id = ? AND lease_until_ns < ?",
                [(owner, now) for owner in {row.owner for row in takeable} if owner is not None],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if renewal is not None:
            self._lease.renewed(renewal[1])

    def renew(self) -> None:
        """Renews this instance's lease for ``lease_s`` seconds from now."""
        until, taken_at = self._lease.next()
        try:
            self._db.execute(_RENEW, (self.instance_id, until))
        except sqlite3.Error as error:
            raise JournalError(f"journal: cannot renew the lease: {error}") from error
        self._lease.renewed(taken_at)

    def executions(self, limit: int = 100) -> list[ExecutionRecord]:
        """The latest executions, newest first."""
        rows = self._db.execute(
            f"SELECT {EXECUTION_COLUMNS} FROM executions ORDER BY created_ns DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [execution_record(r) for r in rows]

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        """An execution's attempts, in the order they were sent."""
        return self._attempts("WHERE execution_id = ? ORDER BY sent_ns", (execution_id,))

    def _attempts(self, where: str, values: tuple[object, ...]) -> list[AttemptRecord]:
        rows = self._db.execute(f"SELECT {ATTEMPT_COLUMNS} FROM attempts {where}", values)
        return [attempt_record(r) for r in rows.fetchall()]

    def close(self) -> None:
        """Gives up the lease (this instance's attempts in flight can be taken over at once)
        and closes the database; closing it again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self._db.execute("DELETE FROM instances WHERE instance_id = ?", (self.instance_id,))
            self._lease.released()
        except sqlite3.Error as error:
            raise JournalError(f"journal: cannot give up the lease: {error}") from error
        finally:
            self._db.close()


def _wal(db: sqlite3.Connection, timeout_s: float = 5.0) -> None:
    """Puts the file in WAL mode. Switching a new file is refused, without SQLite's busy wait,
    while another connection opens it at the same moment: it is tried again for ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate(db: sqlite3.Connection) -> None:
    """Adds the ``owner`` column to the attempts of a journal written before owners were
    recorded (its attempts keep no owner: any instance may take them over)."""

    def has_owner() -> bool:
        return any(row[1] == "owner" for row in db.execute("PRAGMA table_info(attempts)"))

    if has_owner():
        return
    db.execute("BEGIN IMMEDIATE")  # two processes opening the file at once migrate it once
    try:
        if not has_owner():
            db.execute("ALTER TABLE attempts ADD COLUMN owner TEXT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


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
