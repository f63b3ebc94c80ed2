"""Explainable scoring (``score``) and the best-execution ranking (``rank_venues``).

Normalised factors, contributions and totals must be within 1e-9 of the exact model in
``reference.py``; the order must be the contract's order on the core's own totals (so float
noise between exactly tied candidates cannot make the test flaky, while any real difference in
totals shows up in the comparison with the model).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from helpers import build, close, close_or_none, exact_bps, ref_books
from reference import (
    DEFAULT_WEIGHTS,
    FACTOR_NAMES,
    TAKER_SIDES,
    Factors,
    RefBook,
    RefScore,
    TakerSide,
    as_decimal,
    rank_venues,
    scaled_weights,
    score,
    score_rows,
)

# ------------------------------------------------------------------------------------------------
# Helpers


def factor_values(scores: sor.FactorScores) -> tuple[float, float, float, float]:
    """The four values of a ``FactorScores`` in factor order."""
    return (scores.price, scores.liquidity, scores.latency, scores.reliability)


def assert_score_matches(got: sor.VenueScore, want: RefScore) -> None:
    """A core score equals the model's within 1e-9, factor by factor."""
    assert got.index == want.index
    assert close(got.total, want.total)
    for name, g, w in zip(
        FACTOR_NAMES, factor_values(got.normalised), want.normalised, strict=True
    ):
        assert close(g, w), name
    for name, g, w in zip(
        FACTOR_NAMES, factor_values(got.contributions), want.contributions, strict=True
    ):
        assert close(g, w), name


def assert_explains_itself(got: sor.VenueScore) -> None:
    """Contributions sum to the total; everything is in [0, 1]."""
    assert math.isclose(sum(factor_values(got.contributions)), got.total, abs_tol=1e-12)
    assert 0.0 <= got.total <= 1.0 + 1e-12
    assert all(0.0 <= v <= 1.0 for v in factor_values(got.normalised))


