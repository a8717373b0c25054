"""Percentiles, summaries and time budgets for the measurements."""

from __future__ import annotations

import math
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(seconds: list[float]) -> dict[str, Any]:
    """n, p50, p95, p99, mean, min and max of durations in seconds, as milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "mean": round(statistics.fmean(ms), 2),
        "min": round(min(ms), 2),
        "max": round(max(ms), 2),
    }


def bounded(count: int, seconds: float) -> Iterator[int]:
    """range(count), cut short once `seconds` have passed."""
    deadline = time.monotonic() + seconds
    for index in range(count):
        if time.monotonic() > deadline:
            print(f"  (time budget of {seconds:.0f}s reached after {index} of {count})", file=sys.stderr)
            return
        yield index


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def rounded_ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds with one decimal (None stays None)."""
    return None if seconds is None else round(seconds * 1000, 1)


def run_all(threads: list[threading.Thread]) -> float:
    """Start the threads together and wait for all; the wall seconds they took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started
