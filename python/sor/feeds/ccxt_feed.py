"""The fallback feed: order books of any exchange ccxt supports, kept exact in sor's books.

For an exchange without a native adapter, :class:`CcxtFeed` gets each market's order book
through a ccxt exchange instance (https://docs.ccxt.com):

- **watch** — ccxt.pro's ``watch_order_book`` (https://docs.ccxt.com/#/ccxt.pro.manual), where
  the exchange has it (``exchange.has["watchOrderBook"]``): ccxt keeps its own book from the
  exchange's stream (snapshot, deltas, sequence checks) and returns it after every update;
- **poll** — REST ``fetch_order_book`` (https://docs.ccxt.com/#/README?id=order-book)
  otherwise, every ``poll_interval`` seconds per symbol, never two requests of the feed closer
  than the exchange's ``rateLimit`` (ccxt's own throttle, on by default, also weighs each call).

Every book ccxt returns is applied to the symbol's :class:`sor.OrderBook` as a full snapshot
(never patched), at the market's precision as ccxt reports it (:mod:`sor.markets.ccxt_markets`).

Example::

    exchange = ccxt.pro.kraken()            # or ccxt.async_support.kraken() to poll
    feed = await CcxtFeed.create(exchange, ["BTC/USD", "ETH/USD"])
    async with feed:
        await feed.wait_live()
        if feed.is_fresh("BTC/USD"):
            print(feed.book("BTC/USD").best_ask())
    await exchange.close()

**Floats to exact decimals.** ccxt parses the exchange's decimal strings into Python floats.
A float is the nearest binary number to the decimal it was parsed from; as long as decimals of
the market's precision (``10**-decimals`` apart) are farther apart than the float's spacing
(``math.ulp``), exactly one of them is that near, and formatting the float correctly rounded
at that many places (``f"{x:.{decimals}f}"``, which Python rounds exactly) gives it back.
:func:`exact_decimal` does that and checks it: the text must parse back to the same float
(otherwise the value has more decimals than the market: refused), the spacing must exceed the
float's ulp (otherwise several decimals share the float: refused), and a price must be a
multiple of the tick (``0.5`` ticks included). A book with a refused value is not applied.

**Failures.** Nothing ccxt raises ends the feed: every error is counted in :class:`FeedStats`,
logged, and the call retried after a per-symbol exponential backoff with jitter
(:class:`sor.feeds.Backoff`). The symbol's book is emptied until the next good update, so the
router never uses a book whose source is failing. Counters:

- ``messages``: books received from ccxt; ``snapshots``: books applied; ``stale_snapshots``:
  polled books older (lower ccxt ``nonce``) than the one already applied, ignored — a REST
  answer from a lagging server — unless three come in a row (the exchange restarted its
  sequence numbers). Watched books are applied as ccxt gives them: ccxt orders the stream;
- ``snapshot_failures``: failed ccxt calls (network, rate limit, exchange error, timeout);
  ``reconnects``: watch calls that failed on the network (ccxt reconnects at the next call);
- ``checksum_failures``: ccxt's ``ChecksumError`` — ccxt raises it when its own book fails an
  integrity check, which for some exchanges (Binance) is a sequence gap rather than a checksum;
  ccxt then drops its book and re-syncs it at the next watch;
- ``crossed`` / ``malformed``: books refused (crossed or unsorted; values off the precision or
  unreadable, ccxt's ``BadResponse``). Those count as ``resyncs`` too: in watch mode ccxt's book
  is dropped (``un_watch_order_book``, where the exchange has it) and subscribed again;
- ``bytes`` and ``gaps`` stay 0: ccxt does not report them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from sor._core import OrderBook
from sor._decimal import APPROX, EXACT, parse, unit
from sor._lifecycle import AsyncService
from sor._validate import StrEnum
from sor.errors import BookError, InvalidInput
from sor.feeds.backoff import Backoff, BackoffPolicy
from sor.feeds.events import BookSnapshot, Level, MalformedMessage
from sor.feeds.stats import BookHealth, FeedHealth, FeedStats
from sor.feeds.sync import SyncState
from sor.markets.ccxt_markets import CcxtExchange, load_ccxt_markets
from sor.markets.market import Market as VenueMarket

__all__ = [
    "CcxtFeed",
    "CcxtFeedConfig",
    "CcxtMode",
    "exact_decimal",
    "snapshot_from_ccxt",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Polled books older than the current one that are ignored in a row; the next one is applied
#: (the exchange must have restarted its sequence numbers).
_OLDER_IN_A_ROW = 3


class CcxtMode(StrEnum):
    """How a :class:`CcxtFeed` gets its books."""

    AUTO = "auto"
    """``watch`` if the exchange instance has ``watchOrderBook`` (ccxt.pro), else ``poll``."""
    WATCH = "watch"
    """ccxt.pro's ``watch_order_book`` (websocket)."""
    POLL = "poll"
    """REST ``fetch_order_book`` every ``poll_interval`` seconds."""


