"""Paper trading: orders filled in simulation on live books, latency measured at the exchange."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sor.clients.protocol import PlaceOrder, VenueClient, VenueOrder
from sor.clients.simulated import SimulatedClient
from sor.markets import Market

__all__ = ["PaperClient"]


class PaperClient:
    """A :class:`sor.clients.VenueClient` that never sends an order: ``fills`` (a
    :class:`SimulatedClient` over the books a feed keeps live) fills every order, while
    :meth:`ping` asks ``exchange`` (a client of the real exchange, public endpoints only), so the
    health figures the router reads are the exchange's own. Closing it leaves ``exchange`` to
    whoever made it."""

    def __init__(self, fills: SimulatedClient, exchange: VenueClient) -> None:
        self.fills = fills
        self.exchange = exchange

    def __repr__(self) -> str:
        return f"PaperClient({self.fills.name!r})"

    @property
    def name(self) -> str:
        """The venue's name."""
        return self.fills.name

    async def load_markets(self) -> Mapping[str, Market]:
        """The markets the simulated fills know."""
        return await self.fills.load_markets()

    async def create_order(self, order: PlaceOrder) -> VenueOrder:
        """Fills ``order`` in simulation on the live book (nothing reaches the exchange)."""
        return await self.fills.create_order(order)

    async def fetch_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """A simulated order, by its client order id."""
        return await self.fills.fetch_order(symbol, client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Cancels a simulated order (IOC orders are never open)."""
        return await self.fills.cancel_order(symbol, client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Simulated open orders (none: every order is IOC)."""
        return await self.fills.fetch_open_orders(symbol)

    async def fetch_balance(self) -> dict[str, Decimal]:
        """The simulated balances."""
        return await self.fills.fetch_balance()

    async def ping(self) -> float:
        """The round trip to the real exchange, in milliseconds."""
        return await self.exchange.ping()

    async def close(self) -> None:
        """Closes the simulated fills (the exchange's client is its maker's to close)."""
        await self.fills.close()
