"""Several instances on one journal (SQLite file or PostgreSQL database): each looks up only
its own attempts in flight, and takes over another's only once that one's lease has expired,
never two instances the same attempt; a client order id is written once across them all."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from journal_support import Backend, lockstep, place, send

from sor import OrderRequest
from sor.errors import JournalError
from sor.journal import IN_FLIGHT, Journal, Settlement

#: A lease short enough to wait out in a test, in seconds.
SHORT = 0.2


def cids(records: list[object]) -> list[str]:
    return [r.client_order_id for r in records]  # type: ignore[attr-defined]


def leases(backend: Backend) -> dict[str, int]:
    return dict(backend.query("SELECT instance_id, lease_until_ns FROM instances"))


def test_each_instance_claims_its_own_attempts_but_those_being_sent(backend: Backend) -> None:
    a = backend.open(instance_id="a")
    b = backend.open(instance_id="b")
    send(a, "ea", "a1", "a2", at=10)
    send(b, "eb", "b1", at=1)
    assert cids(a.claim_in_flight()) == ["a1", "a2"]
    assert cids(a.claim_in_flight(exclude={"a1"})) == ["a2"]
    assert cids(b.claim_in_flight()) == ["b1"]
    assert cids(a.in_flight()) == ["b1", "a1", "a2"]  # listings show everyone's, oldest first
    assert dict(backend.query("SELECT client_order_id, owner FROM attempts")) == {
        "a1": "a",
        "a2": "a",
        "b1": "b",
    }


def test_an_attempt_is_taken_over_only_once_its_owners_lease_expired(backend: Backend) -> None:
    a = backend.open(instance_id="a", lease_s=SHORT)
    b = backend.open(instance_id="b")
    send(a, "ea", "a1", "a2")
    assert b.claim_in_flight() == []  # a's lease runs
    assert cids(a.claim_in_flight()) == ["a1", "a2"]
    time.sleep(SHORT * 1.5)
    assert cids(b.claim_in_flight()) == ["a1", "a2"]
    assert cids(a.claim_in_flight()) == []  # a renews its lease, but the attempts are b's now
    assert cids(b.claim_in_flight()) == ["a1", "a2"]
    assert {owner for (owner,) in backend.query("SELECT owner FROM attempts")} == {"b"}
    assert cids(a.in_flight()) == ["a1", "a2"]
    # Once taken over, an attempt is settled as any other; b's own later attempts come after.
    send(b, "eb", "b1", at=100)
    b.settle([Settlement("a1", "filled", Decimal("1.5"))])
    assert cids(b.claim_in_flight()) == ["a2", "b1"]


def test_a_lease_is_renewed_with_writes_after_half_of_it_and_on_renew(backend: Backend) -> None:
    lease_s = 0.6
    a = backend.open(instance_id="a", lease_s=lease_s)
    b = backend.open(instance_id="b")
    opened = leases(backend)["a"]
    assert opened > time.time_ns() + 0.3 * 1e9  # taken when the journal is opened
    send(a, "e1", "a1")
    assert leases(backend)["a"] == opened  # not half of the lease yet: no renewal
    time.sleep(lease_s * 0.6)
    send(a, "e2", "a2")
    renewed = leases(backend)["a"]
    assert renewed > opened + 0.3 * 1e9
    time.sleep(lease_s * 0.6)  # past the lease taken at the start, not the renewed one
    assert b.claim_in_flight() == []
    a.renew()
    assert leases(backend)["a"] > renewed
    time.sleep(lease_s * 0.6)
    assert b.claim_in_flight() == []  # renew() held it
    time.sleep(lease_s * 0.6)
    assert cids(b.claim_in_flight()) == ["a1", "a2"]


def test_a_closed_journal_gives_its_attempts_up_at_once(backend: Backend) -> None:
    a = backend.open(instance_id="a")
    b = backend.open(instance_id="b")
    send(a, "e1", "a1")
    assert b.claim_in_flight() == []
    a.close()
    assert "a" not in leases(backend)
    assert cids(b.claim_in_flight()) == ["a1"]


def test_attempts_without_an_owner_are_anyones_to_take(backend: Backend) -> None:
    a = backend.open(instance_id="a")
    send(a, "e1", "a1", "a2")
    backend.execute("UPDATE attempts SET owner = NULL WHERE client_order_id = 'a1'")
    backend.execute("UPDATE attempts SET owner = 'gone' WHERE client_order_id = 'a2'")
    b = backend.open(instance_id="b")
    assert cids(b.claim_in_flight()) == ["a1", "a2"]  # no owner; an owner with no lease
    assert cids(a.claim_in_flight()) == []


def test_claiming_writes_nothing_when_there_is_nothing_to_take_over(backend: Backend) -> None:
    a = backend.open(instance_id="a")
    b = backend.open(instance_id="b")
    send(a, "e1", "a1")
    send(b, "e2", "b1")
    a.settle([Settlement("a1", "filled", Decimal("1.5"))])
    # Row versions: PostgreSQL's xmin changes with every write of a row, even of equal values.
    version = "xmin::text" if backend.name == "postgres" else "0"
    before = (
        backend.query(f"SELECT {version}, * FROM attempts ORDER BY client_order_id"),
        backend.query(f"SELECT {version}, * FROM instances ORDER BY instance_id"),
    )
    changes = getattr(a, "_db").total_changes if backend.name == "sqlite" else None  # noqa: B009
    for _ in range(20):
        assert cids(a.claim_in_flight()) == []
        assert cids(b.claim_in_flight(exclude={"b1"})) == []
    after = (
        backend.query(f"SELECT {version}, * FROM attempts ORDER BY client_order_id"),
        backend.query(f"SELECT {version}, * FROM instances ORDER BY instance_id"),
    )
    assert after == before
    if changes is not None:
        assert getattr(a, "_db").total_changes == changes  # noqa: B009


def test_two_instances_racing_to_take_over_never_both_get_an_attempt(backend: Backend) -> None:
    rounds, per_round = 15, 6
    admin = backend.open(instance_id="admin")
    sent: list[list[str]] = []

    def before(n: int) -> None:
        # The attempts of a new instance that dies at once (its lease expires unrenewed).
        dead = backend.open(instance_id=f"dead{n}", lease_s=0.01)
        batch = [f"r{n}-{i}" for i in range(per_round)]
        send(dead, f"e{n}", *batch, at=n * 100)
        sent.append(batch)
        time.sleep(0.02)

    def claim(journal: Journal, n: int) -> object:
        return cids(journal.claim_in_flight())  # type: ignore[arg-type]

    x, y = lockstep(backend, claim, rounds, before)
    for n, (got_x, got_y) in enumerate(zip(x, y, strict=True)):
        assert isinstance(got_x, list), got_x
        assert isinstance(got_y, list), got_y
        batch = set(sent[n])
        assert not set(got_x) & set(got_y), f"round {n}: both claimed {set(got_x) & set(got_y)}"
        assert batch <= set(got_x) | set(got_y)  # everything expired was taken by one of them
    owners = dict(backend.query("SELECT client_order_id, owner FROM attempts"))
    assert {owners[cid] for batch in sent for cid in batch} <= {"x", "y"}
    assert len(admin.in_flight()) == rounds * per_round


def test_two_expired_instances_taking_each_others_attempts_at_once_both_go_on(
    backend: Backend,
) -> None:
    lease_s, rounds = 0.05, 8

    def send_then_claim(journal: Journal, n: int) -> object:
        send(
            journal,
            f"{journal.instance_id}{n}",
            *(f"{journal.instance_id}{n}-{i}" for i in range(3)),
        )
        time.sleep(lease_s * 1.5)  # both leases expire: each may take the other's attempts
        claimed = cids(journal.claim_in_flight())  # type: ignore[arg-type]
        journal.settle([Settlement(cid, "filled", Decimal("1.5")) for cid in claimed])
        return claimed

    x, y = lockstep(backend, send_then_claim, rounds, lease_s=lease_s)
    for n, (got_x, got_y) in enumerate(zip(x, y, strict=True)):
        assert isinstance(got_x, list), got_x  # no deadlock, no error
        assert isinstance(got_y, list), got_y
        assert not set(got_x) & set(got_y), n
        assert set(got_x) | set(got_y) == {f"{who}{n}-{i}" for who in "xy" for i in range(3)}
    assert backend.open().in_flight() == []


def test_a_client_order_id_is_written_once_across_instances(backend: Backend) -> None:
    rounds = 15

    def write(journal: Journal, n: int) -> object:
        execution = f"{journal.instance_id}-{n}"
        journal.begin(execution, OrderRequest("BTC/USDT", "buy", "1"), 1)
        journal.sent(execution, "binance", place(f"same-{n}"), 2)
        return "written"

    x, y = lockstep(backend, write, rounds)
    for n, (got_x, got_y) in enumerate(zip(x, y, strict=True)):
        outcomes = sorted([type(got_x).__name__, type(got_y).__name__])
        assert outcomes == ["JournalError", "str"], (n, got_x, got_y)
        error = got_x if isinstance(got_x, JournalError) else got_y
        assert "UNIQUE" in str(error)
    rows = backend.query("SELECT client_order_id, state FROM attempts")
    assert sorted(rows) == sorted((f"same-{n}", IN_FLIGHT) for n in range(rounds))


def test_bad_lease_settings_are_journal_errors(backend: Backend) -> None:
    for lease_s in (0, -1, float("nan"), float("inf")):
        with pytest.raises(JournalError, match="lease_s"):
            backend.open(lease_s=lease_s)
    with pytest.raises(JournalError, match="instance_id"):
        backend.open(instance_id="")
