"""Tick to decision, smoke-tested: every exchange's updates reach a decision made on the book
version they produced (``python -m benches.tick_to_decision`` is the measured run)."""

from __future__ import annotations

import asyncio

from .tick_to_decision import measure, phase_table, table


def test_every_exchanges_updates_reach_a_decision_on_their_book_version() -> None:
    spans = asyncio.run(measure(messages=20, interval=0.02))
    assert sorted(spans) == ["binance", "bybit", "coinbase", "kraken", "okx"]
    for record in spans.values():
        assert len(record.arrival) >= 20
        assert all(0 < span < 5 for span in record.arrival)
        assert all(a <= s for a, s in zip(record.arrival, record.send, strict=False))
    assert "| all |" in table(spans)


def test_phases_time_the_handler_and_both_routes_of_every_message() -> None:
    spans = asyncio.run(measure(messages=20, interval=0.02, phases=True))
    for record in spans.values():
        assert len(record.handler) == len(record.first_route) == len(record.second_route) >= 20
        assert all(0 < span < 5 for span in record.handler + record.first_route)
    assert "| kraken |" in phase_table(spans)
