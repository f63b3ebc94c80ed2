"""What only the SQLite journal has: its durability setting, file errors, an in-memory journal,
and the migration of files written before attempts had owners. What every backend does is
pinned in test_journal_backends.py and test_journal_instances.py, on SQLite too."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from journal_support import place

from sor import OrderRequest
from sor.errors import JournalError
from sor.journal import IN_FLIGHT, Settlement, SqliteJournal

#: The schema of journals written before attempts had owners (sqlite.py as it was then).
OLD_SCHEMA = """
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


def old_journal(path: Path) -> None:
    """A journal file as the code before owners wrote it: two attempts, one in flight."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")  # as the code then opened every journal
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO executions VALUES ('e1', 'BTC/USDT', 'buy', '3', 1, NULL, NULL, NULL)"
        )
        for cid, state, filled, sent in (("c1", "filled", "1.5", 2), ("c2", IN_FLIGHT, "0", 3)):
            db.execute(
                "INSERT INTO attempts (client_order_id, execution_id, venue, symbol, side, amount,"
                " price, sent_ns, state, filled, updated_ns)"
                " VALUES (?, 'e1', 'binance', 'BTC/USDT', 'buy', '1.5', '100.25', ?, ?, ?, ?)",
                (cid, sent, state, filled, sent),
            )
    db.close()


def test_bad_settings_and_unreadable_files_are_journal_errors(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="synchronous"):
        SqliteJournal(":memory:", synchronous="OFF")
    with pytest.raises(JournalError, match="journal"):
        SqliteJournal(tmp_path / "missing" / "dir" / "journal.db")


def test_an_in_memory_journal_works_and_closes_twice() -> None:
    journal = SqliteJournal(":memory:", synchronous="NORMAL")
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    journal.sent("e1", "binance", place("c1"), 2)
    assert [a.client_order_id for a in journal.claim_in_flight()] == ["c1"]
    journal.close()
    journal.close()


def test_a_journal_from_before_owners_is_migrated_and_its_attempts_are_claimable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    old_journal(path)
    journal = SqliteJournal(path, instance_id="new")
    columns = {row[1] for row in journal._db.execute("PRAGMA table_info(attempts)")}
    assert "owner" in columns
    assert [(a.client_order_id, a.filled) for a in journal.attempts("e1")] == [
        ("c1", Decimal("1.5")),
        ("c2", Decimal(0)),
    ]
    other = SqliteJournal(path, instance_id="other")
    assert [a.client_order_id for a in journal.claim_in_flight()] == ["c2"]  # no owner: taken
    assert other.claim_in_flight() == []  # it is "new"'s now, and "new"'s lease runs
    journal.settle([Settlement("c2", "filled", Decimal("1.5"))])
    journal.begin("e2", OrderRequest("BTC/USDT", "buy", "1"), 10)
    journal.sent("e2", "okx", place("c3"), 11)
    assert [a.client_order_id for a in journal.claim_in_flight()] == ["c3"]
    journal.close()
    other.close()
    # Reopening a migrated file migrates nothing again.
    assert [a.client_order_id for a in SqliteJournal(path).in_flight()] == ["c3"]


def open_at_once(path: Path, openers: int = 4) -> list[BaseException]:
    """Opens (and closes) ``path`` from ``openers`` threads released at once, as processes
    starting together would; returns the errors."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(openers)

    def open_it() -> None:
        barrier.wait()
        try:
            SqliteJournal(path).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_two_processes_opening_an_old_journal_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    old_journal(path)
    assert open_at_once(path) == []
    with sqlite3.connect(path) as db:
        owners = [row for row in db.execute("PRAGMA table_info(attempts)") if row[1] == "owner"]
    assert len(owners) == 1


def test_processes_opening_a_new_journal_at_once_all_open_it(tmp_path: Path) -> None:
    for n in range(10):
        assert open_at_once(tmp_path / f"journal{n}.db") == [], n
