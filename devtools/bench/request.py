"""HTTP requests to a function process, and what the process logged about them."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import requests

from devtools.bench.context import ORIGIN, PROJECT
from devtools.samples import scheduler_tick


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request to a function and the answer that counts as success."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    expect: int
    expect_fields: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def json_post(
        body: dict[str, Any], expect: int, path: str = "/", token: str | None = None, **fields: Any
    ) -> RequestSpec:
        """A JSON POST as the extension sends it; a success only with `fields` in the answer."""
        headers = {"Content-Type": "application/json", "Origin": ORIGIN}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return RequestSpec("POST", path, headers, json.dumps(body), expect, fields)

    def send(self, base_url: str, session: requests.Session | None = None, timeout: float = 30.0) -> requests.Response:
        """Send over `session` (keep-alive) or a fresh connection."""
        sender = session or requests
        return sender.request(
            self.method, base_url + self.path, headers=self.headers, data=self.body.encode("utf-8"), timeout=timeout
        )

    def check(self, response: requests.Response) -> None:
        """Raise unless `response` is the expected success."""
        ok = response.status_code == self.expect
        if ok and self.expect_fields:
            body = response.json()
            ok = all(body.get(name) == value for name, value in self.expect_fields.items())
        if not ok:
            raise RuntimeError(f"{self.method} {self.path}: {response.status_code} {response.text[:300]}")


def tick_event() -> tuple[dict[str, str], str]:
    """A Cloud Scheduler tick as Eventarc delivers it, with a text body."""
    headers, body = scheduler_tick(PROJECT)
    return headers, body.decode("utf-8")


def server_latencies(output: str) -> list[float]:
    """Handler latencies (seconds) from a function's access log lines, in order."""
    found = []
    for line in output.splitlines():
        if not line.startswith("{") or "httpRequest" not in line:
            continue
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.append(float(json.loads(line)["httpRequest"]["latency"].rstrip("s")))
    return found
