"""The executor's section of the settings: risk limits, retries and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sor._validate import to_decimal, to_float, to_int
from sor.errors import InvalidInput

__all__ = ["ExecutionSettings"]

#: Largest duration setting, in seconds (an hour).
_MAX_S = 3_600.0
#: Largest risk limit (base units or quote units).
_MAX_LIMIT = Decimal("1e18")


@dataclass(frozen=True)
class ExecutionSettings:
    """How :class:`sor.execution.Executor` sends orders.

    - ``max_quantity`` / ``max_notional``: per-order risk limits (base units / quote units of
      the routed notional), checked before anything is sent; None: no limit;
    - ``order_timeout_s``: how long one order may take before its outcome counts as unknown;
    - ``retries`` and ``backoff_s``: retries on the same venue after a rate limit or a refused
      timestamp (the back-off doubles each time);
    - ``reconcile_deadline_s`` and ``reconcile_interval_s``: how long, and how often, an order
      whose outcome is unknown is looked up by its client order id before the remainder is held;
    - ``settle_after_s``: a venue's "no such order" is final only this long after the send (a
      request still in flight may arrive later; Binance's ``recvWindow`` is 5 s by default);
    - ``max_attempts``: orders sent for one execution, at most;
    - ``emergency``: once nothing qualifies under the order's constraints, try any healthy
      venue (a split, preferences and the router's liquidity and latency thresholds relaxed;
      the limit price, slippage bound and exclusions still hold) before giving up;
    - ``market_orders``: send market orders as market orders; by default every order is an IOC
      limit at the worst price the order's slippage bound (and limit price) accepts;
    - ``client_id_prefix``: the start of every client order id sor sends.
    """

    max_quantity: Decimal | None = None
    max_notional: Decimal | None = None
    order_timeout_s: float = 10.0
    retries: int = 3
    backoff_s: float = 0.2
    reconcile_deadline_s: float = 30.0
    reconcile_interval_s: float = 0.25
    settle_after_s: float = 5.0
    max_attempts: int = 10
    market_orders: bool = False
    emergency: bool = True
    client_id_prefix: str = "sor"

    def __post_init__(self) -> None:
        for name in ("max_quantity", "max_notional"):
            value = getattr(self, name)
            if value is not None:
                limit = to_decimal(value, name)
                if not 0 < limit <= _MAX_LIMIT:
                    raise InvalidInput(f"{name}: must be in (0, 1e18], got {limit}")
                object.__setattr__(self, name, limit)
        for name in (
            "order_timeout_s",
            "backoff_s",
            "reconcile_deadline_s",
            "reconcile_interval_s",
            "settle_after_s",
        ):
            to_float(getattr(self, name), name, high=_MAX_S)
        if self.order_timeout_s <= 0:
            raise InvalidInput("order_timeout_s: expected a positive number of seconds")
        to_int(self.retries, "retries", low=0, high=100)
        to_int(self.max_attempts, "max_attempts", low=1, high=1_000)
        for name in ("market_orders", "emergency"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name}: expected true or false")
        prefix = self.client_id_prefix
        if not isinstance(prefix, str) or not prefix.isalnum() or not prefix.isascii():
            raise InvalidInput("client_id_prefix: expected ASCII letters and digits")
        if len(prefix) > 8:
            raise InvalidInput("client_id_prefix: at most 8 characters")
