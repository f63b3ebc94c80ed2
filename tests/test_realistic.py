"""Realistic data: two 2 x 1,000-level BTC/USDT books replaying a few thousand deltas in bursts.

The books are built from exchange-style decimal text (Binance pads to 8 decimals), move with a
seeded random walk of the mid price, and carry log-normal sizes. Every burst goes to one core
book as a list of decimal text and to its twin as numpy arrays; the exact model in
``reference.py`` replays the same bursts. At the end the books, walks deep into the book, costs,
depth and the two-venue ranking must all agree with the model.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

import sor
from helpers import assert_same_book, close, core_levels, delta_arrays
from reference import (
    BOOK_SIDES,
    TAKER_SIDES,
    Delta,
    RefBook,
    TakerSide,
    as_decimal,
    attempt,
    execution_cost,
    from_units,
    rank_venues,
    walk,
)

PRICE_DECIMALS = 2
SIZE_DECIMALS = 8
LOTS_PER_BTC = 100_000_000
LEVELS = 1_000
BURSTS = 120


def lognormal_lots(rng: random.Random) -> int:
    """A resting size in lots: log-normal around 0.1 BTC, at least one satoshi."""
    return max(1, round(rng.lognormvariate(-2.3, 1.3) * LOTS_PER_BTC))


def padded(units: int, decimals: int) -> str:
    """Exchange text padded to eight decimals, e.g. ``"65000.01000000"``."""
    value = Fraction(units, 10**decimals)
    return f"{as_decimal(value):.8f}"


def initial_book(rng: random.Random, mid: int) -> RefBook:
    """1,000 bids and 1,000 asks around ``mid`` (ticks) with gaps of 1-3 ticks."""
    book = RefBook(PRICE_DECIMALS, SIZE_DECIMALS)
    price = mid - rng.randint(1, 3)
    for _ in range(LEVELS):
        book.bids[price] = lognormal_lots(rng)
        price -= rng.randint(1, 3)
    price = mid + rng.randint(1, 3)
    for _ in range(LEVELS):
        book.asks[price] = lognormal_lots(rng)
        price += rng.randint(1, 3)
    return book


def burst(rng: random.Random, book: RefBook) -> list[Delta]:
    """One burst of deltas as a feed would send it: the mid drifts, the top churns."""
    deltas: list[Delta] = []
    bids, asks = book.levels("bid"), book.levels("ask")
    best_bid, best_ask = bids[0][0], asks[0][0]
    drift = rng.choice((-1, 1)) * rng.randint(0, 4)
    if drift > 0:
        # Buyers lift the first asks; new bids fill the gap (asks removed first).
        lifted = [price for price, _ in asks if price <= best_ask + drift]
        deltas += [("ask", price, 0) for price in lifted]
        top = max(lifted, default=best_bid)
        deltas += [("bid", price, lognormal_lots(rng)) for price in range(best_bid + 1, top + 1)]
    elif drift < 0:
        hit = [price for price, _ in bids if price >= best_bid + drift]
        deltas += [("bid", price, 0) for price in hit]
        bottom = min(hit, default=best_ask)
        deltas += [("ask", price, lognormal_lots(rng)) for price in range(bottom, best_ask)]
    # Then the churn, on the levels as they stand after the drift.
    moved = book.copy()
    moved.apply_deltas(deltas)
    bids, asks = moved.levels("bid"), moved.levels("ask")
    for _ in range(rng.randint(1, 40)):
        side = rng.choice(BOOK_SIDES)
        levels = bids if side == "bid" else asks
        roll = rng.random()
        index = min(len(levels) - 1, int(rng.expovariate(0.05)))
        if roll < 0.7:
            deltas.append((side, levels[index][0], lognormal_lots(rng)))
        elif roll < 0.85:
            deltas.append((side, levels[index][0], 0))
        else:
            price = levels[index][0] + (-1 if side == "bid" else 1) * rng.randint(1, 2)
            deltas.append((side, max(1, price), lognormal_lots(rng)))
    if rng.random() < 0.05:
        # Now and then a bad message: a bid through the ask. The whole burst must be refused.
        deltas.append(("bid", best_ask + 50, 1))
    return deltas


def replay(seed: int) -> tuple[RefBook, sor.OrderBook, sor.OrderBook, int]:
    """Builds a venue from a seed and replays its bursts; returns model, text book, array book
    and the number of bursts refused."""
    rng = random.Random(seed)
    ref = initial_book(rng, 6_500_000 + rng.randint(-5_000, 5_000))
    as_text = sor.OrderBook(PRICE_DECIMALS, SIZE_DECIMALS)
    as_text.apply_snapshot(
        [(padded(p, PRICE_DECIMALS), padded(s, SIZE_DECIMALS)) for p, s in ref.levels("bid")],
        [(padded(p, PRICE_DECIMALS), padded(s, SIZE_DECIMALS)) for p, s in ref.levels("ask")],
        sequence=1,
    )
    ref.sequence, ref.version = 1, 1
    as_array = as_text.copy()
    refused = 0
    replayed = 0
    for n in range(BURSTS):
        deltas = burst(rng, ref)
        replayed += len(deltas)
        sequence = 2 + n
        text = [
            (side, padded(price, PRICE_DECIMALS), padded(size, SIZE_DECIMALS))
            for side, price, size in deltas
        ]
        sides, prices, sizes = delta_arrays(deltas)
        refusal = attempt(lambda: ref.apply_deltas(deltas, sequence=sequence))  # noqa: B023
        if refusal is None:
            as_text.apply_deltas(text, sequence=sequence)
            as_array.apply_deltas_array(sides, prices, sizes, sequence=sequence)
        else:
            refused += 1
            with pytest.raises(sor.BookError):
                as_text.apply_deltas(text, sequence=sequence)
            with pytest.raises(sor.BookError):
                as_array.apply_deltas_array(sides, prices, sizes, sequence=sequence)
        for book in (as_text, as_array):
            assert book.version == ref.version
            assert book.sequence == ref.sequence
            bid, ask = book.best_bid(), book.best_ask()
            assert bid is not None
            assert ask is not None
            assert (bid.price_ticks, bid.size_lots) == ref.best("bid")
            assert (ask.price_ticks, ask.size_lots) == ref.best("ask")
    assert replayed >= 2_000
    return ref, as_text, as_array, refused


@pytest.fixture(scope="module")
def venues() -> list[tuple[RefBook, sor.OrderBook, sor.OrderBook, int]]:
    """Two venues after their replays."""
    return [replay(seed) for seed in (20_261_127, 4_242)]


def test_replayed_books_equal_the_reference(
    venues: list[tuple[RefBook, sor.OrderBook, sor.OrderBook, int]],
) -> None:
    for ref, as_text, as_array, refused in venues:
        assert_same_book(as_text, ref)
        assert as_array == as_text
        assert core_levels(as_array, "bid") == ref.levels("bid")
        assert min(len(ref.bids), len(ref.asks)) > 900
        assert 0 < refused < BURSTS // 4
        assert not as_text.is_crossed()
        spread = ref.spread_ticks()
        assert spread is not None
        assert as_text.spread() == as_decimal(from_units(spread, PRICE_DECIMALS))


@pytest.mark.parametrize("side", TAKER_SIDES)
@pytest.mark.parametrize("depth", [1, 10, 50, 500])
def test_deep_walks_and_costs_on_replayed_books_match_the_reference(
    venues: list[tuple[RefBook, sor.OrderBook, sor.OrderBook, int]],
    side: TakerSide,
    depth: int,
) -> None:
    for ref, book, _, _ in venues:
        levels = ref.levels("ask" if side == "buy" else "bid")
        # Enough to consume `depth` levels, finishing halfway into the last one.
        lots = sum(size for _, size in levels[: depth - 1]) + max(1, levels[depth - 1][1] // 2)
        quantity = padded(lots, SIZE_DECIMALS)
        want = walk(ref, side, quantity=lots)
        got = book.walk(side, quantity)
        assert (got.filled_lots, got.notional_raw, got.levels_consumed, got.complete) == (
            want.filled_lots,
            want.notional_raw,
            depth,
            True,
        )
        assert close(got.average_price, want.average_price)
        assert close(got.slippage_bps, want.slippage_bps)
        cost = book.cost(side, quantity, 7.5)
        assert close(cost.total, execution_cost(want, 7.5).total)
        # The same notional buys (or sells) back the same lots.
        by_notional = book.walk(side, notional=str(as_decimal(want.notional)))
        assert by_notional.filled_lots == lots
        assert by_notional.notional_raw == want.notional_raw
        limit = want.worst_ticks
        assert limit is not None
        up_to = book.walk(side, limit_price=padded(limit, PRICE_DECIMALS))
        assert up_to.levels_consumed == depth
        assert up_to.filled_lots == walk(ref, side, limit_price=limit).filled_lots


def test_depth_and_ranking_on_replayed_books_match_the_reference(
    venues: list[tuple[RefBook, sor.OrderBook, sor.OrderBook, int]],
) -> None:
    refs = [v[0] for v in venues]
    books = [v[1] for v in venues]
    for ref, book in zip(refs, books, strict=True):
        for book_side in BOOK_SIDES:
            for bps in (0.0, 1.0, 5.5, 25.0, 100.0):
                assert book.depth_within_bps(book_side, bps) == as_decimal(
                    from_units(ref.depth_within_bps(book_side, bps), SIZE_DECIMALS)
                )
    for side in TAKER_SIDES:
        quantity = Fraction(25, 10)
        ranking = sor.rank_venues(books, side, "2.5", [10.0, 7.5], [40.0, 80.0], [0.99, 0.97])
        want = rank_venues(refs, side, quantity, [10.0, 7.5], [40.0, 80.0], [0.99, 0.97])
        assert [c.index for c in ranking.candidates] == [c.index for c in want]
        for got, expected in zip(ranking.candidates, want, strict=True):
            assert got.eligible is expected.eligible
            assert close(got.score.total, expected.score.total)
            assert close(got.cost.total, expected.cost.total)
        many = sor.walk_many(books, side, ["2.5", "2.5"])
        assert [w.notional_raw for w in many] == [
            c.walk.notional_raw for c in sorted(want, key=lambda c: c.index)
        ]
