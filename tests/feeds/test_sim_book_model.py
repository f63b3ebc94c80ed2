"""The simulators' book model: a realistic, never-crossed book whose events rebuild it exactly."""

from __future__ import annotations

import random

import pytest

from sor import InvalidInput
from sor.sim import BookModel, SimMarket, format_decimal

MARKET = SimMarket("BTC/USDT", price_decimals=2, size_decimals=8, mid="65000", levels_per_side=500)


def test_replaying_every_event_on_the_first_snapshot_rebuilds_the_true_book() -> None:
    model = BookModel(MARKET, random.Random(11))
    # A plain-dict replica, independent of the Rust core.
    replica = {"bid": dict(model.levels("bid")), "ask": dict(model.levels("ask"))}
    previous = model.update_id
    for _ in range(3_000):
        step = model.step()
        assert step.first == previous + 1, "update IDs are contiguous"
        assert step.final >= step.first + len(step.changes) - 1
        previous = step.final
        for side, tick, lots in step.changes:
            if lots:
                replica[side][tick] = lots
            else:
                replica[side].pop(tick, None)
    assert replica["bid"] == dict(model.levels("bid"))
    assert replica["ask"] == dict(model.levels("ask"))


def test_the_book_never_crosses_and_keeps_its_depth() -> None:
    model = BookModel(MARKET, random.Random(5))
    for _ in range(2_000):
        model.step()
        best_bid, best_ask = model.best("bid"), model.best("ask")
        assert best_bid is not None
        assert best_ask is not None
        assert best_bid < model.mid < best_ask
        for side in ("bid", "ask"):
            assert 0.95 * 500 <= len(model.levels(side)) <= 500  # type: ignore[arg-type]


def test_the_stream_has_bursts_and_a_moving_mid() -> None:
    model = BookModel(MARKET, random.Random(2))
    start = model.mid
    sizes = [len(model.step().changes) for _ in range(2_000)]
    assert max(sizes) >= 30, "some events are bursts of many changes"
    assert sorted(sizes)[len(sizes) // 2] <= 10, "most events are small"
    assert model.mid != start


def test_the_same_seed_gives_the_same_stream() -> None:
    first = BookModel(MARKET, random.Random(9))
    second = BookModel(MARKET, random.Random(9))
    assert [first.step() for _ in range(200)] == [second.step() for _ in range(200)]


def test_the_true_order_book_has_the_model_levels() -> None:
    model = BookModel(MARKET, random.Random(4))
    for _ in range(100):
        model.step()
    book = model.to_order_book()
    assert book.sequence == model.update_id
    assert [(lv.price_ticks, lv.size_lots) for lv in book.levels("bid")] == model.levels("bid")
    assert [(lv.price_ticks, lv.size_lots) for lv in book.levels("ask")] == model.levels("ask")


def test_crossing_change_would_cross_and_skipped_ids_leave_the_book_alone() -> None:
    model = BookModel(MARKET, random.Random(4))
    side, tick, _ = model.crossing_change()
    assert side == "bid"
    assert tick == model.best("ask")
    before = model.levels("bid")
    first, final = model.skip_ids(1)
    assert first == final == model.update_id
    assert model.levels("bid") == before


@pytest.mark.parametrize(
    ("units", "decimals", "places", "text"),
    [
        (6500001, 2, 8, "65000.01000000"),
        (12345, 8, 8, "0.00012345"),
        (7, 0, None, "7"),
        (7, 0, 2, "7.00"),
        (100, 2, None, "1.00"),
    ],
)
def test_format_decimal_writes_exchange_style_decimals(
    units: int, decimals: int, places: int | None, text: str
) -> None:
    assert format_decimal(units, decimals, places) == text


def test_sim_market_rejects_a_mid_that_is_not_on_the_tick_grid() -> None:
    with pytest.raises(InvalidInput, match="mid"):
        SimMarket("BTC/USDT", price_decimals=2, mid="65000.001")
