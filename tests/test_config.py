"""The settings loader: a TOML file, environment overrides, and every way either can be wrong."""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from config_support import exercise
from helpers import exact_bps
from sor import InvalidInput, RouterSettings, RoutingStrategy, ScoringWeights, SmartOrderRouter
from sor.config import REDACTED, Settings, describe_value, is_secret_key, load_settings
from sor.config.loader import load as _load
from sor.errors import ConfigError
from sor.feeds import BackoffPolicy, FeedConfig
from sor.health.metrics import LatencyThresholds

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EXAMPLE = Path(__file__).resolve().parent.parent / "sor.example.toml"


def write(tmp_path: Path, text: str, name: str = "sor.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | None, env: dict[str, str]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    return caught.value.problems


def only_problem(path: Path | None, env: dict[str, str]) -> str:
    problems = problems_of(path, env)
    assert len(problems) == 1, problems
    return problems[0]


# ------------------------------------------------------------------------------------------------
# Sources: defaults, file, environment


def test_no_file_and_no_environment_give_the_defaults() -> None:
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.router == RouterSettings()
    assert settings.feeds == FeedConfig()


def test_example_file_holds_exactly_the_defaults() -> None:
    assert load_settings(EXAMPLE, env={}) == Settings()


def schema_keys(value: object, prefix: str = "") -> set[str]:
    """Every key of a settings object, by its dataclass fields (tables of values as one key)."""
    keys: set[str] = set()
    for item in dataclasses.fields(value):  # type: ignore[arg-type]
        key = f"{prefix}{item.name}"
        child = getattr(value, item.name)
        keys |= schema_keys(child, f"{key}.") if dataclasses.is_dataclass(child) else {key}
    return keys


def document_keys(table: dict[str, Any], sections: set[str], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in table.items():
        key = f"{prefix}{name}"
        nested = isinstance(value, dict) and key in sections
        keys |= document_keys(value, sections, f"{key}.") if nested else {key}
    return keys


def test_example_file_lists_every_key_and_no_other() -> None:
    settings = Settings()
    sections = {"router", "feeds", "execution", "health", "journal", "service", "router.weights"}
    sections |= {"router.latency_thresholds"}
    sections |= {"feeds.reconnect_backoff", "feeds.resync_backoff"}
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert document_keys(document, sections) == schema_keys(settings)


def test_file_sets_keys_and_others_keep_their_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [router]
        default_strategy = "split"
        max_slippage_bps = 25
        cache_size = 0
        [router.weights]
        price = 0.7
        [feeds]
        staleness = 2.5
        [feeds.resync_backoff]
        initial = 1
        """,
    )
    settings = load_settings(path, env={})
    router = settings.router
    assert router.default_strategy is RoutingStrategy.SPLIT
    assert router.max_slippage_bps == 25.0
    assert isinstance(router.max_slippage_bps, float)
    assert router.cache_size == 0
    assert not router.cache_enabled
    assert router.weights == ScoringWeights(price=0.7)
    assert router.latency_thresholds == LatencyThresholds()
    assert router.max_latency_ms == RouterSettings().max_latency_ms
    assert settings.feeds.staleness == 2.5
    # A partial nested table keeps the field's own default (resync: maximum 30, initial 0.25),
    # not the class default of BackoffPolicy.
    assert settings.feeds.resync_backoff == BackoffPolicy(initial=1.0, maximum=30.0)
    assert settings.feeds.reconnect_backoff == FeedConfig().reconnect_backoff


def test_environment_alone_sets_keys_at_every_depth() -> None:
    env = {
        "SOR_ROUTER__MAX_SLIPPAGE_BPS": "50",
        "SOR_ROUTER__WEIGHTS__PRICE": "0.5",
        "SOR_FEEDS__STALENESS": "5",
        "SOR_ROUTER__DEFAULT_STRATEGY": "lowest_latency",
        "SOR_ROUTER__CACHE_SIZE": "64",
        "SOR_FEEDS__RECONNECT_BACKOFF__MAXIMUM": "12.5",
    }
    settings = load_settings(env=env)
    assert settings.router == RouterSettings(
        max_slippage_bps=50.0,
        weights=ScoringWeights(price=0.5),
        default_strategy=RoutingStrategy.LOWEST_LATENCY,
        cache_size=64,
    )
    assert settings.feeds == FeedConfig(
        staleness=5.0, reconnect_backoff=BackoffPolicy(maximum=12.5)
    )


def test_environment_overrides_the_file_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [router]
        max_slippage_bps = 20
        low_latency_ms = 80
        [router.weights]
        price = 0.1
        latency = 0.6
        """,
    )
    env = {"SOR_ROUTER__WEIGHTS__PRICE": "0.5", "SOR_ROUTER__MAX_SLIPPAGE_BPS": "30"}
    router = load_settings(path, env=env).router
    assert router.weights == ScoringWeights(price=0.5, latency=0.6)
    assert router.max_slippage_bps == 30.0
    assert router.low_latency_ms == 80.0


def test_environment_names_are_case_insensitive_after_the_prefix() -> None:
    assert load_settings(env={"sor_router__max_slippage_bps": "7"}).router.max_slippage_bps == 7.0


def test_sor_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "[feeds]\nstaleness = 3\n")
    assert load_settings(env={"SOR_CONFIG": str(path)}).feeds.staleness == 3.0


