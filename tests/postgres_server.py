"""PostgreSQL for the tests: ``postgres_server`` (a server, for the session) and ``postgres_url``
(a fresh schema per test), made fixtures of every test by ``tests/conftest.py``.

The server is ``$SOR_TEST_POSTGRES_URL`` (a ``postgresql://`` URL of a database the tests may
create schemas in) when it is set; otherwise a private throwaway one, started from the
PostgreSQL binaries installed here (``initdb`` and ``postgres``, found on the PATH or under
``/usr/lib/postgresql/*/bin``) in a temporary directory, on a free port of 127.0.0.1, with a
password, and stopped when the session ends. As root, the server runs as the ``postgres``
user (or ``nobody``): PostgreSQL refuses to run as root. Tests that need PostgreSQL are skipped,
saying why, only when no server can be had.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

INSTALL = (
    "install PostgreSQL (apt-get install postgresql) or set SOR_TEST_POSTGRES_URL to a"
    " postgresql:// URL"
)


def _bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: the PATH's, else the newest under
    /usr/lib/postgresql."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in [*candidates, *versions]:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _unprivileged() -> dict[str, Any]:
    """The ``subprocess`` arguments that run the server as an unprivileged user when the
    tests run as root (none otherwise)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    return {"user": 65534, "group": 65534, "extra_groups": []}


@contextlib.contextmanager
def private_server(bindir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server in a temporary directory; yields its URL."""
    run_as = _unprivileged()
    root = Path(tempfile.mkdtemp(prefix="sor-pg-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
        password = secrets.token_hex(12)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if run_as:
            os.chown(pwfile, run_as["user"], run_as["group"])
        initdb = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                "sor",
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=root,
            capture_output=True,
            check=False,
            **run_as,
        )
        if initdb.returncode != 0:
            output = (initdb.stdout + initdb.stderr).decode(errors="replace")
            raise RuntimeError(f"initdb failed: {output[-2000:]}")
        port = _free_port()
        log = open(root / "server.log", "wb")  # noqa: SIM115 (closed with the server)
        server = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(root / "data"),
                "-k",
                str(root),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=50",
            ],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            **run_as,
        )
        log.close()
        url = f"postgresql://sor:{password}@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    text = (root / "server.log").read_text(errors="replace")
                    raise RuntimeError(f"postgres did not start: {text[-2000:]}") from None
                time.sleep(0.05)
        yield url
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # a fast shutdown
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's database the tests may create schemas in."""
    configured = os.environ.get("SOR_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bindir = _bindir()
    if bindir is None:
        pytest.skip(f"no PostgreSQL server: initdb and postgres not found; {INSTALL}")
    try:
        with private_server(bindir) as url:
            yield url
    except RuntimeError as error:
        pytest.skip(f"no PostgreSQL server: {error}; {INSTALL}")


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first in its search path (where the journal's tables go)."""
    options = quote(f"-csearch_path={schema}")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose tables go to a fresh, empty schema, dropped after the test."""
    schema = f"sor_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield with_schema(postgres_server, schema)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
