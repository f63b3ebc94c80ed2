"""The embedded journal: SQLite in WAL mode, every write committed (``synchronous=FULL``) before
the order it describes is sent. Several processes may share one file (see
:meth:`SqliteJournal.claim_in_flight`)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence

from sor.errors import JournalError
from sor.journal._lease import Owned
from sor.journal._sql import ADDED_COLUMNS, INDEXES, RENEW, SqlJournal, missing_settlements
from sor.journal.records import IN_FLIGHT, Settlement

__all__ = ["SqliteJournal"]

#: The tables, as a new file gets them.
_TABLES = """
CREATE TABLE IF NOT EXISTS executions (
    execution_id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    amount TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    status TEXT,
    filled TEXT,
    finished_ns INTEGER,
    client_id TEXT,
    owner TEXT
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
"""

#: Takes an attempt in flight over from its owner (``IS``: or from no owner), provided the
#: owner still holds no lease running at the given time.
_TAKE = (
    "UPDATE attempts SET owner = ? WHERE client_order_id = ? AND state = ? AND owner IS ?"
    " AND NOT EXISTS (SELECT 1 FROM instances WHERE instance_id = attempts.owner"
    " AND lease_until_ns >= ?)"
)


class SqliteJournal(SqlJournal):
    """A :class:`sor.journal.Journal` in the SQLite file ``path`` (``":memory:"`` for tests).

    ``synchronous`` is SQLite's durability setting: ``"FULL"`` (the default) makes every write
    survive a power loss once it returns; ``"NORMAL"`` survives a crash of the process only.

    A new execution is written in the same transaction as its first attempt (or its end, when
    nothing was sent), and settlements in the transaction of the write they come with: a
    single-venue order costs two durable writes (its attempt before it is sent; its outcome and
    end after), and a new execution is not listed by :meth:`executions` until the first.

    ``instance_id`` names this instance (default: the host name), the owner of the executions
    and attempts it writes; its lease on them lasts ``lease_s`` seconds from each renewal:
    when it is opened, with the first write after half of the lease has passed, and on
    :meth:`renew`. A file from
    before owners (or client ids) were recorded is migrated when opened: its attempts have no
    owner and can be taken over by any instance; its executions have no client id, nor an
    owner, and can be finished by any instance.
    """

    _driver_error = sqlite3.Error

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
        super().__init__(instance_id, lease_s)
        try:
            self._db = sqlite3.connect(os.fspath(path), isolation_level=None)
            _wal(self._db)
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_TABLES)
            _migrate(self._db)
            for statement in INDEXES:
                self._db.execute(statement)
        except sqlite3.Error as error:
            if hasattr(self, "_db"):
                self._db.close()
            raise JournalError(f"journal {os.fspath(path)!r}: {error}") from error
        try:
            self.renew()
        except JournalError:
            self._db.close()
            raise

    def _run(self, sql: str, values: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, values)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (the write lock at once, so that two processes never both read
        then write), committed or rolled back."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _settle_in(self, settled: Sequence[Settlement]) -> None:
        now = time.time_ns()
        changed = self._db.executemany(
            "UPDATE attempts SET state = ?, filled = ?, cost = ?, fee = ?, error = ?,"
            " updated_ns = ? WHERE client_order_id = ?",
            [
                (s.state, str(s.filled), str(s.cost), str(s.fee), s.error, now, s.client_order_id)
                for s in settled
            ],
        ).rowcount
        if changed != len(settled):
            cids = [s.client_order_id for s in settled]
            known = self._db.execute(
                f"SELECT client_order_id FROM attempts WHERE client_order_id IN"
                f" ({', '.join('?' * len(cids))})",
                cids,
            )
            raise missing_settlements(cids, {row[0] for row in known})

    def _take(self, takeable: Sequence[Owned]) -> None:
        renewal = self._lease.next() if self._lease.due() else None
        db = self._db
        with self._transaction():
            if renewal is not None:
                db.execute(RENEW, (self.instance_id, renewal[0]))
            now = time.time_ns()
            for row in takeable:
                cid = row.record.client_order_id
                db.execute(_TAKE, (self.instance_id, cid, IN_FLIGHT, row.owner, now))
            # The expired leases of the instances taken over from are of no further use.
            db.executemany(
                "DELETE FROM instances WHERE instance_id = ? AND lease_until_ns < ?",
                [(owner, now) for owner in {row.owner for row in takeable} if owner is not None],
            )
        if renewal is not None:
            self._lease.renewed(renewal[1])

    def _error(self, error: Exception, doing: str) -> JournalError:
        if isinstance(error, sqlite3.IntegrityError):
            return JournalError(f"journal: {error}")  # names the constraint that failed
        return JournalError(f"journal: {doing}: {error}")

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
            raise self._error(error, "cannot give up the lease") from error
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
    """Adds the columns of :data:`ADDED_COLUMNS` that a journal written before them lacks."""

    def missing() -> list[tuple[str, str]]:
        return [
            (table, column)
            for table, column in ADDED_COLUMNS
            if not any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})"))
        ]

    if not missing():
        return
    db.execute("BEGIN IMMEDIATE")  # two processes opening the file at once migrate it once
    try:
        for table, column in missing():
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