def test_path_argument_wins_over_sor_config(tmp_path: Path) -> None:
    chosen = write(tmp_path, "[feeds]\nstaleness = 3\n", "chosen.toml")
    other = write(tmp_path, "[feeds]\nstaleness = 4\n", "other.toml")
    assert load_settings(chosen, env={"SOR_CONFIG": str(other)}).feeds.staleness == 3.0


def test_empty_sor_config_means_no_file() -> None:
    assert load_settings(env={"SOR_CONFIG": ""}) == Settings()


def test_environment_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOR_CONFIG", str(write(tmp_path, "[router]\ncache_ttl_s = 1\n")))
    monkeypatch.setenv("SOR_ROUTER__CACHE_SIZE", "8")
    router = load_settings().router
    assert (router.cache_ttl_s, router.cache_size) == (1.0, 8)


def test_other_sor_variables_are_not_settings() -> None:
    env = {"SOR_LOG_LEVEL": "debug", "SORT_ORDER": "x", "HYPOTHESIS_PROFILE": "ci"}
    assert load_settings(env=env) == Settings()


def test_optional_fields_are_unset_with_none_and_set_with_a_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[feeds]\nping_interval = "none"\nseed = 7\n')
    feeds = load_settings(path, env={"SOR_FEEDS__PING_TIMEOUT": "None"}).feeds
    assert (feeds.ping_interval, feeds.ping_timeout, feeds.seed) == (None, None, 7)
    env = {"SOR_FEEDS__SEED": "none", "SOR_FEEDS__PING_INTERVAL": "3"}
    feeds = load_settings(path, env=env).feeds
    assert (feeds.seed, feeds.ping_interval) == (None, 3.0)


def test_table_of_values_from_the_file_and_as_an_inline_table_from_the_environment(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, '[feeds.staleness_by_symbol]\n"BTC/USDT" = 30\n"DOGE/USDT" = 90.5\n')
    feeds = load_settings(path, env={}).feeds
    assert feeds.staleness_by_symbol == {"BTC/USDT": 30.0, "DOGE/USDT": 90.5}
    assert feeds.staleness_for("DOGE/USDT") == 90.5
    # The environment replaces the whole table.
    env = {"SOR_FEEDS__STALENESS_BY_SYMBOL": '{"ETH/USDT" = 12}'}
    assert load_settings(path, env=env).feeds.staleness_by_symbol == {"ETH/USDT": 12.0}


def test_loaded_router_settings_are_what_the_router_takes() -> None:
    settings = load_settings(env={"SOR_ROUTER__MAX_SLIPPAGE_BPS": "42"})
    router = SmartOrderRouter(settings=settings.router)
    assert router.settings is settings.router
    assert router.settings.max_slippage_bps == 42.0


