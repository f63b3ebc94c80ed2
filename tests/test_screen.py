"""``screen_venues`` / ``ScreenRequest`` / ``screen_batch``: the router's one-call screen of every
venue for an order.

The router's property tests compare whole decisions with the reference model; these pin the
core call itself: verdicts in the documented order, the batch equal to one call per request,
and bad requests named.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sor
from sor import _core
from sor.samples import sample_venues

NOW = 1_800_000_000 * 10**9
MAX_AGE = 5 * 10**9


def books(updated_at_ns: int = NOW) -> list[sor.OrderBook]:
    """The sample venues' books, last updated at ``updated_at_ns``."""
    result = []
    for venue in sample_venues(seed=3, levels=200):
        book = venue.book.copy()
        book.apply_snapshot(
            [(lv.price, lv.size) for lv in book.levels("bid")],
            [(lv.price, lv.size) for lv in book.levels("ask")],
            sequence=1,
            timestamp_ns=updated_at_ns,
        )
        result.append(book)
    return result


def request(
    quantity: str = "1",
    side: str = "buy",
    rules: list[sor.VenueRules] | None = None,
    caps: list[Decimal | None] | None = None,
    limit: str | None = None,
    min_ratio: float = 0.0,
) -> tuple[object, ...]:
    bs = books()
    return (
        bs,
        side,
        quantity,
        rules or [sor.VenueRules(taker_fee_bps=10.0) for _ in bs],
        [20.0] * len(bs),
        [0.99] * len(bs),
        caps,
        None,
        100.0,
        limit,
        min_ratio,
    )


def test_every_venue_gets_a_verdict_and_the_qualified_are_ranked() -> None:
    screen = _core.screen_venues(*request(), NOW, MAX_AGE)  # type: ignore[arg-type]
    assert screen.verdicts == ["qualified"] * 5
    assert sorted(screen.qualified) == list(range(5))
    assert screen.qualified == [c.index for c in screen.candidates]
    totals = [c.score.total for c in screen.candidates]
    assert totals == sorted(totals, reverse=True)
    best = screen.qualified[0]
    assert screen.candidate(best) is not None
    assert len(screen.versions) == len(screen) == 5


def test_amount_rules_and_caps_are_judged_before_the_walk() -> None:
    rules = [
        sor.VenueRules(taker_fee_bps=10.0, lot_size="0.3"),
        sor.VenueRules(taker_fee_bps=10.0, min_quantity="2"),
        sor.VenueRules(taker_fee_bps=10.0, max_quantity="0.5"),
        sor.VenueRules(taker_fee_bps=10.0),
        sor.VenueRules(taker_fee_bps=10.0, min_notional="1000000"),
    ]
    caps: list[Decimal | None] = [None, None, None, Decimal("0.99999999"), None]
    screen = _core.screen_venues(*request(rules=rules, caps=caps), NOW, MAX_AGE)  # type: ignore[arg-type]
    assert screen.verdicts == [
        "lot_size",
        "below_minimum",
        "above_maximum",
        "balance",
        "below_min_notional",
    ]
    assert [c.index for c in screen.candidates] == [4]
    assert screen.qualified == []


def test_stale_books_are_not_walked() -> None:
    old = request()
    stale_books = books(updated_at_ns=NOW - MAX_AGE - 1)
    screen = _core.screen_venues(stale_books, *old[1:], NOW, MAX_AGE)  # type: ignore[arg-type]
    assert screen.verdicts == ["stale"] * 5
    assert screen.candidates == []
    assert screen.updated_at_ns == [NOW - MAX_AGE - 1] * 5


def named(args: tuple[object, ...]) -> _core.ScreenRequest:
    """``screen_venues``' positional arguments (but the clock) as a ``ScreenRequest``."""
    books_, side, quantity, rules, latencies, reliabilities, caps, weights, bps, limit, ratio = args
    return _core.ScreenRequest(
        books_,  # type: ignore[arg-type]
        side,  # type: ignore[arg-type]
        quantity,  # type: ignore[arg-type]
        rules,  # type: ignore[arg-type]
        latencies,  # type: ignore[arg-type]
        reliabilities,  # type: ignore[arg-type]
        balance_caps=caps,  # type: ignore[arg-type]
        weights=weights,  # type: ignore[arg-type]
        max_slippage_bps=bps,  # type: ignore[arg-type]
        limit_price=limit,  # type: ignore[arg-type]
        min_liquidity_ratio=ratio,  # type: ignore[arg-type]
    )


