"""The audit as a table on stdout and as JSON on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devtools.soak.audit import CHECKS, Audit

LISTED = 20


def table(audit: Audit, header: dict[str, Any]) -> str:
    """The checks (each must be 0), then the figures."""
    lines = [f"soak audit  seed={header['seed']}  seconds={header['seconds']}  unlike={header['unlike']}"]
    lines.append("durations  " + _flat({name: f"{value:.0f}s" for name, value in header["durations_s"].items()}))
    lines.append("")
    width = max(len(text) for _, text in CHECKS)
    lines.append(f"{'check (must be 0)':<{width}}  count")
    lines.append(f"{'-' * width}  -----")
    for name, text in CHECKS:
        found = audit.problems[name]
        lines.append(f"{text:<{width}}  {len(found):>5}{'' if not found else '  <--'}")
    lines.append("")
    figures = audit.figures
    for name, value in figures.items():
        if name == "latency":
            continue
        lines.append(f"{name:<32} {_flat(value)}")
    lines.append("")
    lines.append(f"{'latency':<32} {'n':>6} {'p50 ms':>9} {'p95 ms':>9}")
    for name, value in figures["latency"].items():
        lines.append(f"{name:<32} {value['n']:>6} {_ms(value['p50_ms']):>9} {_ms(value['p95_ms']):>9}")
    for name, text in CHECKS:
        found = audit.problems[name]
        if found:
            lines.append("")
            lines.append(f"{text}: {len(found)} (first {min(LISTED, len(found))})")
            lines.extend(f"  {json.dumps(item, default=str)}" for item in found[:LISTED])
    lines.append("")
    lines.append("BALANCED" if audit.balanced else "NOT BALANCED")
    return "\n".join(lines)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    return str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def write_json(audit: Audit, header: dict[str, Any], path: Path) -> None:
    """Everything: the header, the verdict, every problem item, the figures."""
    body = {**header, "balanced": audit.balanced, "problems": audit.problems, "figures": audit.figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
