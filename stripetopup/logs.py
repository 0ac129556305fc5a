"""Logging setup for the server and CLI: text or JSON lines, with secrets redacted."""

from __future__ import annotations

import json
import logging
import sys

from stripetopup.redact import redact


class RedactingFilter(logging.Filter):
    """Last line of defence: render the message now and scrub anything secret-shaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Per-request lines from HTTP clients (the SDK's, the emulator's deliveries) are noise.
    logging.getLogger("httpx").setLevel(logging.WARNING)
