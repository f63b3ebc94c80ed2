"""The shared journal: PostgreSQL, for several instances writing one journal. Same tables and
semantics as :class:`sor.journal.SqliteJournal`; each write is one committed transaction."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import psycopg.conninfo
import psycopg.errors
from psycopg.rows import TupleRow

from sor.errors import JournalError
from sor.journal._lease import Owned
from sor.journal._sql import ADDED_COLUMNS, INDEXES, SqlJournal, missing_settlements
from sor.journal.records import IN_FLIGHT, Settlement

__all__ = ["PostgresJournal", "redact"]

#: The tables, as SQLite's: decimal figures as their exact decimal strings, times in ns.
_TABLES = (
    """CREATE TABLE IF NOT EXISTS executions (
        execution_id TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        amount TEXT NOT NULL,
        created_ns BIGINT NOT NULL,
        status TEXT,
        filled TEXT,
        finished_ns BIGINT,
        client_id TEXT,
        owner TEXT
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
)

#: Whether the schema is complete: its tables and every added column are there (the indexes
#: are created in the transaction that adds the columns).
_SCHEMA_PRESENT = (
    "SELECT to_regclass('instances') IS NOT NULL AND (SELECT count(*) FROM pg_attribute"
    " WHERE NOT attisdropped AND ("
    + " OR ".join(
        f"(attrelid = to_regclass('{table}') AND attname = '{column}')"
        for table, column in ADDED_COLUMNS
    )
    + f")) = {len(ADDED_COLUMNS)}"
)

#: The advisory lock two instances creating the schema at once take in turn.
_SCHEMA_LOCK = 0x736F_725F_6A6E_6C  # "sor_jnl"

#: Writes settlements: one row per client order id (arrays of the ids and of each field).
_SETTLE = (
    "UPDATE attempts AS a SET state = s.state, filled = s.filled, cost = s.cost, fee = s.fee,"
    " error = s.error, updated_ns = %s"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
    " AS s (cid, state, filled, cost, fee, error)"
    " WHERE a.client_order_id = s.cid RETURNING a.client_order_id"
)


class PostgresJournal(SqlJournal):
    """A :class:`sor.journal.Journal` in the PostgreSQL database at ``url``
    (``postgresql://user:password@host:port/database``; any libpq connection string works).

    The tables are created when missing (two instances starting at once create them once).
    ``instance_id`` names this instance (default: the host name), the owner of the executions
    and attempts it writes; its lease on them lasts ``lease_s`` seconds from each renewal:
    when it is opened, with the first write after half of the lease has passed, and on
    :meth:`renew`.

    Errors are :class:`sor.JournalError`; their messages never hold the URL's password. A lost
    connection fails the call it happens in and is opened again by the next one (a write whose
    commit was lost may have been written: its attempt is then in flight and looked up).
    """

    _driver_error = psycopg.Error

    def __init__(self, url: str, *, instance_id: str | None = None, lease_s: float = 30.0) -> None:
        super().__init__(instance_id, lease_s)
        self._url = url
        #: The URL as messages show it: without its password.
        self.url = redact(url)
        self._secrets = _secrets(url)
        self._conn: psycopg.Connection[TupleRow] | None = None
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

    def _run(self, sql: str, values: Sequence[object] = ()) -> psycopg.Cursor[TupleRow]:
        return self._connection().execute(_format(sql), values)

    def _transaction(self) -> AbstractContextManager[object]:
        return self._connection().transaction()

    def _error(self, error: Exception, doing: str) -> JournalError:
        """``error`` as a :class:`JournalError` that names the problem (and no password)."""
        if isinstance(error, psycopg.errors.UniqueViolation | psycopg.errors.ForeignKeyViolation):
            kind = "UNIQUE" if isinstance(error, psycopg.errors.UniqueViolation) else "FOREIGN KEY"
            diag = error.diag
            message = (
                f"journal: {kind} constraint failed ({diag.constraint_name}):"
                f" {diag.message_detail or diag.message_primary}"
            )
        else:
            text = " ".join(str(error).split()) or type(error).__name__
            message = f"journal {self.url}: {doing}: {text}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return JournalError(message)

    def _settle_in(self, settled: Sequence[Settlement]) -> None:
        """Writes ``settled`` with one statement (the arrays of each field, unnested)."""
        latest = {s.client_order_id: s for s in settled}
        rows = list(latest.values())
        conn = self._connection()
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
            raise missing_settlements(latest, known)

    def _take(self, takeable: Sequence[Owned]) -> None:
        """Renews the lease (when due) and takes ``takeable`` over in one transaction.

        The leases of the owners taken from (and this instance's own, when it is renewed) are
        locked first, in the order of their ids (so two instances taking over from each other
        do not deadlock), and read again under the lock: an owner that renewed its lease since
        it was read keeps its attempts, and an attempt another instance took first is left
        alone (its owner is no longer the one read)."""
        renewal = self._lease.next() if self._lease.due() else None
        owners = {row.owner for row in takeable if row.owner is not None}
        ids = sorted(owners | ({self.instance_id} if renewal is not None else set()))
        conn = self._connection()
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
    """Creates the tables, columns and indexes that are missing (a schema written before some
    columns were added gets them), under an advisory lock (two instances starting at once
    would otherwise race to create the same table).

    The schema is looked at again once the lock is held: an instance that waited for another
    to create it then creates nothing. Its ``ALTER TABLE`` statements would lock the tables
    the other already writes, each waiting for the other: a deadlock."""

    def present() -> bool:
        row = conn.execute(_SCHEMA_PRESENT).fetchone()
        return row is not None and bool(row[0])

    if present():
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        if present():
            return
        for statement in _TABLES:
            conn.execute(statement)
        for table, column in ADDED_COLUMNS:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} TEXT")
        for statement in INDEXES:
            conn.execute(statement)


@functools.lru_cache(maxsize=256)
def _format(sql: str) -> str:
    """``sql`` with psycopg's placeholders (``%s``) for the shared statements' qmarks."""
    return sql.replace("%", "%%").replace("?", "%s")


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
