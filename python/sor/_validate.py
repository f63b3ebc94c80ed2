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
    "shown",
    "to_decimal",
    "to_enum",
    "to_float",
    "to_int",
    "to_names",
]

from sor._core import excerpt
from sor._decimal import APPROX, EXACT, MAX_MAGNITUDE, MAX_PLACES, parse, unit
from sor.errors import InvalidInput

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
    number, not finite, negative, (with ``positive``) zero, not below ``1e40`` or with more
    than 40 decimal places (trailing zeros aside): sor computes exactly with every number it
    accepts (see :mod:`sor._decimal`). The caller's decimal context plays no part.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        hint = " (floats are not exact: pass a str or Decimal)" if isinstance(value, float) else ""
        raise InvalidInput(
            f"{field}: expected str, decimal.Decimal or int, got {type(value).__name__}{hint}"
        )
    try:
        number = parse(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidInput(f"{field}: not a decimal number: {quote(value)}") from None
    if not number.is_finite():
        raise InvalidInput(f"{field}: must be finite, got {quote(value)}")
    if (number.is_signed() and number) or (positive and not number):
        raise InvalidInput(f"{field}: must be {'> 0' if positive else '>= 0'}, got {quote(value)}")
    if number and number.adjusted() >= MAX_MAGNITUDE:
        raise InvalidInput(f"{field}: must be below 1e{MAX_MAGNITUDE}, got {quote(value)}")
    # A short text without an exponent cannot have too many places (as_tuple() costs ~1 us).
    short = isinstance(value, int) or (
        isinstance(value, str) and len(value) <= MAX_PLACES + 1 and "e" not in value.lower()
    )
    if not short and EXACT.remainder(number, unit(MAX_PLACES)):
        raise InvalidInput(
            f"{field}: at most {MAX_PLACES} decimal places are supported, got {quote(value)}"
        )
    return number


def shown(value: object, limit: int = 60) -> str:
    """``value``'s repr for an error message, at most ``limit`` characters (huge ints too)."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return f"an integer of {value.bit_length()} bits" if isinstance(value, int) else "?"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_float(
    value: object,
    field: str,
    *,
    low: float = 0.0,
    high: float = math.inf,
    above_low: bool = False,
) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``above_low``) from
    an int, float or Decimal (never a bool); the error names the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidInput(f"{field}: expected a number, got {type(value).__name__}")
    where = f"{'(' if above_low else '['}{low:g}, {high:g}]"
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInput(
            f"{field}: {quote(value)} is too large (must be a finite number in {where})"
        ) from None
    except ValueError:  # a signaling NaN
        number = math.nan
    if not math.isfinite(number) or number > high or number < low or (above_low and number == low):
        raise InvalidInput(f"{field}: must be a finite number in {where}, got {quote(value)}")
    return number


#: Basis points are exact to this many decimal places in the core (``Bps``, 1e-4 bps).
BPS_PLACES = 4
_BPS_STEP = Decimal("0.0001")  # from text: exact whatever the caller's context


def to_bps(value: object, field: str, *, high: float = 10_000.0) -> float:
    """``value`` as basis points in ``[0, high]`` that the core holds exactly: at most
    :data:`BPS_PLACES` decimal places (a float counts as the decimal it prints as), so a bound
    that would only be refused later, by the core, is refused here, naming ``field``."""
    number = to_float(value, field, high=high)
    exact = value if isinstance(value, Decimal) else Decimal(repr(number))
    if exact != exact.quantize(_BPS_STEP, context=APPROX):
        raise InvalidInput(
            f"{field}: {quote(value)} has more than {BPS_PLACES} decimal places "
            "(basis points are exact to 1e-4)"
        )
    return number


def to_int(value: object, field: str, *, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (never a bool or a float); the error names the
    range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field}: expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidInput(f"{field}: must be an integer in [{low}, {high}], got {quote(value)}")
    return value


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
        raise InvalidInput(f"{field}: expected a list of venue names, got the string {values!r}")
    names = tuple(values)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(f"{field}: venue names must be non-empty strings, got {name!r}")
    if len(set(names)) != len(names):
        raise InvalidInput(f"{field}: venue names must be distinct, got {list(names)}")
    return names
