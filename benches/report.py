"""Markdown report of a pytest-benchmark run: one table per group, ratios versus sor, targets.

Usage::

    python -m pytest benches --benchmark-only --benchmark-json=target/bench/pytest-benchmark.json
    python benches/report.py target/bench/pytest-benchmark.json

Each benchmark records its implementation in ``extra_info["impl"]`` (the labels below) and, when
one call processes many items (1,000 deltas), ``extra_info["items"]``. In every group the row
labelled ``sor`` is the reference the other rows are divided by. The targets are those of the
issue "The Rust core" (section Benchmarks); each is reported as met, not met or not measured.

This file is self-contained (standard library only) so that it runs on a bare JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

# --- Implementation labels (``extra_info["impl"]``) --------------------------------------------

SOR = "sor"
"""sor with exchange-style strings: the reference row of every group."""
SOR_DECIMAL = "sor (Decimal quantity)"
"""sor given a ``decimal.Decimal`` instead of a string."""
SOR_ARRAYS = "sor (numpy arrays)"
"""sor given prices in ticks and sizes in lots as numpy arrays."""
NAUTILUS = "nautilus_trader"
"""nautilus_trader 1.221 given its own prebuilt objects (``Quantity``, ``OrderBookDelta``)."""
NAUTILUS_STRINGS = "nautilus_trader (from strings)"
"""nautilus_trader building its objects from the exchange's strings inside the timing."""
NUMPY = "numpy"
"""A vectorised numpy implementation over float64 arrays."""
SORTED_FLOAT = "sortedcontainers (float)"
"""A pure-Python ``SortedDict`` book with float prices and sizes."""
SORTED_DECIMAL = "sortedcontainers (Decimal)"
"""A pure-Python ``SortedDict`` book with ``Decimal`` prices and sizes."""
PYTHON = "pure Python"
"""A pure-Python reference over ``SortedDict`` books."""
SOR_VENUE_SET = "sor (prepared VenueSet)"
"""sor's ``rank_set`` over a ``VenueSet`` prepared once (books, fees, health figures)."""
SOR_EXCHANGE_LOTS = "sor (exchange lots)"
"""sor with each venue on its exchange's own lot step (10^-5, 10^-6 or 10^-8 BTC)."""
SOR_COARSE_LOTS = "sor (coarse lots)"
"""sor with coarse, mutually awkward lot steps: the exact search over lot multiples runs."""

# --- Groups ------------------------------------------------------------------------------------

WALK_LEVELS = (1, 10, 50, 500)
"""Levels consumed by the walk benchmarks (of a 1,000-level side)."""
DECISION_VENUES = (5, 20)
"""Venue counts of the best-execution decision benchmarks."""


def walk_group(levels: int) -> str:
    """Group of the walks that consume ``levels`` levels."""
    return f"walk: {levels} of 1,000 levels"


def decision_group(venues: int) -> str:
    """Group of the best-execution decisions across ``venues`` venues."""
    return f"best-execution decision: {venues} venues x 1,000 levels, ~50 levels taken"


ROUTE_STRATEGIES = (
    "best_execution",
    "lowest_latency",
    "best_liquidity",
    "cost_optimization",
    "split",
)
"""The strategies of the route() benchmarks."""


def route_group(strategy: str, venues: int) -> str:
    """Group of ``route()`` for a 1 BTC buy with ``strategy`` across ``venues`` venues."""
    return f"route() {strategy}: 1 BTC, {venues} venues x 1,000 levels"


FEED_BINANCE_GROUP = "Binance depthUpdate stream: 5,000 messages x 20 levels, parse + apply"
"""Group of the Binance feed throughput benchmark (named in ``feed_stream.py``)."""

