"""Venue clients: how sor places orders (:class:`VenueClient`), what a venue's errors mean for
an order (:func:`classify_error`), and :class:`SimulatedClient`, which fills against an order
book (the embedded venues and paper trading)."""

from sor.clients.ccxt_client import BINANCE_SPOT_OPTIONS, CcxtClient, credentials
from sor.clients.outcomes import ErrorOutcome, classify_error, needs_clock_resync
from sor.clients.paper import PaperClient
from sor.clients.protocol import OrderStatus, PlaceOrder, VenueClient, VenueOrder
from sor.clients.simulated import Fault, FaultRates, SimulatedClient

__all__ = [
    "BINANCE_SPOT_OPTIONS",
    "CcxtClient",
    "ErrorOutcome",
    "Fault",
    "FaultRates",
    "OrderStatus",
    "PaperClient",
    "PlaceOrder",
    "SimulatedClient",
    "VenueClient",
    "VenueOrder",
    "classify_error",
    "credentials",
    "needs_clock_resync",
]