def test_package_exports_the_loader() -> None:
    assert sor.Settings is Settings
    assert sor.load_settings is load_settings
    assert sor.ConfigError is ConfigError
    assert issubclass(ConfigError, InvalidInput)
    assert issubclass(ConfigError, ValueError)


# ------------------------------------------------------------------------------------------------
# The file cannot be used


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert only_problem(missing, {}) == f"{missing}: no such settings file"
    problem = only_problem(None, {"SOR_CONFIG": str(missing)})
    assert problem == f"{missing}: no such settings file (named by SOR_CONFIG)"


def test_unreadable_file_is_an_error_naming_it(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, {})
    assert problem.startswith(f"{tmp_path}: cannot read the settings file")


def test_invalid_toml_is_an_error_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "[router]\nmax_slippage_bps = = 5\n")
    problem = only_problem(path, {})
    assert problem.startswith(f"{path}: not valid TOML")
    assert "line 2" in problem


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sor.toml"
    path.write_bytes(b"[router]\n# caf\xe9\n")
    assert only_problem(path, {}) == f"{path}: not UTF-8 text (at byte offset 14)"


# ------------------------------------------------------------------------------------------------
# Unknown names


def test_unknown_section_is_an_error_listing_the_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "[routr]\nmax_slippage_bps = 5\n")
    assert only_problem(path, {}) == (
        f"routr: unknown section (in {path}); valid sections: execution, feeds, health, journal, "
        "router, service; "
        "did you mean 'router'?"
    )


def test_unknown_key_is_an_error_listing_the_keys_and_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "[router]\nmax_slipage_bps = 5\n")
    problem = only_problem(path, {})
    assert problem.startswith(f"router.max_slipage_bps: unknown key (in {path}); valid keys")
    assert "cache_size, cache_ttl_s, default_strategy" in problem
    assert problem.endswith("did you mean 'max_slippage_bps'?")
    assert "5" not in problem.replace(str(path), "")


def test_unknown_nested_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[router.weights]\npricing = 0.5\n")
    assert only_problem(path, {}) == (
        f"router.weights.pricing: unknown key (in {path}); valid keys of [router.weights]: "
        "latency, liquidity, price, reliability; did you mean 'price'?"
    )


def test_unknown_environment_key_is_an_error_listing_the_keys() -> None:
    problem = only_problem(None, {"SOR_FEEDS__STALENES": "5"})
    assert problem.startswith("feeds.stalenes: unknown key (from SOR_FEEDS__STALENES)")
    assert problem.endswith("did you mean 'staleness'?")


def test_unknown_environment_section_is_an_error() -> None:
    problem = only_problem(None, {"SOR_SERVER__PORT": "8080"})
    assert problem == (
        "server: unknown section (from SOR_SERVER__PORT); valid sections: "
        "execution, feeds, health, journal, router, service; did you mean 'service'?"
    )


def test_single_underscore_after_a_section_is_an_error_not_ignored() -> None:
    problem = only_problem(None, {"SOR_ROUTER_MAX_SLIPPAGE_BPS": "5"})
    assert problem == (
        "SOR_ROUTER_MAX_SLIPPAGE_BPS: names no setting: levels are separated by a double "
        "underscore (did you mean SOR_ROUTER__MAX_SLIPPAGE_BPS?)"
    )


@pytest.mark.parametrize(
    ("var", "problem"),
    [
        ("SOR_ROUTER", "router: is a table: set its keys one by one (SOR_ROUTER__<KEY>)"),
        (
            "SOR_ROUTER__WEIGHTS",
            "router.weights: is a table: set its keys one by one (SOR_ROUTER__WEIGHTS__<KEY>)",
        ),
        (
            "SOR_ROUTER__MAX_SLIPPAGE_BPS__X",
            "router.max_slippage_bps: is not a table, so SOR_ROUTER__MAX_SLIPPAGE_BPS__X "
            "names no setting",
        ),
        (
            "SOR_FEEDS__STALENESS_BY_SYMBOL__BTC",
            "feeds.staleness_by_symbol: SOR_FEEDS__STALENESS_BY_SYMBOL__BTC names an entry: "
            "set the whole table in SOR_FEEDS__STALENESS_BY_SYMBOL, as a TOML inline table "
            'such as {"BTC/USDT" = 30}',
        ),
    ],
)
def test_environment_variable_must_name_one_value(var: str, problem: str) -> None:
    assert only_problem(None, {var: "1"}) == problem


