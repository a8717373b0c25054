"""Structured JSON logs on stdout, in the shape Cloud Logging reads.

One line per event with `severity`, `message`, the function's name and, when the
request carried one, `logging.googleapis.com/trace`. Nothing here logs request
bodies or headers; a last-resort filter masks anything shaped like a token.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "tweet_capture"
_trace: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("trace", default=None)
_configured = threading.Lock()
_ready = False

# JWTs (three base64url parts) and our refresh tokens ("rt1.<id>.<secret>").
_SECRET_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}|rt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
)


def redact(text: str) -> str:
    """Mask anything shaped like an access or refresh token."""
    return _SECRET_SHAPES.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """Format a record as one Cloud Logging JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line for `record`."""
        entry: dict[str, Any] = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": redact(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "function": os.environ.get("K_SERVICE") or os.environ.get("FUNCTION_TARGET", ""),
            "logger": record.name,
        }
        trace = _trace.get()
        if trace:
            entry.update(trace)
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            entry["message"] = f"{entry['message']}\n{redact(text)}"
        # Fields too: a token-shaped value must not reach the log through an error string.
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def get_logger() -> logging.Logger:
    """The service logger, writing JSON lines to stdout (configured once)."""
    global _ready
    logger = logging.getLogger(LOGGER_NAME)
    if not _ready:
        with _configured:
            if not _ready:
                handler = logging.StreamHandler(sys.stdout)
                handler.setFormatter(JsonFormatter())
                logger.addHandler(handler)
                logger.propagate = False
                logger.setLevel(logging.INFO)
                _ready = True
    return logger


def set_level(level: str) -> None:
    """Apply LOG_LEVEL: events below it are dropped."""
    logger = get_logger()
    if logging.getLevelName(logger.level) != level:
        logger.setLevel(level)


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one structured event; `fields` become top-level JSON keys."""
    get_logger().log(logging.getLevelName(severity), message, extra={"fields": fields})


def parse_trace(header: str | None, traceparent: str | None, project_id: str) -> dict[str, str]:
    """Cloud Logging trace fields from X-Cloud-Trace-Context or W3C traceparent."""
    trace_id = span_id = ""
    sampled = False
    if header:
        match = re.fullmatch(r"([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?", header.strip())
        if match:
            trace_id, span_id, sampled = match[1], match[2] or "", match[3] == "1"
    elif traceparent:
        match = re.fullmatch(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", traceparent.strip())
        if match:
            trace_id, span_id, sampled = match[1], match[2], int(match[3], 16) & 1 == 1
    if not trace_id or not project_id:
        return {}
    fields = {"logging.googleapis.com/trace": f"projects/{project_id}/traces/{trace_id}"}
    if span_id:
        fields["logging.googleapis.com/spanId"] = span_id
    fields["logging.googleapis.com/trace_sampled"] = sampled  # type: ignore[assignment]
    return fields


def bind_trace(fields: dict[str, str]) -> contextvars.Token:
    """Attach trace fields to every log line of the current request."""
    return _trace.set(fields or None)


def unbind_trace(token: contextvars.Token) -> None:
    """Forget the current request's trace fields."""
    _trace.reset(token)
