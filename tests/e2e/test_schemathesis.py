"""Schemathesis against the real `api` function: the OpenAPI document says what the server does.

The `api` entry point runs in its own functions-framework process on the session
emulators; the schemathesis CLI reads /api/openapi.json from it and runs every phase
with all of its default checks, authenticating capture with a real access token.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from devtools.server import FunctionServer
from shared.web import openapi
from tests.support import ROOT, STRONG_PASSWORD, new_email

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = 30
SEED = 20251119


def _access_token(server: FunctionServer) -> str:
    """A real access token of a freshly registered user (a just-started emulator may first answer 503)."""
    for _ in range(10):
        response = requests.post(
            f"{server.url}/api/auth/register",
            json={"email": new_email(), "password": STRONG_PASSWORD},
            timeout=10,
        )
        if response.status_code != 503:
            break
        time.sleep(int(response.headers.get("Retry-After", "1")) / 5)
    assert response.status_code == 201, response.text
    return response.json()["accessToken"]


def _junit_figures(report: Path) -> tuple[int, list[str]]:
    """(operations, failure messages) from schemathesis's JUnit report."""
    cases = ET.parse(report).getroot().iter("testcase")
    operations, failures = 0, []
    for case in cases:
        operations += 1
        for problem in (*case.findall("failure"), *case.findall("error")):
            failures.append(f"{case.get('name')}: {problem.text or problem.get('message')}")
    return operations, failures


@pytest.mark.slow
def test_every_operation_passes_every_default_check(serve: Callable[..., FunctionServer], tmp_path: Path) -> None:
    """Schemathesis finds no failure of any default check on any documented operation."""
    # A high capture limit so the run is not throttled; 429 is documented and allowed anyway.
    server = serve("api", RATE_LIMIT_PER_MINUTE="100000", LOG_LEVEL="WARNING")
    config = tmp_path / "schemathesis.toml"
    config.write_text('[auth.openapi.bearerAuth]\nbearer = "${ACCESS_TOKEN}"\n')
    # One worker: with several, hypothesis parses lambda sources in parallel threads, and Python 3.11's
    # ast is not thread-safe ("AST constructor recursion depth mismatch" runtime errors); one is as fast here.
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "--no-color",
        "run", f"{server.url}/api/openapi.json",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--workers", "1", "--generation-database", "none",
        "--report", "junit", "--report-junit-path", str(tmp_path / "junit.xml"),
    ]  # fmt: skip
    env = {
        **os.environ,
        "ACCESS_TOKEN": _access_token(server),
        "NO_COLOR": "1",
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    summary = result.stdout[-6000:]
    operations, failures = _junit_figures(tmp_path / "junit.xml")
    generated = re.search(r"(\d+) generated", result.stdout)
    print(
        f"\nschemathesis: {operations} operations, {generated.group(1) if generated else '?'} test cases, "
        f"{len(failures)} failures (seed {SEED}, at most {MAX_EXAMPLES} examples per operation and phase)"
    )
    # Every documented operation but the one schemathesis read the document from.
    documented = sum(len(methods) for methods in openapi.spec()["paths"].values())
    assert operations == documented - 1, summary
    assert not failures, "\n".join(failures)[:8000]
    assert result.returncode == 0, summary + result.stderr[-3000:]
