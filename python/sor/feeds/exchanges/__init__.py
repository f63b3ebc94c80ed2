"""One market-data adapter per exchange (its websocket protocol, sequence rule and checksum):
Binance spot, Bybit v5 spot, Coinbase Advanced Trade, Kraken v2 and OKX v5. The adapters are
re-exported by :mod:`sor.feeds`."""
