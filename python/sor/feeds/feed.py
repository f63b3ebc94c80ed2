"""A market-data feed: one websocket connection keeping exact books for one or more symbols.

The feed owns every task it starts (the connection loop, its stall watchdog, the adapter's
application-level heartbeat if it has one, and one snapshot task per symbol that needs one)
and cancels them on :meth:`Feed.stop` or when leaving ``async with feed:``. It never dies on
bad input or a bad network:

- a lost, refused or stalled connection (no message for ``receive_timeout``; pings cover a dead
  TCP connection) is replaced after an exponential backoff with jitter, and every book is
  rebuilt from a fresh snapshot — never patched across the outage;
- a sequence gap, a refused update (it would cross the book), an update that does not parse or
  a bad checksum throws that symbol's book away and resyncs it from a fresh snapshot, after a
  per-symbol backoff; snapshot requests go through the adapter's request-weight limiter, so a
  burst of resyncs is spread out;
- a message that cannot be read is counted and logged; if it was meant for a known book (or
  the exchange's sequences cannot reveal a lost update) that book is resynced too.

Snapshots come from one of two places. Exchanges that serve them over REST (Binance) get one
snapshot task per symbol that calls :meth:`ExchangeAdapter.fetch_snapshot` until the book is
live. Exchanges that send them on the stream (:attr:`ExchangeAdapter.snapshots_on_stream`:
Kraken, OKX, Bybit, Coinbase) get one task per symbol that waits for the snapshot after the
subscription; when the symbol must resync, it sends :meth:`ExchangeAdapter.resubscribe_messages`
after the symbol's resync backoff, and sends them again (after the next delay) whenever no
snapshot arrives within ``FeedConfig.snapshot_timeout``. An adapter that cannot resync one symbol
(no resubscribe messages) gets a new connection instead, with every book rebuilt.

Exchanges that want application-level pings besides the websocket's own
(:attr:`ExchangeAdapter.heartbeat_interval`: Bybit, OKX) get them on every connection; a ping that
cannot be sent within ``FeedConfig.send_timeout`` ends the connection like any connection error.

The websocket library logs every frame at DEBUG, and frames may carry secrets (Coinbase's JWTs):
connections log through the logger ``sor.feeds.websockets``, which never goes below INFO.

Books are :class:`sor.OrderBook` objects that live as long as the feed: readers may keep a
reference and must check :meth:`Feed.is_fresh` before trusting one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import sys
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from sor._core import OrderBook
from sor._lifecycle import AsyncService
from sor.errors import InvalidInput
from sor.feeds.adapter import ExchangeAdapter
from sor.feeds.backoff import Backoff
from sor.feeds.config import FeedConfig
from sor.feeds.events import BookDelta, BookSnapshot, MalformedMessage, Reconnect
from sor.feeds.stats import BookHealth, FeedHealth, FeedStats
from sor.feeds.sync import FAILURES, BookSync, Outcome, SyncState

__all__ = ["Feed"]

logger = logging.getLogger(__name__)


def _at_least_info(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


#: The websocket library's log: never below INFO, as frames logged at DEBUG may carry secrets.
websockets_logger = logging.getLogger("sor.feeds.websockets")
websockets_logger.addFilter(_at_least_info)

if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at run time before Python 3.11
    _LoggerAdapter = logging.LoggerAdapter


class _InfoAndAbove(_LoggerAdapter):
    """A logger that reports DEBUG disabled whatever the levels, so that the websocket library
    does not even format its frames (the filter of :data:`websockets_logger` drops any DEBUG
    record that would still come through)."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's name)
        return level >= logging.INFO and self.logger.isEnabledFor(level)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return msg, kwargs  # keep the ``extra`` of the library's own adapter


_CONNECTION_LOGGER = _InfoAndAbove(websockets_logger)

_EXCERPT = 200


class _StalledError(Exception):
    """The connection delivered nothing for ``receive_timeout`` seconds."""


