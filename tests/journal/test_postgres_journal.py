"""What only the PostgreSQL journal has: its URL's password kept out of every message, a lost
connection failing one call and opened again by the next, and tables created once by instances
starting together. What every backend does is pinned in test_journal_backends.py and
test_journal_instances.py, on PostgreSQL too."""

from __future__ import annotations

import socket
import threading
import uuid
from decimal import Decimal

import psycopg
import pytest
from journal_support import place

from postgres_server import with_schema
from sor import OrderRequest
from sor.errors import JournalError
from sor.journal import PostgresJournal, Settlement
from sor.journal.postgres import redact

SECRET = "s3cr3t-Pa55"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_redact_hides_the_password_in_every_spelling() -> None:
    assert (
        redact(f"postgresql://sor:{SECRET}@db:5432/journal")
        == "postgresql://sor:***@db:5432/journal"
    )
    assert redact("postgresql://sor@db/journal") == "postgresql://sor@db/journal"
    assert redact(f"postgres://db/j?user=sor&password={SECRET}&sslmode=require") == (
        "postgres://db/j?user=sor&password=***&sslmode=require"
    )
    assert redact(f"host=db user=sor password={SECRET} dbname=j") == (
        "host=db user=sor password=*** dbname=j"
    )
    assert redact(f"host=db password='{SECRET} x' dbname=j") == "host=db password=*** dbname=j"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://sor:{SECRET}@127.0.0.1:{{port}}/journal?connect_timeout=5",
        f"postgresql://sor@127.0.0.1:{{port}}/journal?password={SECRET}",
        f"postgresql://sor:{SECRET.replace('-', '%2D')}@127.0.0.1:{{port}}/journal",
    ],
)
def test_a_server_that_cannot_be_reached_is_a_journal_error_without_the_password(
    url: str,
) -> None:
    with pytest.raises(JournalError, match="cannot connect") as raised:
        PostgresJournal(url.format(port=closed_port()))
    message = str(raised.value)
    assert SECRET not in message
    assert "%2D" not in message
    assert "127.0.0.1" in message
    assert "***" in message


def test_a_wrong_password_is_named_but_never_shown(postgres_url: str) -> None:
    user = psycopg.conninfo.conninfo_to_dict(postgres_url).get("user")
    wrong = psycopg.conninfo.make_conninfo(postgres_url, password=SECRET)
    try:
        psycopg.connect(wrong).close()
    except psycopg.OperationalError:
        pass
    else:
        pytest.skip("the server does not check passwords")
    with pytest.raises(JournalError, match="password authentication failed") as raised:
        PostgresJournal(wrong)
    assert SECRET not in str(raised.value)
    assert user is None or str(user) in str(raised.value)


def test_a_lost_connection_fails_one_call_and_the_next_connects_again(postgres_url: str) -> None:
    journal = PostgresJournal(postgres_url)
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "2"), 1)
    journal.sent("e1", "binance", place("c1"), 2)
    pid = journal._conn.info.backend_pid  # type: ignore[union-attr]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(JournalError, match="cannot write") as raised:
        journal.sent("e1", "okx", place("c2"), 3)
    password = psycopg.conninfo.conninfo_to_dict(postgres_url).get("password")
    assert not password or str(password) not in str(raised.value)
    journal.sent("e1", "okx", place("c2"), 3)  # a new connection
    journal.finish("e1", "filled", Decimal(2), 4, [Settlement("c1", "filled", Decimal(1))])
    assert [a.client_order_id for a in journal.claim_in_flight()] == ["c2"]
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.in_flight()
    journal.close()  # closing again does nothing


def test_instances_starting_together_create_the_tables_once(postgres_url: str) -> None:
    errors: list[BaseException] = []
    opened: list[PostgresJournal] = []
    barrier = threading.Barrier(6)

    def start(number: int) -> None:
        barrier.wait()
        try:
            opened.append(PostgresJournal(postgres_url, instance_id=f"instance-{number}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({journal.instance_id for journal in opened}) == 6
    opened[0].begin("e1", OrderRequest("BTC/USDT", "buy", "1"), 1)
    opened[0].sent("e1", "binance", place("c1"), 2)
    assert [a.client_order_id for a in opened[5].in_flight()] == ["c1"]
    for journal in opened:
        journal.close()


def test_a_journal_reopened_on_an_existing_schema_adds_nothing(postgres_url: str) -> None:
    PostgresJournal(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
    assert tables == [("attempts",), ("executions",), ("instances",)]
    PostgresJournal(postgres_url, instance_id="again").close()


def start_and_write(url: str, number: int, barrier: threading.Barrier) -> None:
    """Opens a journal on ``url`` when ``barrier`` lets it go, then writes five executions."""
    barrier.wait(60)
    journal = PostgresJournal(url, instance_id=f"i{number}")
    for i in range(5):
        execution, cid = f"e{number}-{i}", f"c{number}-{i}"
        journal.begin(execution, OrderRequest("BTC/USDT", "buy", "1"), i)
        journal.sent(execution, "binance", place(cid, "1"), i)
        journal.finish(execution, "filled", Decimal(1), i, [Settlement(cid, "filled", Decimal(1))])
    journal.close()


def start_together(url: str, starting: int) -> list[BaseException]:
    """Runs :func:`start_and_write` on ``starting`` threads released at once; their errors."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(starting)

    def run(number: int) -> None:
        try:
            start_and_write(url, number, barrier)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(starting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_instances_starting_while_the_first_ones_write_never_deadlock(postgres_server: str) -> None:
    """An instance that found no tables waits for the one creating them, then creates nothing
    (no table lock of its own that the writes of the instances already started wait on)."""
    rounds, starting = 8, 4
    for n in range(rounds):
        schema = f"sor_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        url = with_schema(postgres_server, schema)
        errors = start_together(url, starting)
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
        assert errors == [], (n, errors)
