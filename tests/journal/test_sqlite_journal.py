"""The SQLite journal keeps every execution and attempt, durably, and each client order id once."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from sor import OrderRequest
from sor.clients import PlaceOrder
from sor.errors import JournalError
from sor.journal import IN_FLIGHT, Settlement, SqliteJournal, export_csv, export_json, listing
from sor.journal.export import ATTEMPT_COLUMNS
from sor.orders import OrderSide


def place(cid: str, amount: str = "1.5", price: str | None = "100.25") -> PlaceOrder:
    return PlaceOrder(
        "BTC/USDT", OrderSide.BUY, Decimal(amount), cid, None if price is None else Decimal(price)
    )


PARTIAL = Settlement("c1", "partial", Decimal("0.7"), Decimal("70.175"), Decimal("0.070175"))


def test_records_survive_a_reopen_and_keep_exact_figures(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path)
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "3"), 1_000)
    journal.sent("e1", "binance", place("c1"), 2_000)
    journal.sent("e1", "okx", place("c2", price=None), 3_000)
    journal.settle([PARTIAL])
    journal.close()
    journal = SqliteJournal(path)
    (first, second) = journal.attempts("e1")
    assert (first.client_order_id, first.state, first.filled, first.cost, first.fee) == (
        "c1",
        "partial",
        Decimal("0.7"),
        Decimal("70.175"),
        Decimal("0.070175"),
    )
    assert (first.price, second.price) == (Decimal("100.25"), None)
    assert [r.client_order_id for r in journal.in_flight()] == ["c2"]
    assert journal.in_flight()[0].state == IN_FLIGHT
    journal.finish("e1", "partial", Decimal("0.7"), 4_000)
    (execution,) = journal.executions()
    assert (execution.status, execution.filled, execution.amount) == (
        "partial",
        Decimal("0.7"),
        Decimal(3),
    )


def test_a_client_order_id_is_written_once() -> None:
    journal = SqliteJournal(":memory:")
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    journal.sent("e1", "binance", place("c1"), 2)
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.sent("e1", "okx", place("c1"), 3)
    with pytest.raises(JournalError, match="FOREIGN KEY"):
        journal.sent("no-such-execution", "okx", place("c2"), 3)
    with pytest.raises(JournalError, match="no attempt 'c9'"):
        journal.settle([Settlement("c1", "filled", Decimal(1)), Settlement("c9", "filled")])
    assert journal.attempts("e1")[0].state == IN_FLIGHT  # all or nothing: c1 is not settled


def test_an_execution_is_written_with_its_first_attempt_or_its_end(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path)
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    assert SqliteJournal(path).executions() == []  # nothing sent yet: nothing to recover
    journal.sent("e1", "binance", place("c1"), 2)
    reopened = SqliteJournal(path)  # another connection sees what is durable
    assert [e.execution_id for e in reopened.executions()] == ["e1"]
    assert [a.client_order_id for a in reopened.in_flight()] == ["c1"]
    # An execution that sent nothing is written when it ends.
    journal.begin("e2", OrderRequest("BTC/USDT", "sell", "2"), 5)
    journal.finish("e2", "failed", Decimal(0), 6)
    e2 = next(e for e in SqliteJournal(path).executions() if e.execution_id == "e2")
    assert (e2.status, e2.filled, e2.finished_ns) == ("failed", Decimal(0), 6)
    # A refused first attempt leaves the execution to be written with the next write.
    journal.begin("e3", OrderRequest("BTC/USDT", "buy", "1"), 7)
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.sent("e3", "okx", place("c1"), 8)
    assert "e3" not in {e.execution_id for e in SqliteJournal(path).executions()}
    journal.sent("e3", "okx", place("c3"), 9)
    assert [a.client_order_id for a in SqliteJournal(path).attempts("e3")] == ["c3"]
    journal.begin("e4", OrderRequest("BTC/USDT", "buy", "1"), 10)
    with pytest.raises(JournalError, match="already begun"):
        journal.begin("e4", OrderRequest("BTC/USDT", "buy", "1"), 11)


def test_settlements_are_written_with_the_next_attempt_or_the_end(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path)
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "2"), 1)
    journal.sent("e1", "binance", place("c1", "1"), 2)
    filled = Settlement("c1", "filled", Decimal(1), Decimal("100.25"), Decimal("0.1"))
    journal.sent("e1", "okx", place("c2", "1"), 3, [filled])
    reopened = SqliteJournal(path)
    assert [(a.client_order_id, a.state) for a in reopened.attempts("e1")] == [
        ("c1", "filled"),
        ("c2", IN_FLIGHT),
    ]
    # A refused write writes none of its settlements.
    late = Settlement("c2", "rejected", error="InvalidOrder")
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.sent("e1", "okx", place("c1"), 4, [late])
    assert [a.client_order_id for a in reopened.in_flight()] == ["c2"]
    journal.finish("e1", "partial", Decimal(1), 5, [late])
    assert reopened.in_flight() == []
    (execution,) = reopened.executions()
    assert (execution.status, execution.filled) == ("partial", Decimal(1))
    # An end whose settlement names no attempt is not written either.
    journal.begin("e2", OrderRequest("BTC/USDT", "buy", "1"), 6)
    with pytest.raises(JournalError, match="no attempt 'c7'"):
        journal.finish("e2", "failed", Decimal(0), 7, [Settlement("c7", "rejected")])
    assert [e.execution_id for e in reopened.executions()] == ["e1"]


def test_bad_settings_and_unreadable_files_are_journal_errors(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="synchronous"):
        SqliteJournal(":memory:", synchronous="OFF")
    with pytest.raises(JournalError, match="journal"):
        SqliteJournal(tmp_path / "missing" / "dir" / "journal.db")


def test_the_journal_is_listed_and_exported_exactly_as_json_and_csv() -> None:
    journal = SqliteJournal(":memory:")
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "3"), 1_000)
    journal.sent("e1", "binance", place("c1"), 2_000)
    journal.sent("e1", "okx", place("c2", price=None), 3_000)
    journal.settle([PARTIAL])
    journal.settle([Settlement("c2", "rejected", error="InvalidOrder: x, y")])
    journal.finish("e1", "partial", Decimal("0.7"), 4_000)
    journal.begin("e2", OrderRequest("ETH/USDT", "sell", "1"), 5_000)
    journal.finish("e2", "failed", Decimal(0), 6_000)

    (e2, e1) = listing(journal)
    assert (e2["execution_id"], e2["attempts"]) == ("e2", [])
    assert e1["filled"] == "0.7"
    assert [a["client_order_id"] for a in e1["attempts"]] == ["c1", "c2"]  # type: ignore[attr-defined]

    text = io.StringIO()
    assert export_json(journal, text) == 2
    document = json.loads(text.getvalue())
    assert document == {"executions": listing(journal)}
    first = document["executions"][1]["attempts"][0]
    assert (first["cost"], first["fee"], first["price"]) == ("70.175", "0.070175", "100.25")

    text = io.StringIO()
    assert export_csv(journal, text) == 3  # two attempts, and one row for e2 that sent nothing
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert tuple(rows[0]) == ATTEMPT_COLUMNS
    assert [(r["execution_id"], r["client_order_id"], r["state"]) for r in rows] == [
        ("e2", "", ""),
        ("e1", "c1", "partial"),
        ("e1", "c2", "rejected"),
    ]
    assert rows[2]["error"] == "InvalidOrder: x, y"  # quoted, so the comma stays in its cell
    assert rows[1]["attempt_filled"] == "0.7"
    assert rows[1]["amount"] == "3"
