"""Run one entry point of main.py in its own functions-framework process on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from devtools.emulators import free_port
from shared.config import ENV_VARS

ROOT = Path(__file__).resolve().parent.parent


def server_env(backends: Mapping[str, str], project: str, jwt_key: str, **overrides: str) -> dict[str, str]:
    """A function process's environment, whatever the shell that runs it has set.

    Every configuration variable is given explicitly (blank means its default), then
    the emulator variables in `backends`, the project and signing key, `overrides` last.
    """
    env = {name: "" for name in ENV_VARS if name != "FUNCTION_TARGET"}
    env.update(backends)
    env.update(GCP_PROJECT_ID=project, JWT_SECRET_KEY=jwt_key, LOG_LEVEL="INFO")
    env.update(overrides)
    return env


class FunctionServer:
    """`functions-framework --target NAME` as Cloud Functions runs it, on 127.0.0.1."""

    def __init__(self, target: str, env: Mapping[str, str], port: int | None = None) -> None:
        self.target = target
        self.env = dict(env)
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkdtemp(prefix="ff-")) / f"{target}.log"
        self.started_at = 0.0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> FunctionServer:
        """Start the process without waiting for it."""
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        command = [
            sys.executable, "-m", "functions_framework",
            "--target", self.target, "--source", str(ROOT / "main.py"),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        self.started_at = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def start(self, timeout: float = 30.0, probe: str = "/") -> FunctionServer:
        """Start and wait until the server answers any HTTP request on `probe`."""
        self.spawn()
        self.wait_ready(timeout, probe)
        return self

    def wait_ready(self, timeout: float = 30.0, probe: str = "/") -> float:
        """Seconds from spawn until the server answered; raise if it exits or stays silent."""
        if self.process is None:
            raise RuntimeError("spawn() first")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target} exited with {self.process.returncode}: {self.output()[-2000:]}")
            try:
                request = urllib.request.Request(self.url + probe, method="OPTIONS")  # noqa: S310 - loopback only
                with urllib.request.urlopen(request, timeout=2):  # noqa: S310 - loopback only
                    pass
                return time.perf_counter() - self.started_at
            except urllib.error.HTTPError:
                return time.perf_counter() - self.started_at
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{self.target} did not answer within {timeout}s: {self.output()[-2000:]}")

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the process group."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> FunctionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(servers: Iterable[FunctionServer]) -> Iterator[None]:
    """Spawn every server at once (they boot in parallel), wait for all, and stop all on exit."""
    servers = list(servers)
    try:
        for server in servers:
            server.spawn()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.stop()
