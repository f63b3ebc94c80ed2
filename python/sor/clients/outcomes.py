"""What an error from a venue means for the order: rejected, retry later, or outcome unknown.

Only an error that proves nothing was placed lets the order go elsewhere. Everything else is
*unknown*: the order may be live or filled, and must be looked up by its client order id before
anything else is sent for it.

- **rejected** (nothing placed; safe to go elsewhere): the venue refused the order for a reason
  of its own: ``InsufficientFunds``, ``InvalidOrder``, ``BadRequest``, ``BadSymbol``,
  ``OrderNotFound``, ``AuthenticationError`` and the rest of ccxt's ``ExchangeError`` family
  (a parsed 4xx JSON error code), and sor's own checks before sending (:class:`sor.SorError`).
- **retry** (nothing placed; retry on the same venue after a back-off): ``DDoSProtection`` and
  ``RateLimitExceeded`` (HTTP 429/418, Binance -1003, -1015), ``InvalidNonce`` (Binance -1021:
  resync the clock first, see :func:`needs_clock_resync`).
- **unknown** (look it up first): ``RequestTimeout``, ``NetworkError``, ``ExchangeNotAvailable``,
  ``OperationFailed`` (Binance -1000, -1001, -1006, -1007), a duplicate client order id (an order
  with this id exists), a plain ``ExchangeError`` not known to come from a 4xx answer, and any
  other exception.
"""

from __future__ import annotations

import ccxt

from sor._validate import StrEnum
from sor.errors import SorError

__all__ = ["ErrorOutcome", "classify_error", "needs_clock_resync"]


class ErrorOutcome(StrEnum):
    """What an error from a venue means for the order that met it."""

    REJECTED = "rejected"
    """Nothing was placed: the order may go elsewhere."""
    RETRY = "retry"
    """Nothing was placed: retry on the same venue after a back-off."""
    UNKNOWN = "unknown"
    """It may have been placed: look it up by client order id before anything else."""


#: Texts of venues' answers to a client order id already in use (the first order exists).
_DUPLICATE_ID_TEXTS = ("duplicate order sent", "duplicate clientorderid", "duplicate client")


def classify_error(error: BaseException, *, http_status: int | None = None) -> ErrorOutcome:
    """What ``error``, raised while sending an order, means for it.

    ``http_status`` is the status of the answer the error came from, when the client knows it:
    it lets a plain ``ccxt.ExchangeError`` (an error code ccxt does not map) count as a
    rejection when the venue answered 4xx, and as unknown otherwise.
    """
    if isinstance(error, ccxt.DuplicateOrderId) or _names_duplicate_id(error):
        return ErrorOutcome.UNKNOWN
    if isinstance(error, ccxt.ChecksumError):  # an order book's checksum: says nothing here
        return ErrorOutcome.UNKNOWN
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded | ccxt.InvalidNonce):
        return ErrorOutcome.RETRY
    if isinstance(error, ccxt.OperationFailed):  # timeouts, network, 5xx, venue-side failures
        return ErrorOutcome.UNKNOWN
    if type(error) is ccxt.ExchangeError:
        known_4xx = http_status is not None and 400 <= http_status < 500
        return ErrorOutcome.REJECTED if known_4xx else ErrorOutcome.UNKNOWN
    if isinstance(error, ccxt.ExchangeError):
        return ErrorOutcome.REJECTED
    if isinstance(error, SorError):  # sor's own checks refuse before anything is sent
        return ErrorOutcome.REJECTED
    return ErrorOutcome.UNKNOWN


def needs_clock_resync(error: BaseException) -> bool:
    """True if the venue refused the request's timestamp (resync the clock, then retry)."""
    return isinstance(error, ccxt.InvalidNonce) and not isinstance(error, ccxt.ChecksumError)


def _names_duplicate_id(error: BaseException) -> bool:
    if not isinstance(error, ccxt.InvalidOrder):
        return False
    text = str(error).lower()
    return any(marker in text for marker in _DUPLICATE_ID_TEXTS)
