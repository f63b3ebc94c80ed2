"""The journal's section of the settings: where executions and orders are written."""

from __future__ import annotations

from dataclasses import dataclass

from sor._validate import to_float
from sor.errors import InvalidInput

__all__ = ["JournalSettings"]


@dataclass(frozen=True)
class JournalSettings:
    """Where the journal lives and how durably it writes.

    - ``url``: a SQLite file path (relative to the working directory; ``":memory:"`` keeps
      nothing), or a ``postgresql://user:password@host/db`` URL, so that several instances share
      one journal;
    - ``synchronous``: SQLite's durability, ``FULL`` (every write survives a power loss once it
      returns; the default), ``NORMAL`` (survives a crash of the process) or ``EXTRA``;
    - ``lease_s``: how long an instance's claim on its orders in flight lasts without renewal;
      once it has lapsed, another instance looks them up (several instances on one journal).
    """

    url: str = "sor-journal.db"
    synchronous: str = "FULL"
    lease_s: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.strip():
            raise InvalidInput("url: expected a file path or a postgresql:// URL")
        if self.synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise InvalidInput("synchronous: expected FULL, NORMAL or EXTRA")
        to_float(self.lease_s, "lease_s", high=3_600.0)
        if self.lease_s <= 0:
            raise InvalidInput("lease_s: expected a positive number of seconds")