@dataclass(frozen=True)
class CcxtFeedConfig:
    """How a :class:`CcxtFeed` fetches, retries and judges freshness (durations in seconds)."""

    mode: CcxtMode = CcxtMode.AUTO
    """Watch, poll, or pick by what the exchange instance has."""
    depth: int | None = None
    """Levels per side asked of ccxt (its ``limit``) and kept; None: the exchange's default."""
    poll_interval: float = 1.0
    """Pause after each successful poll of a symbol (raised to the exchange's ``rateLimit``)."""
    request_timeout: float = 10.0
    """Longest wait for one REST poll (and for ``un_watch_order_book`` at a resync or stop)."""
    staleness: float = 10.0
    """A book with no update for this long is stale (keep it above ``poll_interval``)."""
    staleness_by_symbol: Mapping[str, float] = field(default_factory=dict)
    """Per-symbol staleness limits overriding ``staleness``."""
    retry_backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    """Delays before retrying a symbol after a failure; reset by a success."""
    seed: int | None = None
    """Seed of the jitter's random numbers (None: unpredictable)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", CcxtMode(self.mode))
        except ValueError:
            raise InvalidInput(
                f"mode: expected 'auto', 'watch' or 'poll', got {self.mode!r}"
            ) from None
        if self.depth is not None and (
            isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1
        ):
            raise InvalidInput(f"depth: expected a positive integer or None, got {self.depth!r}")
        for name in ("poll_interval", "request_timeout", "staleness"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"{name}: expected a number of seconds, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise InvalidInput(f"{name}: expected a positive number, got {value}")
        for symbol, limit in self.staleness_by_symbol.items():
            if not (math.isfinite(limit) and limit > 0):
                raise InvalidInput(f"staleness_by_symbol[{symbol!r}]: expected > 0, got {limit}")

    def staleness_for(self, symbol: str) -> float:
        """The staleness limit of ``symbol``, in seconds."""
        return self.staleness_by_symbol.get(symbol, self.staleness)


def exact_decimal(value: object, decimals: int) -> str:
    """The decimal with ``decimals`` places that the ccxt number ``value`` stands for.

    ``value`` is a float as ccxt returns it (ints and decimal strings are accepted too). The
    result is exact or the call raises :class:`ValueError` saying why: not finite or negative,
    more decimal places than ``decimals``, or too large for decimals that far apart to be told
    apart through a float. See the module documentation for why the float round trip is exact.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"expected a finite number >= 0, got {value!r}")
        if 10.0**-decimals <= math.ulp(value):
            raise ValueError(
                f"{value!r}: floats this large cannot tell apart decimals with {decimals} places"
            )
        text = f"{value:.{decimals}f}"
        if float(text) != value:
            raise ValueError(f"{value!r} has more than {decimals} decimal places")
        return text
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a number >= 0, got {value!r}")
        return str(value)
    if isinstance(value, str | Decimal):
        try:
            number = parse(value)
        except InvalidOperation:
            raise ValueError(f"expected a decimal number, got {value!r}") from None
        if not number.is_finite() or (number.is_signed() and number):
            raise ValueError(f"expected a finite number >= 0, got {value!r}")
        exponent = APPROX.normalize(number).as_tuple().exponent
        assert isinstance(exponent, int)  # finite
        if -exponent > decimals:
            raise ValueError(f"{value!r} has more than {decimals} decimal places")
        try:
            return format(EXACT.quantize(number, unit(decimals)), "f")
        except InvalidOperation:  # more digits than sor computes with
            raise ValueError(f"{value!r} is too large") from None
    raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")


