"""Benchmark of `python -m tools.archive import`: wall time, items/s and the tool's peak memory.

`python -m devtools.archive_bench [--sizes 25548,100000]` starts its own emulators
on free loopback ports, serves the `api` function in a functions-framework
process (per-user rate limit lifted, to measure the machine rather than the
budget), and for each size writes a synthetic archive in the real format,
registers a fresh account on a fresh database and runs the import as a user
would, in its own process. The tool's peak resident memory is that
process's own high-water mark (VmHWM), so it is the tool's alone. It then prints how
long the same import takes at the deployed defaults' rate limit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from devtools.bench.bulk import GENEROUS
from devtools.emulators import start_pair
from devtools.samples import new_email
from devtools.server import ROOT, FunctionServer, server_env
from tools.archive.importer import PARALLEL
from tools.archive.synthetic import write_archive

PROJECT = "demo-archive-bench"
TOPIC = "tweet-likes-raw"
JWT_KEY = "bench-key-" + "b" * 40
PASSWORD = "Correct-Horse-9"  # noqa: S105 - a throwaway account on the emulator
UNTHROTTLED = {**GENEROUS, "BCRYPT_ROUNDS": "4", "LOG_LEVEL": "WARNING"}


@dataclass
class Run:
    """One measured import."""

    likes: int
    entries: int
    seconds: float
    items_per_second: float
    peak_rss_mib: float
    rusage_maxrss_mib: float
    export_seconds: float
    export_peak_rss_mib: float
    output: list[str]


def measure(server: FunctionServer, likes: int, folder: Path, parallel: int) -> Run:
    """Import a synthetic archive of LIKES likes into a fresh account, then export it; the figures."""
    archive = folder / f"synthetic-{likes}.zip"
    plan = write_archive(archive, likes)
    email = new_email("bench")
    response = requests.post(f"{server.url}/api/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    account = ["--api", server.url, "--email", email]
    invalid = folder / f"invalid-{likes}.ndjson"
    imported = run_tool(
        ["import", str(archive), *account, "--invalid-out", str(invalid), "--parallel", str(parallel)], folder
    )
    exported = run_tool(["export", str(folder / f"export-{likes}.ndjson"), *account], folder)
    return Run(
        likes,
        plan.entries,
        imported.seconds,
        plan.entries / imported.seconds,
        imported.peak_kib / 1024,
        imported.maxrss_kib / 1024,
        exported.seconds,
        exported.peak_kib / 1024,
        imported.lines + exported.lines,
    )


@dataclass
class ToolRun:
    """One run of the tool: its wall time, its own peak RSS (VmHWM), getrusage's ru_maxrss, its stdout."""

    seconds: float
    peak_kib: int
    maxrss_kib: int
    lines: list[str]


def run_tool(args: list[str], folder: Path) -> ToolRun:
    """Run `python -m tools.archive ARGS` as a user would, sampling its peak memory; raise if it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TCA_PASSWORD": PASSWORD}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.archive", *args], cwd=folder, env=env, stdout=out, stderr=errors
        )
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, high_water_kib(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        errors.seek(0)
        lines, complaint = out.read().strip().splitlines(), errors.read().strip().splitlines()[-1:]
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({process.returncode}): {complaint}")
    # ru_maxrss (KiB on Linux) is getrusage's view; it may include the pre-exec image of this process.
    return ToolRun(seconds, peak_kib, usage.ru_maxrss, lines)


def high_water_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB; 0 once it is gone.

    Read from /proc rather than from the child's rusage: on Linux ru_maxrss also
    counts the parent's image the child ran in between fork and exec.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def default_limit_minutes(likes: int) -> tuple[int, float]:
    """The deployed default batch budget (tweets per user per minute) and the minutes LIKES items take at it."""
    from shared.config import SETTINGS

    limit = next(s.default for s in SETTINGS if s.env == "BATCH_RATE_LIMIT_PER_MINUTE")
    return int(limit), likes / int(limit)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m devtools.archive_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="25548,100000", help="comma list of archive sizes (likes)")
    parser.add_argument("--parallel", type=int, default=PARALLEL, help=f"the tool's --parallel (default {PARALLEL})")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    firestore, pubsub = start_pair(PROJECT, TOPIC)
    backends = {firestore.env_var: firestore.host, pubsub.env_var: pubsub.host}
    runs: list[Run] = []
    try:
        with tempfile.TemporaryDirectory(prefix="archive-bench-") as folder:
            for likes in sizes:
                env = server_env(backends, PROJECT, JWT_KEY, FIRESTORE_DATABASE=f"bench-archive-{likes}", **UNTHROTTLED)
                with FunctionServer("api", env) as server:
                    run = measure(server, likes, Path(folder), args.parallel)
                runs.append(run)
                print(
                    f"{run.likes:>7,} likes ({run.entries:,} entries): {run.seconds:6.1f} s wall, "
                    f"{run.items_per_second:6.0f} items/s, peak RSS of the tool {run.peak_rss_mib:.1f} MiB"
                    f" (getrusage ru_maxrss {run.rusage_maxrss_mib:.1f} MiB); export {run.export_seconds:.1f} s,"
                    f" peak RSS {run.export_peak_rss_mib:.1f} MiB",
                    flush=True,
                )
                print("\n".join(f"    | {line}" for line in run.output), flush=True)
    finally:
        firestore.stop()
        pubsub.stop()
    limit, minutes = default_limit_minutes(runs[0].entries)
    print(
        f"deployed defaults: BATCH_RATE_LIMIT_PER_MINUTE={limit}, so {runs[0].entries:,} items need at least"
        f" {minutes:.1f} min; unthrottled here they took {runs[0].seconds / 60:.1f} min:"
        f" the {'rate limit' if minutes * 60 > runs[0].seconds else 'machine'} is the bound that binds"
    )
    print(f"(this machine: {os.cpu_count()} CPUs; benchmark process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