def test_a_batch_is_one_screen_per_request() -> None:
    requests = [request("1"), request("0.5", side="sell"), request("40"), request(min_ratio=9.5)]
    batch = _core.screen_batch([named(r) for r in requests], NOW, MAX_AGE)
    for req, got in zip(requests, batch, strict=True):
        want = _core.screen_venues(*req, NOW, MAX_AGE)  # type: ignore[arg-type]
        alone = named(req).screen(NOW, MAX_AGE)
        for other in (want, alone):
            assert got.verdicts == other.verdicts
            assert got.qualified == other.qualified
            totals = [c.score.total for c in other.candidates]
            assert [c.score.total for c in got.candidates] == totals
    assert "insufficient_liquidity" in batch[2].verdicts


def test_a_bad_request_is_named_and_nothing_is_screened() -> None:
    with pytest.raises(sor.InvalidInput, match=r"requests\[1\]: quantity"):
        _core.screen_batch([named(request()), named(request("-1"))], NOW, MAX_AGE)
    with pytest.raises(sor.InvalidInput, match=r"requests\[1\]: expected a ScreenRequest"):
        _core.screen_batch([named(request()), request()], NOW, MAX_AGE)  # type: ignore[list-item]
    with pytest.raises(sor.InvalidInput, match="rules: expected one entry per book"):
        _core.screen_venues(books(), "buy", "1", [], [], [], None, None, 100.0, None, 0.0, NOW, 1)
    nan_ratio = request(min_ratio=float("nan"))
    with pytest.raises(sor.InvalidInput, match="min_liquidity_ratio"):
        _core.screen_venues(*nan_ratio, NOW, MAX_AGE)  # type: ignore[arg-type]


def test_a_venue_set_screens_as_the_request_and_names_rules_its_books_cannot_hold() -> None:
    rules = [sor.VenueRules(taker_fee_bps=10.0, lot_size="0.001") for _ in books()]
    listed = request(rules=rules)
    bs, latencies, reliabilities = listed[0], listed[4], listed[5]
    order = ("buy", "1", None, None, 100.0, None, 0.0, NOW, MAX_AGE)
    prepared = _core.VenueSet(bs, rules, latencies, reliabilities)
    want = _core.screen_venues(*listed, NOW, MAX_AGE)  # type: ignore[arg-type]
    got = _core.screen_set(prepared, *order)
    assert (got.verdicts, got.ordered, got.reason) == (want.verdicts, want.ordered, want.reason)
    # A lot finer than the last book's sizes: refused when screened, naming the venue.
    finest = bs[-1].size_decimals
    too_fine = [*rules[:-1], sor.VenueRules(lot_size=Decimal(1).scaleb(-finest - 1))]
    prepared = _core.VenueSet(bs, too_fine, latencies, reliabilities)
    with pytest.raises(sor.InvalidInput, match=rf"rules\[{len(bs) - 1}\]\.lot_size: finer"):
        _core.screen_set(prepared, *order)


