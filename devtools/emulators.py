"""Start and stop the Firestore and Pub/Sub emulators on loopback.

Each emulator runs in its own process group: the gcloud wrapper leaves its Java
child behind when only the wrapper is killed, so stop() signals the whole group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

COMMANDS = {
    "firestore": ["gcloud", "emulators", "firestore", "start"],
    "pubsub": ["gcloud", "beta", "emulators", "pubsub", "start"],
}
ENV_VARS = {"firestore": "FIRESTORE_EMULATOR_HOST", "pubsub": "PUBSUB_EMULATOR_HOST"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """One gcloud emulator process group on 127.0.0.1:port."""

    def __init__(
        self,
        kind: str,
        project: str,
        port: int | None = None,
        log_dir: Path | None = None,
        rules: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        if kind not in COMMANDS:
            raise ValueError(f"unknown emulator {kind!r}")
        if (rules is not None or data_dir is not None) and kind != "firestore":
            raise ValueError("only the Firestore emulator takes security rules or a data folder")
        self.kind = kind
        # Where the Firestore emulator saves its documents when stopped, and reads them back when started.
        self.data_dir = data_dir
        # Security rules the Firestore emulator enforces on requests without its owner credential.
        self.rules = rules
        self.project = project
        self.port = port or free_port()
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="emulator-logs-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """host:port, the value of the emulator's environment variable."""
        return f"127.0.0.1:{self.port}"

    @property
    def env_var(self) -> str:
        """FIRESTORE_EMULATOR_HOST or PUBSUB_EMULATOR_HOST."""
        return ENV_VARS[self.kind]

    @property
    def log_path(self) -> Path:
        """Where the emulator's output goes."""
        return self.log_dir / f"{self.kind}-{self.port}.log"

    def start(self, timeout: float = 90.0) -> Emulator:
        """Start the emulator and wait until it answers; raise if it does not in time."""
        args = [*COMMANDS[self.kind], f"--host-port={self.host}"]
        if self.kind == "pubsub":
            args.append(f"--project={self.project}")
        if self.rules is not None:
            args.append(f"--rules={self.rules}")
        saved = self._saved_data()
        if saved is not None:
            args.append(f"--import-data={saved}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} emulator exited early; see {self.log_path}")
            if self.ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.kind} emulator not ready after {timeout:.0f}s; see {self.log_path}")

    def _saved_data(self) -> Path | None:
        """The newest export in the data folder (the file --import-data takes), if any."""
        if self.data_dir is None:
            return None
        exports = sorted(self.data_dir.glob("*/*.overall_export_metadata"), key=lambda p: p.stat().st_mtime)
        return exports[-1] if exports else None

    def save_data(self, database: str = "(default)") -> None:
        """Export the database into the data folder, keeping only the newest export.

        The gcloud wrapper kills the emulator without its export-on-exit when it is
        signalled, so the export is asked for over the emulator's REST API first.
        """
        if self.data_dir is None:
            raise ValueError("this emulator has no data folder")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        old = [p.parent for p in self.data_dir.glob("*/*.overall_export_metadata")]
        body = json.dumps(
            {"database": f"projects/{self.project}/databases/{database}", "export_directory": str(self.data_dir)}
        ).encode()
        request = urllib.request.Request(
            f"http://{self.host}/emulator/v1/projects/{self.project}:export",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60):  # noqa: S310 - the emulator on loopback
            pass
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)

    def ready(self) -> bool:
        """Whether the emulator answers its HTTP root."""
        try:
            with urllib.request.urlopen(f"http://{self.host}/", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the whole process group (wrapper and Java child) and wait until the port is free."""
        if self.process is None:
            return
        if self.data_dir is not None:
            with contextlib.suppress(OSError):  # an emulator that already died has nothing to save
                self.save_data()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.ready():
            time.sleep(0.1)
        # The Java child can outlive the wrapper for a moment; make sure the group is gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


def start_pair(project: str, topic: str) -> tuple[Emulator, Emulator]:
    """Start the Firestore and Pub/Sub emulators side by side and create the topic on the second."""
    import threading

    pair = (Emulator("firestore", project), Emulator("pubsub", project))
    failures: list[BaseException] = []

    def boot(emulator: Emulator) -> None:
        try:
            emulator.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, once both are stopped
            failures.append(exc)

    threads = [threading.Thread(target=boot, args=(emulator,)) for emulator in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if failures:
            raise failures[0]
        previous = os.environ.get("PUBSUB_EMULATOR_HOST")
        os.environ["PUBSUB_EMULATOR_HOST"] = pair[1].host
        try:
            create_topic(project, topic)
        finally:
            if previous is None:
                del os.environ["PUBSUB_EMULATOR_HOST"]
            else:
                os.environ["PUBSUB_EMULATOR_HOST"] = previous
    except BaseException:
        for emulator in pair:
            emulator.stop()
        raise
    return pair


def create_topic(project: str, topic: str, subscriptions: tuple[str, ...] = ()) -> None:
    """Create a topic (and pull subscriptions) on the Pub/Sub emulator named by PUBSUB_EMULATOR_HOST."""
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    topic_path = publisher.topic_path(project, topic)
    with contextlib.suppress(AlreadyExists):
        publisher.create_topic(name=topic_path)
    if subscriptions:
        subscriber = pubsub_v1.SubscriberClient()
        with subscriber:
            for name in subscriptions:
                with contextlib.suppress(AlreadyExists):
                    subscriber.create_subscription(name=subscriber.subscription_path(project, name), topic=topic_path)
