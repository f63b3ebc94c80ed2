"""The service's load run, smoke-tested: a short run against a real ``sor serve`` process
answers every request (``python -m benches.service_load`` is the measured run)."""

from __future__ import annotations

from .service_load import run, table


def test_a_short_load_run_answers_every_request() -> None:
    results = run(requests=40, executes=8, levels=(1, 4))
    assert [r.clients for r in results] == [1, 4, 16, 1, 4, 16]
    assert all(r.failed == 0 for r in results)
    assert all(len(r.latencies_s) == r.requests for r in results)
    assert "| /api/execute |" in table(results)
