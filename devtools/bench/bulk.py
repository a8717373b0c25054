"""Helpers shared by the batch, lookup and listing measurements: lean keep-alive calls and generous limits."""

from __future__ import annotations

import http.client
import json
from typing import Any

from devtools.bench.stats import timed

# Limits high enough that no bench request is refused for the budget (settings, passed as env overrides).
GENEROUS = {
    "RATE_LIMIT_PER_MINUTE": "100000",
    "BATCH_RATE_LIMIT_PER_MINUTE": "100000",
    "DAILY_CAPTURE_LIMIT": "10000000",
    "READ_LIMIT_PER_MINUTE": "10000000",
    "DAILY_READ_LIMIT": "100000000",
}


def exchange(
    connection: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None
) -> tuple[float, dict[str, Any]]:
    """(seconds, JSON answer) of one request over a keep-alive connection; raises unless it answers 200."""
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"

    def call() -> tuple[int, bytes]:
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            connection.close()  # the server closed an idle keep-alive connection: once more on a new one
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
        return answer.status, answer.read()

    elapsed, (status, raw) = timed(call)
    if status != 200:
        raise RuntimeError(f"{method} {path} answered {status} {raw[:200]!r}")
    return elapsed, json.loads(raw)


def connect(port: int) -> http.client.HTTPConnection:
    """A keep-alive connection to a function process on the loopback."""
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def ratio(a: float | None, b: float | None) -> float | None:
    """The ratio a / b to two decimals (None when either is missing)."""
    return None if not a or not b else round(a / b, 2)
