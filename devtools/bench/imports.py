"""What each function imports: `import main` in a fresh interpreter, and what its first request adds."""

from __future__ import annotations

import json
import os
import statistics
from typing import Any

from devtools import importtime
from devtools.bench.context import TARGETS, Run
from devtools.bench.stats import bounded
from devtools.bench.targets import NEEDS_PUBSUB, cold_env, first_request
from devtools.firstrequest import MARKER, RESULT_PREFIX


def _import_us(run: Run, program: str, module: str, env: dict[str, str]) -> tuple[int, list[importtime.ImportNode]]:
    """(cumulative microseconds, import forest) of `module` when a fresh interpreter runs `program`."""
    _wall, _out, err = run.python(["-X", "importtime", "-c", program], env)
    forest = importtime.parse(err.splitlines())
    return importtime.module_total_us(forest, module) or 0, forest


def median_heaviest(samples: dict[str, list[int]], runs: int, count: int) -> list[list[Any]]:
    """The `count` third-party packages with the largest median cumulative time (ms) over `runs` runs."""
    medians = {name: statistics.median(v + [0] * (runs - len(v))) for name, v in samples.items()}
    ranked = sorted(((n, us) for n, us in medians.items() if n not in importtime.FIRST_PARTY), key=lambda i: -i[1])
    return [[name, round(us / 1000, 1)] for name, us in ranked[:count]]


def _add_packages(into: dict[str, list[int]], forest: list[importtime.ImportNode]) -> None:
    for name, value in importtime.package_totals(forest).items():
        into.setdefault(name, []).append(value)


def _main_imports(run: Run, target: str) -> dict[str, Any]:
    """`import main` alone, and what it and the target's own module add after the framework and clients."""
    env = {**os.environ, **run.env(target)}
    clients = "google.cloud.firestore" + (", google.cloud.pubsub_v1" if target in NEEDS_PUBSUB else "")
    before = f"import functions_framework, {clients}; "
    own = f"functions.{target}"
    alone: list[int] = []
    added: list[int] = []
    own_added: list[int] = []
    per_package: dict[str, list[int]] = {}
    added_packages: dict[str, list[int]] = {}
    for _ in bounded(run.plan.import_runs, 90):
        us, forest = _import_us(run, "import main", "main", env)
        alone.append(us)
        _add_packages(per_package, forest)
        us, forest = _import_us(run, before + "import main", "main", env)
        added.append(us)
        _add_packages(added_packages, [node for node in forest if node.name == "main"])
        # What a main.py importing only the target's own module would add.
        own_added.append(_import_us(run, before + f"import {own}", own, env)[0])
    return {
        "main_cumulative_ms": round(statistics.median(alone) / 1000, 1),
        "heaviest": median_heaviest(per_package, len(alone), 5),
        "main_after_framework_and_clients_ms": round(statistics.median(added) / 1000, 1),
        "heaviest_after_framework_and_clients": median_heaviest(added_packages, len(added), 3),
        "own_module_after_framework_and_clients_ms": round(statistics.median(own_added) / 1000, 1),
    }


def import_times(run: Run) -> None:
    """Per target: `import main` on its own, and what main adds once functions_framework and the clients are in.

    The second is what a real cold process pays for our code: functions-framework
    is imported before main, and the client libraries on the first request.
    """
    run.results["import_main"] = {target: _main_imports(run, target) for target in TARGETS}


def _first_request_imports(run: Run, target: str) -> dict[str, Any]:
    """Which libraries the first request of `target` imported in a fresh interpreter, and the heaviest."""
    spec = first_request(run, target)
    env = {**os.environ, **cold_env(run, target)}
    _wall, out, err = run.python(["-X", "importtime", "-m", "devtools.firstrequest", spec.to_json()], env)
    line = next(line for line in out.splitlines() if line.startswith(RESULT_PREFIX))
    result = json.loads(line[len(RESULT_PREFIX) :])
    if result["status"] != spec.expect:
        raise RuntimeError(f"{target}: in-process first request answered {result['status']}")
    lines = err.splitlines()
    cut = lines.index(MARKER) if MARKER in lines else len(lines)
    lazy = importtime.parse(lines[cut + 1 :])
    return {
        "load_app_ms": round(result["load_app_s"] * 1000, 1),
        "first_request_ms": round(result["first_request_s"] * 1000, 1),
        "imported_by_first_response": result["imported_after_request"],
        "lazy_import_ms": round(sum(node.cumulative_us for node in lazy) / 1000, 1),
        "lazy_heaviest": [
            [name, round(us / 1000, 1)] for name, us in importtime.heaviest(importtime.package_totals(lazy), 3)
        ],
    }


def first_request_imports(run: Run) -> None:
    """Per target, in-process: which libraries the first request imported, and the heaviest of them."""
    run.results["first_request_in_process"] = {target: _first_request_imports(run, target) for target in TARGETS}
