"""What the journal tests share: an order to place, and a journal database to open journals on
(SQLite or PostgreSQL) and read directly."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal import Journal, PostgresJournal, SqliteJournal
from sor.orders import OrderSide


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
