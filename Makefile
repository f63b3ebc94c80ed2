# Developer commands for sor. `make help` lists them.
#
# Everything installs into the Python environment that PYTHON belongs to (activate a virtualenv
# first if you want one). `pip install .` builds the Rust core with the release profile
# (fat LTO) into the workspace's target/ directory, so a second build only relinks what changed.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
CARGO ?= cargo

# pytest-benchmark options shared by `make bench`: one table per group, results kept as JSON
# for the README table.
BENCH_JSON := target/bench/pytest-benchmark.json
BENCH_OPTS := --benchmark-only --benchmark-group-by=group --benchmark-sort=name \
	--benchmark-columns=min,median,mean,stddev,rounds --benchmark-json=$(BENCH_JSON)

# stubtest checks the source stub python/sor/_core.pyi (MYPYPATH=python) against the installed
# compiled module; an allowlist is used only if one exists. lint-imports (import-linter, through
# the interpreter so no console script on PATH is needed) checks the layer contracts in
# pyproject.toml.
STUBTEST_ALLOWLIST := .ci/stubtest-allowlist.txt
STUBTEST_OPTS := --mypy-config-file pyproject.toml $(if $(wildcard $(STUBTEST_ALLOWLIST)),--allowlist $(STUBTEST_ALLOWLIST))

.PHONY: help dev test test-python test-rust lint bench bench-rust bench-python clean

help:
	@echo "make dev    editable install with the test and bench extras (release build of the core)"
	@echo "make test   install the test extra, then run every test: pytest and cargo test -p sor-core"
	@echo "make lint   cargo fmt --check, clippy -D warnings, ruff, ruff format --check, mypy --strict, stubtest, lint-imports"
	@echo "make bench  criterion benches of the core, then the pytest-benchmark suite with its peers"
	@echo "make clean  remove build outputs and caches"

dev:
	$(PIP) install -e ".[test,bench]"

test: test-python test-rust

test-python:
	$(PIP) install ".[test]"
	$(PYTHON) -m pytest

test-rust:
	$(CARGO) test -p sor-core

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy --strict python/sor
	MYPYPATH=python $(PYTHON) -m mypy.stubtest sor._core $(STUBTEST_OPTS)
	$(PYTHON) -c 'from importlinter.cli import lint_imports_command; lint_imports_command()'

bench: bench-rust bench-python

bench-rust:
	$(CARGO) bench -p sor-core --bench core
	$(PYTHON) benches/criterion_table.py

bench-python:
	$(PIP) install ".[bench]"
	@mkdir -p $(dir $(BENCH_JSON))
	$(PYTHON) -m pytest benches $(BENCH_OPTS)
	$(PYTHON) benches/report.py $(BENCH_JSON)

clean:
	rm -rf target dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
	rm -f python/sor/_core*.so python/sor/_core*.pyd
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