class Feed(AsyncService):
    """Keeps one exchange's books for the adapter's markets in sync over one websocket."""

    def __init__(self, adapter: ExchangeAdapter, config: FeedConfig | None = None) -> None:
        self.adapter = adapter
        self.config = config or FeedConfig()
        self.stats = FeedStats()
        """The feed's counters (see :class:`FeedStats`)."""
        interval = adapter.heartbeat_interval
        if interval is not None and not (math.isfinite(interval) and interval > 0):
            raise InvalidInput(
                f"{adapter.name}: heartbeat_interval: expected a positive number, got {interval}"
            )
        self._rng = random.Random(self.config.seed)
        now = time.monotonic()
        self._syncs: dict[str, BookSync] = {
            symbol: BookSync(
                symbol,
                adapter.new_book(symbol),
                adapter,
                Backoff(self.config.resync_backoff, self._rng),
                max_buffer=self.config.max_buffer,
                max_buffer_bytes=self.config.max_buffer_bytes,
                now=now,
            )
            for symbol in adapter.markets
        }
        self._live = {symbol: asyncio.Event() for symbol in self._syncs}
        self._reconnect_backoff = Backoff(self.config.reconnect_backoff, self._rng)
        self._runner: asyncio.Task[None] | None = None
        self._snapshot_tasks: dict[str, asyncio.Task[None]] = {}
        self._connected = False
        self._last_message = now
        self._ws: ClientConnection | None = None
        # Set (with a reason) to end the current connection and reconnect.
        self._reconnect_request: asyncio.Future[str] | None = None
        # Per symbol: set when the current stream snapshot attempt is over (live, or refused).
        self._attempt_over = {symbol: asyncio.Event() for symbol in self._syncs}

    # -- reading the books ------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """The feed's symbols (unified form)."""
        return list(self._syncs)

    @property
    def books(self) -> Mapping[str, OrderBook]:
        """Every book, by symbol (check :meth:`is_fresh` before trusting one)."""
        return {symbol: sync.book for symbol, sync in self._syncs.items()}

    def book(self, symbol: str) -> OrderBook:
        """The book of ``symbol`` (check :meth:`is_fresh` before trusting it)."""
        return self._sync(symbol).book

    def state(self, symbol: str) -> SyncState:
        """Where the book of ``symbol`` is in its life cycle."""
        return self._sync(symbol).state

    def last_update_age(self, symbol: str) -> float:
        """Seconds since the book of ``symbol`` last changed (or since the feed was created)."""
        return self._sync(symbol).age(time.monotonic())

    def is_fresh(self, symbol: str) -> bool:
        """True if the book of ``symbol`` is live and updated within its staleness limit."""
        sync = self._sync(symbol)
        return sync.state is SyncState.LIVE and sync.age(
            time.monotonic()
        ) <= self.config.staleness_for(symbol)

    def health(self) -> FeedHealth:
        """The feed's counters and each book's state, at this moment."""
        now = time.monotonic()
        books = tuple(
            BookHealth(
                symbol=symbol,
                state=sync.state.value,
                fresh=self.is_fresh(symbol),
                last_update_age=sync.age(now),
                sequence=sync.book.sequence,
                bid_levels=sync.book.level_count("bid"),
                ask_levels=sync.book.level_count("ask"),
            )
            for symbol, sync in self._syncs.items()
        )
        return FeedHealth(self.adapter.name, self._connected, self.stats.as_dict(), books)

    @property
    def max_message_size(self) -> int:
        """The largest websocket message this feed accepts, in bytes: the smaller of
        ``FeedConfig.max_message_size`` and the adapter's ``max_message_size``."""
        return min(self.config.max_message_size, self.adapter.max_message_size)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._runner is not None and not self._runner.done()

    @property
    def connected(self) -> bool:
        """True while the websocket is open and subscribed."""
        return self._connected

    async def wait_live(self, symbols: Iterable[str] | None = None, timeout: float = 30.0) -> None:
        """Waits until the books of ``symbols`` (default: all) are live; raises TimeoutError."""
        wanted = list(self._syncs) if symbols is None else [self._sync(s).symbol for s in symbols]
        waits = [self._live[symbol].wait() for symbol in wanted]
        await asyncio.wait_for(asyncio.gather(*waits), timeout)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Starts connecting in the background (returns at once)."""
        if self.running:
            raise RuntimeError("feed is already running")
        self._runner = asyncio.create_task(self._run(), name=f"feed:{self.adapter.name}")

    async def stop(self) -> None:
        """Cancels every task of the feed, closes its connection and marks the books stopped."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        for symbol, sync in self._syncs.items():
            sync.stop()
            self._live[symbol].clear()

    # -- the connection loop ----------------------------------------------------------------

    async def _run(self) -> None:
        name = self.adapter.name
        while True:
            try:
                reason = await self._connection()
                logger.warning("%s: reconnecting: %s", name, reason)
            except (ConnectionClosed, OSError, asyncio.TimeoutError, InvalidHandshake) as error:
                logger.warning("%s: connection lost: %s", name, _describe(error))
            except _StalledError as error:
                logger.warning("%s: connection stalled: %s", name, error)
            except InvalidURI as error:
                logger.error("%s: bad stream URL: %s", name, error)
            except Exception:
                # A bug must not end the feed: log it loudly and start over.
                logger.exception("%s: unexpected error in the connection loop", name)
            finally:
                self._connected = False
                self._ws = None
                self._reconnect_request = None
                await self._cancel_snapshot_tasks()
                for symbol, sync in self._syncs.items():
                    sync.reset()
                    self._live[symbol].clear()
            self.stats.reconnects += 1
            await asyncio.sleep(self._reconnect_backoff.next_delay())

    async def _connection(self) -> str:
        """Runs one connection until it fails (raises) or the exchange asks for a reconnect."""
        config = self.config
        async with connect(
            self.adapter.stream_url(),
            open_timeout=config.open_timeout,
            close_timeout=config.close_timeout,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            max_size=self.max_message_size,
            compression=None,
            logger=_CONNECTION_LOGGER,
        ) as ws:
            self.adapter.on_connect()
            for message in self.adapter.subscribe_messages():
                await self._send(ws, message)
            self._ws = ws
            reconnect_request: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._reconnect_request = reconnect_request
            self._connected = True
            self._last_message = time.monotonic()
            for sync in self._syncs.values():
                self._schedule_snapshot(sync, after_backoff=False)
            receiver = asyncio.create_task(self._receive(ws))
            watchdog = asyncio.create_task(self._watchdog())
            tasks: list[asyncio.Task[str] | asyncio.Task[None]] = [receiver, watchdog]
            heartbeat: asyncio.Task[None] | None = None
            interval = self.adapter.heartbeat_interval
            if interval is not None:
                heartbeat = asyncio.create_task(self._heartbeat(ws, interval))
                tasks.append(heartbeat)
            try:
                waited: set[asyncio.Future[str] | asyncio.Future[None]] = {
                    *tasks,
                    reconnect_request,
                }
                done, _ = await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if heartbeat is not None and heartbeat in done:
                heartbeat.result()  # raises why the ping could not be sent (the cause of the rest)
            if receiver in done:
                return receiver.result()
            if reconnect_request in done:
                return reconnect_request.result()
            # A stalled peer would not answer a closing handshake either: drop the connection.
            ws.transport.abort()
            raise _StalledError(f"no message for {config.receive_timeout:g} s")

    async def _heartbeat(self, ws: ClientConnection, interval: float) -> None:
        """Sends the adapter's ping every ``interval`` seconds; raises if one cannot be sent."""
        message = self.adapter.heartbeat_message
        while True:
            await asyncio.sleep(interval)
            await self._send(ws, message())

    async def _send(self, ws: ClientConnection, message: bytes) -> None:
        """Sends one text message within ``send_timeout``; raises if it cannot.

        A send that times out aborts the connection: the peer is not reading, so a closing
        handshake would block as well.
        """
        timeout = self.config.send_timeout
        try:
            if sys.version_info >= (3, 11):
                # Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation that
                # comes as the send completes, and a heartbeat task would outlive its connection.
                async with asyncio.timeout(timeout):
                    await ws.send(message, text=True)
            else:  # pragma: no cover (Python 3.10)
                await asyncio.wait_for(ws.send(message, text=True), timeout)
        except asyncio.TimeoutError:
            ws.transport.abort()
            error = f"a message could not be sent within {timeout:g} s"
            raise asyncio.TimeoutError(error) from None

    async def _watchdog(self) -> None:
        """Returns when the connection has been silent for ``receive_timeout`` seconds."""
        timeout = self.config.receive_timeout
        while True:
            idle = time.monotonic() - self._last_message
            if idle >= timeout:
                return
            await asyncio.sleep(timeout - idle)

    async def _receive(self, ws: ClientConnection) -> str:
        """Reads and applies messages; returns the reason if the exchange asks to reconnect."""
        stats = self.stats
        on_message = self.on_message
        monotonic = time.monotonic
        while True:
            data = await ws.recv(decode=False)
            now = monotonic()
            self._last_message = now
            stats.messages += 1
            stats.bytes += len(data)
            reconnect = on_message(data, now)
            if reconnect is not None:
                return reconnect

    def on_message(self, data: bytes, now: float) -> str | None:
        """Handles one received message (``now``: monotonic seconds): parses it, applies its
        events, counts and resyncs what fails. Returns why the connection must be replaced, if it
        must (the exchange asked, or a connection-wide gap); None otherwise.

        This is the whole of what the receive loop does with a message besides counting it, so
        a test can replay recorded traffic through it without a socket. It never raises for bad
        input.
        """
        syncs = self._syncs
        try:
            events = self.adapter.parse(data)
        except MalformedMessage as error:
            self._on_malformed(error, data)
            return None
        except Exception:
            logger.exception("%s: adapter failed to parse %r", self.adapter.name, data[:_EXCERPT])
            # A bug: nothing says which book the message was for, or that a gap will show.
            self._on_malformed(MalformedMessage("adapter error", resync_all=True), data)
            return None
        for event in events:
            if isinstance(event, BookDelta):
                sync = syncs.get(event.symbol)
                if sync is None:
                    self._on_malformed(MalformedMessage("update for an unknown symbol"), data)
                    continue
                if event.checksum_only:
                    self.stats.checksum_only += 1
                try:
                    outcome = sync.on_delta(event, now, len(data))
                except Exception:
                    self._write_failed(sync, "update")
                    continue
                if outcome in FAILURES or outcome is Outcome.STALE_SNAPSHOT:
                    self._on_failure(sync, outcome, now)
            elif isinstance(event, BookSnapshot):
                sync = syncs.get(event.symbol)
                if sync is None:
                    self._on_malformed(MalformedMessage("snapshot for an unknown symbol"), data)
                    continue
                try:
                    outcome = sync.on_snapshot(event, now)
                except Exception:
                    self._write_failed(sync, "snapshot")
                    continue
                self._on_snapshot_outcome(sync, outcome, now)
            elif isinstance(event, Reconnect):
                if event.gap:
                    self.stats.gaps += 1
                    return f"lost messages: {event.reason}"
                return f"the exchange asked: {event.reason}"
        return None

    # -- sync bookkeeping -------------------------------------------------------------------

    def _on_malformed(self, error: MalformedMessage, data: bytes) -> None:
        self.stats.malformed += 1
        logger.warning(
            "%s: malformed message: %s: %r", self.adapter.name, error, bytes(data[:_EXCERPT])
        )
        if error.symbol is not None and error.symbol in self._syncs:
            self._resync(self._syncs[error.symbol], "malformed update")
        elif error.symbol is None and (error.resync_all or not self.adapter.gapless_sequences):
            for sync in self._syncs.values():
                self._resync(sync, "unattributable malformed message")

    def _on_failure(self, sync: BookSync, outcome: Outcome, now: float) -> None:
        """Counts a failed delta or replay and throws the book away."""
        stats = self.stats
        if outcome is Outcome.STALE_SNAPSHOT:
            stats.stale_snapshots += 1
            reason = "snapshot older than the stream"
        else:
            if outcome is Outcome.GAP:
                stats.gaps += 1
            elif outcome is Outcome.CROSSED:
                stats.crossed += 1
            elif outcome is Outcome.MALFORMED:
                stats.malformed += 1
            elif outcome is Outcome.CHECKSUM_FAILED:
                stats.checksum_failures += 1
            reason = outcome.value
        if (
            sync.live_since is not None
            and now - sync.live_since >= self.config.resync_backoff_reset
        ):
            sync.backoff.reset()
        self._resync(sync, reason, count=outcome is not Outcome.STALE_SNAPSHOT)

    def _on_snapshot_outcome(self, sync: BookSync, outcome: Outcome, now: float) -> bool:
        """Counts what applying a snapshot did; True if the book is now live."""
        if outcome is Outcome.LIVE:
            self.stats.snapshots += 1
            self._on_live(sync)
            return True
        if outcome is Outcome.BAD_SNAPSHOT:
            self.stats.malformed += 1
            logger.warning("%s: %s: snapshot refused by the book", self.adapter.name, sync.symbol)
            if self.adapter.snapshots_on_stream:
                # No REST loop retries it: ask the exchange for another one.
                self._resync(sync, "bad snapshot", count=False)
            return False
        if outcome is Outcome.STALE_SNAPSHOT and sync.state is not SyncState.LIVE:
            # The buffer is kept: the next snapshot is checked against it again.
            self.stats.stale_snapshots += 1
            logger.info("%s: %s: snapshot older than the stream", self.adapter.name, sync.symbol)
            return False
        self.stats.snapshots += 1
        self._on_failure(sync, outcome, now)
        return False

    def _write_failed(self, sync: BookSync, what: str) -> None:
        """A write to the book raised what no outcome covers (a bug): logs it with its
        traceback (call it in the ``except`` block), counts a resync and resyncs the book, so
        the feed lives on."""
        logger.exception("%s: %s: applying the %s failed", self.adapter.name, sync.symbol, what)
        # Counted even for a book that was not live: the book itself may be broken.
        self.stats.resyncs += 1
        self._resync(sync, f"applying the {what} failed", count=False)

    def _on_live(self, sync: BookSync) -> None:
        self._live[sync.symbol].set()
        self._attempt_over[sync.symbol].set()
        self._reconnect_backoff.reset()
        logger.info(
            "%s: %s: live at sequence %d", self.adapter.name, sync.symbol, sync.book.sequence
        )

    def _resync(self, sync: BookSync, reason: str, *, count: bool = True) -> None:
        """Empties the book and makes sure a snapshot will rebuild it."""
        if count and sync.state is SyncState.LIVE:
            self.stats.resyncs += 1
            logger.warning("%s: %s: resync: %s", self.adapter.name, sync.symbol, reason)
        sync.reset()
        self._live[sync.symbol].clear()
        # A stream snapshot attempt in progress is over: its task backs off and asks again.
        self._attempt_over[sync.symbol].set()
        if self._connected:
            self._schedule_snapshot(sync, after_backoff=True)

    def _request_reconnect(self, reason: str) -> None:
        """Ends the current connection; the connection loop reconnects and rebuilds every book."""
        request = self._reconnect_request
        if request is not None and not request.done():
            request.set_result(reason)

    def _schedule_snapshot(self, sync: BookSync, *, after_backoff: bool) -> None:
        """Starts the snapshot task of ``sync`` unless one is already running (it will do)."""
        task = self._snapshot_tasks.get(sync.symbol)
        if task is not None and not task.done():
            return
        delay = sync.backoff.next_delay() if after_backoff else 0.0
        loop = (
            self._stream_snapshot_loop(sync, delay, resubscribe=after_backoff)
            if self.adapter.snapshots_on_stream
            else self._snapshot_loop(sync, delay)
        )
        task = asyncio.create_task(loop, name=f"snapshot:{self.adapter.name}:{sync.symbol}")
        self._snapshot_tasks[sync.symbol] = task

    async def _stream_snapshot_loop(
        self, sync: BookSync, delay: float, *, resubscribe: bool
    ) -> None:
        """Waits for a snapshot of one symbol on the stream, asking again until its book is live.

        ``resubscribe`` is False right after connecting (the subscription asks for the snapshot)
        and True for a resync.
        """
        name = self.adapter.name
        symbol = sync.symbol
        attempt_over = self._attempt_over[symbol]
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            if sync.state is SyncState.LIVE:
                return  # a snapshot on the stream arrived during the backoff
            attempt_over.clear()
            if resubscribe:
                messages = self.adapter.resubscribe_messages(symbol)
                if not messages:
                    self._request_reconnect(f"{symbol}: cannot resubscribe one symbol")
                    return
                ws = self._ws
                if ws is None:
                    return  # the connection is going away; the next one subscribes afresh
                logger.info("%s: %s: resubscribing for a fresh snapshot", name, symbol)
                try:
                    for message in messages:
                        await self._send(ws, message)
                except (ConnectionClosed, OSError, asyncio.TimeoutError) as error:
                    # The connection loop sees the failure too and reconnects.
                    logger.warning("%s: %s: resubscribe failed: %s", name, symbol, _describe(error))
                    self._request_reconnect(f"{symbol}: resubscribe failed")
                    return
            resubscribe = True
            try:
                await asyncio.wait_for(attempt_over.wait(), self.config.snapshot_timeout)
            except asyncio.TimeoutError:
                self.stats.snapshot_failures += 1
                logger.warning(
                    "%s: %s: no snapshot within %g s",
                    name,
                    symbol,
                    self.config.snapshot_timeout,
                )
            if _is_live(sync):  # (the state changed while waiting)
                return
            delay = sync.backoff.next_delay()

    async def _snapshot_loop(self, sync: BookSync, delay: float) -> None:
        """Fetches snapshots of one symbol until its book is live."""
        if delay > 0:
            await asyncio.sleep(delay)
        name = self.adapter.name
        while True:
            try:
                snapshot = await self.adapter.fetch_snapshot(sync.symbol)
            except MalformedMessage as error:
                self.stats.malformed += 1
                self.stats.snapshot_failures += 1
                logger.warning("%s: %s: malformed snapshot: %s", name, sync.symbol, error)
            except Exception as error:  # network, HTTP status, timeout: retry after a backoff
                self.stats.snapshot_failures += 1
                logger.warning("%s: %s: snapshot failed: %s", name, sync.symbol, _describe(error))
            else:
                if sync.state is SyncState.LIVE:
                    return  # a snapshot on the stream got there first
                now = time.monotonic()
                try:
                    outcome = sync.on_snapshot(snapshot, now)
                except Exception:
                    self._write_failed(sync, "snapshot")  # and try again after the backoff
                else:
                    if self._on_snapshot_outcome(sync, outcome, now):
                        return
            await asyncio.sleep(sync.backoff.next_delay())

    async def _cancel_snapshot_tasks(self) -> None:
        tasks = list(self._snapshot_tasks.values())
        self._snapshot_tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _sync(self, symbol: str) -> BookSync:
        try:
            return self._syncs[symbol]
        except KeyError:
            raise InvalidInput(f"symbol: {symbol!r} is not one of this feed's markets") from None


def _is_live(sync: BookSync) -> bool:
    return sync.state is SyncState.LIVE


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
