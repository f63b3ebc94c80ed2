"""sor's own decimal contexts: every ``Decimal`` computation in sor runs in one of them.

Python's ``decimal`` arithmetic (``a + b``, ``a / b``, ``a.normalize()``, ``a.quantize(...)``,
``f"{a:.2f}"``) follows the *calling thread's* context (``decimal.getcontext()``): its
precision, rounding mode, exponent limits and traps. A program that sets
``getcontext().prec = 12`` (or traps ``Inexact``) would otherwise change sor's figures or make
it raise ``decimal.InvalidOperation``. sor therefore calls the methods of its own contexts
(``EXACT.add(a, b)``) and never an operator on two ``Decimal`` values:

- :data:`EXACT` for figures that must be exact (sums of quantities and notionals, lot
  rounding, quantizing to a tick): 100 digits, far above any value sor accepts (every number
  given to sor is below ``10**MAX_MAGNITUDE`` with at most ``MAX_PLACES`` decimal places, so
  at most 80 digits; the core's own figures have at most 39). It traps ``Inexact``: a rounding
  there would be a bug, and raises rather than giving a silently wrong figure.
- :data:`APPROX` for derived figures that are reported as floats anyway (average prices,
  ratios, basis points): the same precision, rounding half-even, ``Inexact`` allowed.

Both trap ``InvalidOperation``, ``DivisionByZero`` and ``Overflow``; neither is ever installed
as a thread's context, so the caller's context is neither read nor changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

__all__ = [
    "APPROX",
    "EXACT",
    "MAX_MAGNITUDE",
    "MAX_PLACES",
    "PRECISION",
    "ceil_to",
    "fixed",
    "floor_to",
    "fmt",
    "parse",
    "ratio",
    "total",
    "unit",
]

#: Significant digits of sor's contexts.
PRECISION = 100
#: Every number sor accepts is below ``10**MAX_MAGNITUDE`` in absolute value.
MAX_MAGNITUDE = 40
#: Every number sor accepts has at most this many decimal places (trailing zeros aside).
MAX_PLACES = 40

_TRAPS = [InvalidOperation, DivisionByZero, Overflow]

#: Exact arithmetic: any rounding raises ``decimal.Inexact``.
EXACT = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[*_TRAPS, Inexact],
)
#: Rounded arithmetic (half-even at 100 digits) for figures reported as floats.
APPROX = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=_TRAPS,
)


def parse(value: str | Decimal | int) -> Decimal:
    """``value`` as an exact ``Decimal``; raises ``decimal.InvalidOperation`` if it is not a
    number, whatever the caller's traps (the constructor stores every digit given)."""
    return Decimal(value, EXACT)


def fmt(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (``5``, ``0.00001``), for messages."""
    # "f" without a precision never rounds, so it does not depend on any context.
    return format(APPROX.normalize(value), "f")


def fixed(value: Decimal, places: int) -> str:
    """``value`` with ``places`` decimals (rounded half-even), for messages."""
    return format(APPROX.quantize(value, unit(places)), "f")


_UNITS = tuple(Decimal(f"1e-{places}") for places in range(0, 64))


def unit(places: int) -> Decimal:
    """``10**-places`` (``unit(2)`` is ``0.01``), exact."""
    return _UNITS[places] if 0 <= places < len(_UNITS) else Decimal(f"1e{-places}")


def total(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``values`` (``Decimal(0)`` if there are none)."""
    add = EXACT.add
    result = Decimal(0)
    for value in values:
        result = add(result, value)
    return result


def floor_to(value: Decimal, places: int) -> Decimal:
    """``value`` rounded down to a multiple of ``10**-places``."""
    return value.quantize(unit(places), ROUND_FLOOR, APPROX)


def ceil_to(value: Decimal, places: int) -> Decimal:
    """``value`` rounded up to a multiple of ``10**-places``."""
    return value.quantize(unit(places), ROUND_CEILING, APPROX)


def ratio(numerator: Decimal, denominator: Decimal) -> float:
    """``numerator / denominator`` as a float (correctly rounded from 100 digits)."""
    return float(APPROX.divide(numerator, denominator))
