"""Settling an order whose outcome is unknown, by its client order id, before anything else."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sor.clients import VenueClient, VenueOrder
from sor.execution.settings import ExecutionSettings

__all__ = ["Settled", "settle"]


@dataclass(frozen=True)
class Settled:
    """What the lookup learnt: ``known`` is False when the deadline passed without an answer;
    otherwise ``order`` is the venue's final word (None: the order was never placed)."""

    known: bool
    order: VenueOrder | None = None


async def settle(
    client: VenueClient,
    symbol: str,
    client_order_id: str,
    sent_at: float,
    settings: ExecutionSettings,
) -> Settled:
    """Looks the order up until the venue gives a final answer or the deadline passes.

    ``sent_at`` is when the order was sent (``time.monotonic()``). An open order is cancelled so
    that it can fill no more; "no such order" is final only ``settle_after_s`` after the send
    (a request still in flight may yet arrive). Lookup errors are retried until the deadline.
    """
    deadline = time.monotonic() + settings.reconcile_deadline_s
    while True:
        try:
            found = await asyncio.wait_for(
                client.fetch_order(symbol, client_order_id), settings.order_timeout_s
            )
            if found is not None and not found.is_final:
                found = await asyncio.wait_for(
                    client.cancel_order(symbol, client_order_id), settings.order_timeout_s
                )
        except Exception:
            pass
        else:
            if found is not None and found.is_final:
                return Settled(True, found)
            if found is None and time.monotonic() - sent_at >= settings.settle_after_s:
                return Settled(True, None)
        if time.monotonic() >= deadline:
            return Settled(False)
        await asyncio.sleep(settings.reconcile_interval_s)
