"""Builders shared by the router tests: hand-made books, markets, venues and a settable clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sor
from sor.health import InMemoryHealth
from sor.health.metrics import ExchangeMetrics
from sor.markets import Market, Venue
from sor.routing.router import SmartOrderRouter
from sor.routing.settings import RouterSettings
from sor.samples import SampleVenue

#: The wall-clock time the tests' clocks start at (nanoseconds since the epoch).
T0 = 1_800_000_000 * 10**9

Levels = Sequence[tuple[str, str]]


class Clock:
    """A wall clock the tests move by hand (nanoseconds since the epoch)."""

    def __init__(self, now_ns: int = T0) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        """Moves the clock forward."""
        self.now_ns += int(seconds * 1e9)


def make_book(
    asks: Levels = (),
    bids: Levels = (),
    price_decimals: int = 1,
    size_decimals: int = 1,
    timestamp_ns: int = T0,
) -> sor.OrderBook:
    """A book holding best-first ``(price, size)`` levels, last updated at ``timestamp_ns``."""
    book = sor.OrderBook(price_decimals, size_decimals)
    book.apply_snapshot(list(bids), list(asks), sequence=1, timestamp_ns=timestamp_ns)
    return book


def market(
    fee_bps: str | int = 0,
    step: str = "0.1",
    tick: str = "0.1",
    min_amount: str = "0",
    min_cost: str = "0",
    max_amount: str | None = None,
    symbol: str = "BTC/USDT",
    active: bool = True,
) -> Market:
    """A market whose taker fee is given in basis points."""
    base, quote = symbol.split("/")
    return Market(
        symbol=symbol,
        base=base,
        quote=quote,
        price_tick=Decimal(tick),
        amount_step=Decimal(step),
        taker_fee=Decimal(fee_bps) / 10_000,
        min_amount=Decimal(min_amount),
        max_amount=None if max_amount is None else Decimal(max_amount),
        min_cost=Decimal(min_cost),
        active=active,
    )


@dataclass
class Spec:
    """One hand-made venue: its book, market and health figures."""

    name: str
    book: sor.OrderBook
    market: Market = field(default_factory=market)
    latency_ms: float = 20.0
    success_rate: float = 1.0
    balances: dict[str, str] = field(default_factory=dict)


def make_router(
    specs: Iterable[Spec],
    settings: RouterSettings | None = None,
    clock: Clock | None = None,
) -> SmartOrderRouter:
    """A router over the specs' venues, books and health figures."""
    specs = list(specs)
    health = InMemoryHealth(ExchangeMetrics(s.name, s.latency_ms, s.success_rate) for s in specs)
    router = SmartOrderRouter(
        [Venue(s.name, [s.market], dict(s.balances)) for s in specs],
        settings=settings,
        health=health,
        clock_ns=clock or Clock(),
    )
    for s in specs:
        router.set_book(s.name, s.market.symbol, s.book)
    return router


def sample_router(
    venues: Sequence[SampleVenue],
    settings: RouterSettings | None = None,
    clock: Clock | None = None,
) -> SmartOrderRouter:
    """A router over ``sor.samples`` venues (their books restamped at the clock's time)."""
    clock = clock or Clock()
    specs = []
    for v in venues:
        book = v.book.copy()
        book.apply_snapshot(
            [(lv.price, lv.size) for lv in book.levels("bid")],
            [(lv.price, lv.size) for lv in book.levels("ask")],
            sequence=book.sequence,
            timestamp_ns=clock.now_ns,
        )
        rules = v.rules
        specs.append(
            Spec(
                v.name,
                book,
                market(
                    fee_bps=str(Decimal(repr(v.taker_fee_bps))),
                    step=str(rules.lot_size),
                    tick="0.01",
                    min_cost=str(rules.min_notional),
                ),
                latency_ms=v.latency_ms,
                success_rate=v.reliability,
            )
        )
    return make_router(specs, settings, clock)
