"""Every argument the core takes is parsed exactly or refused with ``InvalidInput`` naming it.

Pins issue 10 (core arguments: PyO3's bare ``TypeError``/``OverflowError``/``UnicodeEncodeError``,
digits dropped from a long mantissa, whole inputs quoted in messages) and issue 9 (fees: one rule
for every fee input, exact or refused, below 100%).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sor
from helpers import build, ref_books, render
from reference import TAKER_SIDES, RefBook, TakerSide, execution_cost, walk
from sor import _core
from sor._validate import quote, to_decimal, to_float
from sor.markets.market import Market

LONE_SURROGATE = "\ud800"
HUGE_INT = 10**5000


def book() -> sor.OrderBook:
    """A small two-sided book at 2 price and 2 size decimals."""
    b = sor.OrderBook(2, 2)
    b.apply_snapshot([("99.00", "5")], [("100.00", "5"), ("101.00", "5")])
    return b


def snapshot_args(b: sor.OrderBook) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return [("99.00", "1")], [("100.00", "1")]


def screen(**override: object) -> object:
    args: dict[str, object] = {
        "books": [book()],
        "side": "buy",
        "quantity": "1",
        "rules": [sor.VenueRules()],
        "latencies_ms": [10.0],
        "reliabilities": [1.0],
        "balance_caps": None,
        "weights": None,
        "max_slippage_bps": 100.0,
        "limit_price": None,
        "min_liquidity_ratio": 0.0,
        "now_ns": 0,
        "max_age_ns": 2**63,
    }
    args.update(override)
    return _core.screen_venues(**args)


def venue_set() -> _core.VenueSet:
    return _core.VenueSet([book()], [sor.VenueRules()], [10.0], [1.0])


Call = Callable[[], object]

# (call, the argument its message must start with): one row per argument kind of every entry
# point; each of these raised a bare TypeError, OverflowError or UnicodeEncodeError (or a
# ValueError about Python's digit limit) before.
BAD_ARGUMENTS: list[tuple[str, Call, str]] = [
    # The reproductions.
    ("sequence=-1", lambda: book().apply_snapshot(*snapshot_args(book()), sequence=-1), "sequence"),
    ("Weights(price='1')", lambda: sor.Weights(price="1"), "price"),
    ("lone surrogate price", lambda: book().price_to_ticks(LONE_SURROGATE), "price"),
    ("10**5000 price", lambda: book().price_to_ticks(HUGE_INT), "price"),
    # OrderBook
    ("decimals str", lambda: sor.OrderBook("2", 2), "price_decimals"),
    ("decimals huge", lambda: sor.OrderBook(2, 10**30), "size_decimals"),
    ("decimals bool", lambda: sor.OrderBook(True, 2), "price_decimals"),
    ("sequence 2**64", lambda: book().apply_snapshot([], [], sequence=2**64), "sequence"),
    ("sequence huge", lambda: book().apply_snapshot([], [], sequence=HUGE_INT), "sequence"),
    ("sequence float", lambda: book().apply_snapshot([], [], sequence=1.0), "sequence"),
    ("timestamp -1", lambda: book().apply_snapshot([], [], timestamp_ns=-1), "timestamp_ns"),
    ("delta sequence", lambda: book().apply_delta("bid", "99", "1", sequence=-5), "sequence"),
    ("delta side int", lambda: book().apply_delta(0, "99", "1"), "side"),
    ("delta side surrogate", lambda: book().apply_delta(LONE_SURROGATE, "99", "1"), "side"),
    ("delta size huge", lambda: book().apply_delta("bid", "99", HUGE_INT), "size"),
    ("delta size -huge", lambda: book().apply_delta("bid", "99", -HUGE_INT), "size"),
    ("deltas sequence", lambda: book().apply_deltas([], sequence="1"), "sequence"),
    (
        "deltas side",
        lambda: book().apply_deltas([(LONE_SURROGATE, "1", "1")]),
        r"deltas\[0\]\.side",
    ),
    ("clear timestamp", lambda: book().clear(timestamp_ns=-1), "timestamp_ns"),
    ("levels n", lambda: book().levels("bid", -1), "n"),
    ("levels side", lambda: book().levels(None), "side"),
    ("level_count side", lambda: book().level_count(b"bid"), "side"),
    ("truncate -1", lambda: book().truncate(-1), "depth"),
    ("depth bps str", lambda: book().depth_within_bps("bid", "ten"), "bps"),
    ("depth bps huge", lambda: book().depth_within_bps("bid", HUGE_INT), "bps"),
    ("walk side", lambda: book().walk(1), "side"),
    ("walk quantity surrogate", lambda: book().walk("buy", LONE_SURROGATE), "quantity"),
    ("walk notional huge", lambda: book().walk("buy", notional=HUGE_INT), "notional"),
    (
        "from_floats price str",
        lambda: sor.OrderBook.from_floats([("1", 1.0)], [], 2, 2),
        r"bids\[0\]\.price",
    ),
    (
        "from_floats sequence",
        lambda: sor.OrderBook.from_floats([], [], 2, 2, sequence=-1),
        "sequence",
    ),
    ("from_floats levels", lambda: sor.OrderBook.from_floats(5, [], 2, 2), "bids"),
    # Costs and fees
    ("cost fee str", lambda: book().cost("buy", "1", "ten"), "taker_fee_bps"),
    ("cost fee huge", lambda: book().cost("buy", "1", HUGE_INT), "taker_fee_bps"),
    ("cost fee surrogate", lambda: book().cost("buy", "1", LONE_SURROGATE), "taker_fee_bps"),
    ("execution_cost walk", lambda: sor.execution_cost("walk", 1.0), "walk"),
    # Scoring
    ("Weights huge", lambda: sor.Weights(latency=HUGE_INT), "latency"),
    ("Weights bool", lambda: sor.Weights(reliability=True), "reliability"),
    ("score rows", lambda: sor.score("abc"), "factors"),
    ("score item", lambda: sor.score([(1.0, "x", 1.0, 1.0)]), r"factors\[0\]\[1\]"),
    ("score weights", lambda: sor.score([], weights=0.5), "weights"),
    ("rank books", lambda: sor.rank_venues([1], "buy", "1", [0], [1.0], [1.0]), r"books\[0\]"),
    (
        "rank latency",
        lambda: sor.rank_venues([book()], "buy", "1", [0], ["1"], [1.0]),
        r"latencies_ms\[0\]",
    ),
    (
        "rank slippage",
        lambda: sor.rank_venues([book()], "buy", "1", [0], [1.0], [1.0], max_slippage_bps="x"),
        "max_slippage_bps",
    ),
    # Allocation
    ("VenueRules fee huge", lambda: sor.VenueRules(taker_fee_bps=HUGE_INT), "taker_fee_bps"),
    ("allocate rules", lambda: sor.allocate([book()], "buy", "1", [None]), r"rules\[0\]"),
    ("allocate books", lambda: sor.allocate(book(), "buy", "1", []), "books"),
    (
        "allocate_many quantities",
        lambda: sor.allocate_many([book()], "buy", "1", [sor.VenueRules()]),
        "quantities",
    ),
    ("walk_many side", lambda: sor.walk_many([book()], "hold", ["1"]), "side"),
    # The router's screen
    ("screen now_ns", lambda: screen(now_ns=-1), "now_ns"),
    ("screen max_age_ns", lambda: screen(max_age_ns=HUGE_INT), "max_age_ns"),
    ("screen ratio", lambda: screen(min_liquidity_ratio="0"), "min_liquidity_ratio"),
    ("screen caps", lambda: screen(balance_caps="1"), "balance_caps"),
    ("screen latencies", lambda: screen(latencies_ms=[None]), r"latencies_ms\[0\]"),
    ("screen slippage", lambda: screen(max_slippage_bps=None), "max_slippage_bps"),
    (
        "screen_set venues",
        lambda: _core.screen_set([book()], "buy", "1", None, None, 1.0, None, 0.0, 0, 1),
        "venues",
    ),
    (
        "screen_set now_ns",
        lambda: _core.screen_set(venue_set(), "buy", "1", None, None, 1.0, None, 0.0, -1, 1),
        "now_ns",
    ),
    ("screen_batch requests", lambda: _core.screen_batch([("x",)], 0, 1), r"requests\[0\]"),  # type: ignore[list-item]
    ("screen_batch now_ns", lambda: _core.screen_batch([], "0", 1), "now_ns"),
    ("VenueSet rules", lambda: _core.VenueSet([book()], [1], [1.0], [1.0]), r"rules\[0\]"),
    ("Screen.candidate", lambda: screen().candidate(-1), "index"),
    ("Screen.has_best_price", lambda: screen().has_best_price(2**70), "index"),
    # Payload parsers
    (
        "parser markets",
        lambda: _core.BinanceDepthParser([("BTCUSDT", "BTC/USDT", 2, 8)]),
        "markets",
    ),
    (
        "parser decimals",
        lambda: _core.OkxBooksParser({"BTC-USDT": ("BTC/USDT", -1, 8)}),
        r'markets\["BTC-USDT"\]\.price_decimals',
    ),
    ("parser payload", lambda: _core.BybitOrderbookParser({}).parse("{}"), "payload"),
    ("split_sides", lambda: _core.split_sides([]), "changes"),
]


@pytest.mark.parametrize(("call", "field"), [pytest.param(c, f, id=i) for i, c, f in BAD_ARGUMENTS])
def test_every_bad_argument_raises_invalid_input_naming_it(call: Call, field: str) -> None:
    with pytest.raises(sor.InvalidInput, match=rf"^{field}: ") as info:
        call()
    assert len(str(info.value)) < 300


def test_apply_snapshot_with_a_negative_sequence_is_refused_and_changes_nothing() -> None:
    b = book()
    before = b.copy()
    with pytest.raises(sor.InvalidInput, match=r"^sequence: must be an int between 0 and "):
        b.apply_snapshot(*snapshot_args(b), sequence=-1)
    assert b == before
    assert (b.sequence, b.version) == (before.sequence, before.version)


def test_a_huge_int_is_refused_as_too_large_without_printing_it() -> None:
    with pytest.raises(sor.InvalidInput, match=r"^price: an int of 16610 bits is too large$"):
        book().price_to_ticks(HUGE_INT)
    with pytest.raises(sor.InvalidInput, match=r"^sequence: .*got an int of 16610 bits$"):
        book().apply_snapshot([], [], sequence=HUGE_INT)


def test_numpy_integers_still_pass_as_ints() -> None:
    import numpy as np

    b = book()
    b.apply_snapshot(*snapshot_args(b), sequence=np.uint64(7))
    assert b.sequence == 7
    assert len(b.levels("ask", np.int64(1))) == 1


# ------------------------------------------------------------------------------------------------
# The decimal parser: exact or refused


def test_a_long_mantissa_with_a_negative_exponent_is_refused_not_rounded() -> None:
    # 1 + 1.2e-38: not representable at 5 decimals (it used to give 100 ticks, i.e. 1).
    text = "1000000000000000000000000000000000000012e-39"
    with pytest.raises(sor.InvalidInput, match=r"^price: .*beyond 2 decimal places"):
        sor.OrderBook(2, 5).price_to_ticks(text)
    with pytest.raises(sor.InvalidInput, match=r"^quantity: "):
        sor.allocate([book()], "buy", text, [sor.VenueRules()])


U64_MAX = 2**64 - 1


@given(
    digits=st.text("0123456789", min_size=1, max_size=60),
    point=st.integers(0, 60),
    exponent=st.integers(-70, 70),
    decimals=st.integers(0, 18),
)
def test_the_parser_returns_the_exact_value_or_refuses(
    digits: str, point: int, exponent: int, decimals: int
) -> None:
    point = min(point, len(digits))
    text = f"{digits[:point]}.{digits[point:]}e{exponent}"
    with localcontext() as ctx:
        ctx.prec = 500
        exact = Fraction(Decimal(text)) * 10**decimals
    b = sor.OrderBook(decimals, 0)
    if exact.denominator != 1 or exact > U64_MAX:
        with pytest.raises(sor.InvalidInput, match=r"^price: "):
            b.price_to_ticks(text)
    else:
        assert b.price_to_ticks(text) == exact.numerator


# ------------------------------------------------------------------------------------------------
# Messages quote at most 40 characters of an input


def test_a_huge_input_makes_a_short_message() -> None:
    huge = "1" * 1_000_000
    with pytest.raises(sor.InvalidInput) as info:
        sor.OrderBook(2, 5).price_to_ticks(huge + ".001")
    message = str(info.value)
    assert len(message) < 150, len(message)
    assert "...(1000004 chars)" in message
    with pytest.raises(sor.InvalidInput) as info:
        book().walk(huge)
    assert len(str(info.value)) < 150


def test_python_side_messages_use_the_same_cut() -> None:
    huge = "x" * 1_000_000
    assert _core.excerpt(huge) == "x" * 40 + "...(1000000 chars)"
    assert _core.excerpt("short") == "short"
    assert quote(huge) == repr(_core.excerpt(huge))
    assert quote(HUGE_INT) == "an int of 16610 bits"
    with pytest.raises(sor.InvalidInput) as info:
        to_decimal(huge, "amount")
    assert len(str(info.value)) < 150
    assert "(1000000 chars)" in str(info.value)
    with pytest.raises(sor.InvalidInput, match=r"^amount: .* bits is too large"):
        to_float(HUGE_INT, "amount")
    with pytest.raises(sor.InvalidInput) as info:
        sor.OrderRequest(symbol="BTC/USDT", side="buy", amount=huge)
    assert len(str(info.value)) < 200


# ------------------------------------------------------------------------------------------------
# Fees (issue 9): str, Decimal, int or float; exact to 1e-4 bps; 0 <= fee < 10,000 bps


FEE_FORMS: list[object] = ["10", Decimal("10"), 10, 10.0, "10.0000", Decimal("1E+1")]


@pytest.mark.parametrize("fee", FEE_FORMS, ids=repr)
def test_every_fee_form_is_accepted_by_every_fee_argument(fee: object) -> None:
    b = book()
    want = b.cost("buy", "2", 10.0)
    assert sor.VenueRules(taker_fee_bps=fee).taker_fee_bps == 10.0
    for got in (
        b.cost("buy", "2", fee),
        sor.execution_cost(b.walk("buy", "2"), fee),
        sor.rank_venues([b], "buy", "2", [fee], [1.0], [1.0]).candidates[0].cost,
        sor.allocate([b], "buy", "2", [sor.VenueRules(taker_fee_bps=fee)]).parts[0].cost,
    ):
        assert (got.fee, got.total, got.taker_fee_bps) == (want.fee, want.total, 10.0)
    rules = sor.VenueRules(taker_fee_bps=fee)
    screened = screen(books=[b], rules=[rules], quantity="2")
    assert screened.candidates[0].cost.fee == want.fee


@pytest.mark.parametrize(
    ("fee", "reason"),
    [
        pytest.param(0.00004, "beyond 4 decimal places", id="0.00004 float"),
        pytest.param("0.00004", "beyond 4 decimal places", id="0.00004 str"),
        pytest.param(Decimal("1.23456"), "beyond 4 decimal places", id="1.23456 Decimal"),
        pytest.param(10_000, "not below 10000", id="100%"),
        pytest.param("12000.5", "not below 10000", id="above 100%"),
        pytest.param(-1, "negative", id="negative int"),
        pytest.param(-0.5, "negative", id="negative float"),
        pytest.param(float("nan"), "not finite", id="NaN"),
        pytest.param(float("inf"), "not finite", id="infinity"),
        pytest.param(True, "bool", id="bool"),
        pytest.param([10], "expected str", id="list"),
    ],
)
def test_a_fee_the_core_cannot_hold_exactly_is_refused_everywhere(fee: object, reason: str) -> None:
    b = book()
    message = rf"^taker_fee_bps: .*{reason}"
    for call in (
        lambda: sor.VenueRules(taker_fee_bps=fee),
        lambda: b.cost("buy", "1", fee),
        lambda: sor.execution_cost(b.walk("buy", "1"), fee),
    ):
        with pytest.raises(sor.InvalidInput, match=message):
            call()
    with pytest.raises(sor.InvalidInput, match=rf"^taker_fees_bps\[0\]: .*{reason}"):
        sor.rank_venues([b], "buy", "1", [fee], [1.0], [1.0])


def test_a_fee_of_a_ten_thousandth_of_a_basis_point_is_charged_exactly() -> None:
    # 100 USDT at 0.0001 bps is 1e-6 USDT (it used to round 0.00004 bps to nothing silently).
    got = book().cost("buy", "1", "0.0001")
    assert got.fee == float(Fraction(100) * Fraction(1, 10**8))
    assert got.total == float(Fraction(100) + Fraction(1, 10**6))


def test_a_ccxt_fee_fraction_reaches_the_core_exactly() -> None:
    market = Market(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        price_tick=Decimal("0.01"),
        amount_step=Decimal("0.01"),
        taker_fee=Decimal("0.00075"),  # 7.5 bps, as ccxt gives it
    )
    rules = market.rules()
    assert rules.taker_fee_bps == 7.5
    part = sor.allocate([book()], "buy", "3", [rules]).parts[0]
    notional = Fraction(300)  # 3 at 100
    assert part.cost.fee == float(notional * Fraction(75, 10**5))  # 0.225 USDT, exactly
    assert part.cost.total == float(notional * (1 + Fraction(75, 10**5)))
    with pytest.raises(sor.InvalidInput, match=r"^market.taker_fee: .*finer than 1e-8"):
        Market(
            symbol="BTC/USDT",
            base="BTC",
            quote="USDT",
            price_tick=Decimal("0.01"),
            amount_step=Decimal("0.01"),
            taker_fee=Decimal("0.000000001"),
        )


def fee_forms(units: int) -> st.SearchStrategy[object]:
    """The same fee (``units`` of 1e-4 bps) as a str, a Decimal, or an int when whole."""
    text = str(Decimal(units).scaleb(-4))
    forms: list[object] = [text, Decimal(text), Decimal(units).scaleb(-4).normalize()]
    if units % 10_000 == 0:
        forms.append(units // 10_000)
    return st.sampled_from(forms)


@pytest.mark.parametrize("side", TAKER_SIDES)
@given(book_=ref_books(), units=st.integers(0, 10**8 - 1), data=st.data())
def test_every_fee_form_gives_exactly_the_reference_cost(
    side: TakerSide, book_: RefBook, units: int, data: st.DataObject
) -> None:
    fee = data.draw(fee_forms(units))
    core = build(book_)
    lots = data.draw(st.integers(1, 3 * 10**book_.size_decimals))  # zero is refused
    quantity = render(lots, book_.size_decimals)
    want = execution_cost(walk(book_, side, quantity=lots), fee)
    for got in (core.cost(side, quantity, fee), sor.execution_cost(core.walk(side, quantity), fee)):
        assert got.fee == float(want.fee)
        assert got.total == float(want.total)
        assert Fraction(got.taker_fee_bps) == Fraction(units, 10**4) or got.taker_fee_bps == float(
            Fraction(units, 10**4)
        )


def test_fee_rule_is_documented_in_the_stub_and_readme() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    stub = (root / "python/sor/_core.pyi").read_text()
    assert re.search(r"BpsLike: TypeAlias = str \| Decimal \| int \| float", stub)
    readme = (root / "README.md").read_text()
    assert "exact to 1e-4 bps" in readme


def test_payload_errors_quote_at_most_forty_characters_of_the_payload() -> None:
    huge = "X" * 1_000_000
    parser = _core.BinanceDepthParser({"BTCUSDT": ("BTC/USDT", 2, 8)})
    payloads = [
        # An unknown symbol, and a huge string where a number is expected.
        f'{{"e":"depthUpdate","s":"{huge}","U":1,"u":2,"b":[],"a":[]}}',
        f'{{"e":"depthUpdate","s":"BTCUSDT","U":"{huge}","u":2,"b":[],"a":[]}}',
        f'{{"e":"depthUpdate","s":"BTCUSDT","U":1,"u":2,"b":[["{huge}","1"]],"a":[]}}',
    ]
    for payload in payloads:
        with pytest.raises(sor.InvalidInput) as info:
            parser.parse(payload.encode())
        assert len(str(info.value)) < 200, str(info.value)[:300]
    okx = _core.OkxBooksParser({"BTC-USDT": ("BTC/USDT", 1, 8)})
    with pytest.raises(sor.InvalidInput) as info:
        okx.parse(f'{{"arg":{{"channel":"books","instId":"{huge}"}},"action":"snapshot"}}'.encode())
    assert len(str(info.value)) < 200


def test_order_and_market_messages_quote_at_most_forty_characters() -> None:
    huge = "Y" * 1_000_000
    with pytest.raises(sor.InvalidInput) as info:
        sor.OrderRequest(symbol=huge, side="buy", amount="1")
    assert len(str(info.value)) < 200
    with pytest.raises(sor.InvalidInput) as info:
        Market.from_ccxt({"symbol": huge, "precision": {}, "taker": 0.001})
    assert len(str(info.value)) < 200
