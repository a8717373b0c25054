"""Runs deploy.sh against the recording fake gcloud (fake_gcloud.py) and fake Google APIs, offline."""

from __future__ import annotations

import copy
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.fake_google_apis import FakeGoogleApis

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy.sh"
FAKE_GCLOUD = Path(__file__).with_name("fake_gcloud.py")

PROJECT = "demo-deploy-test"
REGION = "us-central1"
OWNER = "owner@example.com"
EXTENSION_ID = "abcdefghijklmnopabcdefghijklmnop"
ACCESS_TOKEN = "ya29.fake-access-token-that-must-never-be-printed"
# The owner's password every run is given (TCA_PASSWORD), as a non-interactive deploy is.
OWNER_PASSWORD = "Owner-passw0rd-that-must-never-be-printed"
STANDARD_ARGS = ("--project", PROJECT, "--owner-email", OWNER, "--extension-id", EXTENSION_ID)
# Deployed names (hyphenated); the entry point is the name with underscores. health is deployed first, alone.
HTTP_FUNCTIONS = (
    "health",
    "register",
    "login",
    "refresh",
    "logout",
    "capture",
    "capture-batch",
    "lookup",
    "list-tweets",
    "unlike",
    "republish",
    "queue-status",
    "queue-retry",
)
RETRY_FUNCTION = "retry-queue"
# Deploys in flight at once by default: a new project's Cloud Build pool runs only a few builds at a time.
MAX_PARALLEL = 3
# What the deploy's waits record instead of waiting (SLEEP_HOOK replaces time.sleep in its Python).
SLEEP_LOG = "sleeps.log"
SLEEP_HOOK = """import time


def _record(seconds):
    with open({log!r}, "a") as log:
        log.write(f"{{float(seconds)}}\\n")


time.sleep = _record
"""


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
        "billing": {"account": "0X0X0X-0X0X0X-0X0X0X"},
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
    config: str | None = None
    core_project: str | None = None

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
            config=entry.get("config"),
            core_project=entry.get("core_project"),
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
    """What one run of deploy.sh did: exit status, output, gcloud, REST and register calls, the state it left."""

    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]
    state: dict[str, Any]
    sleeps: list[float]
    api_calls: list[dict[str, Any]]
    registrations: list[dict[str, Any]]

    @property
    def changes(self) -> list[Call]:
        """The calls that changed something."""
        return [call for call in self.calls if call.mutating]

    def deploys(self) -> dict[str, Call]:
        """The last `functions deploy` call of each function (a name deployed twice without failing fails the test)."""
        found: dict[str, Call] = {}
        for call in self.calls:
            if call.is_("functions", "deploy"):
                earlier = found.get(call.argv[2])
                assert earlier is None or earlier.status != 0, f"{call.argv[2]} deployed twice"
                found[call.argv[2]] = call
        return found

    def attempts(self, name: str) -> list[Call]:
        """Every `functions deploy` call of one function, in order."""
        return [call for call in self.calls if call.is_("functions", "deploy", name)]


class FakeCloud:
    """A directory with the fake gcloud (and a recording `sleep`) first on PATH, its state file and call log.

    HOME holds a gcloud configuration directory like a real one (credentials,
    configurations, logs), and a FakeGoogleApis server answers the REST calls.
    """

    def __init__(self, directory: Path, state: dict[str, Any]) -> None:
        self.directory = directory
        self.bin = directory / "bin"
        self.bin.mkdir(parents=True)
        wrapper = self.bin / "gcloud"
        # -S: the fake needs only the standard library and should start quickly.
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{FAKE_GCLOUD}" "$@"\n')
        wrapper.chmod(0o755)
        self.hooks = directory / "hooks"
        self.hooks.mkdir()
        # Loaded by the deploy's Python at start-up (site), never by the fake gcloud (python -S).
        (self.hooks / "sitecustomize.py").write_text(SLEEP_HOOK.format(log=str(directory / SLEEP_LOG)))
        self.gcloud_config = directory / ".config" / "gcloud"
        for name in ("credentials.db", "access_tokens.db", "configurations/config_default", "logs/2026.01.01/x.log"):
            (self.gcloud_config / name).parent.mkdir(parents=True, exist_ok=True)
            (self.gcloud_config / name).write_text("fake\n")
        self.state_path = directory / "state.json"
        self.log_path = directory / "calls.jsonl"
        self.apis = FakeGoogleApis(self.state_path, PROJECT, ACCESS_TOKEN)
        base = self.apis.url.rstrip("/")
        state = copy.deepcopy(state) | {"function_base_url": base}
        for function in state["functions"].values():
            # Functions deployed in another fake cloud answer from this one's server.
            config = function["serviceConfig"]
            config["uri"] = base + "/fn/" + config["uri"].split("/fn/", 1)[-1]
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
            "PYTHONPATH": str(self.hooks),
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_FIREBASERULES": self.apis.url,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING": self.apis.url,
            "TCA_PASSWORD": OWNER_PASSWORD,
            **extra,
        }

    def run(self, *args: str, env: dict[str, str] | None = None) -> DeployRun:
        """Run deploy.sh from an unrelated directory and collect what it did."""
        self.log_path.write_text("")
        (self.directory / SLEEP_LOG).write_text("")
        self.apis.log_path.write_text("")
        self.apis.register_log_path.write_text("")
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
        sleeps = [float(line) for line in (self.directory / SLEEP_LOG).read_text().split()]
        api_calls = [json.loads(line) for line in self.apis.log_path.read_text().splitlines()]
        registrations = [json.loads(line) for line in self.apis.register_log_path.read_text().splitlines()]
        return DeployRun(
            completed.returncode,
            completed.stdout,
            completed.stderr,
            calls,
            self.state,
            sleeps,
            api_calls,
            registrations,
        )


@pytest.fixture(name="make_cloud")
def _make_cloud(tmp_path: Path) -> Iterator[Callable[..., FakeCloud]]:
    """Factory of fake clouds in this test's temporary directory."""
    made: list[FakeCloud] = []

    def make(state: dict[str, Any] | None = None) -> FakeCloud:
        made.append(FakeCloud(tmp_path / f"cloud{len(made) + 1}", state if state is not None else empty_project()))
        return made[-1]

    yield make
    for cloud in made:
        cloud.apis.close()


@pytest.fixture(scope="module", name="first_cloud")
def _first_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCloud]:
    """A fake cloud shared by a module's tests: a fresh project whose parallel deploys wait to see each other start.

    Every deploy counts in (the first, alone, waits in vain for the fake's patience of 3 s); the next
    MAX_PARALLEL start together, the rest as slots free up.
    """
    state = empty_project() | {"deploy_barrier": MAX_PARALLEL + 1}
    cloud = FakeCloud(tmp_path_factory.mktemp("first"), state)
    yield cloud
    cloud.apis.close()


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
