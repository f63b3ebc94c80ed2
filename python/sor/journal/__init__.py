"""The journal: every execution and every order sent, written before it is sent and settled
after, so that nothing is lost in a crash and no client order id is ever sent twice."""

from sor.journal.export import export_csv, export_json, listing
from sor.journal.records import IN_FLIGHT, AttemptRecord, ExecutionRecord, Journal, Settlement
from sor.journal.sqlite import SqliteJournal

__all__ = [
    "IN_FLIGHT",
    "AttemptRecord",
    "ExecutionRecord",
    "Journal",
    "Settlement",
    "SqliteJournal",
    "export_csv",
    "export_json",
    "listing",
]
