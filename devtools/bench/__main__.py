"""`python -m devtools.bench [--quick]`: run every measurement, print the report, write the JSON."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from devtools import bench
from devtools.bench import auth, batch, capture, coldstart, listing, lookup, machine, opcounts, report
from devtools.bench.context import QUICK, Measurement, Plan, Run
from devtools.server import ROOT

# The report's sections come in this order; a new measurement is one module plus one line here.
MEASUREMENTS: tuple[Measurement, ...] = (
    coldstart.MEASUREMENT,
    capture.MEASUREMENT,
    auth.MEASUREMENT,
    opcounts.MEASUREMENT,
    batch.MEASUREMENT,
    lookup.MEASUREMENT,
    listing.MEASUREMENT,
)


def phase(run: Run, name: str, action: Callable[[Run], None]) -> None:
    """Run one part of the benchmark; a failure is recorded and the rest still runs."""
    print(f"[bench] {name} …", file=sys.stderr, flush=True)
    run.results.setdefault("phase_loadavg", {})[name] = machine.loadavg()[0]
    started = time.monotonic()
    try:
        action(run)
    except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON, then the next part runs
        traceback.print_exc()
        run.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"[:2000]
    run.results.setdefault("phase_seconds", {})[name] = round(time.monotonic() - started, 1)


def run_all(run: Run, measurements: tuple[Measurement, ...] = MEASUREMENTS) -> None:
    """Every phase in order; the emulators and all processes are stopped at the end whatever happens."""
    started = time.monotonic()
    run.results["plan"] = dataclasses.asdict(run.plan)
    run.results["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        run.results["machine"] = machine.describe()
        phase(run, "emulators", Run.start_emulators)
        if "errors" in run.results:
            return
        for measurement in measurements:
            for name, action in measurement.phases:
                phase(run, name, action)
    finally:
        run.stop_all()
        run.results.setdefault("machine", {})["loadavg_end"] = machine.loadavg()
        run.results["total_seconds"] = round(time.monotonic() - started, 1)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON file; 1 if any part failed."""
    parser = argparse.ArgumentParser(description=(bench.__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations, for trying the benchmark out")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    run = Run(QUICK if args.quick else Plan())
    try:
        run_all(run)
    finally:
        report.write(run.results, args.output)
    print(report.render(run.results, (m.render for m in MEASUREMENTS)))
    print(f"\n(results written to {args.output.name})")
    return 1 if run.results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
