"""A seeded mutation fuzzer of every adapter: hostile messages never leave a wrong book live.

For each exchange (Binance, Coinbase, Kraken, OKX, Bybit) the real feed first records the
traffic of its simulator (``sor.sim``): the messages exactly as received, and Binance's REST
snapshot. Then, for thousands of seeded cases, a fresh feed replays that traffic through
:meth:`sor.feeds.Feed.on_message` (all that the receive loop does with a message) with one
message mutated (``fuzz_support.mutate``: dropped fields, changed types, levels as strings,
truncation, deep nesting, huge numbers, non-ASCII text, duplicated keys, wrong symbols), and a
reference feed replays it unmutated. After every case:

- nothing raised out of the feed, and ``parse()`` raised nothing but ``MalformedMessage``;
- every message ``parse()`` refused was counted in ``malformed``;
- right after the mutated message, a live book is the reference book after that message (it
  was read whole) or before it (it was refused or ignored whole): never partly applied;
- once the rest of the traffic is replayed, a live book that saw another update since is the
  reference book (a refused update was detected: gap, checksum, resync).

The documentation samples of ``tests/feeds/test_*_docs.py`` are fuzzed through ``parse()``
too, and the same mutations go through the real receive loop over the simulators' sockets
(``SimulatorBase.mutate_next``: the true book moves, the client gets the mutated message):
after each one every book must be live and equal to the truth again, with no parse error
logged (``SOR_FUZZ_LIVE_ROUNDS`` mutations per adapter, default 40).

``SOR_FUZZ_EXAMPLES`` sets the cases per adapter (default 2,000: about five seconds each);
``SOR_FUZZ_SEED`` the seed. A long run::

    SOR_FUZZ_EXAMPLES=200000 SOR_FUZZ_SEED=$RANDOM python -m pytest tests/feeds/test_feed_fuzz.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import orjson
import pytest
import test_binance_docs
import test_bybit_docs
import test_coinbase_docs
import test_kraken_docs
import test_okx_docs
from feed_support import FAST, describe_difference, market_of, poll_until
from fuzz_support import mutate

from sor import OrderBook
from sor.feeds import (
    BinanceSpotAdapter,
    BookDelta,
    BookMarket,
    BookSnapshot,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    Feed,
    KrakenAdapter,
    MalformedMessage,
    OkxAdapter,
    SyncState,
    WeightLimiter,
)
from sor.feeds.events import FeedEvent
from sor.feeds.exchanges.binance import parse_snapshot
from sor.sim import (
    BinanceSimulator,
    BybitSimulator,
    CoinbaseSimulator,
    KrakenSimulator,
    OkxSimulator,
    SimMarket,
)

EXAMPLES = int(os.environ.get("SOR_FUZZ_EXAMPLES", "2000"))
SEED = int(os.environ.get("SOR_FUZZ_SEED", "20261203"))

#: Small books keep each case cheap; two markets check that nothing lands in the wrong book.
USDT = (
    SimMarket("BTC/USDT", mid="65000", levels_per_side=40),
    SimMarket("ETH/USDT", mid="3000", levels_per_side=40),
)
USD = (
    SimMarket("BTC/USD", mid="65000", price_decimals=1, levels_per_side=40),
    SimMarket("ETH/USD", mid="3000", levels_per_side=40),
)
#: Updates recorded per symbol after the books are live.
UPDATES = 15


@dataclass
class Traffic:
    """What a feed received from a simulator, in order: messages (bytes) and, for Binance, the
    REST snapshots (``BookSnapshot``); and how to make the adapter that read it."""

    make_adapter: Callable[[], ExchangeAdapter]
    items: list[bytes | BookSnapshot] = field(default_factory=list)


def _recording(adapter: ExchangeAdapter, traffic: Traffic) -> ExchangeAdapter:
    """``adapter``, recording into ``traffic`` every message it parses and snapshot it fetches."""
    parse = adapter.parse
    fetch = adapter.fetch_snapshot

    def recorded_parse(data: bytes) -> Sequence[FeedEvent]:
        traffic.items.append(bytes(data))
        return parse(data)

    async def recorded_fetch(symbol: str) -> BookSnapshot:
        snapshot = await fetch(symbol)
        traffic.items.append(snapshot)
        return snapshot

    adapter.parse = recorded_parse  # type: ignore[method-assign]
    adapter.fetch_snapshot = recorded_fetch  # type: ignore[method-assign]
    return adapter


async def _record(
    simulator: object,
    make_adapter: Callable[[], ExchangeAdapter],
    publish: Callable[[], Awaitable[None]],
    truth: Callable[[str], OrderBook] | None = None,
) -> Traffic:
    """Runs the real feed against ``simulator`` and records its traffic."""
    traffic = Traffic(make_adapter)
    true_book = truth or simulator.true_book  # type: ignore[attr-defined]
    async with Feed(_recording(make_adapter(), traffic), FAST) as feed:
        await publish()
        await feed.wait_live(timeout=10)
        for _ in range(UPDATES):
            for symbol in feed.symbols:
                await simulator.publish(1, symbol)  # type: ignore[attr-defined]
        await poll_until(
            lambda: all(
                feed.state(s) is SyncState.LIVE and feed.book(s) == true_book(s)
                for s in feed.symbols
            ),
            10,
            "the recorded feed to equal the truth",
        )
    return traffic


async def _binance() -> Traffic:
    async with BinanceSimulator(USDT, seed=3) as sim:

        def make() -> ExchangeAdapter:
            return BinanceSpotAdapter(
                [market_of(m) for m in USDT],
                ws_url=sim.ws_url,
                rest_url=sim.rest_url,
                request_timeout=2.0,
                limiter=WeightLimiter(6_000, min_interval=0.0),
            )

        async def start() -> None:
            await poll_until(lambda: all(sim.subscribers(s) for s in sim.symbols))
            for symbol in sim.symbols:  # the stream reaches the snapshots
                await sim.publish(3, symbol)

        return await _record(sim, make, start)


async def _coinbase() -> Traffic:
    async with CoinbaseSimulator(USD, seed=3, heartbeat_interval=0.05) as sim:
        url = sim.ws_url
        return await _record(
            sim,
            lambda: CoinbaseAdvancedAdapter([market_of(m) for m in USD], ws_url=url),
            _nothing,
        )


async def _kraken() -> Traffic:
    async with KrakenSimulator(USD, seed=3, heartbeat_interval=None) as sim:
        url = sim.ws_url
        return await _record(
            sim,
            lambda: KrakenAdapter([market_of(m) for m in USD], depth=10, ws_url=url),
            _nothing,
            lambda symbol: sim.true_book(symbol, 10),
        )


async def _okx() -> Traffic:
    async with OkxSimulator(USDT, seed=3, checksums="computed") as sim:
        url = sim.ws_url
        return await _record(
            sim, lambda: OkxAdapter([market_of(m) for m in USDT], ws_url=url), _nothing
        )


async def _bybit() -> Traffic:
    async with BybitSimulator(USDT, seed=3, depth=50) as sim:
        url = sim.ws_url
        return await _record(
            sim,
            lambda: BybitSpotAdapter([market_of(m) for m in USDT], ws_url=url, depth=50),
            _nothing,
        )


async def _nothing() -> None:
    return None


RECORDERS: dict[str, Callable[[], Awaitable[Traffic]]] = {
    "binance": _binance,
    "coinbase": _coinbase,
    "kraken": _kraken,
    "okx": _okx,
    "bybit": _bybit,
}


class _Replay:
    """A feed (never started) that traffic is replayed into, message by message."""

    def __init__(self, traffic: Traffic) -> None:
        self.adapter = traffic.make_adapter()
        self.feed = Feed(self.adapter, FAST)
        self.refused = 0
        """Messages ``parse()`` refused (MalformedMessage)."""
        self.bug: BaseException | None = None
        """An exception other than MalformedMessage that escaped ``parse()``."""
        self.reconnected = False
        parse = self.adapter.parse

        def checked_parse(data: bytes) -> Sequence[FeedEvent]:
            try:
                return parse(data)
            except MalformedMessage:
                self.refused += 1
                raise
            except Exception as error:
                self.bug = error
                raise

        self.adapter.parse = checked_parse  # type: ignore[method-assign]

    def play(self, item: bytes | BookSnapshot) -> None:
        """Hands one recorded item to the feed as its receive loop (or snapshot task) would."""
        if self.reconnected:
            return  # the rest belongs to a connection the feed has replaced
        now = 0.0
        if isinstance(item, BookSnapshot):
            sync = self.feed._syncs[item.symbol]
            if sync.state is not SyncState.LIVE:
                # What the snapshot task does with a fetched snapshot.
                self.feed._on_snapshot_outcome(sync, sync.on_snapshot(item, now), now)
            return
        if self.feed.on_message(item, now) is not None:
            self.reconnected = True  # what the connection loop does before reconnecting
            for sync in self.feed._syncs.values():
                sync.reset()

    def live_books(self) -> dict[str, OrderBook]:
        return {
            symbol: self.feed.book(symbol).copy()
            for symbol in self.feed.symbols
            if self.feed.state(symbol) is SyncState.LIVE
        }


def _reference(traffic: Traffic) -> list[dict[str, OrderBook]]:
    """The live books after each item of the unmutated traffic (index 0: before the first)."""
    replay = _Replay(traffic)
    states = [replay.live_books()]
    for item in traffic.items:
        replay.play(item)
        states.append(replay.live_books())
    assert replay.refused == 0
    assert replay.bug is None
    assert not replay.reconnected
    assert len(states[-1]) == len(replay.feed.symbols), "the reference ends with every book live"
    return states


def _touched(traffic: Traffic) -> list[set[str]]:
    """The symbols whose book each item updates (read by a fresh adapter, in order)."""
    adapter = traffic.make_adapter()
    touched: list[set[str]] = []
    for item in traffic.items:
        if isinstance(item, BookSnapshot):
            touched.append({item.symbol})
            continue
        events = adapter.parse(item)
        touched.append(
            {event.symbol for event in events if isinstance(event, BookDelta | BookSnapshot)}
        )
    return touched


@pytest.fixture(scope="module")
def recorded() -> dict[str, Traffic]:
    """Every exchange's recorded traffic (recorded once for the module)."""

    async def record_all() -> dict[str, Traffic]:
        return {name: await record() for name, record in RECORDERS.items()}

    return asyncio.run(record_all())