BUILD_GROUP = "build a 2 x 1,000-level book from exchange strings"
"""Group of the book builds."""
DELTAS_EACH_GROUP = "apply 1,000 deltas one by one"
"""Group of applying 1,000 deltas with one call each."""
DELTAS_BATCH_GROUP = "apply 1,000 deltas as one batch"
"""Group of applying 1,000 deltas in one call."""
DELTA_ONE_GROUP = "apply one delta"
"""Group of applying a single delta from Python."""
ALLOCATE_GROUP = "allocate ~1 BTC across 5 venues"
"""Group of the multi-venue allocations."""
ALLOCATE_LOTS_GROUP = "allocate 1 BTC across 5 venues, a lot step per venue"
"""Group of the allocations with mixed lot steps (reference: every venue on one step)."""

ROUTE_BALANCES_GROUP = (
    "route() best_execution with quote balances (the first pick's too small): 1 BTC, "
    "5 venues x 1,000 levels"
)
"""Group of ``route()`` over venues whose quote balances cap the order (one of them binds)."""

ROUTE_PREFERRED_GROUP = (
    "route() best_execution preferring the third-ranked venue: 1 BTC, 5 venues x 1,000 levels"
)
"""Group of ``route()`` for an order that names a preferred venue."""

ROUTE_EXCLUDED_GROUP = (
    "route() best_execution excluding the first-ranked venue: 1 BTC, 5 venues x 1,000 levels"
)
"""Group of ``route()`` for an order that excludes a venue."""

EXECUTE_ONE_GROUP = "execute(): 0.1 BTC on one venue, zero-latency simulated client"
"""Group of single-venue executions."""
EXECUTE_SPLIT_GROUP = "execute(): 1 BTC split across 3 venues, zero-latency simulated clients"
"""Group of split executions."""

GROUP_ORDER = (
    *(walk_group(n) for n in WALK_LEVELS),
    *(decision_group(n) for n in DECISION_VENUES),
    BUILD_GROUP,
    DELTA_ONE_GROUP,
    DELTAS_EACH_GROUP,
    DELTAS_BATCH_GROUP,
    ALLOCATE_GROUP,
    ALLOCATE_LOTS_GROUP,
    *(route_group(s, n) for n in DECISION_VENUES for s in ROUTE_STRATEGIES),
    ROUTE_BALANCES_GROUP,
    ROUTE_PREFERRED_GROUP,
    ROUTE_EXCLUDED_GROUP,
    EXECUTE_ONE_GROUP,
    EXECUTE_SPLIT_GROUP,
)
"""The order groups are reported in (any other group follows, by name)."""


# --- Targets -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets: sor at least ``min_ratio`` times faster than ``baseline``,
    or sor's time (per item when ``per_item``) under ``max_seconds``."""

    text: str
    group: str
    sor: str = SOR
    baseline: str | None = None
    min_ratio: float | None = None
    max_seconds: float | None = None
    per_item: bool = False


