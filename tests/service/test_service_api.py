"""The HTTP API over real HTTP: uvicorn on 127.0.0.1, httpx as the client, the embedded
simulators as venues."""

from __future__ import annotations

import decimal
import logging
from decimal import Decimal

import httpx
import pytest
from service_support import TOKEN, running_service

from sor import OrderRequest
from sor.clients import Fault, PlaceOrder, SimulatedClient
from sor.execution import ExecutionSettings
from sor.journal import Settlement, SqliteJournal
from sor.orders import OrderSide
from sor.service.app import MAX_LISTED
from sor.service.models import DecisionOut, ExecutionOut, NoRouteOut

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORDER = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.5"}


async def test_route_answers_a_decision_whose_parts_sum_exactly_to_the_order() -> None:
    async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
        answer = await http.post("/api/route", json=ORDER)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        DecisionOut.model_validate(body, strict=True)  # the body is what the spec says
        assert (body["symbol"], body["side"], body["amount"]) == ("BTC/USDT", "buy", "0.5")
        assert sum(Decimal(p["quantity"]) for p in body["parts"]) == Decimal("0.5")
        assert body["venues"] == [p["venue"] for p in body["parts"]]
        assert {s["venue"] for s in body["scores"]} == {
            "binance",
            "coinbase",
            "kraken",
            "okx",
            "bybit",
        }
        assert body["strategy"] == "best_execution"
        # The same decision the router makes in-process.
        decision = service.runtime.router.route(OrderRequest("BTC/USDT", "buy", "0.5"))
        assert body["venues"] == list(decision.venues)

        split = await http.post("/api/route", json={**ORDER, "amount": 3, "strategy": "split"})
        assert split.status_code == 200, split.text
        assert sum(Decimal(p["quantity"]) for p in split.json()["parts"]) == 3


async def test_amounts_are_read_exactly_from_json_numbers_and_strings() -> None:
    async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
        exact = b'{"symbol": "BTC/USDT", "side": "buy", "amount": 0.12345}'
        answer = await http.post(
            "/api/route", content=exact, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["amount"] == "0.12345"
        # A float would have been 0.1000000000000000055511151231257827 -> accepted as 0.1;
        # read exactly, it is finer than any venue's lot and refused, naming the amount.
        finer = b'{"symbol": "BTC/USDT", "side": "buy", "amount": 0.1000000000000000055511}'
        refused = await http.post(
            "/api/route", content=finer, headers={"content-type": "application/json"}
        )
        assert refused.status_code in (409, 422), refused.text
        assert refused.status_code != 200


async def test_results_do_not_depend_on_the_callers_decimal_context() -> None:
    order = {**ORDER, "amount": "1.23456"}
    caller = decimal.Context(prec=3, traps=[decimal.Inexact, decimal.InvalidOperation])
    with decimal.localcontext(caller):  # the service starts, routes and executes under it
        async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
            decided = (await http.post("/api/route", json=order)).json()
            report = (await http.post("/api/execute", json=order, headers=AUTH)).json()
    assert sum(Decimal(p["quantity"]) for p in decided["parts"]) == Decimal("1.23456")
    assert (report["status"], report["filled"]) == ("filled", "1.23456")
    assert Decimal(report["cost"]) > 0


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**ORDER, "amount": "-1"}, "amount", "must be > 0"),
        ({**ORDER, "amount": "lots"}, "amount", ""),
        ({**ORDER, "side": "hold"}, "side", ""),
        ({**ORDER, "symbol": "BTCUSDT"}, "symbol", "pattern"),
        ({**ORDER, "symbol": " BTC/USDT"}, "symbol", "pattern"),
        ({**ORDER, "order_type": "limit"}, "limit_price", "required for a limit order"),
        ({**ORDER, "max_slippage_bps": -5}, "max_slippage_bps", ""),
        ({**ORDER, "colour": "red"}, "colour", ""),
        ({"side": "buy", "amount": "1"}, "symbol", ""),
        (
            {**ORDER, "preferred_exchanges": ["okx"], "excluded_exchanges": ["okx"]},
            "preferred_exchanges",
            "also excluded",
        ),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    body: dict[str, object], field: str, words: str
) -> None:
    async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
        for endpoint, headers in (("/api/route", {}), ("/api/execute", AUTH)):
            answer = await http.post(endpoint, json=body, headers=headers)
            assert answer.status_code == 422, answer.text
            (problem,) = [d for d in answer.json()["detail"] if field in d["loc"]]
            assert words in problem["msg"]
        clients = service.runtime.executor.clients.values()
        assert not any(c.sent for c in clients if isinstance(c, SimulatedClient))


