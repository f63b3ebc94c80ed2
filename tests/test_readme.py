"""The README's Python examples run as written (so they cannot go stale)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    """The README's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples() -> None:
    assert len(python_blocks()) >= 4


def test_readme_examples_run_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    # The blocks build on each other (the books of the first are ranked in the third).
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "Level(price=" in printed
    assert "binance" in printed
