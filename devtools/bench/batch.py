"""Batch capture against its raw outbox floor and single capture: p50s interleaved, op counts, throughput."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

from devtools import opscenarios
from devtools.apps import function_client
from devtools.bench import floor
from devtools.bench.bulk import GENEROUS, connect, exchange, ratio
from devtools.bench.context import DATABASE, PROJECT, TOPIC, Measurement, Run
from devtools.bench.opcounts import _setenv
from devtools.bench.report import p, table
from devtools.bench.stats import run_all, summarize
from devtools.samples import tweet_body

SIZE = 100
OPS_DATABASE = "bench-batch-ops"


def _batch(connection: Any, token: str) -> float:
    """Seconds of one batch of SIZE new tweets; raises unless every item was published."""
    elapsed, body = exchange(connection, "POST", "/", token, {"tweets": [tweet_body() for _ in range(SIZE)]})
    if body["summary"]["published"] != SIZE:
        raise RuntimeError(f"batch summary {body['summary']}")
    return elapsed


def _single(connection: Any, token: str) -> float:
    """Seconds of one published single capture."""
    elapsed, body = exchange(connection, "POST", "/", token, tweet_body())
    if body.get("status") != "published":
        raise RuntimeError(f"capture answered {body}")
    return elapsed


def latency(run: Run) -> None:
    """Batches of 100, their raw outbox floor and single captures, in turn, each over its own keep-alive connection."""
    from shared import clients
    from shared.tweets.publish import topic_path

    single_server = run.serve("capture", **GENEROUS)
    batch_server = run.serve("capture_batch", **GENEROUS)
    account = run.register_account()
    token = account["accessToken"]
    run.use_backends_in_process(DATABASE, **GENEROUS)
    db, topic = clients.firestore_client(), topic_path(PROJECT, TOPIC)
    single, batch = connect(single_server.port), connect(batch_server.port)
    samples: dict[str, list[float]] = {"single": [], "batch": [], "floor": []}
    with contextlib.closing(single), contextlib.closing(batch):
        for _ in range(5):
            _single(single, token)
            _batch(batch, token)
            floor.batch_floor(db, topic, account["userId"], SIZE)
        deadline = time.monotonic() + 150
        while len(samples["batch"]) < run.plan.batches and time.monotonic() < deadline:
            samples["single"].append(_single(single, token))
            samples["batch"].append(_batch(batch, token))
            samples["floor"].append(floor.batch_floor(db, topic, account["userId"], SIZE))
    figures = {f"{name}_ms": summarize(values) for name, values in samples.items()}
    run.results["batch"] = {
        "size": SIZE,
        **figures,
        "floor_how": floor.BATCH_FLOOR_HOW,
        "floor_ratio": ratio(p(figures["batch_ms"]), p(figures["floor_ms"])),
        "single_ratio": ratio(p(figures["batch_ms"]), p(figures["single_ms"])),
    }
    _throughput(run, batch_server.url)


def _throughput(run: Run, url: str) -> None:
    """Items per second of `throughput_clients` clients each sending batches of SIZE, its own account each."""
    from urllib.parse import urlsplit

    port = urlsplit(url).port or 80
    tokens = [run.register_account()["accessToken"] for _ in range(run.plan.throughput_clients)]
    lock = threading.Lock()
    remaining = [run.plan.throughput_batches]
    latencies: list[float] = []
    failures: list[str] = []

    def client(token: str) -> None:
        with contextlib.closing(connect(port)) as connection:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                try:
                    elapsed = _batch(connection, token)
                except Exception as exc:  # noqa: BLE001 - counted as a failure, the client goes on
                    failures.append(type(exc).__name__)
                    connection.close()
                    continue
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(token,)) for token in tokens]
    wall = run_all(threads)
    run.results["batch_throughput"] = {
        "clients": len(tokens),
        "batches": len(latencies),
        "items": len(latencies) * SIZE,
        "failures": len(failures),
        "failure_kinds": sorted(set(failures)),
        "wall_s": round(wall, 2),
        "items_per_s": round(len(latencies) * SIZE / wall, 1),
        "latency_ms": summarize(latencies),
    }


def op_counts(run: Run) -> None:
    """Firestore RPCs and reads/writes/deletes of a batch of 100 new tweets and of one single capture, in-process."""
    from shared import clients

    run.use_backends_in_process(OPS_DATABASE, BCRYPT_ROUNDS="4", **GENEROUS)
    counting = opscenarios.Counting.start(function_client, _setenv)
    try:
        token = opscenarios.register(counting).body["accessToken"]
        single = opscenarios.capture(counting, token, tweet_body(), "published")
        batch = opscenarios.batch(counting, token, [tweet_body() for _ in range(SIZE)])
    finally:
        clients.reset()
    run.results["batch_ops"] = {
        "single": {**single.row(), "items": 1},
        "batch": {**batch.row(), "items": SIZE, "published": batch.body.get("summary", {}).get("published")},
    }


def _ops_row(label: str, case: Mapping[str, Any]) -> list[Any]:
    items = case["items"]
    rpcs = sum(case["rpcs"].values())
    per = [round(case[k] / items, 2) for k in ("reads", "writes", "deletes")]
    detail = " ".join(f"{k}={v}" for k, v in case["rpcs"].items())
    return [label, items, rpcs, round(rpcs / items, 2), *per, detail]


def render(results: Mapping[str, Any]) -> list[str]:
    """The batch section of the report."""
    out = ["\n== 6. Batch capture (100 new tweets per batch) vs its raw outbox floor and single capture =="]
    figures = results.get("batch")
    if figures:
        rows = [
            [label, *(p(figures[key], k) for k in ("n", "p50", "p95", "p99"))]
            for label, key in (
                ("batch of 100", "batch_ms"),
                ("raw outbox floor of 100", "floor_ms"),
                ("single capture", "single_ms"),
            )
        ]
        out.append(table(["", "n", "p50", "p95", "p99"], rows))
        value, target = figures["floor_ratio"], floor.BATCH_RATIO_TARGET
        out.append(f"  batch p50 / raw outbox floor p50 = {value} (target <= {target}: {floor.verdict(value, target)})")
        out.append(f"  (batch p50 / single capture p50 = {figures['single_ratio']}; floor = {figures['floor_how']})")
    ops = results.get("batch_ops")
    if ops:
        headers = ["Firestore ops", "items", "RPCs", "RPCs/item", "reads/item", "writes/item", "deletes/item", "RPCs"]
        out.append(table(headers, [_ops_row("single capture", ops["single"]), _ops_row("batch", ops["batch"])]))
    tp, single_tp = results.get("batch_throughput"), results.get("throughput")
    if tp:
        single_rate = (single_tp or {}).get("captures_per_s")
        out.append(
            f"  batch throughput: {tp['clients']} clients, {tp['items']} items in {tp['wall_s']} s = "
            f"{tp['items_per_s']} items/s (batch p50 {p(tp['latency_ms'])} ms; failures {tp['failures']} "
            f"{tp['failure_kinds']}); single capture, {(single_tp or {}).get('clients')} clients: {single_rate} "
            f"captures/s; ratio {ratio(tp['items_per_s'], single_rate)}x"
        )
    return out if len(out) > 1 else []


MEASUREMENT = Measurement(phases=(("batch capture", latency), ("batch op counts", op_counts)), render=render)
