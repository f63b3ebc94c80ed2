"""An instance's lease on the attempts it owns in a shared journal, and which attempts in flight
it may look up: the part every backend shares."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sor.errors import JournalError
from sor.journal.records import AttemptRecord

__all__ = ["Lease", "Owned", "default_instance_id", "partition"]


def default_instance_id() -> str:
    """The name of this machine: an instance restarted on it takes back at once what its
    predecessor left in flight. Several instances on one machine and one journal need ids of
    their own."""
    return socket.gethostname() or "localhost"


class Lease:
    """This instance's id and lease: how long a renewal holds, and whether one is due (half of
    the lease has passed since the last, or there was none yet)."""

    def __init__(self, instance_id: str | None, lease_s: float) -> None:
        if instance_id is None:
            instance_id = default_instance_id()
        if not isinstance(instance_id, str) or not instance_id:
            raise JournalError(f"instance_id: expected a non-empty string, got {instance_id!r}")
        if isinstance(lease_s, bool) or not isinstance(lease_s, int | float):
            raise JournalError(f"lease_s: expected a number of seconds, got {lease_s!r}")
        if not math.isfinite(lease_s) or lease_s <= 0:
            raise JournalError(f"lease_s: expected a positive number of seconds, got {lease_s!r}")
        #: The instance's name in the journal.
        self.instance_id = instance_id
        #: How long a renewal holds, in nanoseconds.
        self.lease_ns = max(1, int(lease_s * 1e9))
        #: The monotonic clock (ns) at which a renewal is due; ``None``: due now.
        self._due_at: int | None = None

    def due(self) -> bool:
        """Whether the lease should be renewed with the next write (half of it has passed)."""
        return self._due_at is None or time.monotonic_ns() >= self._due_at

    def next(self) -> tuple[int, int]:
        """A renewal to write: the lease's new end (wall clock, ns since the epoch) and the
        monotonic clock it was taken at (for :meth:`renewed`, once it is committed)."""
        return time.time_ns() + self.lease_ns, time.monotonic_ns()

    def renewed(self, taken_at: int) -> None:
        """Notes that the renewal :meth:`next` returned at ``taken_at`` is committed."""
        self._due_at = taken_at + self.lease_ns // 2

    def released(self) -> None:
        """Notes that the lease was given up: the next write renews it."""
        self._due_at = None


@dataclass(frozen=True)
class Owned:
    """An attempt in flight with its owner (``None``: written before owners were recorded) and
    the end of the owner's lease (``None``: the owner holds none)."""

    record: AttemptRecord
    owner: str | None
    lease_until_ns: int | None


def partition(
    rows: Iterable[Owned], instance_id: str, exclude: Collection[str], now_ns: int
) -> tuple[list[AttemptRecord], list[Owned]]:
    """Splits attempts in flight into this instance's own (minus ``exclude``) and those it may
    take over (their owner's lease has expired, or there is no owner); the rest are left out."""
    own: list[AttemptRecord] = []
    takeable: list[Owned] = []
    for row in rows:
        if row.owner == instance_id:
            if row.record.client_order_id not in exclude:
                own.append(row.record)
        elif row.lease_until_ns is None or row.lease_until_ns < now_ns:
            takeable.append(row)
    return own, takeable
