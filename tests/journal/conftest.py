"""Journal fixtures: ``backend``, each test run on SQLite and on PostgreSQL (the server comes
from ``tests/postgres_server.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_support import Backend


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh journal database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        chosen = Backend("sqlite", str(tmp_path / "journal.db"))
    else:
        chosen = Backend("postgres", request.getfixturevalue("postgres_url"))
    yield chosen
    chosen.close_all()
