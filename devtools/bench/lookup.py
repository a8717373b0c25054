"""Lookup of 500 ids, half of them captured, against one single capture: p50s interleaved in one run."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping
from typing import Any

from devtools.bench.batch import _single
from devtools.bench.bulk import GENEROUS, connect, exchange, ratio
from devtools.bench.context import Measurement, Run
from devtools.bench.report import p, table
from devtools.bench.stats import summarize
from devtools.samples import tweet_body, tweet_id

IDS = 500
RATIO_TARGET = 3.0


def _seed(run: Run, token: str, count: int) -> list[str]:
    """Capture `count` tweets in batches of 100; their ids."""
    server = run.serve("capture_batch", **GENEROUS)
    tweets = [tweet_body() for _ in range(count)]
    with contextlib.closing(connect(server.port)) as connection:
        for start in range(0, count, 100):
            exchange(connection, "POST", "/", token, {"tweets": tweets[start : start + 100]})
    run.stop(server)
    return [t["tweetId"] for t in tweets]


def measure(run: Run) -> None:
    """Lookups of 500 ids (250 captured) alternating with single captures."""
    token = run.register_account()["accessToken"]
    ids = _seed(run, token, IDS // 2) + [tweet_id() for _ in range(IDS - IDS // 2)]
    random.shuffle(ids)
    single_server, lookup_server = run.serve("capture", **GENEROUS), run.serve("lookup")
    single, looked = connect(single_server.port), connect(lookup_server.port)

    def lookup() -> float:
        elapsed, body = exchange(looked, "POST", "/", token, {"tweetIds": ids})
        found = sum(1 for entry in body["tweets"].values() if entry["status"] != "absent")
        if found != IDS // 2:
            raise RuntimeError(f"lookup found {found} of {IDS // 2}")
        return elapsed

    samples: dict[str, list[float]] = {"single": [], "lookup": []}
    with contextlib.closing(single), contextlib.closing(looked):
        for _ in range(5):
            _single(single, token)
            lookup()
        deadline = time.monotonic() + 120
        while len(samples["lookup"]) < run.plan.lookups and time.monotonic() < deadline:
            samples["single"].append(_single(single, token))
            samples["lookup"].append(lookup())
    single_ms, lookup_ms = summarize(samples["single"]), summarize(samples["lookup"])
    run.results["lookup"] = {
        "ids": IDS,
        "captured": IDS // 2,
        "single_ms": single_ms,
        "lookup_ms": lookup_ms,
        "ratio": ratio(p(lookup_ms), p(single_ms)),
    }


def render(results: Mapping[str, Any]) -> list[str]:
    """The lookup section of the report."""
    figures = results.get("lookup")
    if not figures:
        return []
    rows = [
        [label, *(p(figures[key], k) for k in ("n", "p50", "p95", "p99"))]
        for label, key in (("single capture", "single_ms"), (f"lookup of {figures['ids']} ids", "lookup_ms"))
    ]
    value = figures["ratio"]
    verdict = "-" if value is None else ("met" if value <= RATIO_TARGET else "NOT met")
    return [
        f"\n== 7. Lookup of {figures['ids']} ids ({figures['captured']} captured) vs single capture, interleaved ==",
        table(["", "n", "p50", "p95", "p99"], rows),
        f"  lookup p50 / single capture p50 = {value} (target <= {RATIO_TARGET}: {verdict})",
    ]


MEASUREMENT = Measurement(phases=(("lookup", measure),), render=render)
