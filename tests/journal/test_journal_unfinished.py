"""Executions an instance left unfinished (it died while they ran): which ones an instance may
finish (its own but those it is running, those of no owner or of an instance whose lease has
expired; none with an attempt in flight), and the conditional write that finishes one once,
however many instances race to."""

from __future__ import annotations

import time
from decimal import Decimal

from journal_support import Backend, lockstep, send

from sor import OrderRequest
from sor.journal import ExecutionRecord, Journal, Settlement

#: A lease short enough to wait out in a test, in seconds.
SHORT = 0.2


def ids(records: list[ExecutionRecord]) -> list[str]:
    return [r.execution_id for r in records]


def settled(journal: Journal, *cids: str, filled: str = "1.5") -> None:
    """Settles ``cids`` as filled by ``filled`` each (``"0"``: rejected)."""
    state = "filled" if Decimal(filled) else "rejected"
    journal.settle([Settlement(cid, state, Decimal(filled)) for cid in cids])


def row(backend: Backend, execution_id: str) -> tuple[object, ...]:
    """The execution's status, filled and finished_ns as stored."""
    (found,) = backend.query(
        f"SELECT status, filled, finished_ns FROM executions WHERE execution_id = '{execution_id}'"
    )
    return tuple(found)


def test_an_execution_is_claimed_only_once_none_of_its_attempts_is_in_flight(
    backend: Backend,
) -> None:
    a = backend.open(instance_id="a")
    send(a, "e1", "a1", "a2", at=10)
    assert a.claim_unfinished() == []  # both in flight: the execution may still be running
    settled(a, "a1")
    assert a.claim_unfinished() == []  # a2 is still in flight (an unknown outcome holds it)
    settled(a, "a2", filled="0")
    (claimed,) = a.claim_unfinished()
    assert (claimed.execution_id, claimed.status, claimed.amount) == ("e1", None, Decimal(10))
    assert a.claim_unfinished(exclude={"e1"}) == []  # this instance is running it now
    # Finished executions and executions begun but not written yet are not claimed.
    send(a, "e2", "a3", at=1)
    a.finish("e2", "filled", Decimal("1.5"), 5, [Settlement("a3", "filled", Decimal("1.5"))])
    a.begin("e3", OrderRequest("BTC/USDT", "buy", "1"), 2)
    send(a, "e4", "a4", at=20)
    settled(a, "a4", filled="0")
    assert ids(a.claim_unfinished()) == ["e1", "e4"]  # oldest first


def test_another_instances_executions_are_claimed_only_once_its_lease_is_gone(
    backend: Backend,
) -> None:
    a = backend.open(instance_id="a", lease_s=SHORT)
    b = backend.open(instance_id="b")
    c = backend.open(instance_id="c")
    send(a, "ea", "a1", at=1)
    send(c, "ec", "c1", at=2)
    settled(a, "a1")
    settled(c, "c1")
    assert b.claim_unfinished() == []  # a's and c's leases run: they may be running them
    assert ids(a.claim_unfinished()) == ["ea"]  # an instance may finish its own
    c.close()  # gives its lease up: its executions can be finished at once
    assert ids(b.claim_unfinished()) == ["ec"]
    time.sleep(SHORT * 1.5)
    assert ids(b.claim_unfinished()) == ["ea", "ec"]
    # An execution written before owners were recorded is anyone's to finish.
    d = backend.open(instance_id="d")
    send(d, "ed", "d1", at=3)
    settled(d, "d1")
    assert ids(b.claim_unfinished()) == ["ea", "ec"]
    backend.execute("UPDATE executions SET owner = NULL WHERE execution_id = 'ed'")
    assert ids(b.claim_unfinished()) == ["ea", "ec", "ed"]


def test_finish_claimed_writes_only_an_unfinished_execution_with_nothing_in_flight(
    backend: Backend,
) -> None:
    a = backend.open(instance_id="a")
    send(a, "e1", "a1")
    assert not a.finish_claimed("e1", "failed", Decimal(0), 5)  # a1 is in flight
    assert row(backend, "e1") == (None, None, None)
    settled(a, "a1")
    assert a.finish_claimed("e1", "partial", Decimal("1.5"), 6)
    assert not a.finish_claimed("e1", "failed", Decimal(0), 7)  # written once
    assert row(backend, "e1") == ("partial", "1.5", 6)
    (execution,) = backend.open().executions()
    assert (execution.status, execution.filled, execution.finished_ns) == (
        "partial",
        Decimal("1.5"),
        6,
    )
    assert a.claim_unfinished() == []
    # An execution its run finished is never written over; an unknown one is not written.
    send(a, "e2", "a2")
    a.finish("e2", "filled", Decimal("1.5"), 8, [Settlement("a2", "filled", Decimal("1.5"))])
    assert not a.finish_claimed("e2", "failed", Decimal(0), 9)
    assert row(backend, "e2") == ("filled", "1.5", 8)
    assert not a.finish_claimed("no-such-execution", "failed", Decimal(0), 9)


def test_two_instances_racing_to_finish_an_execution_write_it_once(backend: Backend) -> None:
    rounds, per_round = 12, 4
    batches: list[list[str]] = []

    def before(n: int) -> None:
        # A new instance writes executions, settles their attempts and dies (lease unrenewed).
        dead = backend.open(instance_id=f"dead{n}", lease_s=0.01)
        batch = [f"e{n}-{i}" for i in range(per_round)]
        for i, execution_id in enumerate(batch):
            send(dead, execution_id, f"c{n}-{i}", at=n * 100 + i * 10)
            settled(dead, f"c{n}-{i}", filled="10" if i % 2 else "0")
        batches.append(batch)
        time.sleep(0.02)

    def finish(journal: Journal, n: int) -> object:
        written = []
        for execution in journal.claim_unfinished():
            attempts = journal.attempts(execution.execution_id)
            filled = sum((a.filled for a in attempts), Decimal(0))
            status = "filled" if filled == execution.amount else "failed"
            if journal.finish_claimed(execution.execution_id, status, filled, time.time_ns()):
                written.append(execution.execution_id)
        return written

    x, y = lockstep(backend, finish, rounds, before)
    for n, (got_x, got_y) in enumerate(zip(x, y, strict=True)):
        assert isinstance(got_x, list), got_x
        assert isinstance(got_y, list), got_y
        assert not set(got_x) & set(got_y), f"round {n}: both wrote {set(got_x) & set(got_y)}"
        assert set(got_x) | set(got_y) == set(batches[n])  # every one written by one of them
    ended = dict(backend.query("SELECT execution_id, status FROM executions"))
    for batch in batches:
        assert [ended[e] for e in batch] == ["failed", "filled"] * (per_round // 2)
