"""The service's section of the settings: where ``sor serve`` listens and who may execute."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from sor._validate import to_int
from sor.errors import InvalidInput

__all__ = ["ServiceSettings"]


@dataclass(frozen=True)
class ServiceSettings:
    """How ``sor serve`` runs.

    - ``host`` and ``port``: where it listens; ``127.0.0.1`` by default, so nothing off the
      machine reaches it unless asked for;
    - ``token``: what ``POST /api/execute`` requires as ``Authorization: Bearer <token>``
      (``$SOR_API_TOKEN`` when it is not set here); without one, execution over HTTP is refused.
      It is never shown: not in a repr, an error, a response or a log;
    - ``log_json``: one JSON object per log line instead of text;
    - ``access_log``: a log line per request (client, method, path, status; never a header, a
      query string or a body), written in batches at most a quarter of a second late;
    - ``exchanges``: the exchanges to trade on, comma-separated (``"binance,okx"``; each needs
      its credentials in ``$SOR_<EXCHANGE>_API_KEY`` / ``_SECRET`` / ``_PASSWORD``); empty, the
      default: the five embedded simulators. With ``sor serve --paper``, these exchanges' live
      public books with simulated fills (all five when empty);
    - ``symbols``: the markets to keep live on them, comma-separated.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)
    log_json: bool = False
    access_log: bool = True
    exchanges: str = ""
    symbols: str = "BTC/USDT"

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not _is_host(self.host):
            raise InvalidInput("host: expected an IP address or a host name such as 127.0.0.1")
        to_int(self.port, "port", low=0, high=65_535)
        if self.token is not None and (not isinstance(self.token, str) or len(self.token) < 16):
            raise InvalidInput("token: expected a string of at least 16 characters")
        for name in ("log_json", "access_log"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name}: expected true or false")
        for name in ("exchanges", "symbols"):
            if not isinstance(getattr(self, name), str):
                raise InvalidInput(f"{name}: expected a comma-separated string")
        if not self.symbol_list:
            raise InvalidInput("symbols: expected at least one symbol, such as 'BTC/USDT'")

    @property
    def exchange_list(self) -> list[str]:
        """``exchanges`` as a list (empty: the embedded simulators)."""
        return _items(self.exchanges)

    @property
    def symbol_list(self) -> list[str]:
        """``symbols`` as a list."""
        return _items(self.symbols)


def _items(text: str) -> list[str]:
    return list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return 0 < len(host) <= 253 and all(
            0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            for label in labels
        )
    return True
