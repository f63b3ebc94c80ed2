"""All of sor's settings, one section per part of sor, and :func:`load_settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sor.config.loader import load
from sor.config.service import ServiceSettings
from sor.errors import InvalidInput
from sor.execution.settings import ExecutionSettings
from sor.feeds.config import FeedConfig
from sor.health.monitor import HealthSettings
from sor.journal.settings import JournalSettings
from sor.routing.settings import RouterSettings

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True)
class Settings:
    """All of sor's settings: one validated section per part of sor.

    ``router`` is what :class:`sor.SmartOrderRouter` takes (``settings=settings.router``);
    ``feeds`` is what a :class:`sor.feeds.Feed` takes (``config=settings.feeds``);
    ``execution`` what :class:`sor.execution.Executor` takes; ``health`` what
    :class:`sor.health.HealthMonitor` takes; ``journal`` where the journal lives;
    ``service`` how ``sor serve`` runs. Build it with
    :func:`load_settings`, or directly (``Settings(router=RouterSettings(cache_size=0))``). A new
    section is a new field here: the loader follows the fields and their types.
    """

    router: RouterSettings = field(default_factory=RouterSettings)
    feeds: FeedConfig = field(default_factory=FeedConfig)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)

    def __post_init__(self) -> None:
        if not isinstance(self.router, RouterSettings):
            raise InvalidInput(f"router: expected RouterSettings, got {type(self.router).__name__}")
        sections = (
            ("feeds", FeedConfig),
            ("execution", ExecutionSettings),
            ("health", HealthSettings),
            ("journal", JournalSettings),
            ("service", ServiceSettings),
        )
        for name, kind in sections:
            value = getattr(self, name)
            if not isinstance(value, kind):
                raise InvalidInput(f"{name}: expected {kind.__name__}, got {type(value).__name__}")


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from a TOML file and environment overrides, all validated.

    ``path`` defaults to the file named by ``$SOR_CONFIG`` (no file if it is unset or empty:
    the defaults); a relative path is relative to the working directory. ``env`` defaults to
    ``os.environ``; its ``SOR_<SECTION>__<KEY>`` variables override the file's keys (see the
    module's documentation for the scheme). Raises :class:`ConfigError` listing the problems,
    each naming its key; nothing is returned unless everything is valid.
    """
    return load(Settings, path, os.environ if env is None else env)
