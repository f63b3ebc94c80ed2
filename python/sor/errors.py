"""The errors sor raises: the core's hierarchy, plus the Python side's own.

This is the one place Python code takes sor's exceptions from.

``SorError`` is the base of everything; ``InvalidInput`` (also a ``ValueError``) means an argument
was malformed and names it; ``RoutingError`` means no valid route exists. The router raises
:class:`NoRouteError`, a ``RoutingError`` carrying the reason as data, whenever it cannot route
the *whole* order under its constraints: it never returns a partial or infeasible decision.
Settings that cannot be loaded raise :class:`ConfigError`, an ``InvalidInput`` listing each
problem by its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sor._core import BookError, InvalidInput, RoutingError, SorError

if TYPE_CHECKING:  # the error carries these as data; the layers above define them
    from sor.orders import OrderRequest
    from sor.routing.decision import NoRouteReason, Rejection

__all__ = [
    "BookError",
    "ConfigError",
    "InvalidInput",
    "JournalError",
    "NoRouteError",
    "RoutingError",
    "SorError",
]


class NoRouteError(RoutingError):
    """No venue, nor split, can take the whole order under its constraints.

    The message says why in a trader's words (``"insufficient liquidity: 3.2 of 5.0 BTC
    available within 100 bps on 3 venues"``) followed by each venue's own reason. The same facts
    are attributes: ``reason`` (the headline, a :class:`NoRouteReason`), ``order``,
    ``rejections`` (one per venue) and ``available`` (the base quantity that could be routed
    within the constraints, across venues; None when no book was looked at).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: NoRouteReason,
        order: OrderRequest,
        rejections: tuple[Rejection, ...] = (),
        available: Decimal | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.order = order
        self.rejections = rejections
        self.available = available

    def __reduce__(self) -> tuple[object, ...]:
        """Pickles with its attributes (they are keyword-only)."""
        return (
            _rebuild_no_route_error,
            (str(self), self.reason, self.order, self.rejections, self.available),
        )


def _rebuild_no_route_error(
    message: str,
    reason: NoRouteReason,
    order: OrderRequest,
    rejections: tuple[Rejection, ...],
    available: Decimal | None,
) -> NoRouteError:
    return NoRouteError(
        message, reason=reason, order=order, rejections=rejections, available=available
    )


class ConfigError(InvalidInput):
    """Settings that could not be loaded: ``problems`` lists each one, naming its key.

    Every problem found is listed (each unknown name or value of the wrong type, with the file
    or environment variable it came from; or, once every value is well-typed, each value a
    section rejects).
    """

    problems: tuple[str, ...]

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = f"invalid settings: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"invalid settings ({len(self.problems)} problems):\n{listed}"
        super().__init__(message)


class JournalError(SorError):
    """The journal could not be written or read; no order is sent without its journal record
    (a client order id already written is refused with this error too)."""
