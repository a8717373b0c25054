"""Runs deploy.sh against the recording fake gcloud (fake_gcloud.py), offline."""

from __future__ import annotations

import copy
import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy.sh"
FAKE_GCLOUD = Path(__file__).with_name("fake_gcloud.py")

PROJECT = "demo-deploy-test"
REGION = "us-central1"
OWNER = "owner@example.com"
EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
ACCESS_TOKEN = "ya29.fake-access-token-that-must-never-be-printed"
STANDARD_ARGS = ("--project", PROJECT, "--owner-email", OWNER, "--extension-id", EXTENSION_ID)
HTTP_FUNCTIONS = ("register", "login", "refresh", "logout", "capture", "health")
RETRY_FUNCTION = "retry-queue"


def empty_project() -> dict[str, Any]:
    """State of a fresh project: it exists, the deployer is logged in, nothing else."""
    return {
        "projects": {PROJECT: "123456789012"},
        "account": "deployer@example.com",
        "access_token": ACCESS_TOKEN,
        "config_project": "",
        "services": [],
        "databases": {},
        "ttls": {},
        "indexes": [],
        "topics": {},
        "jobs": {},
        "secrets": {},
        "service_accounts": {},
        "policies": {f"project/{PROJECT}": [["roles/owner", "user:deployer@example.com"]]},
        "functions": {},
        "repositories": {},
    }


def printed_commands(output: str) -> list[tuple[str, ...]]:
    """The gcloud arguments of every "+ gcloud ..." line of deploy.sh's output, parsed as a shell would."""
    return [tuple(shlex.split(line, comments=True)[2:]) for line in output.splitlines() if line.startswith("+ gcloud ")]


@dataclass(frozen=True)
class Call:
    """One recorded gcloud invocation."""

    argv: tuple[str, ...]
    status: int
    mutating: bool
    start: float
    end: float
    cwd: str
    stdin_sha256: str | None = None
    peers: int | None = None

    @classmethod
    def from_log(cls, line: str) -> Call:
        """Parse one line of the fake's log."""
        entry = json.loads(line)
        return cls(
            argv=tuple(entry["argv"]),
            status=entry["status"],
            mutating=entry["mutating"],
            start=entry["start"],
            end=entry["end"],
            cwd=entry["cwd"],
            stdin_sha256=entry.get("stdin_sha256"),
            peers=entry.get("peers"),
        )

    def is_(self, *words: str) -> bool:
        """Whether the call starts with these words (command path and positionals)."""
        return self.argv[: len(words)] == words

    def flag(self, name: str) -> str | None:
        """The value of --name=VALUE (the last one when repeated)."""
        values = self.flags(name)
        return values[-1] if values else None

    def flags(self, name: str) -> list[str]:
        """Every value of a repeatable --name=VALUE."""
        prefix = f"--{name}="
        return [word[len(prefix) :] for word in self.argv if word.startswith(prefix)]

    def has(self, switch: str) -> bool:
        """Whether the bare switch --switch was given."""
        return f"--{switch}" in self.argv


@dataclass(frozen=True)
class DeployRun:
    """What one run of deploy.sh did: its exit status, output, gcloud calls and the state it left."""

    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]
    state: dict[str, Any]

    @property
    def changes(self) -> list[Call]:
        """The calls that changed something."""
        return [call for call in self.calls if call.mutating]

    def deploys(self) -> dict[str, Call]:
        """The `functions deploy` calls by function name (a name deployed twice fails the test)."""
        found: dict[str, Call] = {}
        for call in self.calls:
            if call.is_("functions", "deploy"):
                assert call.argv[2] not in found, f"{call.argv[2]} deployed twice"
                found[call.argv[2]] = call
        return found


class FakeCloud:
    """A directory with the fake gcloud first on PATH, its state file and its call log."""

    def __init__(self, directory: Path, state: dict[str, Any]) -> None:
        self.directory = directory
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True)
        wrapper = self.bin / "gcloud"
        # -S: the fake needs only the standard library and should start quickly.
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{FAKE_GCLOUD}" "$@"\n')
        wrapper.chmod(0o755)
        self.state_path = directory / "state.json"
        self.log_path = directory / "calls.jsonl"
        self.state = state

    @property
    def state(self) -> dict[str, Any]:
        """The project's resources as they are now."""
        return json.loads(self.state_path.read_text())

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        self.state_path.write_text(json.dumps(value))

    def env(self, **extra: str) -> dict[str, str]:
        """A complete, explicit environment: nothing leaks in from the test process."""
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.directory),
            "TMPDIR": str(self.directory),
            "LC_ALL": "C",
            "FAKE_GCLOUD_STATE": str(self.state_path),
            "FAKE_GCLOUD_LOG": str(self.log_path),
            **extra,
        }

    def run(self, *args: str, env: dict[str, str] | None = None) -> DeployRun:
        """Run deploy.sh from an unrelated directory and collect what it did."""
        self.log_path.write_text("")
        completed = subprocess.run(
            [str(SCRIPT), *args],
            cwd=self.directory,
            env=env if env is not None else self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        calls = [Call.from_log(line) for line in self.log_path.read_text().splitlines()]
        return DeployRun(completed.returncode, completed.stdout, completed.stderr, calls, self.state)


@pytest.fixture(name="make_cloud")
def _make_cloud(tmp_path: Path) -> Callable[..., FakeCloud]:
    """Factory of fake clouds in this test's temporary directory."""
    count = 0

    def make(state: dict[str, Any] | None = None) -> FakeCloud:
        nonlocal count
        count += 1
        return FakeCloud(tmp_path / f"cloud{count}", state if state is not None else empty_project())

    return make


@pytest.fixture(scope="module", name="first_cloud")
def _first_cloud(tmp_path_factory: pytest.TempPathFactory) -> FakeCloud:
    """A fake cloud shared by a module's tests: a fresh project whose deploys wait to see each other start."""
    state = empty_project() | {"deploy_barrier": len(HTTP_FUNCTIONS) + 1}
    return FakeCloud(tmp_path_factory.mktemp("first"), state)


@pytest.fixture(scope="module", name="first_run")
def _first_run(first_cloud: FakeCloud) -> DeployRun:
    """The first deployment to a fresh project, with every setting given."""
    run = first_cloud.run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="module", name="second_run")
def _second_run(first_cloud: FakeCloud, first_run: DeployRun) -> DeployRun:
    """The same deployment run again on the project the first run set up."""
    run = first_cloud.run(*STANDARD_ARGS)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(name="deployed_project")
def _deployed_project(first_run: DeployRun) -> dict[str, Any]:
    """A copy of the state of a project deployed once (deploys that do not wait for each other)."""
    return copy.deepcopy(first_run.state) | {"deploy_barrier": 0}