def _failure(name: str, case: int, mutation: str, data: bytes, problem: str) -> str:
    return (
        f"{name} case {case} (seed {SEED}), mutation {mutation}: {problem}\nmessage: {data[:300]!r}"
    )


@pytest.mark.parametrize("name", list(RECORDERS))
def test_mutated_messages_never_leave_a_wrong_book_live(
    name: str, recorded: dict[str, Traffic], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="sor.feeds")  # thousands of expected warnings
    traffic = recorded[name]
    reference = _reference(traffic)
    touched = _touched(traffic)
    items = traffic.items
    rng = random.Random(f"{SEED}:{name}")
    messages = [index for index, item in enumerate(items) if isinstance(item, bytes)]
    mutated_cases = 0
    by_mutation: dict[str, int] = {}
    for case in range(EXAMPLES):
        position = rng.choice(messages)
        original = items[position]
        assert isinstance(original, bytes)
        result = mutate(original, rng)
        if result is None:
            continue
        mutation, data = result
        mutated_cases += 1
        by_mutation[mutation] = by_mutation.get(mutation, 0) + 1
        replay = _Replay(traffic)
        for item in items[:position]:
            replay.play(item)
        malformed = replay.feed.stats.malformed
        refused = replay.refused
        replay.play(data)

        def fail(
            problem: str, *, case: int = case, mutation: str = mutation, data: bytes = data
        ) -> str:
            return _failure(name, case, mutation, data, problem)

        assert replay.bug is None, fail(f"parse() raised {replay.bug!r}")
        if replay.refused > refused:
            assert replay.feed.stats.malformed > malformed, fail("a refused message not counted")
        before, after = reference[position], reference[position + 1]
        for symbol, book in replay.live_books().items():
            whole = symbol in after and book == after[symbol]
            ignored = symbol in before and book == before[symbol]
            assert whole or ignored, fail(
                f"{symbol} is live but partly or wrongly updated: "
                f"{describe_difference(book, after.get(symbol, OrderBook(8, 8)))}"
            )
        for item in items[position + 1 :]:
            replay.play(item)
        assert replay.bug is None
        final = reference[-1]
        later = set().union(*touched[position + 1 :])
        for symbol, book in replay.live_books().items():
            if symbol in later:
                assert book == final[symbol], fail(
                    f"{symbol} is live but wrong at the end: "
                    f"{describe_difference(book, final[symbol])}"
                )
    assert mutated_cases >= EXAMPLES * 0.8, by_mutation
    assert len(by_mutation) >= 10, by_mutation