TARGETS = (
    Target(
        "walk at 50 levels >= 10x nautilus_trader", walk_group(50), baseline=NAUTILUS, min_ratio=10
    ),
    Target(
        "walk at 500 levels >= 20x nautilus_trader",
        walk_group(500),
        baseline=NAUTILUS,
        min_ratio=20,
    ),
    Target(
        "5-venue decision (~50 levels, rank_venues) under 1 us (also the speed issue's)",
        decision_group(5),
        max_seconds=1e-6,
    ),
    Target(
        "5-venue decision >= 10x nautilus_trader",
        decision_group(5),
        baseline=NAUTILUS,
        min_ratio=10,
    ),
    Target(
        "2 x 1,000-level build >= 10x nautilus_trader", BUILD_GROUP, baseline=NAUTILUS, min_ratio=10
    ),
    Target(
        "1,000 deltas as a batch (str tuples) >= 5x nautilus_trader's batch",
        DELTAS_BATCH_GROUP,
        baseline=NAUTILUS,
        min_ratio=5,
    ),
    Target(
        "1,000 deltas as a batch (numpy arrays) >= 5x nautilus_trader's batch",
        DELTAS_BATCH_GROUP,
        sor=SOR_ARRAYS,
        baseline=NAUTILUS,
        min_ratio=5,
    ),
    Target("one delta from Python under 200 ns", DELTA_ONE_GROUP, max_seconds=200e-9),
    Target(
        "one delta from Python under 200 ns (mean of 1,000 one by one)",
        DELTAS_EACH_GROUP,
        max_seconds=200e-9,
        per_item=True,
    ),
    Target(
        "Binance diffs: >= 100,000 msgs/s on one core (parse + apply, per message under 10 us)",
        FEED_BINANCE_GROUP,
        max_seconds=10e-6,
        per_item=True,
    ),
    Target(
        "route(): 5-venue best_execution decision under 10 us",
        route_group("best_execution", 5),
        max_seconds=10e-6,
    ),
    Target(
        "route(): 5-venue best_execution >= 50x the pure-Python reference",
        route_group("best_execution", 5),
        baseline=PYTHON,
        min_ratio=50,
    ),
    Target(
        "route(): 5-venue best_execution at most 1.5 us (speed issue)",
        route_group("best_execution", 5),
        max_seconds=1.5e-6,
    ),
    Target(
        "route(): 20-venue best_execution at most 6 us (speed issue)",
        route_group("best_execution", 20),
        max_seconds=6e-6,
    ),
    Target(
        "route(): 5-venue split at most 10 us, in one core call (speed issue)",
        route_group("split", 5),
        max_seconds=10e-6,
    ),
    Target("walk of 1 level at most 80 ns (speed issue)", walk_group(1), max_seconds=80e-9),
    Target(
        "rank_set (prepared VenueSet) at 5 venues at most 1 us (speed issue)",
        decision_group(5),
        sor=SOR_VENUE_SET,
        max_seconds=1e-6,
    ),
    Target(
        "execute(): one venue, durable journal (synchronous=FULL), under 1 ms",
        EXECUTE_ONE_GROUP,
        max_seconds=1e-3,
    ),
)
"""The targets of the issues (the Rust core, the router), in their order."""


# --- Reading results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One benchmark's result."""

    group: str
    impl: str
    name: str
    median: float
    """Median time of one call, in seconds."""
    minimum: float
    """Fastest call, in seconds (the least disturbed by other load on the machine)."""
    items: int
    """Items one call processes (1 unless the benchmark says otherwise)."""

    @property
    def per_item(self) -> float:
        """Median time per item, in seconds."""
        return self.median / self.items


def load(path: Path) -> list[Row]:
    """The rows of a pytest-benchmark JSON file."""
    document: dict[str, Any] = json.loads(path.read_text())
    rows = []
    for bench in document.get("benchmarks", []):
        extra: dict[str, Any] = bench.get("extra_info") or {}
        rows.append(
            Row(
                group=str(bench.get("group") or "(no group)"),
                impl=str(extra.get("impl", bench["name"])),
                name=str(bench["name"]),
                median=float(bench["stats"]["median"]),
                minimum=float(bench["stats"]["min"]),
                items=int(extra.get("items", 1)),
            )
        )
    return rows


