"""The cold-start section of the report: baselines, the table per target, and the imports behind it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devtools.bench.context import TARGETS
from devtools.bench.report import p, packages, table
from devtools.bench.targets import COLD_TARGET_MS

HEADERS = [
    "target", "cold", "min", "clients", "base", "cold-base", "<=150", "min-min", "ff+base", "cold-(ff+base)",
    "1st handler", "warm", "main", "main+", "own+", "fs@1st", "ps@1st",
]  # fmt: skip
LEGEND = (
    "   all ms. base: fresh `python -c 'import <clients>'` (fs = google.cloud.firestore, ps = pubsub_v1),"
    " measured in the same rounds; min-min: best cold run - best base run;\n   ff+base: base plus"
    " functions_framework; 1st handler: the first request's handler time"
    " (access log); warm: the same request again;\n   main: -X importtime of `import main` alone; main+ / own+:"
    " what `import main` / `import functions.<target>` add once functions_framework and the clients are"
    " imported;\n   fs@1st / ps@1st: client library in sys.modules after the first"
    " request (in-process)."
)
YES_NO = {True: "yes", False: "no"}


def _row(target: str, cold: Mapping[str, Any], imports: Mapping[str, Any], first: Mapping[str, Any]) -> list[Any]:
    """One target's line of the cold-start table."""
    imported = first.get("imported_by_first_response", {})
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
        imports.get("main_cumulative_ms"),
        imports.get("main_after_framework_and_clients_ms"),
        imports.get("own_module_after_framework_and_clients_ms"),
        YES_NO.get(imported.get("google.cloud.firestore")),
        YES_NO.get(imported.get("google.cloud.pubsub_v1")),
    ]


def _import_lines(
    target: str, main: Mapping[str, Any], first: Mapping[str, Any], profile: Mapping[str, Any]
) -> list[str]:
    """Where one target's import time goes: `import main`, its first request, a real cold process."""
    lines = [
        f"  {target:<12} import main {main.get('main_cumulative_ms')} ms: "
        + packages(main.get("heaviest"))
        + f"; after functions_framework and clients {main.get('main_after_framework_and_clients_ms')}"
        " ms: " + packages(main.get("heaviest_after_framework_and_clients")),
        f"  {'':<12} in-process: load app {first.get('load_app_ms')} ms, first request {first.get('first_request_ms')}"
        f" ms, of which lazy imports {first.get('lazy_import_ms')} ms: " + packages(first.get("lazy_heaviest")),
    ]
    if profile:
        lines.append(
            f"  {'':<12} real process, all imports {profile['imports_ms']} ms (cold "
            f"{profile['cold_ms_while_profiling']} ms while profiling; pubsub imported: "
            f"{'yes' if profile['pubsub_imported'] else 'no'}): " + packages(profile["heaviest"])
        )
    return lines


def _baselines(results: Mapping[str, Any]) -> list[str]:
    base = results.get("baselines")
    if not base:
        return []
    return [
        "\n== Baselines: fresh interpreter, wall ms (p50 / min) ==",
        "  " + "; ".join(f"{n}: {p(s)} / {p(s, 'min')}" for n, s in base.items()),
    ]


def render(results: Mapping[str, Any]) -> list[str]:
    """The baselines and section 1 of the report."""
    out = _baselines(results)
    cold = results.get("cold_start", {})
    imports = results.get("import_main", {})
    first = results.get("first_request_in_process", {})
    if not (cold or imports or first):
        return out
    runs = results.get("plan", {}).get("cold_runs")
    out.append(
        f"\n== 1. Cold start: spawn -> first successful response, median of {runs} "
        f"(BCRYPT_ROUNDS=4 here; target: <= baseline + {COLD_TARGET_MS:.0f} ms) =="
    )
    out.append(LEGEND)
    rows = [_row(t, cold.get(t, {}), imports.get(t, {}), first.get(t, {})) for t in TARGETS]
    out.append(table(HEADERS, rows))
    out.append("  runs (ms): " + "; ".join(f"{t} {cold[t]['cold_runs_ms']}" for t in TARGETS if t in cold))
    profile = results.get("cold_import_profile", {})
    out.append("\n   Imports per target (cumulative ms of the heaviest packages):")
    for target in TARGETS:
        out.extend(_import_lines(target, imports.get(target, {}), first.get(target, {}), profile.get(target, {})))
    return out