# ------------------------------------------------------------------------------------------------
# Wrong types


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[router]\nmax_slippage_bps = "50"',
            "router.max_slippage_bps: expected a number, got string '50'",
        ),
        (
            "[router]\nmax_slippage_bps = true",
            "router.max_slippage_bps: expected a number, got boolean true",
        ),
        (
            "[router]\nmax_slippage_bps = inf",
            "router.max_slippage_bps: expected a finite number, got inf",
        ),
        (
            "[router]\nmax_slippage_bps = nan",
            "router.max_slippage_bps: expected a finite number, got nan",
        ),
        ("[router]\ncache_size = 5.0", "router.cache_size: expected an integer, got float 5.0"),
        (
            "[router]\ncache_size = false",
            "router.cache_size: expected an integer, got boolean false",
        ),
        (
            '[router]\ndefault_strategy = "fastest"',
            "router.default_strategy: expected one of 'best_execution', 'lowest_latency', "
            "'best_liquidity', 'cost_optimization', 'split', got string 'fastest'",
        ),
        ("[router.weights]\nprice = [1]", "router.weights.price: expected a number, got array [1]"),
        ("router = 5", "router: expected a table ([router]), got integer 5"),
        (
            "[router]\nweights = 0.5",
            "router.weights: expected a table ([router.weights]), got float 0.5",
        ),
        (
            "[router.max_slippage_bps]\nvalue = 5",
            "router.max_slippage_bps: expected a number, got table {'value': 5}",
        ),
        (
            '[feeds]\nping_interval = "never"',
            "feeds.ping_interval: expected a number or \"none\", got string 'never'",
        ),
        (
            '[feeds]\nseed = "none!"',
            "feeds.seed: expected an integer or \"none\", got string 'none!'",
        ),
        (
            "[feeds]\nstaleness_by_symbol = 30",
            "feeds.staleness_by_symbol: expected a table ([feeds.staleness_by_symbol]), "
            "got integer 30",
        ),
        (
            '[feeds.staleness_by_symbol]\n"BTC/USDT" = "30"',
            "feeds.staleness_by_symbol['BTC/USDT']: expected a number, got string '30'",
        ),
    ],
)
def test_wrong_type_in_the_file_is_an_error_naming_the_key(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, text + "\n")
    assert only_problem(path, {}) == f"{problem} (in {path})"


def test_integer_too_large_for_a_float_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"[router]\ncache_ttl_s = {10**400}\n")
    problem = only_problem(path, {})
    assert problem.startswith("router.cache_ttl_s: expected a finite number, got 1000")