def _side(
    levels: object, name: str, market: VenueMarket, depth: int | None, tick_units: int
) -> list[Level]:
    if isinstance(levels, str | bytes) or not isinstance(levels, Sequence):
        raise MalformedMessage(f"order book: {name} is not a list", market.symbol)
    price_decimals = market.price_decimals
    size_decimals = market.amount_decimals
    out: list[Level] = []
    for index, level in enumerate(levels if depth is None else levels[:depth]):
        try:
            price_value, size_value = level[0], level[1]
        except (TypeError, IndexError, KeyError):
            raise MalformedMessage(
                f"order book: {name}[{index}] is not a [price, amount] pair", market.symbol
            ) from None
        try:
            price = exact_decimal(price_value, price_decimals)
            size = exact_decimal(size_value, size_decimals)
        except ValueError as error:
            raise MalformedMessage(f"order book: {name}[{index}]: {error}", market.symbol) from None
        if tick_units != 1 and int(price.replace(".", "")) % tick_units:
            raise MalformedMessage(
                f"order book: {name}[{index}]: price {price} is not a multiple of the tick "
                f"{market.price_tick}",
                market.symbol,
            )
        out.append((price, size))
    return out


def snapshot_from_ccxt(
    orderbook: object, market: VenueMarket, *, depth: int | None = None, sequence: int = 0
) -> BookSnapshot:
    """A ccxt order book (``{"bids", "asks", "nonce", ...}``) as exact levels of ``market``.

    The snapshot's sequence is ccxt's ``nonce`` when it is an integer, else ``sequence``.
    ``depth`` keeps only the best levels of each side. Raises :class:`MalformedMessage` (with
    the market's symbol) if the book is not readable or a value is off the market's precision.
    """
    if not isinstance(orderbook, Mapping):
        raise MalformedMessage("order book: expected a mapping", market.symbol)
    tick_units = int(EXACT.scaleb(market.price_tick, market.price_decimals))
    bids = _side(orderbook.get("bids"), "bids", market, depth, tick_units)
    asks = _side(orderbook.get("asks"), "asks", market, depth, tick_units)
    nonce = orderbook.get("nonce")
    if isinstance(nonce, int) and not isinstance(nonce, bool) and nonce >= 0:
        sequence = nonce
    return BookSnapshot(market.symbol, sequence, bids, asks)


@dataclass(eq=False)
class _Book:
    """One symbol's book and its state."""

    market: VenueMarket
    book: OrderBook
    backoff: Backoff
    last_update: float
    state: SyncState = SyncState.SYNCING
    live: asyncio.Event = field(default_factory=asyncio.Event)
    ok: bool = False
    ever_live: bool = False
    older_in_a_row: int = 0

    @property
    def symbol(self) -> str:
        return self.market.symbol


