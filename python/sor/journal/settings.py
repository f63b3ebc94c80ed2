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
      once it has lapsed, another instance looks them up (several instances on one journal);
    - ``instance_id``: this instance's name in the journal; empty (the default): the machine's
      host name, so that a restart on the same machine takes back at once what it left in
      flight. Several instances on one machine and one journal need ids of their own.
    """

    url: str = "sor-journal.db"
    synchronous: str = "FULL"
    lease_s: float = 30.0
    instance_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.strip():
            raise InvalidInput("url: expected a file path or a postgresql:// URL")
        if self.synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise InvalidInput("synchronous: expected FULL, NORMAL or EXTRA")
        to_float(self.lease_s, "lease_s", high=3_600.0)
        if not isinstance(self.instance_id, str) or len(self.instance_id) > 128:
            raise InvalidInput("instance_id: expected a name of at most 128 characters")
        if self.lease_s <= 0:
            raise InvalidInput("lease_s: expected a positive number of seconds")
