"""`sor demo`, the README's first quickstart command: five simulated exchanges on 127.0.0.1, live
feeds, and an explained routing decision, all offline; `sor orders` on a journal file."""

from __future__ import annotations

import csv
import io
import json
import time
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from sor import OrderRequest
from sor.cli import app
from sor.journal import SqliteJournal


def test_demo_routes_over_five_live_simulated_exchanges() -> None:
    result = CliRunner().invoke(app, ["demo", "--amount", "2.5"])
    assert result.exit_code == 0, result.output
    for venue in ("binance", "coinbase", "kraken", "okx", "bybit"):
        assert venue in result.output
    assert "live BTC/USDT books" in result.output
    assert "Best execution: buy 2.5 BTC ->" in result.output
    assert "Lowest-cost split" in result.output
    assert "split total" in result.output
    assert "failover order: " in result.output
    # The executions: each fills the whole order; the failures are failed over or reconciled.
    assert result.output.count("filled: 2.5 of 2.5 BTC") == 4
    assert "not_placed" in result.output
    assert "found by its client order id" in result.output
    assert "partial" in result.output


def test_demo_sells_too() -> None:
    result = CliRunner().invoke(app, ["demo", "--side", "sell", "--amount", "20", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Best execution: sell 20 BTC ->" in result.output


def test_demo_refuses_a_bad_side_and_amount_by_name() -> None:
    result = CliRunner().invoke(app, ["demo", "--side", "hold"])
    assert result.exit_code != 0
    assert "side must be 'buy' or 'sell'" in result.output
    result = CliRunner().invoke(app, ["demo", "--amount", "lots"])
    assert result.exit_code != 0
    assert "amount must be a decimal number" in result.output
    result = CliRunner().invoke(app, ["demo", "--amount", "-1"])
    assert result.exit_code != 0
    assert "amount must be a positive number" in result.output


def test_route_explains_a_decision_on_the_simulators() -> None:
    result = CliRunner().invoke(app, ["route", "BTC/USDT", "buy", "0.5", "--sim"])
    assert result.exit_code == 0, result.output
    assert "Venues (simulated BTC/USDT books)" in result.output
    assert "best_execution: buy 0.5 BTC ->" in result.output
    assert "failover order: " in result.output
    split = CliRunner().invoke(
        app, ["route", "BTC/USDT", "sell", "30", "--sim", "--strategy", "split"]
    )
    assert split.exit_code == 0, split.output
    assert "split: sell 30 BTC ->" in split.output
    only = CliRunner().invoke(
        app, ["route", "BTC/USDT", "buy", "0.5", "--sim", "--exchanges", "kraken,okx"]
    )
    assert only.exit_code == 0, only.output
    chain = only.output.split("failover order: ")[1].split()[0:3]
    assert set(chain) - {"->"} <= {"kraken", "okx"}


def test_route_fails_with_a_reason_and_an_exit_code() -> None:
    unknown = CliRunner().invoke(
        app, ["route", "BTC/USDT", "buy", "1", "--sim", "--exchanges", "ftx"]
    )
    assert unknown.exit_code == 2
    assert "unknown exchange: ftx" in unknown.output
    huge = CliRunner().invoke(app, ["route", "BTC/USDT", "buy", "50000", "--sim"])
    assert huge.exit_code == 1
    assert "no route: insufficient liquidity" in huge.output
    bad = CliRunner().invoke(app, ["route", "BTCUSDT", "buy", "1", "--sim"])
    assert bad.exit_code == 2
    assert "BASE/QUOTE" in bad.output


def test_orders_shows_and_exports_each_executions_client_id(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path)
    journal.begin("e1", OrderRequest("BTC/USDT", "buy", "1", client_id="desk-7"), time.time_ns())
    journal.finish("e1", "failed", Decimal(0), time.time_ns())
    journal.close()
    table = CliRunner().invoke(app, ["orders", "--journal", str(path)])
    assert table.exit_code == 0, table.output
    assert "client id" in table.output
    assert "desk-7" in table.output
    exported = CliRunner().invoke(app, ["orders", "--journal", str(path), "--format", "json"])
    assert exported.exit_code == 0, exported.output
    assert [e["client_id"] for e in json.loads(exported.output)["executions"]] == ["desk-7"]
    rows = CliRunner().invoke(app, ["orders", "--journal", str(path), "--format", "csv"])
    assert rows.exit_code == 0, rows.output
    assert [r["client_id"] for r in csv.DictReader(io.StringIO(rows.output))] == ["desk-7"]