def by_group(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows keyed by group, groups in report order, rows fastest first with sor on top."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    order = {name: i for i, name in enumerate(GROUP_ORDER)}
    keys = sorted(groups, key=lambda g: (order.get(g, len(order)), g))
    return {key: sorted(groups[key], key=lambda r: (r.impl != SOR, r.median)) for key in keys}


def find(groups: dict[str, list[Row]], group: str, impl: str) -> Row | None:
    """The row of ``impl`` in ``group``, if it was measured."""
    return next((r for r in groups.get(group, []) if r.impl == impl), None)


# --- Formatting --------------------------------------------------------------------------------


def format_time(seconds: float) -> str:
    """A duration with a readable unit (``"183 ns"``, ``"1.42 us"``, ``"2.05 ms"``)."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{seconds / 1e-9:.3g} ns" if seconds < 1e-7 else f"{seconds / 1e-9:.0f} ns"


def format_ratio(ratio: float) -> str:
    """A speed ratio (``"12.3x"``, ``"0.45x"``)."""
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def group_table(rows: Sequence[Row]) -> list[str]:
    """The markdown table of one group."""
    reference = next((r for r in rows if r.impl == SOR), None)
    per_item = any(r.items > 1 for r in rows)
    header = "| implementation | median | min |" + (" median per item |" if per_item else "")
    lines = [
        header + " vs sor (medians) |",
        "|---|---:|---:|" + ("---:|" if per_item else "") + "---|",
    ]
    for row in rows:
        if reference is None:
            versus = "no sor row"
        elif row is reference:
            versus = "reference"
        else:
            versus = f"{row.impl} / sor = {format_ratio(row.median / reference.median)}"
        item = f" {format_time(row.per_item)} |" if per_item else ""
        times = f"{format_time(row.median)} | {format_time(row.minimum)}"
        lines.append(f"| {row.impl} | {times} |{item} {versus} |")
    return lines


Statistic = Literal["median", "minimum"]
"""Which time of a benchmark a target is judged on."""


def seconds(row: Row, stat: Statistic, per_item: bool = False) -> float:
    """A row's median or minimum time, per item if asked."""
    value = row.median if stat == "median" else row.minimum
    return value / row.items if per_item else value


def evaluate(
    target: Target, groups: dict[str, list[Row]], stat: Statistic
) -> tuple[str, bool | None]:
    """What was measured for a target (by medians or by minimums) and whether it is met
    (None: not measured)."""
    sor = find(groups, target.group, target.sor)
    if sor is None:
        return f"{target.sor} not measured", None
    if target.baseline is not None and target.min_ratio is not None:
        baseline = find(groups, target.group, target.baseline)
        if baseline is None:
            return f"{target.baseline} not measured", None
        ratio = seconds(baseline, stat) / seconds(sor, stat)
        measured = (
            f"{format_time(seconds(baseline, stat))} / {format_time(seconds(sor, stat))}"
            f" = {format_ratio(ratio)}"
        )
        return measured, ratio >= target.min_ratio
    if target.max_seconds is not None:
        value = seconds(sor, stat, target.per_item)
        return format_time(value), value < target.max_seconds
    raise ValueError(f"target {target.text!r} has neither a ratio nor a time bound")


def verdict(met: bool | None) -> str:
    """A target's verdict for the table."""
    return "not measured" if met is None else ("yes" if met else "**no**")


def per_level_line(groups: dict[str, list[Row]]) -> str | None:
    """sor's marginal cost of a walked level, from the 1- and 500-level walks."""
    one = find(groups, walk_group(1), SOR)
    many = find(groups, walk_group(500), SOR)
    if one is None or many is None:
        return None
    per_level = (many.median - one.median) / 499
    per_level_min = (many.minimum - one.minimum) / 499
    return (
        f"sor walk: {format_time(one.median)} for one level (the call), "
        f"{format_time(per_level)} per further level (medians of the 1- and 500-level walks; "
        f"{format_time(per_level_min)} from their minimums)."
    )


def report(rows: Sequence[Row]) -> str:
    """The whole markdown report."""
    groups = by_group(rows)
    lines: list[str] = []
    for name, group_rows in groups.items():
        lines += [f"### {name}", "", *group_table(group_rows), ""]
    lines += [
        "### Targets",
        "",
        "Judged on medians, and on minimums (the least disturbed by other load on the machine).",
        "",
        "| target | medians | met | minimums | met |",
        "|---|---|---|---|---|",
    ]
    for target in TARGETS:
        by_median, met_median = evaluate(target, groups, "median")
        by_minimum, met_minimum = evaluate(target, groups, "minimum")
        lines.append(
            f"| {target.text} | {by_median} | {verdict(met_median)} "
            f"| {by_minimum} | {verdict(met_minimum)} |"
        )
    per_level = per_level_line(groups)
    if per_level is not None:
        lines += ["", per_level]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the report of the JSON file named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("json", type=Path, help="pytest-benchmark JSON (--benchmark-json)")
    args = parser.parse_args(argv)
    rows = load(args.json)
    if not rows:
        print(f"{args.json}: no benchmarks", file=sys.stderr)
        return 1
    sys.stdout.write(report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