@pytest.mark.parametrize(
    ("var", "value", "problem"),
    [
        (
            "SOR_ROUTER__MAX_SLIPPAGE_BPS",
            "fifty",
            "router.max_slippage_bps: expected a number, got 'fifty'",
        ),
        ("SOR_ROUTER__MAX_SLIPPAGE_BPS", "", "router.max_slippage_bps: expected a number, got ''"),
        (
            "SOR_ROUTER__MAX_SLIPPAGE_BPS",
            "nan",
            "router.max_slippage_bps: expected a finite number, got 'nan'",
        ),
        (
            "SOR_ROUTER__MAX_SLIPPAGE_BPS",
            "-inf",
            "router.max_slippage_bps: expected a finite number, got '-inf'",
        ),
        ("SOR_ROUTER__CACHE_SIZE", "5.5", "router.cache_size: expected an integer, got '5.5'"),
        ("SOR_ROUTER__CACHE_SIZE", "true", "router.cache_size: expected an integer, got 'true'"),
        (
            "SOR_ROUTER__DEFAULT_STRATEGY",
            "SPLIT",
            "router.default_strategy: expected one of 'best_execution', 'lowest_latency', "
            "'best_liquidity', 'cost_optimization', 'split', got 'SPLIT'",
        ),
        ("SOR_FEEDS__SEED", "0x10", "feeds.seed: expected an integer or \"none\", got '0x10'"),
        (
            "SOR_FEEDS__STALENESS_BY_SYMBOL",
            "BTC/USDT=30",
            'feeds.staleness_by_symbol: expected a TOML inline table such as {"BTC/USDT" = 30}',
        ),
        (
            "SOR_FEEDS__STALENESS_BY_SYMBOL",
            '{"BTC/USDT" = "soon"}',
            "feeds.staleness_by_symbol['BTC/USDT']: expected a number, got string 'soon'",
        ),
    ],
)
def test_wrong_type_in_the_environment_is_an_error_naming_the_key_and_the_variable(
    var: str, value: str, problem: str
) -> None:
    assert only_problem(None, {var: value}) == f"{problem} (from {var})"


# ------------------------------------------------------------------------------------------------
# Values a section rejects


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"SOR_ROUTER__MAX_LATENCY_MS": "0"},
            "router.max_latency_ms: must be a finite number in (0, 600000], got 0.0",
        ),
        (
            {"SOR_ROUTER__MIN_LIQUIDITY_SCORE": "11"},
            "router.min_liquidity_score: must be a finite number in [0, 10], got 11.0",
        ),
        (
            {f"SOR_ROUTER__WEIGHTS__{name}": "0" for name in ScoringWeights.__annotations__},
            "router.weights: at least one weight must be positive",
        ),
        (
            {"SOR_ROUTER__WEIGHTS__PRICE": "-1"},
            "router.weights.price: must be a finite number in [0, 1000], got -1.0",
        ),
        (
            {"SOR_ROUTER__LATENCY_THRESHOLDS__GOOD_MS": "40"},
            "router.latency_thresholds: must increase strictly (excellent < good < acceptable "
            "< poor), got (50.0, 40.0, 200.0, 500.0)",
        ),
        (
            {"SOR_FEEDS__RESYNC_BACKOFF__INITIAL": "31"},
            "feeds.resync_backoff.initial: expected 0 < initial <= maximum, got 31.0 and 30.0",
        ),
        (
            {"SOR_FEEDS__STALENESS": "0"},
            "feeds.staleness: must be a finite number in (0, 86400], got 0.0",
        ),
    ],
)
def test_value_a_section_rejects_is_an_error_naming_the_full_key(
    env: dict[str, str], problem: str
) -> None:
    assert only_problem(None, env) == problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[router]\nmax_slipage_bps = 5\ncache_size = "big"\n[feeds]\nstaleness = 0\n[extra]\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={"SOR_ROUTER__WEIGHTS__PRICE": "x"})
    problems = caught.value.problems
    assert [problem.split(":")[0] for problem in problems] == [
        "router.max_slipage_bps",
        "router.cache_size",
        "extra",
        "router.weights.price",
    ]
    message = str(caught.value)
    assert message.startswith("invalid settings (4 problems):\n  - router.max_slipage_bps")
    assert all(f"  - {problem}" in message for problem in problems)


def test_sections_refused_together_are_all_reported() -> None:
    env = {
        "SOR_ROUTER__LATENCY_THRESHOLDS__GOOD_MS": "40",
        "SOR_ROUTER__MAX_LATENCY_MS": "0",
        "SOR_FEEDS__RESYNC_BACKOFF__INITIAL": "31",
        "SOR_FEEDS__STALENESS": "0",
    }
    keys = [problem.split(":")[0] for problem in problems_of(None, env)]
    assert keys == [
        "feeds.resync_backoff.initial",
        "feeds.staleness",
        "router.latency_thresholds",
        "router.max_latency_ms",
    ]


