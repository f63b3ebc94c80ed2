"""Validation of input fields, shared by the models, the settings and the venues.

Each helper returns the value in its canonical type or raises :class:`sor.InvalidInput` with a
message that names the field.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeAlias, TypeVar

__all__ = [
    "DecimalInput",
    "StrEnum",
    "quote",
    "to_decimal",
    "to_enum",
    "to_float",
    "to_names",
]

from sor._core import InvalidInput, excerpt

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10

    class StrEnum(str, Enum):
        """``enum.StrEnum`` for Python 3.10: members are their string values."""

        def __str__(self) -> str:
            return str(self.value)


StrEnumT = TypeVar("StrEnumT", bound=StrEnum)

DecimalInput: TypeAlias = str | Decimal | int
"""What a quantity or price may be given as (floats are refused: they are not exact)."""


def quote(value: object) -> str:
    """How an error message shows an input: its ``repr``, cut by the core's one rule
    (``sor._core.excerpt``: the first 40 characters, ``...`` and the length when longer)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an int of {value.bit_length()} bits"  # repr() refuses ints past ~4300 digits
    if isinstance(value, str):
        return repr(excerpt(value))
    return excerpt(repr(value))


def to_decimal(value: object, field: str, *, positive: bool = False) -> Decimal:
    """``value`` as a finite ``Decimal`` (from str, Decimal or int; never float or bool).

    Raises :class:`sor.InvalidInput` naming ``field`` if the value is of another type, not a
    number, not finite, negative, or (with ``positive``) zero.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        hint = " (floats are not exact: pass a str or Decimal)" if isinstance(value, float) else ""
        raise InvalidInput(
            f"{field}: expected str, decimal.Decimal or int, got {type(value).__name__}{hint}"
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidInput(f"{field}: not a decimal number: {quote(value)}") from None
    if not number.is_finite():
        raise InvalidInput(f"{field}: must be finite, got {quote(value)}")
    if number < 0 or (positive and number == 0):
        raise InvalidInput(f"{field}: must be {'> 0' if positive else '>= 0'}, got {quote(value)}")
    return number


def to_float(value: object, field: str, *, low: float = 0.0, high: float = math.inf) -> float:
    """``value`` as a finite float in ``[low, high]`` (int, float or Decimal; never bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidInput(f"{field}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInput(f"{field}: {quote(value)} is too large") from None
    if not math.isfinite(number) or number < low or number > high:
        raise InvalidInput(
            f"{field}: must be a finite number in [{low:g}, {high:g}], got {quote(value)}"
        )
    return number


def to_enum(enum: type[StrEnumT], value: object, field: str) -> StrEnumT:
    """``value`` as a member of ``enum`` (members or their string values)."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    choices = ", ".join(repr(member.value) for member in enum)
    raise InvalidInput(f"{field}: expected one of {choices}, got {quote(value)}")


def to_names(values: Iterable[str] | str | None, field: str) -> tuple[str, ...]:
    """Venue names as a tuple of distinct non-empty strings, in the order given."""
    if values is None:
        return ()
    if isinstance(values, str):
        raise InvalidInput(
            f"{field}: expected a list of venue names, got the string {quote(values)}"
        )
    names = tuple(values)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{field}: venue names must be non-empty strings, got {quote(name)}")
    if len(set(names)) != len(names):
        raise InvalidInput(f"{field}: venue names must be distinct, got {list(names)}")
    return names
