"""The log formatter's last-resort redaction covers every part of a line, not only the message."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from shared.accounts import tokens
from shared.logs import JsonFormatter
from tests.support import JWT_KEY

ACCESS_TOKEN = tokens.create_access_token("user-1", JWT_KEY, datetime.now(UTC), 60)
REFRESH_TOKEN = tokens.derive_refresh_token(JWT_KEY, tokens.new_session_id(), tokens.new_seed())


def _line(message: str, **fields: object) -> str:
    record = logging.LogRecord("tweet_capture", logging.WARNING, __file__, 1, message, None, None)
    record.fields = fields
    return JsonFormatter().format(record)


def test_tokens_in_the_message_are_masked() -> None:
    """A token inside the message text is replaced by a marker."""
    line = _line(f"failed with {ACCESS_TOKEN} and {REFRESH_TOKEN}")
    assert ACCESS_TOKEN not in line and REFRESH_TOKEN.rsplit(".", 1)[1] not in line
    assert json.loads(line)["message"] == "failed with [redacted] and [redacted]"


def test_tokens_in_structured_fields_are_masked() -> None:
    """A token inside a structured field (an error string, a nested value) is masked and the line stays JSON."""
    line = _line("publish failed", error=f"bad {REFRESH_TOKEN}", nested={"token": ACCESS_TOKEN}, count=3)
    assert ACCESS_TOKEN not in line and REFRESH_TOKEN.rsplit(".", 1)[1] not in line
    entry = json.loads(line)
    assert entry["error"] == "bad [redacted]"
    assert entry["nested"] == {"token": "[redacted]"}
    assert entry["count"] == 3


def test_log_level_setting_filters_events() -> None:
    """LOG_LEVEL=WARNING drops INFO events such as access lines; INFO brings them back."""
    from shared.logs import get_logger, set_level

    set_level("WARNING")
    try:
        assert not get_logger().isEnabledFor(logging.INFO)
        assert get_logger().isEnabledFor(logging.WARNING)
    finally:
        set_level("INFO")
    assert get_logger().isEnabledFor(logging.INFO)