def test_one_bad_value_means_nothing_is_returned(tmp_path: Path) -> None:
    # Everything else is valid and would change the defaults: still, no Settings at all.
    path = write(tmp_path, "[router]\nmax_slippage_bps = 10\n[feeds]\nstaleness = 1\n")
    with pytest.raises(ConfigError, match=r"^invalid settings: feeds\.max_buffer: "):
        load_settings(path, env={"SOR_FEEDS__MAX_BUFFER": "-1"})


def test_settings_rejects_sections_of_the_wrong_type() -> None:
    with pytest.raises(InvalidInput, match=r"^router: expected RouterSettings, got FeedConfig$"):
        Settings(router=FeedConfig())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"^feeds: expected FeedConfig, got dict$"):
        Settings(feeds={})  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Secrets stay out of error messages


@pytest.mark.parametrize(
    "key",
    ["api_key", "exchanges.binance.API_KEY", "secret", "auth_token", "db.password", "keys.a"],
)
def test_values_of_secret_keys_are_redacted(key: str) -> None:
    assert is_secret_key(key)
    assert describe_value(key, "hunter2") == REDACTED
    assert describe_value(key, 12345) == REDACTED


@pytest.mark.parametrize("key", ["router.weights.price", "feeds.staleness", "seed"])
def test_values_of_other_keys_are_shown_shortened(key: str) -> None:
    assert not is_secret_key(key)
    assert describe_value(key, "x") == "'x'"
    assert describe_value(key, True) == "true"
    long = describe_value(key, "a" * 100)
    assert len(long) == 60
    assert long == "'" + "a" * 56 + "..."


class Mode(str, Enum):
    """A synthetic enum setting."""

    FAST = "fast"
    SAFE = "safe"


@dataclass(frozen=True)
class Vault:
    """A synthetic section holding a secret, to pin redaction where sor has none yet."""

    api_key: str = "unset"
    retries: int = 3
    enabled: bool = True
    mode: Mode = Mode.SAFE

    def __post_init__(self) -> None:
        if self.api_key.startswith("bad"):
            # A section that echoes the value it rejects: the loader must scrub it.
            raise InvalidInput(f"api_key: {self.api_key!r} is not a valid key")


@dataclass(frozen=True)
class SyntheticSettings:
    """A synthetic root with one section."""

    vault: Vault = field(default_factory=Vault)


def test_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "[vault]\napi_key = 987654321\n")
    with pytest.raises(ConfigError) as caught:
        _load(SyntheticSettings, path, {"SOR_VAULT__API_KEY": "x", "SOR_VAULT__API_KEY_ID": "1"})
    message = str(caught.value)
    assert "987654321" not in message
    assert f"vault.api_key: expected a string, got integer {REDACTED} (in {path})" in message


def test_secret_rejected_by_its_section_is_scrubbed_from_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(SyntheticSettings, None, {"SOR_VAULT__API_KEY": "bad-hunter2"})
    assert caught.value.problems == (f"vault.api_key: {REDACTED} is not a valid key",)
    assert "hunter2" not in str(caught.value)


def test_booleans_strings_and_enums_of_a_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[vault]\napi_key = "k"\nenabled = false\nmode = "fast"\n')
    loaded = _load(SyntheticSettings, path, {"SOR_VAULT__RETRIES": "5"})
    assert loaded.vault == Vault(api_key="k", retries=5, enabled=False, mode=Mode.FAST)
    for word, flag in [("yes", True), ("NO", False), ("1", True), ("false", False)]:
        assert _load(SyntheticSettings, None, {"SOR_VAULT__ENABLED": word}).vault.enabled is flag
    with pytest.raises(ConfigError, match=r"vault\.enabled: expected a boolean .*got 'maybe'"):
        _load(SyntheticSettings, None, {"SOR_VAULT__ENABLED": "maybe"})
    with pytest.raises(ConfigError, match=r"vault\.enabled: expected a boolean .*got integer 1"):
        _load(SyntheticSettings, write(tmp_path, "[vault]\nenabled = 1\n"), {})


# ------------------------------------------------------------------------------------------------
# Any valid RouterSettings survives a trip through TOML text, or through the environment


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return json.dumps(value.value)
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"no TOML form for {value!r}")


