"""Opens the journal a URL or path names: PostgreSQL or SQLite."""

from __future__ import annotations

import re

from sor.errors import JournalError
from sor.journal.records import Journal
from sor.journal.sqlite import SqliteJournal

__all__ = ["open_journal"]

#: A URL's scheme, as the part before ``://``.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def open_journal(
    url_or_path: str,
    *,
    instance_id: str | None = None,
    lease_s: float = 30.0,
    synchronous: str | None = None,
) -> Journal:
    """The journal at ``url_or_path``: a :class:`sor.journal.PostgresJournal` for a
    ``postgresql://`` or ``postgres://`` URL; a :class:`sor.journal.SqliteJournal` for a file
    path, ``:memory:`` or a ``sqlite://`` URL (as SQLAlchemy spells them: ``sqlite:///rel.db``,
    ``sqlite:////abs/path.db``, ``sqlite://`` in memory). ``instance_id`` and ``lease_s`` go to
    either; ``synchronous`` to SQLite only.

    Raises :class:`sor.JournalError` for any other URL scheme, naming it.
    """
    match = _SCHEME.match(url_or_path)
    scheme = None if match is None else match.group(1).lower()
    if scheme in ("postgresql", "postgres"):
        if synchronous is not None:
            raise JournalError("synchronous: a setting of the SQLite journal, not PostgreSQL's")
        from sor.journal.postgres import PostgresJournal  # brings psycopg: only when asked for

        return PostgresJournal(url_or_path, instance_id=instance_id, lease_s=lease_s)
    if scheme is None:
        path = url_or_path
    elif scheme == "sqlite":
        path = url_or_path[len("sqlite://") :]
        path = path[1:] if path.startswith("/") else path
        path = path or ":memory:"
    else:
        raise JournalError(
            f"journal {url_or_path.split('://', 1)[0]!r}: unknown URL scheme: expected"
            " postgresql://, postgres://, sqlite:// or a file path"
        )
    return SqliteJournal(
        path,
        synchronous="FULL" if synchronous is None else synchronous,
        instance_id=instance_id,
        lease_s=lease_s,
    )
