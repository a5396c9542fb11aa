"""The server's log on stderr: text lines (the default) or one JSON object a line
(`--log-format json`, for a log collector), and what every line written while a request is
answered knows of it: its ID (also the answer's X-Request-ID header) and its account.

The request's facts are a context variable, so that the lines of the worker thread a request
hands its work to carry them too; the access log's line (api/middleware.py) adds its own
fields, which only the JSON format shows: the text format stays as it always was.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's own coloured copy of its messages is not a field of the line.
_NOT_FIELDS = (*RESERVED_ATTRS, "color_message", "taskName")


@dataclass
class RequestFacts:
    """What a log line may tell of the request being answered; the account once known."""

    id: str
    account: str | None = None


current_request: ContextVar[RequestFacts | None] = ContextVar("opensan_request", default=None)


def note_account(account: str) -> None:
    """The request being answered is this account's (its session was authenticated)."""
    facts = current_request.get()
    if facts is not None:
        facts.account = account


class _RequestId(logging.Filter):
    """Puts the request's ID on every record written while it is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        facts = current_request.get()
        if facts is not None and not hasattr(record, "request_id"):
            record.request_id = facts.id
        return True


def handler(log_format: LogFormat, stream: IO[str]) -> logging.Handler:
    """Lines on stream: text, or JSON objects of time (ISO 8601, UTC), level, logger and
    message, then the record's own fields (a request's ID while it is answered)."""
    lines = logging.StreamHandler(stream)
    if log_format == "json":
        lines.setFormatter(JsonFormatter(
            "{levelname}{name}{message}", style="{", timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"}, reserved_attrs=_NOT_FIELDS))
        lines.addFilter(_RequestId())
    else:
        lines.setFormatter(logging.Formatter(TEXT_FORMAT))
    return lines


def configure(level: str, log_format: LogFormat) -> dict[str, Any] | None:
    """Sets up the root logger on stderr; answers the log_config uvicorn is to take: its
    default (its own text lines) for text, None for JSON, so that its loggers pass their
    records on to the root's JSON lines."""
    logging.basicConfig(level=level.upper(), handlers=[handler(log_format, sys.stderr)])
    if log_format == "json":
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG
