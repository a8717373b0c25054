"""deploy.sh --verify against the real functions in functions-framework processes, as `make dev` runs them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from devtools.emulators import free_port
from devtools.server import FunctionServer
from tests.support import ROOT

SCRIPT = ROOT / "deploy.sh"
EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"


def verify(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run deploy.sh --verify with ARGS; `sleep` is a no-op so retries of a failing check cost nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "sleep").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "sleep").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "LC_ALL": "C"}
    return subprocess.run(
        [str(SCRIPT), "--verify", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def verdict(result: subprocess.CompletedProcess[str]) -> str:
    """The one verdict line."""
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("verify: ")]
    return line


def test_per_function_urls_pass(serve: Callable[..., FunctionServer], tmp_path: Path) -> None:
    """The health and capture functions on the emulators pass all three checks: exit 0, one OK line."""
    health, capture = serve("health"), serve("capture")
    result = verify(tmp_path, "--health-url", health.url, "--capture-url", capture.url, "--extension-id", EXTENSION_ID)
    assert result.returncode == 0, result.stderr
    assert verdict(result).startswith("verify: OK: health 200 (firestore and pubsub connected)")


def test_the_router_base_url_passes(serve: Callable[..., FunctionServer], tmp_path: Path) -> None:
    """The api router (make dev, --single-url) passes with --base-url: /api/health and /api/tweets/capture."""
    router = serve("api")
    result = verify(tmp_path, "--base-url", router.url)
    assert result.returncode == 0, result.stderr
    assert verdict(result).startswith("verify: OK")


def test_an_extension_the_service_does_not_admit_fails(serve: Callable[..., FunctionServer], tmp_path: Path) -> None:
    """Functions pinned to another extension id refuse this extension's preflight: the check says so, exit 1."""
    other = "chrome-extension://" + "ponmlkjihgfedcba" * 2
    health, capture = serve("health"), serve("capture", ALLOWED_ORIGINS=other)
    result = verify(tmp_path, "--health-url", health.url, "--capture-url", capture.url, "--extension-id", EXTENSION_ID)
    assert result.returncode == 1
    assert f"the capture preflight does not admit chrome-extension://{EXTENSION_ID}" in verdict(result)


def test_a_backend_down_fails_with_the_health_body(serve: Callable[..., FunctionServer], tmp_path: Path) -> None:
    """With Pub/Sub unreachable, health is 503 and the verdict says which check failed."""
    health = serve("health", PUBSUB_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    capture = serve("capture")
    result = verify(tmp_path, "--health-url", health.url, "--capture-url", capture.url)
    assert result.returncode == 1
    assert "health answered 503" in verdict(result)
