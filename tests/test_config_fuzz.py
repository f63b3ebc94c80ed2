"""A fuzzer for the settings loader: any file and any SOR_* environment either load as settings
a feed and a router can be built from and used, or raise ConfigError; nothing else escapes."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config_support import exercise
from sor.config import Settings, load_settings
from sor.errors import ConfigError


def schema_paths(value: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key's path (sections included) of a settings object."""
    paths: list[tuple[str, ...]] = []
    for item in dataclasses.fields(value):  # type: ignore[arg-type]
        path = (*prefix, item.name)
        paths.append(path)
        child = getattr(value, item.name)
        if dataclasses.is_dataclass(child):
            paths += schema_paths(child, path)
    return paths


PATHS = schema_paths(Settings())
LEAVES = [path for path in PATHS if len(path) > 1]

huge_ints = st.sampled_from([10**19, 2**63 - 1, 2**64, 10**30, 10**400, -(10**400)])
numbers = st.one_of(
    st.integers(-5, 100_000),
    st.floats(0, 100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    huge_ints,
    st.sampled_from([0, 1, 0.0, 1e-300, 1e300, 86_400, 86_400.5, 600_000.0, 10_000_000]),
)
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | st.sampled_from(
    ["", "none", "None", "\x00", "\ud800", "best_execution", "split", "BTC/USDT"]
)
scalars = st.one_of(numbers, texts, st.booleans())
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["BTC/USDT", "a", "seed", "\x00"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def toml_key(name: str) -> str:
    return json.dumps(name) if not name.replace("_", "").isalnum() else name


def toml_value(value: object) -> str:
    """``value`` as TOML text (strings through JSON escapes: a surrogate makes it invalid)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def nested(depth: int, kind: str) -> str:
    """A value nested ``depth`` levels deep: an array or an inline table."""
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a" = ' * depth + "1" + "}" * depth


deep = st.builds(nested, st.integers(1, 3_000), st.sampled_from(["array", "table"]))
names = st.sampled_from(LEAVES) | st.lists(
    st.sampled_from(["router", "feeds", "weights", "seed", "max_buffer", "x", "\x00"]),
    min_size=1,
    max_size=4,
).map(tuple)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A settings file: TOML lines from the schema's keys and random ones, or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    lines = []
    for path in draw(st.lists(names, max_size=6, unique=True)):
        text = draw(deep) if draw(st.integers(0, 9)) == 0 else toml_value(draw(values))
        if len(path) > 1 and draw(st.booleans()):
            lines.append(f"[{'.'.join(toml_key(p) for p in path[:-1])}]")
            lines.append(f"{toml_key(path[-1])} = {text}")
        else:
            lines.append(f"{'.'.join(toml_key(p) for p in path)} = {text}")
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(min_size=1, max_size=4)) + raw[cut:]
    return raw


def env_text(value: object) -> str:
    return value if isinstance(value, str) else toml_value(value)


@st.composite
def environments(draw: st.DrawFn) -> dict[str, str]:
    """SOR_* variables naming keys (in any case, some wrong) with any text."""
    env: dict[str, str] = {}
    for path in draw(st.lists(names, max_size=5, unique=True)):
        name = "SOR_" + "__".join(path)
        name = name.upper() if draw(st.booleans()) else name
        if draw(st.integers(0, 9)) == 0:
            text = draw(deep)
        elif draw(st.integers(0, 9)) == 0:
            text = toml_value(draw(values)) + draw(st.sampled_from(["\nfoo = 1", " # c", "}"]))
        else:
            text = env_text(draw(values))
        env[name] = text
    if draw(st.integers(0, 19)) == 0:
        env["SOR_CONFIG"] = draw(st.sampled_from(["\x00", "missing.toml", "\ud800", "."]))
    return env


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file for every example."""
    return tmp_path_factory.mktemp("fuzz") / "sor.toml"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents(), env=environments(), use_file=st.booleans())
def test_any_file_and_environment_load_usable_settings_or_raise_config_error(
    scratch: Path, document: bytes, env: dict[str, str], use_file: bool
) -> None:
    scratch.write_bytes(document)
    outcome: Settings | ConfigError
    try:
        outcome = load_settings(scratch if use_file else None, env=env)
    except ConfigError as error:
        outcome = error
    if isinstance(outcome, ConfigError):
        event("refused")
        assert outcome.problems
        assert str(outcome).startswith("invalid settings")
        return
    event("loaded")
    exercise(outcome)