@settings(max_examples=60, deadline=None)
@given(
    funds=st.lists(
        st.one_of(st.none(), st.decimals(min_value=0, max_value=500_000, places=2)),
        min_size=5,
        max_size=5,
    ),
    quantity=st.sampled_from(["0.5", "1", "3", "40"]),
    lot=st.sampled_from(["0.001", "0.01", "0.3"]),
    ranking=st.sampled_from([None, "split"]),
)
def test_quote_funds_cap_a_buy_at_what_they_pay_for_on_the_screened_books(
    funds: list[Decimal | None], quantity: str, lot: str, ranking: str | None
) -> None:
    """A venue set screened with quote funds caps each buy as balance caps worked out from the
    same books do (``OrderBook.affordable`` at the venue's fee, rounded down to its lot;
    counted no further than the order unless the screen splits): the same verdicts, ranking,
    caps and split."""
    rules = [sor.VenueRules(taker_fee_bps=10.0, lot_size=lot) for _ in range(5)]
    listed = list(request(quantity=quantity, rules=rules))
    bs = listed[0]
    assert isinstance(bs, list)
    at_most = None if ranking == "split" else quantity
    step = Decimal(lot)
    caps: list[Decimal | None] = []
    for book, cash in zip(bs, funds, strict=True):
        paid_for = None if cash is None else book.affordable(cash, 10.0, at_most)
        caps.append(None if paid_for is None else paid_for // step * step)
    listed[6] = caps
    want = _core.screen_venues(*listed, NOW, MAX_AGE, ranking)  # type: ignore[arg-type]
    venue_set = _core.VenueSet(bs, rules, listed[4], listed[5])  # type: ignore[arg-type]
    order = ("buy", quantity, None, None, 100.0, None, 0.0, NOW, MAX_AGE, ranking, None, funds)
    got = _core.screen_set(venue_set, *order)  # type: ignore[arg-type]
    assert (got.verdicts, got.ordered, got.reason) == (want.verdicts, want.ordered, want.reason)
    assert got.balance_caps == want.balance_caps == caps
    if ranking == "split":
        assert got.split is not None
        assert want.split is not None
        assert (got.split.refusal, got.split.reason) == (want.split.refusal, want.split.reason)
        assert [(p.index, p.quantity) for p in got.split.parts] == [
            (p.index, p.quantity) for p in want.split.parts
        ]
    # A sell is capped by base balances, never by quote funds.
    sold = _core.screen_set(venue_set, "sell", *order[1:])  # type: ignore[arg-type]
    assert sold.balance_caps == [None] * 5


def test_a_request_over_a_venue_set_screens_as_the_request_over_its_lists() -> None:
    rules = [sor.VenueRules(taker_fee_bps=10.0, lot_size="0.001") for _ in range(5)]
    listed = request(quantity="3", rules=rules)
    bs, latencies, reliabilities = listed[0], listed[4], listed[5]
    venue_set = _core.VenueSet(bs, rules, latencies, reliabilities)  # type: ignore[arg-type]
    options = {"max_slippage_bps": 100.0, "min_liquidity_ratio": 0.0, "ranking": "split"}
    over = _core.ScreenRequest.over(venue_set, "buy", "3", **options)  # type: ignore[arg-type]
    lists = _core.ScreenRequest(
        bs,  # type: ignore[arg-type]
        "buy",
        "3",
        rules,
        latencies,  # type: ignore[arg-type]
        reliabilities,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    assert len(over) == len(lists) == 5
    got, want = _core.screen_batch([over, lists], NOW, MAX_AGE)
    assert (got.verdicts, got.ordered, got.reason) == (want.verdicts, want.ordered, want.reason)
    assert got.split is not None
    assert want.split is not None
    assert [(p.index, p.quantity) for p in got.split.parts] == [
        (p.index, p.quantity) for p in want.split.parts
    ]
    assert got.versions == want.versions


def test_a_split_screen_splits_the_order_in_the_same_call_on_the_books_it_read() -> None:
    bs = books()
    args = request(quantity="40")
    screen = _core.screen_venues(*args, NOW, MAX_AGE, "split")  # type: ignore[arg-type]
    split = screen.split
    assert split is not None
    assert split.refusal is None
    assert split.figure is None
    assert split.reason in ("split", "lowest_cost")
    assert sum(part.quantity for part in split.parts) == Decimal(40)
    # The same allocation as sor.allocate over the screened books (not written since), each
    # capped at its depth within the slippage bound (no venue is preferred, none has a cap of
    # its own).
    screened = args[0]
    assert isinstance(screened, list)
    caps = [b.depth_within_bps("ask", 100.0) for b in bs]
    rules = [sor.VenueRules(taker_fee_bps=10.0, max_quantity=cap) for cap in caps]
    allocation = sor.allocate(screened, "buy", "40", rules)
    by_venue = {part.index: part.quantity for part in allocation.parts}
    if split.reason == "split":
        assert {part.index: part.quantity for part in split.parts} == by_venue
    quantities = [part.quantity for part in split.parts]
    assert quantities == sorted(quantities, reverse=True)
    assert _core.screen_venues(*args, NOW, MAX_AGE).split is None  # type: ignore[arg-type]


def test_a_preferred_venue_fills_first_and_refusals_carry_their_figure() -> None:
    args = request(quantity="1")
    n = len(args[0])  # type: ignore[arg-type]
    last = [None] * (n - 1) + [0]
    screen = _core.screen_venues(*args, NOW, MAX_AGE, "split", last)  # type: ignore[arg-type]
    split = screen.split
    assert split is not None
    assert [part.index for part in split.parts] == [n - 1]
    assert split.reason == "preferred_exchange"
    assert n - 1 not in split.alternatives
    deep = sum(b.depth_within_bps("ask", 100.0) for b in books())
    too_much = request(quantity=str(deep + 1))
    refused = _core.screen_venues(*too_much, NOW, MAX_AGE, "split").split  # type: ignore[arg-type]
    assert refused is not None
    assert (refused.refusal, refused.figure, refused.parts) == ("depth", deep, [])
    ratio = request(quantity="1", min_ratio=float(deep) * 2)
    refused = _core.screen_venues(*ratio, NOW, MAX_AGE, "split").split  # type: ignore[arg-type]
    assert refused is not None
    assert refused.refusal == "liquidity_ratio"
    with pytest.raises(sor.InvalidInput, match=r"preferences: expected one entry per book"):
        _core.screen_venues(*args, NOW, MAX_AGE, "split", [0])  # type: ignore[arg-type]
    with pytest.raises(sor.InvalidInput, match=r"preferences\[0\]"):
        _core.screen_venues(*args, NOW, MAX_AGE, "split", [-1] * n)  # type: ignore[arg-type]