def test_mutated_binance_snapshots_are_refused_whole_or_read_exactly(
    recorded: dict[str, Traffic],
) -> None:
    snapshots = [item for item in recorded["binance"].items if isinstance(item, BookSnapshot)]
    assert snapshots
    rng = random.Random(f"{SEED}:binance-rest")
    markets = {m.symbol: market_of(m) for m in USDT}
    for case in range(max(200, EXAMPLES // 5)):
        snapshot = rng.choice(snapshots)
        body = orjson.dumps(
            {
                "lastUpdateId": snapshot.sequence,
                "bids": [list(level) for level in snapshot.bids],
                "asks": [list(level) for level in snapshot.asks],
            }
        )
        result = mutate(body, rng)
        if result is None:
            continue
        mutation, data = result
        truth = _book(markets[snapshot.symbol], snapshot)
        try:
            parsed = parse_snapshot(snapshot.symbol, orjson.loads(data))
        except (MalformedMessage, orjson.JSONDecodeError):
            continue  # refused whole (the HTTP client refuses what is not JSON)
        try:
            book = _book(markets[snapshot.symbol], parsed)
        except Exception:
            continue  # the book refused it whole: the feed counts a malformed snapshot
        assert book == truth, _failure("binance REST", case, mutation, data, "read wrongly")


def _book(market: BookMarket, snapshot: BookSnapshot) -> OrderBook:
    book = OrderBook(market.price_decimals, market.size_decimals)
    book.apply_snapshot(snapshot.bids, snapshot.asks, sequence=snapshot.sequence)
    return book


DOCS_SAMPLES: dict[str, tuple[Callable[[], ExchangeAdapter], list[bytes]]] = {
    "binance": (
        lambda: BinanceSpotAdapter([test_binance_docs.BNBBTC]),
        [
            test_binance_docs.DIFF_DEPTH_SAMPLE,
            test_binance_docs.SUBSCRIBE_RESPONSE_SAMPLE,
            *test_binance_docs.SERVER_SHUTDOWN_SAMPLES,
        ],
    ),
    "bybit": (
        lambda: BybitSpotAdapter([test_bybit_docs.BTCUSDT], depth=50),
        [
            test_bybit_docs.SNAPSHOT_SAMPLE,
            test_bybit_docs.DELTA_SAMPLE,
            test_bybit_docs.SUBSCRIBE_RESPONSE_SAMPLE,
            *test_bybit_docs.PONG_SAMPLES,
        ],
    ),
    "coinbase": (
        lambda: CoinbaseAdvancedAdapter([test_coinbase_docs.BTC, test_coinbase_docs.ETH]),
        [test_coinbase_docs.L2_SNAPSHOT_SAMPLE, test_coinbase_docs.HEARTBEATS_SAMPLE],
    ),
    "kraken": (
        lambda: KrakenAdapter([test_kraken_docs.MATIC, test_kraken_docs.ALGO]),
        [test_kraken_docs.SNAPSHOT, test_kraken_docs.UPDATE],
    ),
    "okx": (
        lambda: OkxAdapter([test_okx_docs.BTC]),
        [
            test_okx_docs.SNAPSHOT_SAMPLE,
            test_okx_docs.UPDATE_SAMPLE,
            test_okx_docs.SUBSCRIBE_RESPONSE_SAMPLE,
            test_okx_docs.NOTICE_SAMPLE,
        ],
    ),
}


@pytest.mark.parametrize("name", list(DOCS_SAMPLES))
def test_mutated_documentation_samples_raise_nothing_but_malformed_message(name: str) -> None:
    make_adapter, samples = DOCS_SAMPLES[name]
    rng = random.Random(f"{SEED}:{name}-docs")
    for case in range(max(200, EXAMPLES // 5)):
        sample = rng.choice(samples)
        result = mutate(sample, rng)
        if result is None:
            continue
        mutation, data = result
        try:
            make_adapter().parse(data)
        except MalformedMessage:
            pass
        except Exception as error:  # pragma: no cover (the failure this test looks for)
            pytest.fail(_failure(f"{name} docs", case, mutation, data, f"raised {error!r}"))


# -- the same mutations through the real receive loop, over the simulators' sockets ------------

LIVE_ROUNDS = int(os.environ.get("SOR_FUZZ_LIVE_ROUNDS", "40"))


async def _run_live(
    simulator: object,
    adapter: ExchangeAdapter,
    truth: Callable[[str], OrderBook],
    caplog: pytest.LogCaptureFixture,
    name: str,
) -> None:
    """Mutates one update at a time on the simulator's side (the true book moves as sent) and
    waits, after each, until every book is live and equal to the truth again."""
    rng = random.Random(f"{SEED}:{name}-live")

    def mutation(payload: bytes) -> bytes:
        for _ in range(20):
            result = mutate(payload, rng)
            if result is not None:
                return result[1]
        return payload[: len(payload) // 2]

    def in_sync() -> bool:
        return all(
            feed.state(s) is SyncState.LIVE and feed.book(s) == truth(s) for s in feed.symbols
        )

    async with Feed(adapter, FAST) as feed:
        publish = simulator.publish  # type: ignore[attr-defined]
        for round_ in range(LIVE_ROUNDS + 1):
            if round_:
                symbol = rng.choice(feed.symbols)
                simulator.mutate_next(symbol, mutation)  # type: ignore[attr-defined]
                await publish(1, symbol)
            deadline = asyncio.get_running_loop().time() + 10
            while not in_sync():
                assert asyncio.get_running_loop().time() < deadline, (
                    f"{name} round {round_}: not back in sync: {feed.stats}"
                )
                for symbol in feed.symbols:
                    await publish(1, symbol)
                await asyncio.sleep(0.01)
        assert feed.running
        detected = feed.stats.malformed + feed.stats.gaps + feed.stats.checksum_failures
        assert detected > 0, "the mutations were refused (and the books rebuilt)"
    assert "adapter failed to parse" not in caplog.text


@pytest.mark.parametrize("name", list(RECORDERS))
async def test_mutated_updates_through_the_real_loop_always_end_in_the_true_books(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="sor.feeds")
    if name == "binance":
        async with BinanceSimulator(USDT, seed=9) as sim:
            adapter: ExchangeAdapter = BinanceSpotAdapter(
                [market_of(m) for m in USDT],
                ws_url=sim.ws_url,
                rest_url=sim.rest_url,
                request_timeout=2.0,
                limiter=WeightLimiter(6_000, min_interval=0.0),
            )
            await _run_live(sim, adapter, sim.true_book, caplog, name)
    elif name == "coinbase":
        async with CoinbaseSimulator(USD, seed=9, heartbeat_interval=0.05) as cb:
            adapter = CoinbaseAdvancedAdapter([market_of(m) for m in USD], ws_url=cb.ws_url)
            await _run_live(cb, adapter, cb.true_book, caplog, name)
    elif name == "kraken":
        async with KrakenSimulator(USD, seed=9, heartbeat_interval=None) as kr:
            adapter = KrakenAdapter([market_of(m) for m in USD], depth=10, ws_url=kr.ws_url)
            await _run_live(kr, adapter, lambda s: kr.true_book(s, 10), caplog, name)
    elif name == "okx":
        async with OkxSimulator(USDT, seed=9, checksums="computed") as okx:
            adapter = OkxAdapter([market_of(m) for m in USDT], ws_url=okx.ws_url)
            await _run_live(okx, adapter, okx.true_top, caplog, name)
    else:
        async with BybitSimulator(USDT, seed=9, depth=50) as by:
            adapter = BybitSpotAdapter([market_of(m) for m in USDT], ws_url=by.ws_url, depth=50)
            await _run_live(by, adapter, by.true_book, caplog, name)
