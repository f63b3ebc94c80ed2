"""Shared pytest configuration: hypothesis profiles.

``ci`` (the default) keeps the whole suite well under a minute on a 2-core machine; ``thorough``
runs many more examples (``HYPOTHESIS_PROFILE=thorough pytest``) when hunting for bugs.
"""

import os

from hypothesis import HealthCheck, settings

from postgres_server import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures of every test

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
