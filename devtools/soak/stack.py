"""The soak's own emulators, the proxies in front of them, the function processes, and the faults.

Functions reach both emulators only through a `Proxy`; the soak's drain and
audit talk to the emulators directly. So a fault is what the functions see,
while the soak keeps seeing everything that was accepted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.emulators import Emulator, create_topic
from devtools.server import FunctionServer, server_env
from devtools.soak.drain import Drainer
from devtools.soak.proxy import Proxy

PROJECT = "demo-tweet-capture-soak"
TOPIC = "tweet-likes-raw"
SUBSCRIPTION = "soak-audit"
PUBLISH_TIMEOUT_SECONDS = 3.0


@dataclass
class Window:
    """A period during which something was unreachable or down."""

    kind: str
    start: float
    end: float | None = None
    detail: str = ""


@dataclass
class FaultLog:
    """Every fault injected, with wall-clock times (the emulator's publish times are wall clock too)."""

    windows: list[Window] = field(default_factory=list)
    kills: list[Window] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, kind: str, detail: str = "") -> Window:
        """Record the start of a window."""
        window = Window(kind, time.time(), detail=detail)
        with self.lock:
            (self.kills if kind.startswith("kill") else self.windows).append(window)
        return window

    def active(self, at: float) -> bool:
        """Whether any fault window (or a killed process not yet back) covered `at`."""
        with self.lock:
            spans = [*self.windows, *self.kills]
        return any(w.start <= at <= (w.end or float("inf")) for w in spans)


class Stack:
    """Emulators + proxies + `api` and `retry_queue` processes, all on 127.0.0.1."""

    def __init__(self, jwt_key: str) -> None:
        self.faults = FaultLog()
        self.firestore = Emulator("firestore", PROJECT)
        self.pubsub = Emulator("pubsub", PROJECT)
        self.firestore_proxy = Proxy(self.firestore.port)
        self.pubsub_proxy = Proxy(self.pubsub.port)
        self.drainer = Drainer(PROJECT, SUBSCRIPTION)
        backends = {self.firestore.env_var: self.firestore_proxy.host, self.pubsub.env_var: self.pubsub_proxy.host}
        limits = {"RATE_LIMIT_PER_MINUTE": "100000", "BATCH_RATE_LIMIT_PER_MINUTE": "100000"}
        env = server_env(
            backends,
            PROJECT,
            jwt_key,
            BCRYPT_ROUNDS="4",
            DAILY_CAPTURE_LIMIT="10000000",
            PUBLISH_TIMEOUT_SECONDS=str(PUBLISH_TIMEOUT_SECONDS),
            LOG_LEVEL="WARNING",
            **limits,
        )
        self.api = FunctionServer("api", env)
        self.replay = FunctionServer("retry_queue", env)
        self._fault_lock = threading.Lock()
        self._started: list[Emulator] = []

    def start(self) -> Stack:
        """Start everything; the soak's own process points at the emulators directly."""
        boots = [threading.Thread(target=self._boot, args=(e,)) for e in (self.firestore, self.pubsub)]
        for boot in boots:
            boot.start()
        for boot in boots:
            boot.join()
        if len(self._started) != 2:
            raise RuntimeError(f"an emulator did not start; see {self.firestore.log_dir}")
        os.environ[self.firestore.env_var] = self.firestore.host
        os.environ[self.pubsub.env_var] = self.pubsub.host
        create_topic(PROJECT, TOPIC, subscriptions=(SUBSCRIPTION,))
        self.drainer.start()
        self.firestore_proxy.start()
        self.pubsub_proxy.start()
        for server in (self.api, self.replay):
            server.spawn()
        for server in (self.api, self.replay):
            server.wait_ready(60)
        return self

    def _boot(self, emulator: Emulator) -> None:
        with contextlib.suppress(RuntimeError):
            emulator.start()
            self._started.append(emulator)

    def stop(self) -> None:
        """Stop everything this stack started (each by its own process group)."""
        for server in (self.api, self.replay):
            with contextlib.suppress(Exception):
                server.stop()
        self.drainer.stop()
        for proxy in (self.firestore_proxy, self.pubsub_proxy):
            proxy.stop()
        for emulator in (self.firestore, self.pubsub):
            emulator.stop()

    def pubsub_outage(self, seconds: float) -> None:
        """Pub/Sub unreachable, then stopped and restarted empty; nothing it accepted is lost.

        The proxy refuses first, so no function can publish; the subscription is drained
        until quiet; only then is the emulator stopped. After the restart the topic and
        the subscription are created before the proxy lets functions through again.
        """
        with self._fault_lock:
            window = self.faults.open("pubsub", "refused, drained, emulator stopped and restarted")
            self.pubsub_proxy.set_mode("refuse")
            self.drainer.drain()
            self.drainer.pause()
            self.pubsub.stop()
            time.sleep(max(0.0, seconds - (time.time() - window.start) - 4.0))
            self.pubsub.start()
            create_topic(PROJECT, TOPIC, subscriptions=(SUBSCRIPTION,))
            self.drainer.resume(new_epoch=True)
            self.pubsub_proxy.set_mode("up")
            window.end = time.time()

    def firestore_window(self, seconds: float) -> None:
        """Firestore unreachable for `seconds` without losing its data: blackholed, then refused."""
        with self._fault_lock:
            window = self.faults.open("firestore", "blackholed, then refused; emulator kept running")
            self.firestore_proxy.set_mode("blackhole")
            time.sleep(seconds / 2)
            self.firestore_proxy.set_mode("refuse")
            time.sleep(seconds / 2)
            self.firestore_proxy.set_mode("up")
            window.end = time.time()

    def kill(self, server: FunctionServer, busy: Callable[[], bool], wait_busy: float = 3.0) -> float:
        """SIGKILL a function process group mid-request (once `busy()`), restart it on its port; restart seconds."""
        deadline = time.monotonic() + wait_busy
        while not busy() and time.monotonic() < deadline:
            time.sleep(0.01)
        window = self.faults.open(f"kill {server.target}", "SIGKILL to the process group")
        process = server.process
        if process is None:
            raise RuntimeError(f"{server.target} is not running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        server.process = None
        server.spawn()
        server.wait_ready(60)
        window.end = time.time()
        return window.end - window.start
