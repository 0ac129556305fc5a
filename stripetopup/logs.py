"""Logging setup for the server and CLI: text or JSON lines, ids as fields, secrets redacted.

A log call names its ids as fields (``log.info("...", extra={"event_id": ...})``) rather than
pasting them into the message, so an operator can filter on them: the text format appends
them as ``key=value`` pairs, the JSON format as keys of their own. The web door binds the
request id of the request being served (:func:`bind_request_id`) and every line logged while
serving it carries it. A leaf module: imports ``stripetopup.redact`` only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from stripetopup.redact import redact

# The fields a line may carry, in the order the text format prints them.
FIELDS = (
    "request_id",
    "event_id",
    "event_type",
    "actor",
    "outcome",
    "account_id",
    "checkout_session_id",
    "amount_cents",
    "entry_id",
    "method",
    "path",
    "status",
    "code",
)
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:/@+-]+")
_request_id: ContextVar[str | None] = ContextVar("stripetopup_request_id", default=None)


@contextmanager
def bind_request_id(request_id: str) -> Iterator[None]:
    """Lines logged inside the block (and threads it hands work to) carry ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields that are set, in :data:`FIELDS` order."""
    return {
        name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None
    }


class RedactingFilter(logging.Filter):
    """Last line of defence: render the message now and scrub anything secret-shaped.

    Also stamps the request id being served, so every formatter sees the same fields.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        for name, value in fields_of(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _text_value(value: Any) -> str:
    text = str(value)
    return text if _PLAIN_VALUE.fullmatch(text) else json.dumps(text)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` (values with spaces are quoted)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields_of(record).items())
        return f"{line} {pairs}" if pairs else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and each field as a key."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        return json.dumps(line)


def configure_logging(
    log_format: str = "text", level: str = "INFO", stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Per-request lines from HTTP clients (the SDK's, the emulator's deliveries) are noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