async def test_an_order_nothing_can_take_is_a_409_with_the_reason() -> None:
    async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
        answer = await http.post("/api/route", json={**ORDER, "amount": "50000"})
        assert answer.status_code == 409
        body = answer.json()
        NoRouteOut.model_validate(body, strict=True)
        assert body["reason"] == "insufficient_liquidity"
        assert body["message"].startswith("insufficient liquidity")
        assert {r["venue"] for r in body["rejections"]} == {
            "binance",
            "coinbase",
            "kraken",
            "okx",
            "bybit",
        }
        stats = (await http.get("/api/routing/stats")).json()
        assert stats["no_route"] == {"insufficient_liquidity": 1}


async def test_execute_needs_the_token_and_the_token_is_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = SqliteJournal(":memory:")
    async with (
        running_service(journal=journal) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        seen = []
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": TOKEN},
        ):
            refused = await http.post("/api/execute", json=ORDER, headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["www-authenticate"] == "Bearer"
            seen.append(refused)
        assert journal.executions() == []  # nothing was sent, nothing journaled
        report = await http.post("/api/execute", json=ORDER, headers=AUTH)
        assert report.status_code == 200, report.text
        body = report.json()
        assert (body["status"], body["filled"], body["remaining"]) == ("filled", "0.5", "0")
        seen.append(report)
        for path in ("/api/routing/stats", "/api/exchanges/status", "/health", "/metrics",
                     "/api/orders", "/openapi.json"):  # fmt: skip
            seen.append(await http.get(path))
        for answer in seen:
            assert TOKEN not in answer.text
            assert all(TOKEN not in value for value in answer.headers.values())
    assert TOKEN not in caplog.text

    async with (
        running_service(token=None) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        disabled = await http.post("/api/execute", json=ORDER, headers=AUTH)
        assert disabled.status_code == 403
        assert "SOR_API_TOKEN" in disabled.json()["detail"]


async def test_an_execution_fails_over_and_is_journaled_counted_and_exported() -> None:
    journal = SqliteJournal(":memory:")
    async with (
        running_service(journal=journal) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        primary = (await http.post("/api/route", json=ORDER)).json()["venues"][0]
        client = service.runtime.executor.clients[primary]
        assert isinstance(client, SimulatedClient)
        client.fail_next(Fault.DOWN)
        answer = await http.post("/api/execute", json=ORDER, headers=AUTH)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        ExecutionOut.model_validate(report, strict=True)
        assert report["status"] == "filled"
        assert report["failover_path"][0] == primary
        assert len(report["failover_path"]) == 2
        assert [a["stage"] for a in report["attempts"]] == ["primary", "alternative"]
        assert sum(Decimal(f["filled"]) for f in report["fills"]) == Decimal("0.5")

        stats = (await http.get("/api/routing/stats")).json()
        assert stats["failovers"] == 1
        (move,) = stats["failovers_by_path"]
        assert (move["from"], move["to"]) == (primary, report["failover_path"][1])
        assert stats["executions"] == {"filled": 1}
        metrics = (await http.get("/metrics")).text
        assert f'sor_failovers_total{{cause="not_placed",from_venue="{primary}"' in metrics
        assert 'sor_executions_total{status="filled"} 1.0' in metrics
        assert "sor_journal_in_flight 0.0" in metrics
        assert 'sor_venue_breaker_state{venue="binance"}' in metrics
        assert 'sor_feed_messages_total{venue="kraken"}' in metrics

        listed = (await http.get("/api/orders")).json()["orders"]
        assert [o["execution_id"] for o in listed] == [report["execution_id"]]
        by_id = await http.get(f"/api/orders/{report['execution_id']}")
        assert by_id.status_code == 200
        cid = report["attempts"][1]["client_order_id"]
        by_cid = (await http.get(f"/api/orders/{cid}")).json()
        assert by_cid == by_id.json()
        assert [a["state"] for a in by_cid["attempts"]] == ["not_placed", "filled"]
        assert (await http.get("/api/orders/no-such-order")).status_code == 404
        filtered = await http.get("/api/orders", params={"status": "failed"})
        assert filtered.json() == {"orders": []}


async def test_a_risk_limit_refuses_before_anything_is_sent() -> None:
    journal = SqliteJournal(":memory:")
    limits = ExecutionSettings(max_quantity=Decimal(1), settle_after_s=0.2)
    async with (
        running_service(journal=journal, execution=limits) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        answer = await http.post("/api/execute", json={**ORDER, "amount": "2"}, headers=AUTH)
        assert answer.status_code == 422
        (problem,) = answer.json()["detail"]
        assert problem["loc"] == ["body", "amount"]
        assert "risk limit" in problem["msg"]
        clients = service.runtime.executor.clients.values()
        assert all(not c.sent for c in clients if isinstance(c, SimulatedClient))


async def test_status_health_and_metrics_describe_every_venue() -> None:
    async with running_service() as service, httpx.AsyncClient(base_url=service.url) as http:
        status = (await http.get("/api/exchanges/status")).json()["exchanges"]
        assert [v["venue"] for v in status] == [v.name for v in service.runtime.venues]
        for venue in status:
            assert venue["breaker"] == "closed"
            assert venue["feed"]["connected"] is True
            (book,) = venue["feed"]["books"]
            assert (book["symbol"], book["state"]) == ("BTC/USDT", "live")
            assert venue["health"]["success_rate"] == 1.0
            assert venue["latency_category"] in ("excellent", "good", "acceptable", "poor")
        health = await http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["fresh_books"] == 5
        metrics = await http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        for family in ("sor_routing_decisions_total", "sor_decision_latency_seconds_bucket",
                       "sor_venue_health_score", "sor_feed_book_age_seconds",
                       "sor_feed_resyncs_total", "sor_journal_attempts_written_total"):  # fmt: skip
            assert family in metrics.text


async def test_an_order_is_found_by_any_of_its_ids_however_old() -> None:
    journal = SqliteJournal(":memory:", synchronous="NORMAL")
    # An old execution, then more than the latest executions GET /api/orders lists.
    journal.begin("old", OrderRequest("BTC/USDT", "buy", "1", client_id="old-desk"), 1)
    journal.sent("old", "binance", PlaceOrder("BTC/USDT", OrderSide.BUY, Decimal(1), "c-old"), 2)
    journal.finish("old", "failed", Decimal(0), 3, [Settlement("c-old", "rejected")])
    for n in range(MAX_LISTED):
        journal.begin(f"e{n}", OrderRequest("BTC/USDT", "sell", "1"), 10 + n)
        journal.finish(f"e{n}", "failed", Decimal(0), 10 + n)
    async with (
        running_service(journal=journal) as service,
        httpx.AsyncClient(base_url=service.url) as http,
    ):
        order = {**ORDER, "client_id": "desk-1"}
        report = (await http.post("/api/execute", json=order, headers=AUTH)).json()
        by_id = await http.get(f"/api/orders/{report['execution_id']}")
        assert by_id.status_code == 200
        assert by_id.json()["client_id"] == "desk-1"
        cid = report["attempts"][0]["client_order_id"]
        for name in ("desk-1", cid):
            assert (await http.get(f"/api/orders/{name}")).json() == by_id.json()
        listed = (await http.get("/api/orders", params={"limit": MAX_LISTED})).json()["orders"]
        assert "old" not in {o["execution_id"] for o in listed}
        for name in ("old", "old-desk", "c-old"):
            found = await http.get(f"/api/orders/{name}")
            assert found.status_code == 200, name
            assert found.json()["execution_id"] == "old"
            assert [a["state"] for a in found.json()["attempts"]] == ["rejected"]
        missing = await http.get("/api/orders/no-such-order")
        assert missing.status_code == 404
        assert "no execution" in missing.json()["detail"]
