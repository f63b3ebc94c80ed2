"""Settings of sor, validated at construction, and their loader (TOML file + environment).

:class:`Settings` holds one section per part of sor: ``router`` (:class:`RouterSettings`) and
``feeds`` (:class:`sor.feeds.FeedConfig`). :func:`load_settings` builds it from a TOML file and
``SOR_*`` environment variables::

    settings = load_settings("sor.toml")            # or the file named by $SOR_CONFIG, or none
    router = SmartOrderRouter(venues, settings=settings.router)

The file's tables are the sections and their nested settings (``[router]``,
``[router.weights]``, ``[router.latency_thresholds]``, ``[feeds]``, ``[feeds.reconnect_backoff]``
...); ``sor.example.toml`` at the repository root lists every key with its default. An
environment variable overrides one key: ``SOR_`` then the key's path in upper case, each level
separated by a double underscore (``SOR_ROUTER__MAX_SLIPPAGE_BPS=50``,
``SOR_ROUTER__WEIGHTS__PRICE=0.5``, ``SOR_FEEDS__STALENESS=5``). Its text is converted to the
field's type (``"none"`` for an optional field left unset; a TOML inline table such as
``{"BTC/USDT" = 30}`` for a table of values such as ``feeds.staleness_by_symbol``).
``SOR_CONFIG`` names the file when no path is given.

Problems are reported together, each naming its key and where it came from, in one
:class:`ConfigError` (an :class:`sor.InvalidInput`): first every unknown name and every value of
the wrong type; once all are well-typed, every value a section rejects. Nothing is returned
unless everything is valid. The values of keys
whose name contains "secret", "token", "password" or "key" never appear in an error message.

The routing defaults are the original requirements': max latency 1,000 ms, min liquidity score
2.0, max slippage 100 bps, cache TTL 5 s, latency categories 50/100/200/500 ms, weights price
0.4 / liquidity 0.3 / latency 0.2 / reliability 0.1.
"""

from sor.config.loader import (
    CONFIG_ENV,
    ENV_PREFIX,
    REDACTED,
    describe_value,
    is_secret_key,
)
from sor.config.settings import Settings, load_settings
from sor.errors import ConfigError
from sor.routing.settings import RouterSettings, ScoringWeights

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "REDACTED",
    "ConfigError",
    "RouterSettings",
    "ScoringWeights",
    "Settings",
    "describe_value",
    "is_secret_key",
    "load_settings",
]
