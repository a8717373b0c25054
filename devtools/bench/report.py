"""The report of a run: the table printed at the end and the JSON file with every figure."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

Section = Callable[[Mapping[str, Any]], list[str]]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Left-aligned first column, right-aligned figures, a rule under the headers."""
    cells = [[str("-" if c is None else c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(padded))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def p(stats: Mapping[str, Any] | None, key: str = "p50") -> Any:
    """One figure of a summary (None when it is missing)."""
    return (stats or {}).get(key)


def _header(results: Mapping[str, Any]) -> list[str]:
    machine = results.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in machine.get("libraries", {}).items())
    return [
        f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, Python {machine.get('python')}; "
        f"load avg {machine.get('loadavg_start')} -> {machine.get('loadavg_end')}",
        f"libraries: {libs}",
        f"total bench wall time: {results.get('total_seconds')} s  phases: {results.get('phase_seconds')}",
    ]


def render(results: Mapping[str, Any], sections: Iterable[Section]) -> str:
    """The human-readable report: the machine, each measurement's section in order, then any errors."""
    out = _header(results)
    for section in sections:
        out.extend(section(results))
    out.extend(f"\nERROR in {name}: {error}" for name, error in results.get("errors", {}).items())
    return "\n".join(out)


def write(results: Mapping[str, Any], path: Path) -> None:
    """Every figure of the run as JSON."""
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
