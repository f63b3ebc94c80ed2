"""The API's models follow sor's own types: an order body has exactly the fields of
``OrderRequest``, with its defaults, and builds the same order."""

from __future__ import annotations

import dataclasses
import inspect
from decimal import Decimal

from sor import OrderRequest
from sor.service.models import OrderBody


def test_an_order_body_has_the_fields_and_defaults_of_order_request() -> None:
    fields = [f.name for f in dataclasses.fields(OrderRequest)]
    assert list(OrderBody.model_fields) == fields
    signature = inspect.signature(OrderRequest.__init__).parameters
    for name, field in OrderBody.model_fields.items():
        default = signature[name].default
        if default is inspect.Parameter.empty:
            assert field.is_required(), name
        else:
            assert field.default == default, name


def test_a_body_builds_the_order_sor_would() -> None:
    body = OrderBody.model_validate(
        {
            "symbol": "ETH/USDT",
            "side": "sell",
            "amount": Decimal("1.25"),
            "order_type": "limit",
            "limit_price": "3000.5",
            "strategy": "split",
            "max_slippage_bps": 25,
            "preferred_exchanges": ["okx"],
            "excluded_exchanges": ["kraken"],
            "client_id": "desk-7",
        }
    )
    assert body.order() == OrderRequest(
        "ETH/USDT",
        "sell",
        "1.25",
        order_type="limit",
        limit_price="3000.5",
        strategy="split",
        max_slippage_bps=25,
        preferred_exchanges=["okx"],
        excluded_exchanges=["kraken"],
        client_id="desk-7",
    )
