"""What the journal tests share: an order to place, a journal database to open journals on
(SQLite or PostgreSQL) and read directly, and two instances run in lockstep."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal import Journal, PostgresJournal, SqliteJournal
from sor.orders import OrderRequest, OrderSide


def place(cid: str, amount: str = "1.5", price: str | None = "100.25") -> PlaceOrder:
    """A buy of ``amount`` BTC/USDT at ``price`` (``None``: a market order) as ``cid``."""
    return PlaceOrder(
        "BTC/USDT", OrderSide.BUY, Decimal(amount), cid, None if price is None else Decimal(price)
    )


@dataclass
class Backend:
    """One journal database and how to open journals on it and read it directly."""

    name: str
    #: The SQLite file or the PostgreSQL URL.
    target: str
    opened: list[Journal] = field(default_factory=list)

    def open(self, **options: Any) -> Journal:
        """A new journal object (a connection of its own) on this database."""
        journal: Journal
        if self.name == "sqlite":
            journal = SqliteJournal(self.target, **options)
        else:
            journal = PostgresJournal(self.target, **options)
        self.opened.append(journal)
        return journal

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, read on a connection of the test's own."""
        if self.name == "sqlite":
            with contextlib.closing(sqlite3.connect(self.target)) as db:
                return db.execute(sql).fetchall()
        with psycopg.connect(self.target, autocommit=True) as conn:
            return conn.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Runs ``sql`` (committed) on a connection of the test's own."""
        if self.name == "sqlite":
            with contextlib.closing(sqlite3.connect(self.target, isolation_level=None)) as db:
                db.execute(sql)
            return
        with psycopg.connect(self.target, autocommit=True) as conn:
            conn.execute(sql)

    def close_all(self) -> None:
        for journal in self.opened:
            with contextlib.suppress(JournalError):
                journal.close()


def send(journal: Journal, execution_id: str, *cids: str, at: int = 1) -> None:
    """Writes an execution with attempts ``cids`` in flight."""
    journal.begin(execution_id, OrderRequest("BTC/USDT", "buy", "10"), at)
    for i, cid in enumerate(cids):
        journal.sent(execution_id, "binance", place(cid), at + 1 + i)


def lockstep(
    backend: Backend,
    job: Callable[[Journal, int], object],
    rounds: int,
    before: Callable[[int], None] = lambda n: None,
    lease_s: float = 30.0,
) -> tuple[list[object], list[object]]:
    """Runs ``job(journal, n)`` for each round ``n`` on two instances ``x`` and ``y`` at once
    (each on a thread and a connection of its own), after ``before(n)``; returns what each
    instance's job returned (or raised) in every round."""
    start, done = threading.Barrier(3), threading.Barrier(3)
    results: dict[str, list[object]] = {"x": [], "y": []}

    def run(instance_id: str) -> None:
        # Opened on the thread that uses it (a SQLite connection stays on its thread).
        journal = backend.open(instance_id=instance_id, lease_s=lease_s)
        try:
            for n in range(rounds):
                start.wait(60)
                try:
                    results[instance_id].append(job(journal, n))
                except Exception as error:
                    results[instance_id].append(error)
                done.wait(60)
        finally:
            journal.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    try:
        for n in range(rounds):
            before(n)
            start.wait(60)
            done.wait(60)
    finally:
        for thread in threads:
            thread.join(60)
    return results["x"], results["y"]
