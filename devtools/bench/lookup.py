"""Lookup of 500 ids, half of them captured, against the raw batched read of the same documents, interleaved."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping
from typing import Any

from devtools.bench import floor
from devtools.bench.batch import _single
from devtools.bench.bulk import GENEROUS, connect, exchange, ratio
from devtools.bench.context import DATABASE, Measurement, Run
from devtools.bench.report import p, table
from devtools.bench.stats import summarize
from devtools.samples import tweet_body, tweet_id

IDS = 500


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
    """Lookups of 500 ids (250 captured), the raw batched read of their documents and single captures, in turn."""
    from shared import clients
    from shared.db import TWEETS, dedup_key
    from shared.tweets.likes import _STATUS_FIELDS

    account = run.register_account()
    token = account["accessToken"]
    ids = _seed(run, token, IDS // 2) + [tweet_id() for _ in range(IDS - IDS // 2)]
    random.shuffle(ids)
    single_server, lookup_server = run.serve("capture", **GENEROUS), run.serve("lookup", **GENEROUS)
    single, looked = connect(single_server.port), connect(lookup_server.port)
    run.use_backends_in_process(DATABASE)
    db = clients.firestore_client()
    refs = [db.collection(TWEETS).document(dedup_key(account["userId"], i)) for i in ids]

    def lookup() -> float:
        elapsed, body = exchange(looked, "POST", "/", token, {"tweetIds": ids})
        found = sum(1 for entry in body["tweets"].values() if entry["status"] != "absent")
        if found != IDS // 2:
            raise RuntimeError(f"lookup found {found} of {IDS // 2}")
        return elapsed

    def raw_read() -> float:
        started = time.perf_counter()
        found = sum(1 for snapshot in db.get_all(refs, field_paths=_STATUS_FIELDS) if snapshot.exists)
        elapsed = time.perf_counter() - started
        if found != IDS // 2:
            raise RuntimeError(f"raw read found {found} of {IDS // 2}")
        return elapsed

    samples: dict[str, list[float]] = {"single": [], "lookup": [], "floor": []}
    with contextlib.closing(single), contextlib.closing(looked):
        for _ in range(5):
            _single(single, token)
            lookup()
            raw_read()
        deadline = time.monotonic() + 120
        while len(samples["lookup"]) < run.plan.lookups and time.monotonic() < deadline:
            samples["single"].append(_single(single, token))
            samples["lookup"].append(lookup())
            samples["floor"].append(raw_read())
    figures = {f"{name}_ms": summarize(values) for name, values in samples.items()}
    run.results["lookup"] = {
        "ids": IDS,
        "captured": IDS // 2,
        **figures,
        "floor_how": floor.LOOKUP_FLOOR_HOW,
        "ratio": ratio(p(figures["lookup_ms"]), p(figures["floor_ms"])),
        "single_ratio": ratio(p(figures["lookup_ms"]), p(figures["single_ms"])),
    }


def render(results: Mapping[str, Any]) -> list[str]:
    """The lookup section of the report."""
    figures = results.get("lookup")
    if not figures:
        return []
    rows = [
        [label, *(p(figures[key], k) for k in ("n", "p50", "p95", "p99"))]
        for label, key in (
            (f"lookup of {figures['ids']} ids", "lookup_ms"),
            (f"raw batched read of {figures['ids']}", "floor_ms"),
            ("single capture", "single_ms"),
        )
    ]
    value, target = figures["ratio"], floor.LOOKUP_RATIO_TARGET
    return [
        f"\n== 7. Lookup of {figures['ids']} ids ({figures['captured']} captured) vs the raw batched read ==",
        table(["", "n", "p50", "p95", "p99"], rows),
        f"  lookup p50 / raw batched read p50 = {value} (target <= {target}: {floor.verdict(value, target)})",
        f"  (lookup p50 / single capture p50 = {figures['single_ratio']}; floor = {figures['floor_how']})",
    ]


MEASUREMENT = Measurement(phases=(("lookup", measure),), render=render)
