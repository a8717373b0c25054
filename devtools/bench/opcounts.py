"""5. Firestore reads, writes and deletes per request, counted on the wire: the scenarios of devtools.opscenarios."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from devtools import opscenarios
from devtools.apps import function_client
from devtools.bench.context import Measurement, Run
from devtools.bench.report import table

DATABASE = "bench-ops"
HEADERS = ["case", "status", "ok", "reads", "writes", "deletes", "failed commits", "RPCs"]


def _setenv(**values: str) -> None:
    from shared import config

    os.environ.update(values)
    config.get_settings.cache_clear()


def op_counts(run: Run) -> None:
    """Reads, writes and deletes per request and path, counted on the wire, in-process."""
    from shared import clients

    run.use_backends_in_process(DATABASE, BCRYPT_ROUNDS="4", RATE_LIMIT_PER_MINUTE="100000")
    counting = opscenarios.Counting.start(function_client, _setenv)
    try:
        cases = opscenarios.every_case(counting)
    finally:
        clients.reset()
    run.results["firestore_ops"] = {name: case.row() for name, case in cases.items()}


def _row(name: str, case: Mapping[str, Any]) -> list[Any]:
    rpcs = " ".join(f"{k}={v}" for k, v in case["rpcs"].items())
    ok = "yes" if case["as_expected"] else "NO"
    return [name, case["status"], ok, case["reads"], case["writes"], case["deletes"], case["failed_commits"], rpcs]


def render(results: Mapping[str, Any]) -> list[str]:
    """Section 5 of the report."""
    ops = results.get("firestore_ops")
    if not ops:
        return []
    return [
        "\n== 5. Firestore operations per request (counted on the wire, in-process) ==",
        table(HEADERS, [_row(name, case) for name, case in ops.items()]),
    ]


MEASUREMENT = Measurement(phases=(("firestore ops", op_counts),), render=render)