def normal_floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in [low, high], zero or at least 1e-290 in magnitude (see ``values``)."""
    return st.floats(low, high, allow_nan=False, allow_subnormal=False).filter(
        lambda v: v == 0 or abs(v) >= 1e-290
    )


values = st.one_of(
    st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]),
    # Magnitudes below 1e-290 are left out: the core halves values before subtracting (to keep
    # spans of huge values finite), which flushes differences of subnormal size to zero.
    normal_floats(-1e9, 1e9),
)
rows = st.lists(st.tuples(values, values, values, values), min_size=0, max_size=8)
weight_values = st.one_of(st.sampled_from([0.0, 0.1, 1.0, 2.0]), st.floats(0.0, 1e6))
weights = st.tuples(weight_values, weight_values, weight_values, weight_values).filter(
    lambda w: sum(w) > 0
)


# ------------------------------------------------------------------------------------------------
# score()


@given(rows=rows, w=st.none() | weights)
def test_score_matches_reference_and_ranks_best_first(
    rows: list[tuple[float, float, float, float]], w: tuple[float, float, float, float] | None
) -> None:
    got = sor.score(rows, None if w is None else sor.Weights(*w))
    want = {s.index: s for s in score(rows, DEFAULT_WEIGHTS if w is None else w)}
    assert sorted(s.index for s in got) == list(range(len(rows)))
    for s in got:
        assert_score_matches(s, want[s.index])
        assert_explains_itself(s)
    # Best first, ties by input order.
    assert [s.index for s in got] == [
        s.index for s in sorted(got, key=lambda s: (-s.total, s.index))
    ]


def test_score_worked_example_explains_the_pick() -> None:
    # Venue 1 has the best price (0.4); venue 0 the best liquidity, latency, reliability (0.6).
    got = sor.score([(-101.0, 2.0, -40.0, 0.99), (-100.0, 1.0, -80.0, 0.95)])
    assert [s.index for s in got] == [0, 1]
    assert got[0].total == pytest.approx(0.6, abs=1e-12)
    assert got[1].total == pytest.approx(0.4, abs=1e-12)
    assert factor_values(got[1].contributions) == pytest.approx((0.4, 0.0, 0.0, 0.0))
    assert factor_values(got[0].normalised) == pytest.approx((0.0, 1.0, 1.0, 1.0))


def test_equal_candidates_all_score_one_in_input_order() -> None:
    got = sor.score([(5.0, 1.0, -3.0, 0.5)] * 3)
    assert [s.index for s in got] == [0, 1, 2]
    assert all(s.total == pytest.approx(1.0) for s in got)
    assert all(factor_values(s.normalised) == (1.0, 1.0, 1.0, 1.0) for s in got)


def test_single_candidate_scores_one_and_no_candidate_scores_nothing() -> None:
    (only,) = sor.score([(1.0, 2.0, 3.0, 4.0)])
    assert only.total == pytest.approx(1.0)
    assert sor.score([]) == []


def test_weights_default_to_the_requirements_and_are_scaled_to_sum_to_one() -> None:
    default = sor.Weights()
    got = (default.price, default.liquidity, default.latency, default.reliability)
    assert got == pytest.approx((0.4, 0.3, 0.2, 0.1), abs=1e-15)
    scaled = sor.Weights(2.0, 0.0, 0.0, 2.0)
    assert (scaled.price, scaled.liquidity, scaled.latency, scaled.reliability) == (
        0.5,
        0.0,
        0.0,
        0.5,
    )


@given(w=weights)
def test_weights_match_reference_scaling(w: tuple[float, float, float, float]) -> None:
    got = sor.Weights(*w)
    want = scaled_weights(w)
    for g, expected in zip(
        (got.price, got.liquidity, got.latency, got.reliability), want, strict=True
    ):
        assert close(g, expected, rel=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("name", FACTOR_NAMES)
@pytest.mark.parametrize("bad", [-1.0, -1e-300, math.nan, math.inf, -math.inf])
def test_bad_weight_is_refused_by_name(name: str, bad: float) -> None:
    values = dict(zip(FACTOR_NAMES, (1.0, 1.0, 1.0, 1.0), strict=True))
    values[name] = bad
    with pytest.raises(sor.InvalidInput, match=rf"^weight {name} must be a finite number >= 0"):
        sor.Weights(**values)


def test_all_zero_weights_are_refused() -> None:
    with pytest.raises(sor.InvalidInput, match="at least one weight must be positive"):
        sor.Weights(0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(("k", "name"), list(enumerate(FACTOR_NAMES)))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_factor_is_refused_naming_candidate_and_factor(
    k: int, name: str, bad: float
) -> None:
    row = [0.0, 0.0, 0.0, 0.0]
    row[k] = bad
    with pytest.raises(sor.InvalidInput, match=rf"^candidate 1: factor {name} must be finite"):
        sor.score([(1.0, 1.0, 1.0, 1.0), (row[0], row[1], row[2], row[3])])


def test_score_normalises_factors_spanning_more_than_the_float_range() -> None:
    # Finite values whose spread (2e308) overflows a float: the middle candidate is halfway.
    got = {s.index: s for s in sor.score([(1e308, 0, 0, 0), (-1e308, 0, 0, 0), (0.0, 0, 0, 0)])}
    assert [got[i].normalised.price for i in range(3)] == pytest.approx([1.0, 0.0, 0.5])
    assert all(math.isfinite(s.total) for s in got.values())


def test_huge_weights_keep_their_proportions() -> None:
    # Two weights of 1e308 sum to infinity in floats; they are still half and half.
    got = sor.Weights(1e308, 1e308, 0.0, 0.0)
    assert (got.price, got.liquidity) == pytest.approx((0.5, 0.5))


# ------------------------------------------------------------------------------------------------
# rank_venues()


@st.composite
def venue_sets(
    draw: st.DrawFn,
) -> tuple[list[RefBook], Fraction, list[float], list[float], list[float]]:
    """1-5 books of one size precision around one price, with fees, latencies, reliabilities."""
    sd = draw(st.integers(0, 4))
    pd = draw(st.integers(0, 4))
    books = draw(
        st.lists(
            ref_books(
                max_levels=8,
                price_decimals=st.just(pd),
                size_decimals=st.integers(sd, sd + 2),
                max_size=50,
            ),
            min_size=1,
            max_size=5,
        )
    )
    lots = draw(st.integers(1, 120))
    quantity = Fraction(lots, 10**sd)
    n = len(books)
    fees = draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 10.0, 0.15]), min_size=n, max_size=n))
    latencies = draw(
        st.lists(
            st.one_of(st.sampled_from([5.0, 20.0]), normal_floats(0, 2_000)), min_size=n, max_size=n
        )
    )
    reliabilities = draw(
        st.lists(
            st.one_of(st.sampled_from([0.9, 1.0]), normal_floats(0, 1)), min_size=n, max_size=n
        )
    )
    return books, quantity, fees, latencies, reliabilities


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(
    venues=venue_sets(),
    w=st.none() | weights,
    slippage=st.one_of(st.sampled_from([0.0, 10.0, 100.0]), exact_bps(5_000)),
)
def test_rank_venues_matches_reference(
    side: TakerSide,
    venues: tuple[list[RefBook], Fraction, list[float], list[float], list[float]],
    w: tuple[float, float, float, float] | None,
    slippage: float,
) -> None:
    books, quantity, fees, latencies, reliabilities = venues
    weights_ = DEFAULT_WEIGHTS if w is None else w
    ranking = sor.rank_venues(
        [build(book) for book in books],
        side,
        str(as_decimal(quantity)),
        fees,
        latencies,
        reliabilities,
        None if w is None else sor.Weights(*w),
        slippage,
    )
    want = {
        c.index: c
        for c in rank_venues(
            books, side, quantity, fees, latencies, reliabilities, weights_, slippage
        )
    }
    got = ranking.candidates
    assert len(ranking) == len(got) == len(books)
    assert sorted(c.index for c in got) == list(range(len(books)))
    for c in got:
        ref = want[c.index]
        assert c.eligible is ref.eligible
        w_ = c.walk
        assert (w_.filled_lots, w_.notional_raw, w_.levels_consumed, w_.complete) == (
            ref.walk.filled_lots,
            ref.walk.notional_raw,
            ref.walk.levels_consumed,
            ref.walk.complete,
        )
        assert close(c.cost.total, ref.cost.total)
        assert close_or_none(c.cost.effective_price, ref.cost.effective_price)
        assert c.cost.taker_fee_bps == fees[c.index]
        assert close(c.liquidity_ratio, ref.liquidity_ratio)
        for name, g, r in zip(FACTOR_NAMES, factor_values(c.raw), ref.raw, strict=True):
            assert close(g, r), name
        assert_explains_itself(c.score)
    # Normalisation and weighting of the raw factors, over the eligible venues only.
    raw: list[Factors] = []
    for c in sorted(got, key=lambda c: c.index):
        p, q, la, re = (Fraction(v) for v in factor_values(c.raw))
        raw.append((p, q, la, re))
    eligible = [want[i].eligible for i in range(len(books))]
    rescored = score_rows(raw, scaled_weights(weights_), eligible)
    for c in got:
        assert_score_matches(c.score, rescored[c.index])
    # Eligible first, then score, then better price, then input order.
    order = sorted(got, key=lambda c: (not c.eligible, -c.score.total, -c.raw.price, c.index))
    assert [c.index for c in got] == [c.index for c in order]
    assert ranking.best == (got[0].index if got[0].eligible else None)
    # Against the exact model, the order can only differ where totals are within float noise.
    ref_order = [
        c.index
        for c in sorted(
            want.values(), key=lambda c: (not c.eligible, -c.score.total, -c.raw[0], c.index)
        )
    ]
    for a, b in zip([c.index for c in got], ref_order, strict=True):
        if a != b:
            assert want[a].eligible == want[b].eligible
            assert close(float(want[a].score.total), want[b].score.total)


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(
    venues=venue_sets(),
    w=st.none() | weights,
    slippage=st.one_of(st.none(), st.sampled_from([0.0, 10.0, 100.0]), exact_bps(5_000)),
)
def test_rank_set_ranks_a_prepared_venue_set_as_rank_venues_ranks_the_lists(
    side: TakerSide,
    venues: tuple[list[RefBook], Fraction, list[float], list[float], list[float]],
    w: tuple[float, float, float, float] | None,
    slippage: float | None,
) -> None:
    books, quantity, fees, latencies, reliabilities = venues
    built = [build(book) for book in books]
    rules = [sor.VenueRules(taker_fee_bps=fee, lot_size="1000") for fee in fees]
    venue_set = sor.VenueSet(built, rules, latencies, reliabilities)
    order = (side, str(as_decimal(quantity)))
    options = {"weights": None if w is None else sor.Weights(*w)}
    if slippage is not None:
        options["max_slippage_bps"] = slippage
    want = sor.rank_venues(built, *order, fees, latencies, reliabilities, **options)
    got = sor.rank_set(venue_set, *order, **options)
    assert got.best == want.best
    assert len(got) == len(want)
    for g, r in zip(got.candidates, want.candidates, strict=True):
        assert repr(g) == repr(r)
        assert (g.walk.filled_lots, g.walk.notional_raw) == (
            r.walk.filled_lots,
            r.walk.notional_raw,
        )
        assert (g.cost.total, g.cost.taker_fee_bps) == (r.cost.total, r.cost.taker_fee_bps)
        assert g.liquidity_ratio == r.liquidity_ratio
        assert factor_values(g.raw) == factor_values(r.raw)
        assert g.score.total == r.score.total


def test_a_book_listed_twice_is_ranked_twice_like_two_copies_of_it() -> None:
    """The rankings read their books under the books' locks when they are free; the second
    listing of a book finds its lock held (by this very call) and the call reads snapshots
    instead, with the same result as two separate copies."""
    book = level_book("10", "5")
    twice = ([book, book], "buy", "3", [10.0, 10.0], [5.0, 5.0], [0.99, 0.99])
    copies = ([book.copy(), book.copy()], *twice[1:])
    for got, want in (
        (sor.rank_venues(*twice), sor.rank_venues(*copies)),
        (
            sor.rank_set(sor.VenueSet(twice[0], RULES_10, [5.0, 5.0], [0.99, 0.99]), "buy", "3"),
            sor.rank_set(sor.VenueSet(copies[0], RULES_10, [5.0, 5.0], [0.99, 0.99]), "buy", "3"),
        ),
    ):
        assert [repr(c) for c in got.candidates] == [repr(c) for c in want.candidates]
        assert got.best == want.best == 0


#: Two venues' rules with a 10 bps taker fee.
RULES_10 = [sor.VenueRules(taker_fee_bps=10.0)] * 2


def test_rank_set_refuses_what_is_not_a_venue_set() -> None:
    book = level_book("10", "5")
    with pytest.raises(sor.InvalidInput, match="venues: expected a VenueSet, got list"):
        sor.rank_set([book], "buy", "1")  # type: ignore[arg-type]


def level_book(ask: str, size: str, bid: str = "1") -> sor.OrderBook:
    """A whole-unit book with one bid and asks ``ask x size`` then ``ask+1 x 100``."""
    book = sor.OrderBook(0, 0)
    book.apply_snapshot([(bid, "100")], [(ask, size), (str(int(ask) + 1), "100")])
    return book


def test_rank_puts_eligible_venues_first_and_explains_the_pick() -> None:
    thin, cheap, dear = level_book("100", "1"), level_book("100", "10"), level_book("110", "10")
    ranking = sor.rank_venues(
        [thin, cheap, dear], "buy", "5", [0.0] * 3, [10.0] * 3, [1.0] * 3, max_slippage_bps=50.0
    )
    # The thin book needs its 101 level (100 bps away): not eligible at 50 bps.
    assert [c.index for c in ranking.candidates] == [1, 2, 0]
    assert [c.eligible for c in ranking.candidates] == [True, True, False]
    assert ranking.best == 1
    best, second, last = ranking.candidates
    assert best.score.contributions.price == pytest.approx(0.4)
    assert second.score.contributions.price == 0.0
    # The ineligible venue's factors are clamped into the eligible range.
    assert 0.0 <= last.score.normalised.price <= 1.0


def test_rank_has_no_best_when_no_venue_is_eligible() -> None:
    ranking = sor.rank_venues(
        [level_book("100", "1"), level_book("100", "2")],
        "buy",
        "500",
        [0.0] * 2,
        [1.0] * 2,
        [1.0] * 2,
    )
    assert ranking.best is None
    assert not any(c.eligible for c in ranking.candidates)


def test_venues_with_the_same_all_in_price_get_the_same_price_score() -> None:
    # Two venues quote 69,844.01 for plenty of size at the same 10 bps fee, one with 2 price and
    # 6 size decimals, one with 8 and 8: buying 0.027 costs exactly the same on both. Their
    # float effective prices differ in the last bit; that must not make one the best price
    # (score 1) and the other the worst (score 0).
    books = []
    for price_decimals, size_decimals in ((2, 6), (8, 8)):
        book = sor.OrderBook(price_decimals, size_decimals)
        book.apply_snapshot([("69000", "1")], [("69844.01", "1000")])
        books.append(book)
    ranking = sor.rank_venues(books, "buy", "0.027", [10.0, 10.0], [20.0, 20.0], [0.99, 0.99])
    assert [c.index for c in ranking.candidates] == [0, 1]
    for candidate in ranking.candidates:
        assert candidate.eligible
        assert candidate.score.normalised.price == 1.0
        assert candidate.score.total == pytest.approx(1.0)


def test_rank_breaks_score_ties_by_better_price_then_input_order() -> None:
    # Only latency is weighted and every latency is equal: every total is 1.0.
    books = [level_book("101", "10"), level_book("100", "10"), level_book("100", "10")]
    ranking = sor.rank_venues(
        books, "buy", "5", [0.0] * 3, [7.0] * 3, [1.0] * 3, sor.Weights(0.0, 0.0, 1.0, 0.0)
    )
    assert [c.score.total for c in ranking.candidates] == [1.0, 1.0, 1.0]
    assert [c.index for c in ranking.candidates] == [1, 2, 0]


def test_factors_one_rounding_apart_are_ties_not_a_best_and_a_worst() -> None:
    # Found by test_rank_venues_matches_reference: one bid of 0.1 on books of different size
    # decimals gives all-in prices one float rounding apart, and reliabilities of 1.0 and
    # 0.9999999999999999 differ by one ulp. Both are ties: each venue normalises to 1.
    books = []
    for size_decimals in (0, 1):
        book = sor.OrderBook(1, size_decimals)
        book.apply_snapshot(bids=[("0.1", "1")], asks=[])
        books.append(book)
    ranking = sor.rank_venues(books, "sell", "2", [0.0, 0.0], [5.0, 5.0], [0.9, 0.9])
    assert [c.score.normalised.price for c in ranking.candidates] == [1.0, 1.0]
    books = [level_book("100", "10"), level_book("100", "10")]
    ranking = sor.rank_venues(books, "buy", "1", [0.0] * 2, [5.0] * 2, [1.0, 0.9999999999999999])
    assert [c.score.normalised.reliability for c in ranking.candidates] == [1.0, 1.0]
    assert [c.index for c in ranking.candidates] == [0, 1]


def test_rank_liquidity_ratio_is_depth_within_the_bound_over_the_quantity() -> None:
    book = level_book("100", "10")  # asks 100 x 10, 101 x 100
    ranking = sor.rank_venues([book], "buy", "20", [0.0], [1.0], [1.0], max_slippage_bps=100.0)
    assert ranking.candidates[0].liquidity_ratio == pytest.approx(110 / 20)
    # Depth beyond ten times the order counts as ten times the order.
    ranking = sor.rank_venues([book], "buy", "4", [0.0], [1.0], [1.0], max_slippage_bps=100.0)
    assert ranking.candidates[0].liquidity_ratio == 10.0
    ranking = sor.rank_venues([book], "buy", "4", [0.0], [1.0], [1.0], max_slippage_bps=99.99)
    assert ranking.candidates[0].liquidity_ratio == pytest.approx(10 / 4)


RankCall = Callable[[], object]


def rank(
    books: Sequence[sor.OrderBook] | None = None,
    quantity: str = "1",
    fees: Sequence[float] = (0.0, 0.0),
    latencies: Sequence[float] = (1.0, 1.0),
    reliabilities: Sequence[float] = (1.0, 1.0),
    max_slippage_bps: float = 100.0,
) -> RankCall:
    """A ``rank_venues`` call over two small books with the given overrides."""
    chosen = list(books) if books is not None else [level_book("100", "5"), level_book("100", "5")]
    return lambda: sor.rank_venues(
        chosen,
        "buy",
        quantity,
        list(fees),
        list(latencies),
        list(reliabilities),
        max_slippage_bps=max_slippage_bps,
    )


def fine_book() -> sor.OrderBook:
    """A book with two size decimals."""
    book = sor.OrderBook(2, 2)
    book.apply_snapshot([("99", "1")], [("100", "1")])
    return book


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            rank(fees=(0.0,)), r"must have the same length, got 2, 1, 2 and 2", id="fees length"
        ),
        pytest.param(
            rank(latencies=(1.0, 1.0, 1.0)),
            r"same length, got 2, 2, 3 and 2",
            id="latencies length",
        ),
        pytest.param(
            rank(reliabilities=()), r"same length, got 2, 2, 2 and 0", id="reliabilities length"
        ),
        pytest.param(
            rank(latencies=(1.0, -0.5)),
            r"^venue 1: latency_ms must be finite and >= 0",
            id="negative latency",
        ),
        pytest.param(rank(latencies=(math.nan, 1.0)), r"^venue 0: latency_ms", id="NaN latency"),
        pytest.param(rank(latencies=(math.inf, 1.0)), r"^venue 0: latency_ms", id="inf latency"),
        pytest.param(
            rank(reliabilities=(1.5, 1.0)),
            r"^venue 0: reliability must be in \[0, 1\]",
            id="reliability > 1",
        ),
        pytest.param(
            rank(reliabilities=(1.0, -0.1)),
            r"^venue 1: reliability must be in \[0, 1\]",
            id="reliability < 0",
        ),
        pytest.param(
            rank(reliabilities=(1.0, math.nan)), r"^venue 1: reliability", id="NaN reliability"
        ),
        pytest.param(
            rank(books=[fine_book(), level_book("100", "5")], quantity="0.5"),
            r"^venue 1: quantity has more decimals than the book's size precision \(0\)",
            id="quantity precision",
        ),
        pytest.param(rank(quantity="0"), r"quantity must be positive", id="zero quantity"),
        pytest.param(rank(quantity="-1"), r"^quantity: .*negative", id="negative quantity"),
        pytest.param(rank(fees=(0.0, -1.0)), r"^taker_fees_bps\[1\]: ", id="negative fee"),
        pytest.param(rank(max_slippage_bps=-1.0), r"^max_slippage_bps: ", id="negative slippage"),
    ],
)
def test_rank_venues_refuses_bad_input_naming_the_problem(call: RankCall, message: str) -> None:
    with pytest.raises(sor.InvalidInput, match=message):
        call()