class CcxtFeed(AsyncService):
    """Keeps exact books of one exchange's markets through ccxt (watch or poll).

    ``exchange`` is a ccxt exchange instance from ``ccxt.async_support`` (polls) or
    ``ccxt.pro`` (watches), with its markets loaded; ``markets`` are the symbols' rules as
    read from it (:func:`sor.markets.ccxt_markets.load_ccxt_markets`; :meth:`create` does both).
    The caller keeps the exchange and closes it (``await exchange.close()``) unless
    ``owns_exchange`` hands it to the feed, which then closes it in :meth:`stop`.

    Books are :class:`sor.OrderBook` objects that live as long as the feed: check
    :meth:`is_fresh` before trusting one.
    """

    def __init__(
        self,
        exchange: CcxtExchange,
        markets: Sequence[VenueMarket],
        config: CcxtFeedConfig | None = None,
        *,
        owns_exchange: bool = False,
    ) -> None:
        if not markets:
            raise InvalidInput("markets: expected at least one market")
        self.exchange = exchange
        self.config = config or CcxtFeedConfig()
        self.owns_exchange = owns_exchange
        self.stats = FeedStats()
        """The feed's counters (see the module documentation for what each one counts)."""
        mode = self.config.mode
        if mode is CcxtMode.AUTO:
            mode = CcxtMode.WATCH if exchange.has.get("watchOrderBook") else CcxtMode.POLL
        elif mode is CcxtMode.WATCH and not exchange.has.get("watchOrderBook"):
            raise InvalidInput(
                f"mode: {exchange.id} has no watchOrderBook here (use a ccxt.pro instance)"
            )
        self.mode = mode
        """The resolved mode: :attr:`CcxtMode.WATCH` or :attr:`CcxtMode.POLL`."""
        self._rng = random.Random(self.config.seed)
        now = time.monotonic()
        self._books: dict[str, _Book] = {}
        for market in markets:
            if market.symbol in self._books:
                raise InvalidInput(f"markets: {market.symbol} is listed twice")
            self._books[market.symbol] = _Book(
                market,
                OrderBook(market.price_decimals, market.amount_decimals),
                Backoff(self.config.retry_backoff, self._rng),
                now,
            )
        rate_limit = getattr(exchange, "rateLimit", 0) or 0
        self._request_spacing = max(0.0, float(rate_limit) / 1000.0)
        self._next_request = 0.0
        self._pace_lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @classmethod
    async def create(
        cls,
        exchange: CcxtExchange,
        symbols: Iterable[str],
        config: CcxtFeedConfig | None = None,
        *,
        owns_exchange: bool = False,
    ) -> CcxtFeed:
        """Loads the exchange's markets for ``symbols`` and makes a feed of them (not started).

        Raises :class:`sor.InvalidInput` for a symbol that is not a usable spot market, and
        ccxt's error if the markets cannot be loaded.
        """
        markets = await load_ccxt_markets(exchange, symbols)
        return cls(exchange, list(markets.venue.values()), config, owns_exchange=owns_exchange)

    # -- reading the books ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The ccxt exchange id (``"kraken"``)."""
        return self.exchange.id

    @property
    def symbols(self) -> list[str]:
        """The feed's symbols (unified form)."""
        return list(self._books)

    @property
    def markets(self) -> Mapping[str, VenueMarket]:
        """Each symbol's rules, as ccxt reported them."""
        return {symbol: entry.market for symbol, entry in self._books.items()}

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """Every book, by symbol (check :meth:`is_fresh` before trusting one)."""
        return {symbol: entry.book for symbol, entry in self._books.items()}

    def book(self, symbol: str) -> OrderBook:
        """The book of ``symbol`` (check :meth:`is_fresh` before trusting it)."""
        return self._book(symbol).book

    def state(self, symbol: str) -> SyncState:
        """Where the book of ``symbol`` is in its life cycle."""
        return self._book(symbol).state

    def last_update_age(self, symbol: str) -> float:
        """Seconds since the book of ``symbol`` last changed (or since the feed was created)."""
        return max(0.0, time.monotonic() - self._book(symbol).last_update)

    def is_fresh(self, symbol: str) -> bool:
        """True if the book of ``symbol`` is live and updated within its staleness limit."""
        entry = self._book(symbol)
        return (
            entry.state is SyncState.LIVE
            and time.monotonic() - entry.last_update <= self.config.staleness_for(symbol)
        )

    def health(self) -> FeedHealth:
        """The feed's counters and each book's state, at this moment."""
        now = time.monotonic()
        books = tuple(
            BookHealth(
                symbol=symbol,
                state=entry.state.value,
                fresh=self.is_fresh(symbol),
                last_update_age=max(0.0, now - entry.last_update),
                sequence=entry.book.sequence,
                bid_levels=entry.book.level_count("bid"),
                ask_levels=entry.book.level_count("ask"),
            )
            for symbol, entry in self._books.items()
        )
        return FeedHealth(self.name, self.connected, self.stats.as_dict(), books)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return any(not task.done() for task in self._tasks.values())

    @property
    def connected(self) -> bool:
        """True while running and the latest ccxt call of every symbol succeeded."""
        return self.running and all(entry.ok for entry in self._books.values())

    async def wait_live(self, symbols: Iterable[str] | None = None, timeout: float = 30.0) -> None:
        """Waits until the books of ``symbols`` (default: all) are live; raises TimeoutError."""
        wanted = list(self._books) if symbols is None else [self._book(s).symbol for s in symbols]
        waits = [self._books[symbol].live.wait() for symbol in wanted]
        await asyncio.wait_for(asyncio.gather(*waits), timeout)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts one task per symbol in the background (returns at once)."""
        if self.running:
            raise RuntimeError("feed is already running")
        for symbol, entry in self._books.items():
            entry.state = SyncState.RESYNCING if entry.ever_live else SyncState.SYNCING
            self._tasks[symbol] = asyncio.create_task(
                self._run(entry), name=f"ccxt-feed:{self.name}:{symbol}"
            )

    async def stop(self) -> None:
        """Cancels the feed's tasks, marks the books stopped, and releases ccxt's streams.

        In watch mode each symbol is unwatched where the exchange supports it; an exchange the
        feed owns is closed.
        """
        pending = set(self._tasks.values())
        self._tasks.clear()
        stopped = bool(pending)
        # Cancelled again until done: a library may swallow one cancellation (asyncio.wait_for
        # before Python 3.12 does when its inner call completes at the same moment).
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for entry in self._books.values():
            self._empty(entry)
            entry.state = SyncState.STOPPED
        if self.owns_exchange:
            try:
                await _within(self.exchange.close(), self.config.request_timeout)
            except Exception as error:  # closing must not fail the shutdown
                logger.warning("%s: closing the exchange failed: %s", self.name, _describe(error))
        elif self.mode is CcxtMode.WATCH and stopped:
            await asyncio.gather(*(self._unwatch(symbol) for symbol in self._books))

    # -- one symbol -------------------------------------------------------------------------

    async def _run(self, entry: _Book) -> None:
        """Gets books of one symbol until cancelled; every failure is counted and retried."""
        poll = self.mode is CcxtMode.POLL
        interval = max(self.config.poll_interval, self._request_spacing)
        while True:
            try:
                orderbook = await (self._poll(entry.symbol) if poll else self._watch(entry.symbol))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._on_error(entry, error)
                await asyncio.sleep(entry.backoff.next_delay())
                continue
            if self.apply(entry.symbol, orderbook):
                entry.backoff.reset()
                if poll:
                    await asyncio.sleep(interval)
                continue
            if not poll:
                await self._unwatch(entry.symbol)
            await asyncio.sleep(entry.backoff.next_delay())

    async def _poll(self, symbol: str) -> object:
        """One REST ``fetch_order_book``, spaced by the exchange's ``rateLimit``."""
        async with self._pace_lock:
            wait = self._next_request - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_request = time.monotonic() + self._request_spacing
        return await _within(
            self.exchange.fetch_order_book(symbol, self.config.depth),
            self.config.request_timeout,
        )

    async def _watch(self, symbol: str) -> object:
        """ccxt.pro's next book of ``symbol`` (it waits for an update)."""
        watch: Any = getattr(self.exchange, "watch_order_book")  # noqa: B009 (ccxt.pro only)
        return await watch(symbol, self.config.depth)

    async def _unwatch(self, symbol: str) -> None:
        """Drops ccxt's book and subscription of ``symbol``, so the next watch starts afresh."""
        if not self.exchange.has.get("unWatchOrderBook"):
            return
        unwatch: Any = getattr(self.exchange, "un_watch_order_book")  # noqa: B009
        try:
            await _within(unwatch(symbol), self.config.request_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the next watch still resubscribes if ccxt dropped it
            logger.info("%s: %s: un_watch_order_book: %s", self.name, symbol, _describe(error))

    def apply(self, symbol: str, orderbook: object) -> bool:
        """Applies one ccxt order book of ``symbol``, as the feed does with each book it gets.

        Returns False if the book was refused (counted; the symbol's book is emptied until the
        next good one). Useful to feed books fetched elsewhere through the same checks.
        """
        entry = self._book(symbol)
        stats = self.stats
        stats.messages += 1
        entry.ok = True
        book = entry.book
        try:
            snapshot = snapshot_from_ccxt(
                orderbook, entry.market, depth=self.config.depth, sequence=book.sequence + 1
            )
        except MalformedMessage as error:
            stats.malformed += 1
            self._refuse(entry, str(error))
            return False
        if (
            self.mode is CcxtMode.POLL
            and entry.state is SyncState.LIVE
            and snapshot.sequence < book.sequence
            and entry.older_in_a_row < _OLDER_IN_A_ROW
        ):
            entry.older_in_a_row += 1
            stats.stale_snapshots += 1
            return True
        entry.older_in_a_row = 0
        try:
            book.apply_snapshot(snapshot.bids, snapshot.asks, sequence=snapshot.sequence)
        except BookError as error:
            if (
                snapshot.bids
                and snapshot.asks
                and _crossed(snapshot.bids[0][0], snapshot.asks[0][0])
            ):
                stats.crossed += 1
            else:
                stats.malformed += 1
            self._refuse(entry, str(error))
            return False
        except (InvalidInput, TypeError) as error:
            stats.malformed += 1
            self._refuse(entry, str(error))
            return False
        stats.snapshots += 1
        entry.last_update = time.monotonic()
        if entry.state is not SyncState.LIVE:
            entry.state = SyncState.LIVE
            entry.ever_live = True
            entry.live.set()
            logger.info("%s: %s: live at sequence %d", self.name, entry.symbol, book.sequence)
        return True

    def _refuse(self, entry: _Book, reason: str) -> None:
        self.stats.resyncs += 1
        logger.warning("%s: %s: book refused, resync: %s", self.name, entry.symbol, reason)
        self._empty(entry)

    def _on_error(self, entry: _Book, error: BaseException) -> None:
        """Counts and logs a failed ccxt call; the symbol's book is emptied until it recovers."""
        stats = self.stats
        entry.ok = False
        name, symbol, text = self.name, entry.symbol, _describe(error)
        # ccxt is imported here, not at module level: importing it takes a second or more, and
        # whoever made the exchange instance has imported it already.
        ccxt: Any = importlib.import_module("ccxt")
        if isinstance(error, ccxt.ChecksumError):
            stats.checksum_failures += 1
            stats.resyncs += 1
            logger.warning("%s: %s: ccxt's book failed its check, resync: %s", name, symbol, text)
        elif isinstance(error, ccxt.BadResponse):
            stats.malformed += 1
            stats.resyncs += 1
            logger.warning("%s: %s: unreadable response: %s", name, symbol, text)
        elif self.mode is CcxtMode.WATCH and isinstance(
            error, ccxt.NetworkError | OSError | asyncio.TimeoutError
        ):
            stats.reconnects += 1
            logger.warning("%s: %s: stream lost: %s", name, symbol, text)
        elif isinstance(error, ccxt.BaseError | OSError | asyncio.TimeoutError):
            stats.snapshot_failures += 1
            logger.warning("%s: %s: order book request failed: %s", name, symbol, text)
        else:
            # A bug must not end the feed: log it loudly and retry after the backoff.
            stats.snapshot_failures += 1
            logger.error("%s: %s: unexpected error: %s", name, symbol, text, exc_info=error)
        self._empty(entry)

    def _empty(self, entry: _Book) -> None:
        entry.book.clear()
        entry.live.clear()
        if entry.state is SyncState.LIVE:
            entry.state = SyncState.RESYNCING

    def _book(self, symbol: str) -> _Book:
        try:
            return self._books[symbol]
        except KeyError:
            raise InvalidInput(f"symbol: {symbol!r} is not one of this feed's markets") from None


async def _within(call: Awaitable[_T], timeout: float) -> _T:
    """Awaits ``call`` for at most ``timeout`` seconds (raises :class:`asyncio.TimeoutError`).

    Unlike ``asyncio.wait_for`` before Python 3.12, a cancellation that arrives as ``call``
    completes is never lost: the caller is cancelled, and ``call`` with it.
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    finally:
        if not task.done():
            task.cancel()
            task.add_done_callback(_retrieve)
    if not done:
        raise asyncio.TimeoutError(f"no answer within {timeout:g} s")
    return task.result()


def _crossed(bid: object, ask: object) -> bool:
    """True if the best bid's price is at or above the best ask's (both decimal text)."""
    try:
        return parse(str(bid)) >= parse(str(ask))
    except InvalidOperation:
        return False


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Marks the outcome of an abandoned call as seen (no "exception never retrieved")."""
    if not task.cancelled():
        task.exception()


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