def to_toml(value: object, table: str) -> str:
    """A settings object as TOML text: its scalars under ``[table]``, then its nested tables."""
    lines, nested = [f"[{table}]"], []
    for item in dataclasses.fields(value):  # type: ignore[arg-type]
        child = getattr(value, item.name)
        if dataclasses.is_dataclass(child):
            nested.append(to_toml(child, f"{table}.{item.name}"))
        else:
            lines.append(f"{item.name} = {toml_value(child)}")
    return "\n".join([*lines, "", *nested])


def to_env(value: object, prefix: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in dataclasses.fields(value):  # type: ignore[arg-type]
        child = getattr(value, item.name)
        name = f"{prefix}__{item.name.upper()}"
        if dataclasses.is_dataclass(child):
            env |= to_env(child, name)
        else:
            env[name] = child.value if isinstance(child, Enum) else repr(child)
    return env


weight = st.floats(min_value=0.0, max_value=1_000.0)
latency = st.floats(min_value=0.0, max_value=600_000.0, exclude_min=True)
duration = st.floats(min_value=0.0, max_value=86_400.0)

router_settings = st.builds(
    RouterSettings,
    default_strategy=st.sampled_from(RoutingStrategy),
    weights=st.tuples(weight, weight, weight, weight).filter(any).map(lambda w: ScoringWeights(*w)),
    max_latency_ms=latency,
    low_latency_ms=latency,
    latency_thresholds=st.lists(latency, min_size=4, max_size=4, unique=True).map(
        lambda bounds: LatencyThresholds(*sorted(bounds))
    ),
    min_liquidity_score=st.floats(min_value=0.0, max_value=10.0),
    max_slippage_bps=exact_bps(10_000),
    max_book_age_s=duration.filter(bool),
    cache_ttl_s=duration,
    cache_size=st.integers(min_value=0, max_value=10_000_000),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file for every example (hypothesis runs many examples per test call)."""
    return tmp_path_factory.mktemp("config") / "router.toml"


@given(settings=router_settings)
def test_any_router_settings_survive_a_trip_through_toml(
    scratch: Path, settings: RouterSettings
) -> None:
    scratch.write_text(to_toml(settings, "router"), encoding="utf-8")
    assert load_settings(scratch, env={}).router == settings


@given(settings=router_settings)
def test_any_router_settings_survive_a_trip_through_the_environment(
    settings: RouterSettings,
) -> None:
    assert load_settings(env=to_env(settings, "SOR_ROUTER")).router == settings


# ------------------------------------------------------------------------------------------------
# Nothing but ConfigError escapes, and what loads cannot fail later


HUGE = "1" + "0" * 400


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"SOR_FEEDS__MAX_BUFFER": HUGE}, "feeds.max_buffer: must be an integer in [1, 10000000]"),
        ({"SOR_FEEDS__MAX_BUFFER": "1e400"}, "feeds.max_buffer: expected an integer"),
        ({"SOR_FEEDS__MAX_BUFFER": str(10**30)}, "feeds.max_buffer: must be an integer in"),
        ({"SOR_FEEDS__SEED": HUGE}, "feeds.seed: must be an integer in [0, 18446744073709551615]"),
        ({"SOR_FEEDS__STALENESS": HUGE}, "feeds.staleness: expected a finite number"),
        ({"SOR_ROUTER__MAX_BOOK_AGE_S": "1e11"}, "router.max_book_age_s: must be a finite"),
        ({"SOR_ROUTER__CACHE_SIZE": str(2**63)}, "router.cache_size: must be an integer in"),
    ],
)
def test_huge_numbers_are_config_errors_naming_the_range(env: dict[str, str], problem: str) -> None:
    assert only_problem(None, env).startswith(problem)


def test_huge_integer_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"[feeds]\nmax_buffer = {HUGE}\n")
    assert only_problem(path, {}).startswith("feeds.max_buffer: must be an integer in [1, ")


def test_deeply_nested_inline_table_in_the_environment_is_a_config_error() -> None:
    deep = '{"a" = ' * 5_000 + "1" + "}" * 5_000
    problem = only_problem(None, {"SOR_FEEDS__STALENESS_BY_SYMBOL": deep})
    assert problem.startswith("feeds.staleness_by_symbol: expected a TOML inline table")


def test_deeply_nested_values_in_the_file_are_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[router]\nmax_latency_ms = " + "[" * 5_000 + "]" * 5_000 + "\n")
    assert "not valid TOML" in only_problem(path, {})
    dotted = write(tmp_path, "[router]\nmax_latency_ms." + ".".join(["a"] * 3_000) + " = 1\n")
    assert only_problem(dotted, {}).startswith("router.max_latency_ms: expected a number")


def test_settings_file_name_with_a_nul_byte_is_a_config_error() -> None:
    problem = only_problem(None, {"SOR_CONFIG": "sor\x00.toml"})
    assert "cannot read the settings file (named by SOR_CONFIG)" in problem


def test_text_after_an_environment_inline_table_is_refused() -> None:
    text = '{"BTC/USDT" = 30}\n"ETH/USDT" = 5\nfoo = 1'
    problem = only_problem(None, {"SOR_FEEDS__STALENESS_BY_SYMBOL": text})
    assert problem.startswith("feeds.staleness_by_symbol: expected a TOML inline table")


def test_accepted_settings_build_a_feed_and_route() -> None:
    env = {
        "SOR_FEEDS__MAX_BUFFER": "10000000",
        "SOR_FEEDS__MAX_MESSAGE_SIZE": str(1024**3),
        "SOR_FEEDS__SEED": str(2**64 - 1),
        "SOR_ROUTER__MAX_BOOK_AGE_S": "86400",
        "SOR_ROUTER__CACHE_TTL_S": "86400",
    }
    settings = load_settings(env=env)
    exercise(settings)


def test_every_numeric_setting_is_range_checked() -> None:
    """A number far too large for any key is refused when the section is built."""
    for key in sorted(schema_keys(Settings())):
        var = "SOR_" + key.upper().replace(".", "__")
        default = _dig(Settings(), key)
        if isinstance(default, bool) or not isinstance(default, int | float | type(None)):
            continue
        if default is None and _hint(key) == str | None:
            continue  # a text setting that is unset by default (the service's token)
        problem = only_problem(None, {var: str(10**30)})
        assert problem.startswith(f"{key}: must be "), problem
        assert " in [" in problem or " in (" in problem, problem


def _hint(key: str) -> object:
    """The type hint of the setting ``key``."""
    *section, name = key.split(".")
    return typing.get_type_hints(type(_dig(Settings(), ".".join(section))))[name]


def _dig(value: object, key: str) -> object:
    for name in key.split("."):
        value = getattr(value, name)
    return value


def test_slippage_bound_finer_than_the_core_holds_is_a_config_error() -> None:
    # The core holds basis points exactly to 1e-4: 12.34567 bps used to load and then fail at
    # route(); it is refused when the settings load, naming the key.
    problem = only_problem(None, {"SOR_ROUTER__MAX_SLIPPAGE_BPS": "12.34567"})
    assert problem.startswith("router.max_slippage_bps: 12.34567 has more than 4 decimal places")
    settings = load_settings(env={"SOR_ROUTER__MAX_SLIPPAGE_BPS": "12.3456"})
    assert settings.router.max_slippage_bps == 12.3456


def test_risk_limits_load_as_exact_decimals_and_floats_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[execution]\nmax_notional = "250000.15"\n[health]\nwindow = 20\n')
    settings = load_settings(path, env={"SOR_EXECUTION__MAX_QUANTITY": "2.5"})
    assert settings.execution.max_notional == Decimal("250000.15")
    assert settings.execution.max_quantity == Decimal("2.5")
    assert settings.health.window == 20
    problem = only_problem(write(tmp_path, "[execution]\nmax_quantity = 0.1\n"), {})
    assert problem.startswith("execution.max_quantity: expected a decimal"), problem
