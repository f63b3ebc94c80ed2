"""The service's logs: text or one JSON object per line, through the standard ``logging``.

Nothing sor logs holds a secret: requests are logged by method, path and status (never a
header or a body), and settings are never logged. :func:`log_config` is the ``logging`` dict
configuration uvicorn takes (its own loggers included), so every line has the same shape.
"""

from __future__ import annotations

import json
import logging
import time

__all__ = ["JsonFormatter", "log_config"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the
    exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(json_lines: bool, level: str = "INFO") -> dict[str, object]:
    """The ``logging.config.dictConfig`` configuration for sor and uvicorn."""
    formatter: dict[str, object] = (
        {"()": JsonFormatter}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    loggers = {
        name: {"handlers": ["default"], "level": level, "propagate": False}
        for name in ("sor", "uvicorn", "uvicorn.error", "uvicorn.access")
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": loggers,
    }
