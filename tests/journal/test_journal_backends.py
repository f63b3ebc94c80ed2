"""Every journal backend (SQLite, PostgreSQL) keeps every execution and attempt durably and
exactly, each client order id once; it lists and exports them."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from journal_support import Backend, place

from sor import OrderRequest
from sor.errors import JournalError
from sor.journal import IN_FLIGHT, Settlement, export_csv, export_json, listing
from sor.journal.export import ATTEMPT_COLUMNS

PARTIAL = Settlement("c1", "partial", Decimal("0.7"), Decimal("70.175"), Decimal("0.070175"))


def test_records_survive_a_reopen_and_keep_exact_figures(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "3"), 1_000)
    journal.sent("e1", "binance", place("c1"), 2_000)
    journal.sent("e1", "okx", place("c2", price=None), 3_000)
    journal.settle([PARTIAL])
    journal.close()
    journal = backend.open()
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


def test_figures_keep_every_digit(backend: Backend) -> None:
    journal = backend.open()
    amount = "0.000000000000000000000000000123456789"
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", amount), 1)
    journal.sent("e1", "binance", place("c1", amount, "123456789012345678901234.5678901"), 2)
    fee = Decimal("1E-30")
    journal.settle([Settlement("c1", "filled", Decimal(amount), Decimal("1.10"), fee)])
    (attempt,) = backend.open().attempts("e1")
    assert str(attempt.amount) == str(Decimal(amount))  # the same digits and exponent
    assert str(attempt.price) == "123456789012345678901234.5678901"
    assert (str(attempt.cost), attempt.fee) == ("1.10", fee)  # the trailing zero is kept too


def test_a_client_order_id_is_written_once(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    journal.sent("e1", "binance", place("c1"), 2)
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.sent("e1", "okx", place("c1"), 3)
    with pytest.raises(JournalError, match="FOREIGN KEY"):
        journal.sent("no-such-execution", "okx", place("c2"), 3)
    with pytest.raises(JournalError, match="no attempt 'c9'"):
        journal.settle([Settlement("c1", "filled", Decimal(1)), Settlement("c9", "filled")])
    assert journal.attempts("e1")[0].state == IN_FLIGHT  # all or nothing: c1 is not settled


def test_an_execution_is_written_with_its_first_attempt_or_its_end(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    assert backend.open().executions() == []  # nothing sent yet: nothing to recover
    journal.sent("e1", "binance", place("c1"), 2)
    reopened = backend.open()  # another connection sees what is durable
    assert [e.execution_id for e in reopened.executions()] == ["e1"]
    assert [a.client_order_id for a in reopened.in_flight()] == ["c1"]
    # An execution that sent nothing is written when it ends.
    journal.begin("e2", OrderRequest("BTC/USDT", "sell", "2"), 5)
    journal.finish("e2", "failed", Decimal(0), 6)
    e2 = next(e for e in backend.open().executions() if e.execution_id == "e2")
    assert (e2.status, e2.filled, e2.finished_ns) == ("failed", Decimal(0), 6)
    # A refused first attempt leaves the execution to be written with the next write.
    journal.begin("e3", OrderRequest("BTC/USDT", "buy", "1"), 7)
    with pytest.raises(JournalError, match="UNIQUE"):
        journal.sent("e3", "okx", place("c1"), 8)
    assert "e3" not in {e.execution_id for e in backend.open().executions()}
    journal.sent("e3", "okx", place("c3"), 9)
    assert [a.client_order_id for a in backend.open().attempts("e3")] == ["c3"]
    journal.begin("e4", OrderRequest("BTC/USDT", "buy", "1"), 10)
    with pytest.raises(JournalError, match="already begun"):
        journal.begin("e4", OrderRequest("BTC/USDT", "buy", "1"), 11)


def test_settlements_are_written_with_the_next_attempt_or_the_end(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "2"), 1)
    journal.sent("e1", "binance", place("c1", "1"), 2)
    filled = Settlement("c1", "filled", Decimal(1), Decimal("100.25"), Decimal("0.1"))
    journal.sent("e1", "okx", place("c2", "1"), 3, [filled])
    reopened = backend.open()
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


def test_the_last_settlement_of_an_attempt_in_one_write_wins(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    journal.sent("e1", "binance", place("c1"), 2)
    journal.settle([Settlement("c1", IN_FLIGHT), Settlement("c1", "filled", Decimal("1.5"))])
    (attempt,) = journal.attempts("e1")
    assert (attempt.state, attempt.filled) == ("filled", Decimal("1.5"))


def test_the_journal_is_listed_and_exported_exactly_as_json_and_csv(backend: Backend) -> None:
    journal = backend.open()
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


def test_an_orders_client_id_is_kept_listed_and_exported(backend: Backend) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1", client_id="desk-7/42"), 1)
    journal.sent("e1", "binance", place("c1", "1"), 2)
    journal.finish("e1", "filled", Decimal(1), 3, [Settlement("c1", "filled", Decimal(1))])
    journal.begin("e2", OrderRequest("BTC/USDT", "sell", "1"), 4)
    journal.finish("e2", "failed", Decimal(0), 5)
    assert [(e.execution_id, e.client_id) for e in backend.open().executions()] == [
        ("e2", None),
        ("e1", "desk-7/42"),
    ]
    assert [entry["client_id"] for entry in listing(journal)] == [None, "desk-7/42"]
    text = io.StringIO()
    export_json(journal, text)
    assert [e["client_id"] for e in json.loads(text.getvalue())["executions"]] == [
        None,
        "desk-7/42",
    ]
    text = io.StringIO()
    export_csv(journal, text)
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert [(r["execution_id"], r["client_id"]) for r in rows] == [("e2", ""), ("e1", "desk-7/42")]


#: The tables as the journal wrote them before executions had client ids and owners (any
#: backend reads these types).
BEFORE_EXECUTION_OWNERS = (
    """CREATE TABLE executions (
        execution_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT NULL,
        amount TEXT NOT NULL, created_ns BIGINT NOT NULL, status TEXT, filled TEXT,
        finished_ns BIGINT
    )""",
    """CREATE TABLE attempts (
        client_order_id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL REFERENCES executions (execution_id),
        venue TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, amount TEXT NOT NULL,
        price TEXT, sent_ns BIGINT NOT NULL, state TEXT NOT NULL,
        filled TEXT NOT NULL DEFAULT '0', cost TEXT NOT NULL DEFAULT '0',
        fee TEXT NOT NULL DEFAULT '0', error TEXT, updated_ns BIGINT NOT NULL, owner TEXT
    )""",
    "CREATE TABLE instances (instance_id TEXT PRIMARY KEY, lease_until_ns BIGINT NOT NULL)",
    "INSERT INTO executions VALUES ('old', 'BTC/USDT', 'buy', '3', 1, NULL, NULL, NULL)",
    "INSERT INTO attempts (client_order_id, execution_id, venue, symbol, side, amount, sent_ns,"
    " state, filled, updated_ns, owner)"
    " VALUES ('c-old', 'old', 'binance', 'BTC/USDT', 'buy', '3', 2, 'filled', '3', 2, 'gone')",
)


def test_a_journal_from_before_client_ids_and_execution_owners_is_migrated_when_opened(
    backend: Backend,
) -> None:
    for statement in BEFORE_EXECUTION_OWNERS:
        backend.execute(statement)
    journal = backend.open(instance_id="new")
    (old,) = journal.executions()
    assert (old.execution_id, old.client_id, old.amount) == ("old", None, Decimal(3))
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1", client_id="mine"), 10)
    journal.sent("e1", "okx", place("c1"), 11)
    assert [(e.execution_id, e.client_id) for e in backend.open().executions()] == [
        ("e1", "mine"),
        ("old", None),
    ]
    assert [a.client_order_id for a in journal.attempts("old")] == ["c-old"]
    # The old execution has no owner: any instance may finish it; the new one is "new"'s.
    assert [e.execution_id for e in backend.open(instance_id="other").claim_unfinished()] == ["old"]
    assert backend.query("SELECT owner FROM executions WHERE execution_id = 'e1'") == [("new",)]


def test_find_names_an_execution_by_its_id_a_client_order_id_or_its_client_id(
    backend: Backend,
) -> None:
    journal = backend.open()
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "2", client_id="mine"), 1)
    journal.sent("e1", "binance", place("c1", "1"), 2)
    journal.sent("e1", "okx", place("c2", "1"), 3)
    journal.begin("e2", OrderRequest("BTC/USDT", "buy", "1", client_id="mine"), 4)
    journal.finish("e2", "failed", Decimal(0), 5)
    # An order whose client id is another execution's id or client order id: sor's ids win.
    journal.begin("e3", OrderRequest("BTC/USDT", "buy", "1", client_id="e1"), 6)
    journal.sent("e3", "okx", place("c3", "1"), 7)
    journal.begin("e4", OrderRequest("BTC/USDT", "buy", "1", client_id="c3"), 8)
    journal.finish("e4", "failed", Decimal(0), 9)
    journal.begin("unwritten", OrderRequest("BTC/USDT", "buy", "1", client_id="later"), 10)
    other = backend.open()
    found = {name: other.find(name) for name in ("e1", "c2", "mine", "c3", "e4", "later", "x")}
    assert {name: None if e is None else e.execution_id for name, e in found.items()} == {
        "e1": "e1",
        "c2": "e1",  # an attempt's client order id
        "mine": "e2",  # the newest of the executions with that client id
        "c3": "e3",
        "e4": "e4",
        "later": None,  # begun, not written (nothing sent, not ended)
        "x": None,
    }
    e1 = found["e1"]
    assert e1 is not None
    assert (e1.client_id, e1.amount, e1.status) == ("mine", Decimal(2), None)
    assert found["c2"] == e1
