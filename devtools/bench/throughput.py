"""Capture throughput: several clients, each its own account and keep-alive session, sharing the captures."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from devtools.bench.context import Run
from devtools.bench.report import p
from devtools.bench.request import RequestSpec
from devtools.bench.stats import run_all, summarize, timed
from devtools.samples import tweet_body


class _Tally:
    """Latencies and failures of the clients, and the captures still to send."""

    def __init__(self, captures: int, seconds: float) -> None:
        self.lock = threading.Lock()
        self.remaining: Iterator[int] = iter(range(captures))
        self.deadline = time.monotonic() + seconds
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def take(self) -> bool:
        """Whether this client should send one more capture."""
        with self.lock:
            return time.monotonic() < self.deadline and next(self.remaining, None) is not None


def _client(url: str, token: str, tally: _Tally) -> None:
    """One client: captures over its own keep-alive session until none are left."""
    with requests.Session() as session:
        while tally.take():
            spec = RequestSpec.json_post(tweet_body(), 200, token=token)
            try:
                elapsed, response = timed(lambda spec=spec: spec.send(url, session))
            except requests.RequestException as exc:
                tally.failures.append(type(exc).__name__)
                continue
            with tally.lock:
                if response.status_code == 200 and response.json().get("status") == "published":
                    tally.latencies.append(elapsed)
                else:
                    tally.failures.append(str(response.status_code))


def measure(run: Run, url: str) -> None:
    """Captures per second of `throughput_clients` clients against the capture process at `url`."""
    plan = run.plan
    tokens = [run.register_account()["accessToken"] for _ in range(plan.throughput_clients)]
    tally = _Tally(plan.throughput_captures, 120)
    threads = [threading.Thread(target=_client, args=(url, token, tally)) for token in tokens]
    wall = run_all(threads)
    run.results["throughput"] = {
        "clients": plan.throughput_clients,
        "captures": len(tally.latencies),
        "failures": len(tally.failures),
        "failure_kinds": sorted(set(tally.failures)),
        "wall_s": round(wall, 2),
        "captures_per_s": round(len(tally.latencies) / wall, 1),
        "latency_ms": summarize(tally.latencies),
    }


def render(results: Mapping[str, Any]) -> list[str]:
    """The throughput line of the report."""
    tp = results.get("throughput")
    if not tp:
        return []
    return [
        f"  throughput: {tp['clients']} clients, {tp['captures']} captures in {tp['wall_s']} s = "
        f"{tp['captures_per_s']} captures/s (latency p50 {p(tp['latency_ms'])} ms, "
        f"p95 {p(tp['latency_ms'], 'p95')} ms; failures {tp['failures']} {tp['failure_kinds']})"
    ]
