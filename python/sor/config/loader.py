"""The generic settings loader: a dataclass of sections from a TOML file and ``SOR_*`` variables.

:func:`load` follows the fields and type hints of a root dataclass (one field per section, each a
dataclass with defaults), so a subpackage adds a section by adding a field to
:class:`sor.config.Settings`; nothing here knows any section. See :mod:`sor.config` for the
file and environment scheme and how problems are reported.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sor._validate import shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from sor.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "ENV_NESTING",
    "ENV_PREFIX",
    "REDACTED",
    "SECRET_WORDS",
    "describe_value",
    "is_secret_key",
    "load",
]


#: Environment variables whose name starts with this (and names a setting) override the file.
ENV_PREFIX = "SOR_"
#: The environment variable naming the settings file when :func:`load_settings` gets no path.
CONFIG_ENV = "SOR_CONFIG"
#: Separates the levels of a key's path in an environment variable's name.
ENV_NESTING = "__"
#: A key whose path contains one of these words (in any case) holds a secret.
SECRET_WORDS = ("secret", "token", "password", "key")
#: What an error message shows instead of a secret's value.
REDACTED = "<redacted>"

_MAX_SHOWN = 60
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_NONE_WORD = "none"

_SettingsT = TypeVar("_SettingsT")


def is_secret_key(key: str) -> bool:
    """True if the setting ``key`` (a dotted path) holds a secret, by the words of its name."""
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def describe_value(key: str, value: object) -> str:
    """How an error message shows ``value`` of the setting ``key``.

    Its repr (TOML's ``true``/``false`` for booleans), shortened to 60 characters; for a key that
    holds a secret (see :func:`is_secret_key`), ``<redacted>`` whatever the value.
    """
    if is_secret_key(key):
        return REDACTED
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        return shown(value, _MAX_SHOWN)
    except RecursionError:
        return f"a {_toml_type(value)} nested too deeply to show"


def load(
    root: type[_SettingsT], path: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> _SettingsT:
    """``root`` (a dataclass of sections with defaults) from a file and environment overrides.

    ``path`` (or, when it is None, the file named by ``$SOR_CONFIG`` in ``env``) is read first;
    each ``SOR_<SECTION>__<KEY>`` variable of ``env`` then overrides one key. Raises
    :class:`ConfigError` listing every problem, each naming its key.
    """
    source = ""
    if path is None:
        named = env.get(CONFIG_ENV, "")
        if named:
            path, source = named, f" (named by {CONFIG_ENV})"
    problems: list[str] = []
    tree: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        tree = _read_table(root, _read_toml(file, source), "", f"in {file}", problems)
    _apply_env(root, env, tree, problems)
    if problems:
        raise ConfigError(problems)
    built = _build(root, root(), tree, "", problems)
    if built is None:
        raise ConfigError(problems)
    return typing.cast(_SettingsT, built)


def _read_toml(file: Path, source: str) -> dict[str, Any]:
    """The TOML document in ``file``; a :class:`ConfigError` if it cannot be read or parsed."""
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except RecursionError:
        raise ConfigError([f"{file}: not valid TOML: nested too deeply"]) from None
    except FileNotFoundError:
        raise ConfigError([f"{file}: no such settings file{source}"]) from None
    except OSError as error:
        raise ConfigError(
            [f"{file}: cannot read the settings file{source}: {error.strerror}"]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{file}: not valid TOML: {error}"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{file}: not UTF-8 text (at byte offset {error.start})"]) from None
    except ValueError as error:  # a NUL in the name, an integer of too many digits
        where = "cannot read the settings file" if "null" in str(error) else "not valid TOML"
        raise ConfigError([f"{file!r}: {where}{source}: {error}"]) from None


# -- the schema: a dataclass's fields and their types ---------------------------------------------


@cache
def _fields(cls: type) -> dict[str, Any]:
    """The constructor fields of the dataclass ``cls`` and their (resolved) types."""
    hints = typing.get_type_hints(cls)
    return {item.name: hints[item.name] for item in dataclasses.fields(cls) if item.init}


def _is_section(hint: object) -> bool:
    """True if a field of this type is a table of settings (a nested dataclass)."""
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _optional_of(hint: object) -> object | None:
    """``T`` if ``hint`` is ``T | None``, else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        others = [arg for arg in args if arg is not type(None)]
        if len(args) == 2 and len(others) == 1:
            return typing.cast(object, others[0])
    return None


def _mapping_of(hint: object) -> object | None:
    """``V`` if ``hint`` is a mapping from str to ``V`` (a table of values), else None."""
    if typing.get_origin(hint) in (Mapping, dict):
        key, value = typing.get_args(hint)
        if key is str:
            return typing.cast(object, value)
    return None


def _expected(hint: object) -> str:
    """What a value of type ``hint`` must be, in words."""
    if (inner := _optional_of(hint)) is not None:
        return f'{_expected(inner)} or "{_NONE_WORD}"'
    if (value := _mapping_of(hint)) is not None:
        return f"a table of {_expected(value)} values"
    if _is_section(hint):
        return "a table"
    if hint is bool:
        return "a boolean (true or false)"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is Decimal:
        return 'a decimal (a string such as "0.5", or an integer)'
    if hint is str:
        return "a string"
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "one of " + ", ".join(repr(member.value) for member in hint)
    raise TypeError(f"settings of type {hint!r} are not supported")


def _toml_type(value: object) -> str:
    """The TOML name of the type of a parsed value."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table"}
    return names.get(type(value), "array" if isinstance(value, list) else "date/time")


class _MismatchError(Exception):
    """A value that does not fit its field (the caller adds the key and the origin)."""


def _convert(hint: object, value: object, key: str, *, text: bool) -> object:
    """``value`` (parsed TOML, or with ``text`` an environment variable's string) as ``hint``.

    Ints are accepted for floats (and become floats); booleans are never numbers; numbers must be
    finite. Raises :class:`_MismatchError` saying what was expected and what was given.
    """
    if (inner := _optional_of(hint)) is not None:
        if isinstance(value, str) and value.strip().lower() == _NONE_WORD:
            return None
        try:
            return _convert(inner, value, key, text=text)
        except _MismatchError:
            pass
    elif text and isinstance(value, str):
        converted = _from_text(hint, value, key)
        if converted is not None:
            return converted
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if math.isfinite(number):
                return number
            raise _MismatchError(f"expected a finite number, got {describe_value(key, value)}")
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is Decimal:
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, str) and (exact := _decimal_of(value)) is not None:
            return exact
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    elif isinstance(hint, type) and issubclass(hint, Enum):
        if isinstance(value, str) and value in {member.value for member in hint}:
            return hint(value)
    else:
        raise TypeError(f"{key}: settings of type {hint!r} are not supported")
    given = (
        describe_value(key, value) if text else f"{_toml_type(value)} {describe_value(key, value)}"
    )
    raise _MismatchError(f"expected {_expected(hint)}, got {given}")


def _from_text(hint: object, text: str, key: str) -> object | None:
    """An environment variable's ``text`` as the scalar type ``hint``; None if it is not one."""
    stripped = text.strip()
    if hint is str:
        return text
    if hint is bool:
        return _BOOL_WORDS.get(stripped.lower())
    if isinstance(hint, type) and issubclass(hint, Enum):
        return next((member for member in hint if member.value == stripped), None)
    if hint is Decimal:
        return _decimal_of(stripped)
    if hint is not int and hint is not float:
        raise TypeError(f"settings of type {hint!r} are not supported")
    try:
        number: int | float = int(stripped) if hint is int else float(stripped)
    except ValueError:  # not a number (or an int of more digits than Python reads)
        return None
    if isinstance(number, float) and not math.isfinite(number):
        raise _MismatchError(f"expected a finite number, got {describe_value(key, text)}")
    return number


def _decimal_of(text: str) -> Decimal | None:
    """``text`` as a finite Decimal (floats' binary rounding never enters); None if it is not."""
    try:
        number = Decimal(text.strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _unknown(prefix: str, name: str, valid: typing.Iterable[str], origin: str) -> str:
    """The problem of an unknown section or key: the valid names, and the closest one."""
    names = sorted(valid)
    what, where = ("key", f" of [{prefix}]") if prefix else ("section", "")
    close = difflib.get_close_matches(name, names, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"{_join(prefix, name)}: unknown {what} ({origin}); valid {what}s{where}: "
        f"{', '.join(names)}{guess}"
    )


# -- reading: the file's tables, then the environment's overrides ---------------------------------


def _read_table(
    cls: type, data: Mapping[str, object], prefix: str, origin: str, problems: list[str]
) -> dict[str, Any]:
    """The values of ``data`` converted to the fields of ``cls`` (nested tables as dicts)."""
    fields = _fields(cls)
    values: dict[str, Any] = {}
    for name, value in data.items():
        key = _join(prefix, name)
        if name not in fields:
            problems.append(_unknown(prefix, name, fields, origin))
            continue
        hint = fields[name]
        if _is_section(hint) or _mapping_of(hint) is not None:
            if not isinstance(value, dict):
                shown = f"{_toml_type(value)} {describe_value(key, value)}"
                problems.append(f"{key}: expected a table ([{key}]), got {shown} ({origin})")
            elif _is_section(hint):
                values[name] = _read_table(typing.cast(type, hint), value, key, origin, problems)
            else:
                values[name] = _read_mapping(hint, value, key, origin, problems)
            continue
        try:
            values[name] = _convert(hint, value, key, text=False)
        except _MismatchError as error:
            problems.append(f"{key}: {error} ({origin})")
    return values


def _read_mapping(
    hint: object, data: Mapping[str, object], key: str, origin: str, problems: list[str]
) -> dict[str, object]:
    """A table of values (``Mapping[str, V]``), each converted to ``V``."""
    value_hint = _mapping_of(hint)
    values: dict[str, object] = {}
    for name, value in data.items():
        entry = f"{key}[{name!r}]"
        try:
            values[name] = _convert(value_hint, value, entry, text=False)
        except _MismatchError as error:
            problems.append(f"{entry}: {error} ({origin})")
    return values


def _apply_env(
    root: type, env: Mapping[str, str], tree: dict[str, Any], problems: list[str]
) -> None:
    """Puts the ``SOR_<SECTION>__<KEY>`` overrides of ``env`` into ``tree`` (converted).

    A ``SOR_`` variable is a setting if its name has a ``__`` or starts with a section's name
    (``SOR_ROUTER_MAX_SLIPPAGE_BPS``, a missing underscore, is an error rather than ignored);
    other ``SOR_`` variables (``SOR_CONFIG``, other tools') are left alone.
    """
    sections = _fields(root)
    for var in sorted(env):
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV:
            continue
        rest = var[len(ENV_PREFIX) :]
        if ENV_NESTING not in rest and rest.lower() not in sections:
            section = next((s for s in sections if rest.lower().startswith(f"{s}_")), None)
            if section is not None:
                fixed = f"{ENV_PREFIX}{section.upper()}{ENV_NESTING}{rest[len(section) + 1 :]}"
                problems.append(
                    f"{var}: names no setting: levels are separated by a double underscore "
                    f"(did you mean {fixed.upper()}?)"
                )
            continue
        _apply_one(root, rest.lower().split(ENV_NESTING), var, env[var], tree, problems)


def _apply_one(
    root: type, path: list[str], var: str, text: str, tree: dict[str, Any], problems: list[str]
) -> None:
    """Puts one environment override (the key ``path``) into ``tree``."""
    origin = f"from {var}"
    cls, node, prefix = root, tree, ""
    for depth, name in enumerate(path):
        fields = _fields(cls)
        key = _join(prefix, name)
        last = depth == len(path) - 1
        if name not in fields:
            problems.append(_unknown(prefix, name, fields, origin))
            return
        hint = fields[name]
        if _is_section(hint):
            if last:
                problems.append(
                    f"{key}: is a table: set its keys one by one ({var}{ENV_NESTING}<KEY>)"
                )
                return
            cls, prefix = typing.cast(type, hint), key
            child = node.setdefault(name, {})
            node = child
            continue
        if not last:
            if _mapping_of(hint) is not None:
                whole = ENV_PREFIX + ENV_NESTING.join(path[: depth + 1]).upper()
                problems.append(
                    f"{key}: {var} names an entry: set the whole table in {whole}, "
                    'as a TOML inline table such as {"BTC/USDT" = 30}'
                )
            else:
                problems.append(f"{key}: is not a table, so {var} names no setting")
            return
        if _mapping_of(hint) is not None:
            table = _parse_inline_table(text)
            if table is None:
                problems.append(
                    f'{key}: expected a TOML inline table such as {{"BTC/USDT" = 30}} ({origin})'
                )
            else:
                node[name] = _read_mapping(hint, table, key, origin, problems)
            return
        try:
            node[name] = _convert(hint, text, key, text=True)
        except _MismatchError as error:
            problems.append(f"{key}: {error} ({origin})")
        return


def _parse_inline_table(text: str) -> dict[str, Any] | None:
    """``text`` parsed as a TOML inline table (``{"BTC/USDT" = 30}``), or None.

    Nothing may follow the table (``{"BTC/USDT" = 30}\nfoo = 1`` is refused): the text must be
    one TOML value, and it is parsed as the only key of a document.
    """
    try:
        document = tomllib.loads(f"value = {text}")
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None
    value = document.get("value")
    return value if isinstance(value, dict) and len(document) == 1 else None


# -- building: each section from its defaults and the values given --------------------------------


def _build(
    cls: type, base: object, values: Mapping[str, Any], prefix: str, problems: list[str]
) -> object | None:
    """``base`` (the section's default) with ``values`` replaced; None if a section refused."""
    fields = _fields(cls)
    changes: dict[str, object] = {}
    complete = True
    for name, value in values.items():
        hint = fields[name]
        if _is_section(hint):
            key = _join(prefix, name)
            nested = _build(typing.cast(type, hint), getattr(base, name), value, key, problems)
            # A refused section still lets its parent report its own problems (with the
            # section's default in its place), so one run shows every problem.
            complete = complete and nested is not None
            changes[name] = getattr(base, name) if nested is None else nested
        else:
            changes[name] = value
    if not changes:
        return base
    try:
        built: object = dataclasses.replace(typing.cast(Any, base), **changes)
    except (ValueError, TypeError) as error:
        problems.append(_qualify(prefix, cls, _scrub(str(error), _secrets(values, prefix))))
        return None
    return built if complete else None


def _qualify(prefix: str, cls: type, message: str) -> str:
    """A section's own error ``message`` (``"initial: expected ..."``) led by the full key.

    Sections name their fields relative to themselves (``initial``), or as their parent names
    them (``weights.price``); either way the problem is reported under the key's full path.
    """
    head, colon, tail = message.partition(": ")
    parent, _, last = prefix.rpartition(".")
    if colon and " " not in head:
        if head == last or head.startswith(f"{last}."):
            return f"{_join(parent, head)}: {tail}"
        if head.split(".")[0].split("[")[0] in _fields(cls):
            return f"{_join(prefix, head)}: {tail}"
    return f"{prefix or 'settings'}: {message}"


def _secrets(values: Mapping[str, Any], prefix: str) -> list[str]:
    """The texts of the secret values among ``values`` (nested tables included)."""
    found: list[str] = []
    for name, value in values.items():
        key = _join(prefix, name)
        if isinstance(value, Mapping):
            found.extend(_secrets(value, key))
        elif is_secret_key(key) and value is not None:
            found.extend({str(value), repr(value)})
    return found


def _scrub(message: str, secrets: Sequence[str]) -> str:
    """``message`` with every occurrence of a secret replaced by ``<redacted>``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            message = message.replace(secret, REDACTED)
    return message
