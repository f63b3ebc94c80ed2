"""open_journal picks the backend a URL or path names, and refuses any other URL scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from sor.errors import JournalError
from sor.journal import PostgresJournal, SqliteJournal, open_journal


def test_a_path_or_a_sqlite_url_opens_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.db"
    journal = open_journal(str(path), instance_id="a", lease_s=5.0)
    assert isinstance(journal, SqliteJournal)
    assert journal.instance_id == "a"
    journal.close()
    assert path.exists()
    absolute = open_journal(f"sqlite:///{tmp_path}/url.db")  # sqlite:// + the absolute path
    assert isinstance(absolute, SqliteJournal)
    absolute.close()
    assert (tmp_path / "url.db").exists()
    monkeypatch.chdir(tmp_path)
    relative = open_journal("sqlite:///relative.db", synchronous="NORMAL")
    relative.close()
    assert (tmp_path / "relative.db").exists()
    for memory in (":memory:", "sqlite://", "sqlite:///:memory:"):
        journal = open_journal(memory)
        assert isinstance(journal, SqliteJournal)
        assert journal.in_flight() == []
        journal.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == [
        "journal.db",
        "relative.db",
        "url.db",
    ]


def test_a_postgres_url_opens_postgres(postgres_url: str) -> None:
    for url in (postgres_url, "postgres://" + postgres_url.split("://", 1)[1]):
        journal = open_journal(url, instance_id="pg", lease_s=5.0)
        assert isinstance(journal, PostgresJournal)
        assert journal.instance_id == "pg"
        assert journal.in_flight() == []
        journal.close()
    with pytest.raises(JournalError, match="synchronous"):
        open_journal(postgres_url, synchronous="FULL")


def test_an_unknown_url_scheme_is_named() -> None:
    with pytest.raises(JournalError, match="'mysql': unknown URL scheme") as raised:
        open_journal("mysql://user:hunter2@localhost/db")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(JournalError, match="'file'"):
        open_journal("file:///tmp/journal.db")
