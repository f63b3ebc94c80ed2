"""The shared journal: PostgreSQL, for several instances writing one journal. Same tables and
semantics as :class:`sor.journal.SqliteJournal`; each write is one committed transaction."""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from decimal import Decimal
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import psycopg.conninfo
import psycopg.errors
from psycopg.rows import TupleRow

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal._lease import Lease, Owned, partition
from sor.journal._rows import ATTEMPT_COLUMNS, EXECUTION_COLUMNS, attempt_record, execution_record
from sor.journal.records import IN_FLIGHT, AttemptRecord, ExecutionRecord, Settlement
from sor.orders import OrderRequest

__all__ = ["PostgresJournal", "redact"]

#: The schema, as SQLite's: decimal figures as their exact decimal strings, times in ns.
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS executions (
        execution_id TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        amount TEXT NOT NULL,
        created_ns BIGINT NOT NULL,
        status TEXT,
        filled TEXT,
        finished_ns BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS attempts (
        client_order_id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL REFERENCES executions (execution_id),
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        amount TEXT NOT NULL,
        price TEXT,
        sent_ns BIGINT NOT NULL,
        state TEXT NOT NULL,
        filled TEXT NOT NULL DEFAULT '0',
        cost TEXT NOT NULL DEFAULT '0',
        fee TEXT NOT NULL DEFAULT '0',
        error TEXT,
        updated_ns BIGINT NOT NULL,
        owner TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS instances (
        instance_id TEXT PRIMARY KEY,
        lease_until_ns BIGINT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts (state) WHERE state = 'in_flight'",
    "CREATE INDEX IF NOT EXISTS attempts_by_execution ON attempts (execution_id, sent_ns)",
)

#: Whether the schema is complete: its tables and the attempts' owner column are there.
_SCHEMA_PRESENT = (
    "SELECT to_regclass('executions') IS NOT NULL AND to_regclass('instances') IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('attempts')"
    " AND attname = 'owner' AND NOT attisdropped)"
)

#: The advisory lock two instances creating the schema at once take in turn.
_SCHEMA_LOCK = 0x736F_725F_6A6E_6C  # "sor_jnl"

#: Renews (or takes) an instance's lease.
_RENEW = (
    "INSERT INTO instances (instance_id, lease_until_ns) VALUES (%s, %s)"
    " ON CONFLICT (instance_id) DO UPDATE SET lease_until_ns = EXCLUDED.lease_until_ns"
)

#: Every attempt in flight with its owner and the end of the owner's lease, oldest first.
_OWNED = (
    f"SELECT {ATTEMPT_COLUMNS}, owner, lease_until_ns FROM attempts"
    " LEFT JOIN instances ON instance_id = owner WHERE state = %s ORDER BY sent_ns"
)

#: Writes settlements: one row per client order id (arrays of the ids and of each field).
_SETTLE = (
    "UPDATE attempts AS a SET state = s.state, filled = s.filled, cost = s.cost, fee = s.fee,"
    " error = s.error, updated_ns = %s"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
    " AS s (cid, state, filled, cost, fee, error)"
    " WHERE a.client_order_id = s.cid RETURNING a.client_order_id"
)


class PostgresJournal:
    """A :class:`sor.journal.Journal` in the PostgreSQL database at ``url``
    (``postgresql://user:password@host:port/database``; any libpq connection string works).

    The tables are created when missing (two instances starting at once create them once).
    ``instance_id`` names this instance (default: the host name), the owner of the attempts
    it writes; its lease on them lasts ``lease_s`` seconds from each renewal: when it is opened,
    with the first write after half of the lease has passed, and on :meth:`renew`.

    Errors are :class:`sor.JournalError`; their messages never hold the URL's password. A lost
    connection fails the call it happens in and is opened again by the next one (a write whose
    commit was lost may have been written: its attempt is then in flight and looked up).
    """

    def __init__(self, url: str, *, instance_id: str | None = None, lease_s: float = 30.0) -> None:
        self._lease = Lease(instance_id, lease_s)
        #: This instance's name in the journal: the owner of the attempts it writes.
        self.instance_id = self._lease.instance_id
        self.lease_s = lease_s
        self._url = url
        #: The URL as messages show it: without its password.
        self.url = redact(url)
        self._secrets = _secrets(url)
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._closed = False
        #: Executions begun and not written yet, with the statement that writes each.
        self._pending: dict[str, tuple[str, tuple[object, ...]]] = {}
        conn = self._connection()
        try:
            _create_schema(conn)
        except psycopg.Error as error:
            conn.close()
            raise self._error(error, "cannot create the tables") from error
        try:
            self.renew()
        except JournalError:
            conn.close()
            raise

    def _connection(self) -> psycopg.Connection[TupleRow]:
        """The open connection; a new one when there is none yet or the last one was lost."""
        if self._closed:
            raise JournalError(f"journal {self.url}: closed")
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        try:
            conninfo = self._url
            if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(conninfo):
                conninfo = psycopg.conninfo.make_conninfo(conninfo, connect_timeout=10)
            self._conn = psycopg.connect(conninfo, autocommit=True)
        except psycopg.Error as error:
            raise self._error(error, "cannot connect") from error
        return self._conn

    def _error(self, error: psycopg.Error, doing: str) -> JournalError:
        """``error`` as a :class:`JournalError` that names the problem (and no password)."""
        diag = error.diag
        detail = f" ({diag.constraint_name}): {diag.message_detail or diag.message_primary}"
        if isinstance(error, psycopg.errors.UniqueViolation):
            message = f"journal: UNIQUE constraint failed{detail}"
        elif isinstance(error, psycopg.errors.ForeignKeyViolation):
            message = f"journal: FOREIGN KEY constraint failed{detail}"
        else:
            text = " ".join(str(error).split()) or type(error).__name__
            message = f"journal {self.url}: {doing}: {text}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return JournalError(message)

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
        conn = self._connection()
        try:
            if begin is None and not settled and renewal is None:
                return conn.execute(sql, values).rowcount  # one statement: its own transaction
            with conn.transaction():
                if renewal is not None:
                    conn.execute(_RENEW, (self.instance_id, renewal[0]))
                if begin is not None:
                    conn.execute(*begin)
                count = conn.execute(sql, values).rowcount if sql else 0
                if settled:
                    _settle(conn, settled)
        except psycopg.Error as error:
            raise self._error(error, "cannot write") from error
        if renewal is not None:
            self._lease.renewed(renewal[1])
        if begin is not None:
            del self._pending[execution_id]
        return count

    def begin(self, execution_id: str, order: OrderRequest, created_ns: int) -> None:
        """Records a new execution of ``order``: written with its first attempt, or its end."""
        if execution_id in self._pending:
            raise JournalError(f"journal: execution {execution_id!r} is already begun")
        self._pending[execution_id] = (
            "INSERT INTO executions (execution_id, symbol, side, amount, created_ns)"
            " VALUES (%s, %s, %s, %s, %s)",
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
        """Writes an attempt as in flight, owned by this instance, before it is sent (a client
        order id only once, across instances), with how earlier attempts ended."""
        self._write(
            "INSERT INTO attempts (client_order_id, execution_id, venue, symbol, side, amount,"
            " price, sent_ns, state, updated_ns, owner)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
            "UPDATE executions SET status = %s, filled = %s, finished_ns = %s"
            " WHERE execution_id = %s",
            (status, str(filled), finished_ns, execution_id),
            execution_id,
            settled,
        )

    def in_flight(self) -> list[AttemptRecord]:
        """Attempts sent and not settled, oldest first, whichever instance owns them."""
        return self._attempts("WHERE state = %s ORDER BY sent_ns", (IN_FLIGHT,))

    def claim_in_flight(self, exclude: Collection[str] = ()) -> list[AttemptRecord]:
        """The attempts in flight this instance may look up now, oldest first: its own but those
        in ``exclude``, and those of instances whose lease has expired (or of no instance),
        which it takes over in one transaction. Only reads when there is nothing to take over
        and the lease is not due for renewal."""
        conn = self._connection()
        try:
            own, takeable = partition(_owned(conn), self.instance_id, exclude, time.time_ns())
            if not takeable and not self._lease.due():
                return own
            self._take(conn, takeable)
            own, _ = partition(_owned(conn), self.instance_id, exclude, time.time_ns())
            return own
        except psycopg.Error as error:
            raise self._error(error, "cannot claim attempts in flight") from error

    def _take(self, conn: psycopg.Connection[TupleRow], takeable: Sequence[Owned]) -> None:
        """Renews the lease (when due) and takes ``takeable`` over in one transaction.

        The leases of the owners taken from (and this instance's own, when it is renewed) are
        locked first, in the order of their ids (so two instances taking over from each other
        do not deadlock), and read again under the lock: an owner that renewed its lease since
        it was read keeps its attempts, and an attempt another instance took first is left
        alone (its owner is no longer the one read)."""
        renewal = self._lease.next() if self._lease.due() else None
        owners = {row.owner for row in takeable if row.owner is not None}
        ids = sorted(owners | ({self.instance_id} if renewal is not None else set()))
        with conn.transaction():
            # An owner without a lease gets an expired one, so that there is a row to lock.
            conn.execute(
                "INSERT INTO instances (instance_id, lease_until_ns)"
                " SELECT unnest(%s::text[]), 0 ON CONFLICT DO NOTHING",
                (ids,),
            )
            locked = conn.execute(
                "SELECT instance_id, lease_until_ns FROM instances"
                " WHERE instance_id = ANY(%s) ORDER BY instance_id FOR UPDATE",
                (ids,),
            ).fetchall()
            leases: dict[str, int] = {row[0]: row[1] for row in locked}
            if renewal is not None:
                conn.execute(
                    "UPDATE instances SET lease_until_ns = %s WHERE instance_id = %s",
                    (renewal[0], self.instance_id),
                )
            now = time.time_ns()
            expired = sorted(owner for owner in owners if leases.get(owner, 0) < now)
            for owner in [*expired, None]:
                cids = [r.record.client_order_id for r in takeable if r.owner == owner]
                if cids:
                    conn.execute(
                        "UPDATE attempts SET owner = %s WHERE client_order_id = ANY(%s)"
                        " AND state = %s AND owner IS NOT DISTINCT FROM %s",
                        (self.instance_id, cids, IN_FLIGHT, owner),
                    )
            # The expired leases of the instances taken over from are of no further use.
            conn.execute(
                "DELETE FROM instances WHERE instance_id = ANY(%s) AND lease_until_ns < %s",
                (expired, now),
            )
        if renewal is not None:
            self._lease.renewed(renewal[1])

    def renew(self) -> None:
        """Renews this instance's lease for ``lease_s`` seconds from now."""
        until, taken_at = self._lease.next()
        try:
            self._connection().execute(_RENEW, (self.instance_id, until))
        except psycopg.Error as error:
            raise self._error(error, "cannot renew the lease") from error
        self._lease.renewed(taken_at)

    def executions(self, limit: int = 100) -> list[ExecutionRecord]:
        """The latest executions, newest first."""
        try:
            rows = (
                self._connection()
                .execute(
                    f"SELECT {EXECUTION_COLUMNS} FROM executions ORDER BY created_ns DESC LIMIT %s",
                    (limit,),
                )
                .fetchall()
            )
        except psycopg.Error as error:
            raise self._error(error, "cannot read") from error
        return [execution_record(r) for r in rows]

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        """An execution's attempts, in the order they were sent."""
        return self._attempts("WHERE execution_id = %s ORDER BY sent_ns", (execution_id,))

    def _attempts(self, where: str, values: tuple[object, ...]) -> list[AttemptRecord]:
        try:
            rows = (
                self._connection()
                .execute(f"SELECT {ATTEMPT_COLUMNS} FROM attempts {where}", values)
                .fetchall()
            )
        except psycopg.Error as error:
            raise self._error(error, "cannot read") from error
        return [attempt_record(r) for r in rows]

    def close(self) -> None:
        """Gives up the lease (this instance's attempts in flight can be taken over at once)
        and closes the connection."""
        if self._closed:
            return
        conn = self._conn
        self._closed = True
        self._conn = None
        if conn is None or conn.closed:
            return
        try:
            if not conn.broken:
                conn.execute("DELETE FROM instances WHERE instance_id = %s", (self.instance_id,))
                self._lease.released()
        except psycopg.Error as error:
            raise self._error(error, "cannot give up the lease") from error
        finally:
            conn.close()


def _create_schema(conn: psycopg.Connection[TupleRow]) -> None:
    """Creates the tables that are missing, under an advisory lock (two instances starting at
    once would otherwise race to create the same table)."""
    present = conn.execute(_SCHEMA_PRESENT).fetchone()
    if present is not None and present[0]:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("ALTER TABLE attempts ADD COLUMN IF NOT EXISTS owner TEXT")


def _owned(conn: psycopg.Connection[TupleRow]) -> list[Owned]:
    """Every attempt in flight with its owner and the end of the owner's lease, oldest first."""
    rows = conn.execute(_OWNED, (IN_FLIGHT,)).fetchall()
    return [Owned(attempt_record(r), r[13], r[14]) for r in rows]


def _settle(conn: psycopg.Connection[TupleRow], settled: Sequence[Settlement]) -> None:
    """Writes ``settled`` in the open transaction (the last settlement of a client order id
    wins); raises :class:`JournalError` when one names an attempt never sent (the caller's
    transaction rolls back)."""
    latest = {s.client_order_id: s for s in settled}
    rows = list(latest.values())
    written = conn.execute(
        _SETTLE,
        (
            time.time_ns(),
            [s.client_order_id for s in rows],
            [s.state for s in rows],
            [str(s.filled) for s in rows],
            [str(s.cost) for s in rows],
            [str(s.fee) for s in rows],
            [s.error for s in rows],
        ),
    ).fetchall()
    known = {row[0] for row in written}
    if len(known) != len(latest):
        missing = ", ".join(repr(cid) for cid in latest if cid not in known)
        raise JournalError(f"journal: no attempt {missing} to settle")


def redact(url: str) -> str:
    """``url`` (a PostgreSQL URL or libpq connection string) with its password replaced by
    ``***``: what messages and listings may show."""
    if "://" not in url:
        return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets(url: str) -> list[str]:
    """The password of ``url`` in every spelling a message might quote it in, longest first."""
    found: set[str] = set()
    try:
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        if isinstance(password, str):
            found.add(password)
    except psycopg.Error:
        pass
    if "://" in url:
        try:
            raw = urlsplit(url).password
        except ValueError:
            raw = None
        if raw:
            found.update((raw, unquote(raw)))
        for value in re.findall(r"(?i)(?:^|[?&])password=([^&]*)", url):
            found.update((value, unquote(value)))
    return sorted((s for s in found if s), key=len, reverse=True)
