"""The machine a run measured on: CPU, cores, Python and library versions, load average."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = (
    "functions-framework", "flask", "werkzeug", "gunicorn", "marshmallow", "pyjwt", "bcrypt",
    "google-cloud-firestore", "google-cloud-pubsub", "google-api-core", "grpcio", "protobuf",
)  # fmt: skip


def _cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def describe() -> dict[str, Any]:
    """CPU, cores, Python and library versions, load average now."""
    return {
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "loadavg_start": loadavg(),
    }
