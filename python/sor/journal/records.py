"""What the journal keeps, and the interface every journal backend implements."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sor.clients import PlaceOrder
from sor.orders import OrderRequest

__all__ = ["IN_FLIGHT", "AttemptRecord", "ExecutionRecord", "Journal", "Settlement"]

#: The state of an attempt written before its order was sent and not settled since.
IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution: the order and, once finished, how it ended. ``client_id`` is the order's
    own id, the trader's (:attr:`sor.OrderRequest.client_id`; None when it had none)."""

    execution_id: str
    symbol: str
    side: str
    amount: Decimal
    created_ns: int
    status: str | None
    filled: Decimal | None
    finished_ns: int | None
    client_id: str | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One order sent: written before it went out (``state`` in flight), settled after."""

    client_order_id: str
    execution_id: str
    venue: str
    symbol: str
    side: str
    amount: Decimal
    price: Decimal | None
    sent_ns: int
    state: str
    filled: Decimal
    cost: Decimal
    fee: Decimal
    error: str | None


@dataclass(frozen=True)
class Settlement:
    """How an attempt ended, to be written over its in-flight record: ``state`` is its outcome
    (``IN_FLIGHT`` while it is still unknown), with what the venue said it filled."""

    client_order_id: str
    state: str
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    error: str | None = None


class Journal(Protocol):
    """Where executions and attempts are written durably, before and after each order is sent.

    A client order id is written once: writing it again raises :class:`sor.JournalError`, so two
    writers (two instances on one shared journal) can never both send it. An attempt's
    settlement may be written late (with the next attempt of its execution, or its end): until
    then it is in flight, and a restart looks it up at its venue, which is always safe.

    Several instances may share one journal: each execution and attempt is owned by the
    instance that wrote it (``instance_id``), which holds a lease on them, renewed with its
    writes (and by :meth:`renew`). An attempt in flight is looked up only by its owner, or,
    once the owner's lease has expired, by the instance that takes it over
    (:meth:`claim_in_flight`); an execution left unfinished (its instance died while it ran)
    is finished, once none of its attempts is in flight, by its owner after a restart or by
    any instance once the owner's lease has expired (:meth:`claim_unfinished`).
    """

    #: This instance's name in the journal: the owner of the executions and attempts it writes.
    instance_id: str
    #: How long this instance's lease on its attempts lasts without renewal, in seconds.
    lease_s: float

    def begin(self, execution_id: str, order: OrderRequest, created_ns: int) -> None:
        """Writes a new execution of ``order``."""
        ...

    def sent(
        self,
        execution_id: str,
        venue: str,
        order: PlaceOrder,
        sent_ns: int,
        settled: Sequence[Settlement] = (),
    ) -> None:
        """Writes an attempt as in flight; called before the order is sent. ``settled``, how
        earlier attempts ended, is written in the same transaction (all or nothing)."""
        ...

    def settle(self, settled: Sequence[Settlement]) -> None:
        """Writes how attempts ended, in one transaction; raises :class:`sor.JournalError`
        (writing none) when one of them was never sent."""
        ...

    def finish(
        self,
        execution_id: str,
        status: str,
        filled: Decimal,
        finished_ns: int,
        settled: Sequence[Settlement] = (),
    ) -> None:
        """Writes how the execution ended, with how its last attempts ended (``settled``) in the
        same transaction."""
        ...

    def in_flight(self) -> list[AttemptRecord]:
        """Attempts sent and not settled (an unknown outcome counts as not settled), whichever
        instance owns them: for listings and status."""
        ...

    def claim_in_flight(self, exclude: Collection[str] = ()) -> list[AttemptRecord]:
        """The attempts in flight this instance may look up now, oldest first: its own (but not
        the client order ids in ``exclude``, being sent right now) and those of instances whose
        lease has expired, which it takes over (atomically: two instances never both get one).
        Writes nothing when there is nothing to take over (nor a lease due to be renewed)."""
        ...

    def claim_unfinished(self, exclude: Collection[str] = ()) -> list[ExecutionRecord]:
        """The executions left unfinished that this instance may finish now, oldest first:
        those with no status and none of whose attempts is in flight (an attempt still unknown
        holds its execution), that are its own (but the execution ids in ``exclude``, running
        now), of no owner (written before owners were recorded), or of an instance that holds
        no running lease (a live instance's executions are never finished by another). Only
        reads: two instances may both get one, and :meth:`finish_claimed` writes it once."""
        ...

    def finish_claimed(
        self, execution_id: str, status: str, filled: Decimal, finished_ns: int
    ) -> bool:
        """Writes how an execution :meth:`claim_unfinished` returned ended, in one statement
        that writes only while it has no status and none of its attempts is in flight (its
        attempts, once settled, never change: two instances finishing it at once compute the
        same end, and one of them writes it). Whether this call wrote it."""
        ...

    def renew(self) -> None:
        """Renews this instance's lease: its attempts are not taken over before it runs out."""
        ...

    def executions(self, limit: int = 100) -> list[ExecutionRecord]:
        """The latest executions, newest first."""
        ...

    def attempts(self, execution_id: str) -> list[AttemptRecord]:
        """An execution's attempts, in the order they were sent."""
        ...

    def find(self, order_id: str) -> ExecutionRecord | None:
        """The execution ``order_id`` names, however old: the one with that execution id, else
        the one with an attempt of that client order id, else the newest whose order had that
        ``client_id`` (the trader's ids need not be unique); None when there is none. Indexed
        lookups, never a scan."""
        ...

    def close(self) -> None:
        """Closes the journal and gives up its lease: its attempts still in flight can be taken
        over at once."""
        ...
