"""sor's pytest-benchmark suite: sor against its baselines (see README.md)."""
