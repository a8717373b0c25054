"""1. Cold start of every function: process spawn to first successful response, against import baselines.

The baseline is a fresh interpreter importing the function's client libraries,
measured in the same rounds.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Mapping
from typing import Any

import requests

from devtools.bench import targets
from devtools.bench.context import TARGETS, Measurement, Run
from devtools.bench.report import p, table
from devtools.bench.request import RequestSpec, server_latencies
from devtools.bench.stats import bounded, rounded_ms, summarize, timed
from devtools.server import FunctionServer

BASELINES = {
    "python": "pass",
    "functions_framework": "import functions_framework",
    "firestore": "import google.cloud.firestore",
    "firestore+pubsub": "import google.cloud.firestore, google.cloud.pubsub_v1",
    "functions_framework+firestore": "import functions_framework, google.cloud.firestore",
    "functions_framework+firestore+pubsub": "import functions_framework, google.cloud.firestore, "
    "google.cloud.pubsub_v1",
}


def _baselines_once(run: Run) -> dict[str, float]:
    """Wall seconds of one fresh interpreter per baseline program."""
    env = {**os.environ, **run.env("")}
    return {name: run.python(["-c", program], env)[0] for name, program in BASELINES.items()}


def _first_success(server: FunctionServer, spec: RequestSpec) -> float:
    """Seconds from spawn to the first successful answer to `spec`, retried until the server listens."""
    assert server.process is not None  # noqa: S101 - spawned by the caller
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.target} exited: {server.output()[-1500:]}")
        try:
            response = spec.send(server.url)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
            continue
        cold = time.perf_counter() - server.started_at
        spec.check(response)
        return cold


def _warm_requests(run: Run, server: FunctionServer, target: str) -> list[float]:
    """Seconds of the same first request, sent again to the now warm process."""
    warm = []
    for _ in range(run.plan.warm_after_cold):
        again = targets.first_request(run, target)
        elapsed, response = timed(lambda again=again: again.send(server.url))
        again.check(response)
        warm.append(elapsed)
    return warm


def cold_once(run: Run, target: str) -> dict[str, Any]:
    """One cold start of `target`, then the same request again to the warm process."""
    spec = targets.first_request(run, target)
    server = run.server(target, targets.cold_env(run, target))
    try:
        server.spawn()
        cold = _first_success(server, spec)
        warm = _warm_requests(run, server, target)
        handler = server_latencies(server.output())
        return {"cold_s": cold, "warm_s": warm, "first_handler_s": handler[0] if handler else None}
    finally:
        run.stop(server)


def _over(value: float, base: float | None) -> float | None:
    return round(value - base, 1) if base else None


def _cold_report(target: str, samples: list[dict[str, Any]], baselines: dict[str, Any]) -> dict[str, Any]:
    """The cold-start figures of one target from its runs and the baselines of the same rounds."""
    cold = statistics.median(s["cold_s"] for s in samples) * 1000
    warm = [w for s in samples for w in s["warm_s"]]
    handlers = [s["first_handler_s"] for s in samples if s["first_handler_s"] is not None]
    base_name = targets.baseline_of(target)
    base = baselines.get(base_name, {}).get("p50")
    base_min = baselines.get(base_name, {}).get("min")
    platform_floor = baselines.get(f"functions_framework+{base_name}", {}).get("p50")
    return {
        "cold_ms": round(cold, 1),
        "cold_runs_ms": [round(s["cold_s"] * 1000, 1) for s in samples],
        "warm_same_request_ms": rounded_ms(statistics.median(warm)) if warm else None,
        "first_handler_ms": rounded_ms(statistics.median(handlers)) if handlers else None,
        "baseline": base_name,
        "baseline_ms": base,
        "over_baseline_ms": round(cold - base, 1) if base is not None else None,
        "within_target": (cold - base) <= targets.COLD_TARGET_MS if base is not None else None,
        "min_over_baseline_min_ms": round(min(s["cold_s"] for s in samples) * 1000 - base_min, 1)
        if base_min is not None
        else None,
        "functions_framework_and_clients_ms": platform_floor,
        "over_functions_framework_and_clients_ms": _over(cold, platform_floor),
    }


def cold_starts(run: Run) -> None:
    """Spawn-to-first-success per target, runs interleaved across targets."""
    runs: dict[str, list[dict[str, Any]]] = {target: [] for target in TARGETS}
    base_runs: dict[str, list[float]] = {name: [] for name in BASELINES}
    for _ in bounded(run.plan.cold_runs, 270):
        # Baselines in the same rounds as the cold starts, so load from elsewhere hits both alike.
        for name, seconds in _baselines_once(run).items():
            base_runs[name].append(seconds)
        for target in TARGETS:
            runs[target].append(cold_once(run, target))
            time.sleep(0.2)
    baselines = run.results["baselines"] = {name: summarize(values) for name, values in base_runs.items()}
    run.results["cold_start"] = {
        target: _cold_report(target, samples, baselines) for target, samples in runs.items() if samples
    }


HEADERS = [
    "target", "cold", "min", "clients", "base", "cold-base", "<=150", "min-min", "ff+base", "cold-(ff+base)",
    "1st handler", "warm",
]  # fmt: skip
LEGEND = (
    "   all ms. base: fresh `python -c 'import <clients>'` (fs = google.cloud.firestore, ps = pubsub_v1),"
    " measured in the same rounds; min-min: best cold run - best base run;\n   ff+base: base plus"
    " functions_framework; 1st handler: the first request's handler time (access log); warm: the same request again."
)


def _row(target: str, cold: Mapping[str, Any]) -> list[Any]:
    """One target's line of the cold-start table."""
    return [
        target,
        cold.get("cold_ms"),
        min(cold["cold_runs_ms"]) if cold.get("cold_runs_ms") else None,
        {"firestore": "fs", "firestore+pubsub": "fs+ps"}.get(cold.get("baseline", "")),
        cold.get("baseline_ms"),
        cold.get("over_baseline_ms"),
        {True: "yes", False: "NO"}.get(cold.get("within_target")),
        cold.get("min_over_baseline_min_ms"),
        cold.get("functions_framework_and_clients_ms"),
        cold.get("over_functions_framework_and_clients_ms"),
        cold.get("first_handler_ms"),
        cold.get("warm_same_request_ms"),
    ]


def render(results: Mapping[str, Any]) -> list[str]:
    """The baselines and section 1 of the report."""
    out = []
    if base := results.get("baselines"):
        out.append("\n== Baselines: fresh interpreter, wall ms (p50 / min) ==")
        out.append("  " + "; ".join(f"{n}: {p(s)} / {p(s, 'min')}" for n, s in base.items()))
    cold = results.get("cold_start", {})
    if not cold:
        return out
    runs = results.get("plan", {}).get("cold_runs")
    out.append(
        f"\n== 1. Cold start: spawn -> first successful response, median of {runs} "
        f"(BCRYPT_ROUNDS=4 here; target: <= baseline + {targets.COLD_TARGET_MS:.0f} ms) =="
    )
    out.append(LEGEND)
    out.append(table(HEADERS, [_row(t, cold.get(t, {})) for t in TARGETS]))
    out.append("  runs (ms): " + "; ".join(f"{t} {cold[t]['cold_runs_ms']}" for t in TARGETS if t in cold))
    return out


MEASUREMENT = Measurement(
    phases=(
        ("prepare tokens", targets.prepare_tokens),
        ("cold starts", cold_starts),
    ),
    render=render,
)
