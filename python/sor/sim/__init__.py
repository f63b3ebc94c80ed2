"""Local exchange simulators that speak the exchanges' real wire protocols on 127.0.0.1.

Each simulator streams a realistic evolving book (a random-walk mid, log-normal sizes, bursts of
updates, thousands of levels), keeps the exact true book so tests can compare, and injects
faults on demand. They back the feed tests and serve as embedded exchanges for demos.
"""

from sor.sim.binance import BinanceSimulator, SnapshotRequest
from sor.sim.book_model import BookModel, SimMarket, Step, format_decimal
from sor.sim.bybit import BybitSimulator
from sor.sim.coinbase import CoinbaseSimulator
from sor.sim.kraken import KrakenSimulator
from sor.sim.okx import OkxSimulator

__all__ = [
    "BinanceSimulator",
    "BookModel",
    "BybitSimulator",
    "CoinbaseSimulator",
    "KrakenSimulator",
    "OkxSimulator",
    "SimMarket",
    "SnapshotRequest",
    "Step",
    "format_decimal",
]
