"""Sorting venue errors into rejected / retry / unknown, on the errors ccxt's own ``binance``
class raises from Binance's real answers."""

from __future__ import annotations

import asyncio

import ccxt
import orjson
import pytest

from sor.clients import ErrorOutcome, classify_error, needs_clock_resync
from sor.errors import InvalidInput

ORDER_URL = "https://api.binance.com/api/v3/order"


def binance_error(status: int, body: dict[str, object] | None) -> Exception:
    """The exception ccxt's binance class raises for an HTTP answer (status, JSON body)."""
    exchange = ccxt.binance()
    text = "" if body is None else orjson.dumps(body).decode()
    try:
        exchange.handle_errors(status, "reason", ORDER_URL, "POST", {}, text, body, {}, "")
        exchange.handle_http_status_code(status, "reason", ORDER_URL, "POST", text)
    except Exception as error:
        return error
    raise AssertionError(f"ccxt raised nothing for {status} {text}")


@pytest.mark.parametrize(
    ("status", "code", "message", "outcome"),
    [
        (400, -2010, "Account has insufficient balance for requested action.", "rejected"),
        (400, -1013, "Filter failure: LOT_SIZE", "rejected"),
        (400, -1121, "Invalid symbol.", "rejected"),
        (400, -2013, "Order does not exist.", "rejected"),
        (401, -2015, "Invalid API-key, IP, or permissions for action.", "rejected"),
        (400, -1022, "Signature for this request is not valid.", "rejected"),
        (429, -1003, "Too many requests.", "retry"),
        (418, -1003, "Way too many requests; IP banned.", "retry"),
        (400, -1015, "Too many new orders.", "retry"),
        (400, -1021, "Timestamp for this request is outside of the recvWindow.", "retry"),
        (500, -1000, "An unknown error occurred while processing the request.", "unknown"),
        (500, -1001, "Internal error; unable to process your request.", "unknown"),
        (500, -1006, "Unexpected response from the message bus.", "unknown"),
        (500, -1007, "Timeout waiting for response from backend server.", "unknown"),
        # A client order id already in use: the first order exists and must be looked up.
        (400, -2010, "Duplicate order sent.", "unknown"),
    ],
)
def test_binance_answers_sort_into_the_three_outcomes(
    status: int, code: int, message: str, outcome: str
) -> None:
    error = binance_error(status, {"code": code, "msg": message})
    assert classify_error(error, http_status=status) is ErrorOutcome(outcome)
    assert classify_error(error) is ErrorOutcome(outcome)


def test_a_5xx_without_a_code_is_unknown() -> None:
    error = binance_error(503, None)
    assert isinstance(error, ccxt.ExchangeNotAvailable)
    assert classify_error(error, http_status=503) is ErrorOutcome.UNKNOWN


def test_an_unmapped_code_is_a_rejection_only_when_the_answer_was_4xx() -> None:
    error = binance_error(400, {"code": -9999, "msg": "something new"})
    assert type(error) is ccxt.ExchangeError
    assert classify_error(error, http_status=400) is ErrorOutcome.REJECTED
    assert classify_error(error, http_status=502) is ErrorOutcome.UNKNOWN
    assert classify_error(error) is ErrorOutcome.UNKNOWN


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ccxt.RequestTimeout("t"), "unknown"),
        (ccxt.NetworkError("n"), "unknown"),
        (ccxt.ExchangeNotAvailable("x"), "unknown"),
        (ccxt.OnMaintenance("m"), "unknown"),
        (ccxt.BadResponse("b"), "unknown"),
        (ccxt.DuplicateOrderId("d"), "unknown"),
        (ccxt.ChecksumError("c"), "unknown"),
        (asyncio.TimeoutError(), "unknown"),
        (ConnectionResetError(), "unknown"),
        (RuntimeError("anything else"), "unknown"),
        (ccxt.DDoSProtection("d"), "retry"),
        (ccxt.RateLimitExceeded("r"), "retry"),
        (ccxt.InvalidNonce("n"), "retry"),
        (ccxt.InsufficientFunds("f"), "rejected"),
        (ccxt.InvalidOrder("o"), "rejected"),
        (ccxt.BadRequest("b"), "rejected"),
        (ccxt.BadSymbol("s"), "rejected"),
        (ccxt.OrderNotFound("o"), "rejected"),
        (ccxt.AuthenticationError("a"), "rejected"),
        (ccxt.MarketClosed("m"), "rejected"),
        (InvalidInput("amount: below the minimum"), "rejected"),
    ],
)
def test_each_error_class_has_one_outcome(error: BaseException, outcome: str) -> None:
    assert classify_error(error) is ErrorOutcome(outcome)


def test_only_a_refused_timestamp_asks_for_a_clock_resync() -> None:
    assert needs_clock_resync(binance_error(400, {"code": -1021, "msg": "Timestamp outside"}))
    assert not needs_clock_resync(ccxt.ChecksumError("book checksum"))
    assert not needs_clock_resync(ccxt.RateLimitExceeded("slow down"))
