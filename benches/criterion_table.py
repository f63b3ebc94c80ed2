"""Print the core's criterion results as a markdown table: sor time, baseline time, ratio.

Run after ``cargo bench -p sor-core --bench core``::

    python benches/criterion_table.py [CRITERION_DIR]

CRITERION_DIR defaults to ``$CARGO_TARGET_DIR/criterion``, else ``target/criterion`` at the
repository root. Every criterion group of the core benches holds a ``sor`` function and one or
more ``baseline_*`` functions measured in the same run; each baseline gets one row, with the
ratio baseline time / sor time (above 1 means sor is faster). Times are criterion's typical
estimate (the slope of the linear regression when there is one, else the mean), as printed by
``cargo bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SOR = "sor"
BASELINE_PREFIX = "baseline"


@dataclass(frozen=True)
class Measurement:
    """One criterion benchmark's identity and typical time per iteration, in nanoseconds."""

    group: str
    function: str
    value: str | None
    nanoseconds: float

    @property
    def case(self) -> str:
        """The benchmark this is a measurement of: the group, plus the parameter if any."""
        return self.group if self.value is None else f"{self.group}/{self.value}"


def default_criterion_dir() -> Path:
    """Where cargo puts criterion's results for this workspace."""
    target = os.environ.get("CARGO_TARGET_DIR")
    root = Path(target) if target else Path(__file__).resolve().parent.parent / "target"
    return root / "criterion"


def _optional_str(record: dict[str, object], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key} should be a string or null, got {value!r}")


def _typical_ns(estimates: dict[str, object]) -> float:
    for key in ("slope", "mean"):
        estimate = estimates.get(key)
        if isinstance(estimate, dict):
            point = estimate.get("point_estimate")
            if isinstance(point, int | float):
                return float(point)
    raise ValueError("estimates.json has neither a slope nor a mean point estimate")


def _load_object(path: Path) -> dict[str, object]:
    data: object = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return {str(key): value for key, value in data.items()}


def load(criterion_dir: Path) -> list[Measurement]:
    """Reads every ``*/new/benchmark.json`` and its ``estimates.json`` under ``criterion_dir``."""
    measurements = []
    for benchmark_file in sorted(criterion_dir.rglob("new/benchmark.json")):
        try:
            benchmark = _load_object(benchmark_file)
            estimates = _load_object(benchmark_file.with_name("estimates.json"))
            group = _optional_str(benchmark, "group_id")
            function = _optional_str(benchmark, "function_id")
            value = _optional_str(benchmark, "value_str")
            nanoseconds = _typical_ns(estimates)
        except (OSError, ValueError) as error:
            message = f"{benchmark_file.parent}: unreadable criterion result: {error}"
            raise SystemExit(message) from error
        if group is None or function is None:
            continue
        measurements.append(Measurement(group, function, value, nanoseconds))
    return measurements


def format_time(nanoseconds: float) -> str:
    """A duration with three significant digits and a unit suited to its size (ns to s)."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= scale:
            return f"{nanoseconds / scale:.3g} {unit}"
    return f"{nanoseconds:.3g} ns"


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sorts "walk/10" after "walk/2": digit runs compare as numbers."""
    parts = re.split(r"(\d+)", text)
    return [(0, int(part)) if part.isdigit() else (1, part) for part in parts if part]


def table(measurements: Iterable[Measurement]) -> str:
    """The markdown table: one row per (benchmark, baseline), sor's time alongside."""
    by_case: dict[str, dict[str, float]] = {}
    for m in measurements:
        if m.function == SOR or m.function.startswith(BASELINE_PREFIX):
            by_case.setdefault(m.case, {})[m.function] = m.nanoseconds
    lines = [
        "| benchmark | sor | baseline | baseline time | baseline / sor |",
        "|---|---:|---|---:|---:|",
    ]
    for case in sorted(by_case, key=_natural_key):
        functions = by_case[case]
        sor = functions.get(SOR)
        sor_text = "—" if sor is None else format_time(sor)
        baselines = sorted(name for name in functions if name != SOR)
        for name in baselines or ["—"]:
            other = functions.get(name)
            other_text = "—" if other is None else format_time(other)
            ratio = "—" if sor is None or other is None or sor <= 0 else f"{other / sor:.1f}x"
            lines.append(f"| {case} | {sor_text} | {name} | {other_text} | {ratio} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the table for the criterion results in the given (or default) directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "criterion_dir",
        nargs="?",
        type=Path,
        default=default_criterion_dir(),
        help="criterion's output directory (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    criterion_dir: Path = args.criterion_dir
    if not criterion_dir.is_dir():
        print(
            f"{criterion_dir} does not exist: run `cargo bench -p sor-core --bench core` first",
            file=sys.stderr,
        )
        return 1
    measurements = load(criterion_dir)
    if not measurements:
        print(f"no criterion results under {criterion_dir}", file=sys.stderr)
        return 1
    print(table(measurements))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
