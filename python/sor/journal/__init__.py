"""The journal: every execution and every order sent, written before it is sent and settled
after, so that nothing is lost in a crash and no client order id is ever sent twice.

:class:`SqliteJournal` is the embedded default; :class:`PostgresJournal` is shared by several
instances (imported on first use: it brings the PostgreSQL driver). :func:`open_journal` picks
one from a URL or path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sor.journal.export import execution_entry, export_csv, export_json, listing
from sor.journal.open import open_journal
from sor.journal.records import IN_FLIGHT, AttemptRecord, ExecutionRecord, Journal, Settlement
from sor.journal.sqlite import SqliteJournal

if TYPE_CHECKING:
    from sor.journal.postgres import PostgresJournal

__all__ = [
    "IN_FLIGHT",
    "AttemptRecord",
    "ExecutionRecord",
    "Journal",
    "PostgresJournal",
    "Settlement",
    "SqliteJournal",
    "execution_entry",
    "export_csv",
    "export_json",
    "listing",
    "open_journal",
]


def __getattr__(name: str) -> object:
    """Imports :class:`PostgresJournal` (and psycopg) when it is first asked for."""
    if name == "PostgresJournal":
        from sor.journal.postgres import PostgresJournal

        return PostgresJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
