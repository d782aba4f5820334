"""Logging, set up once for every command: text lines, or one JSON object a line
(`INBOXD_LOG_FORMAT=json`), each carrying the id of the HTTP request that caused it.

The request id lives in a context variable that the request middleware sets for the whole
request (`api.middleware.RequestMiddleware`); tasks started during the request copy it, so
their lines carry it too. A filter on the handler adds it to every record, whichever logger made
it. Access lines (`inboxd.access`) add `route`, `method`, `status` and `duration_ms`.

Secrets never reach a line: the access line names the route template, not the path (public file
links hold their token in the path) nor the query (Meta's verification handshake sends the verify
token there); httpx's per-request INFO lines, which print whole URLs (a customer's webhook URL
may carry a key), are kept at WARNING.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("inboxd_request_id", default=None)

# Extra fields an access line carries (logging's `extra=`), in the order they are written.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")
# Loggers whose INFO lines print full URLs.
QUIET_LOGGERS = ("httpx", "httpcore")
FORMATS = ("text", "json")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        seconds = record.created
        out: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            out["request_id"] = request_id
        for name in ACCESS_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def setup_logging(level: str, fmt: str = "text") -> None:
    """Configure the root logger (replacing any handler), for the given level and format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
