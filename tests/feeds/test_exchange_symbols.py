"""Every adapter finds a market by the exchange's own name for it through one index."""

from __future__ import annotations

import pytest

from sor.errors import InvalidInput
from sor.feeds import (
    BinanceSpotAdapter,
    BookMarket,
    BybitSpotAdapter,
    CoinbaseAdvancedAdapter,
    ExchangeAdapter,
    KrakenAdapter,
    OkxAdapter,
)
from sor.feeds.adapter import ExchangeSymbols


def test_names_keep_the_markets_order_and_unknown_or_non_text_names_find_nothing() -> None:
    symbols = ExchangeSymbols(["BTC/USDT", "ETH/USDT"], lambda s: s.replace("/", ""))
    assert list(symbols) == ["BTCUSDT", "ETHUSDT"]
    assert len(symbols) == 2
    assert symbols.unified("ETHUSDT") == "ETH/USDT"
    assert symbols.unified("XRPUSDT") is None
    assert symbols.unified(["BTCUSDT"]) is None
    assert symbols.unified(None) is None


def test_two_markets_the_exchange_names_alike_are_refused_naming_both() -> None:
    with pytest.raises(InvalidInput, match=r"BTC/USDT and BTC-/USDT are both BTCUSDT"):
        ExchangeSymbols(["BTC-/USDT", "BTC/USDT"], lambda s: s.replace("/", "").replace("-", ""))


@pytest.mark.parametrize(
    "adapter_class",
    [BinanceSpotAdapter, BybitSpotAdapter, CoinbaseAdvancedAdapter, KrakenAdapter, OkxAdapter],
)
def test_every_adapter_refuses_markets_its_exchange_cannot_tell_apart(
    adapter_class: type[ExchangeAdapter],
) -> None:
    # "BTC/USDT" and "btc/usdt" are two unified symbols; every exchange name is case-blind.
    markets = [BookMarket("BTC/USDT", 2, 6), BookMarket("btc/usdt", 2, 6)]
    with pytest.raises(InvalidInput, match="are both"):
        adapter_class(markets)


def test_kraken_refuses_a_legacy_code_beside_the_symbol_it_stands_for() -> None:
    with pytest.raises(InvalidInput, match=r"BTC/USD and XBT/USD are both BTC/USD"):
        KrakenAdapter([BookMarket("XBT/USD", 1, 8), BookMarket("BTC/USD", 1, 8)])
