"""Pull the topic's subscription continuously, so nothing the emulator accepted is lost to a restart."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    """One message as the soak received it; `epoch` counts emulator restarts (message ids restart)."""

    epoch: int
    message_id: str
    publish_time: float
    attributes: dict[str, str]
    data: dict[str, Any]
    received_at: float

    @property
    def order(self) -> tuple[float, int, int]:
        """Publication order: emulator publish time, then epoch and message id."""
        return (self.publish_time, self.epoch, int(self.message_id) if self.message_id.isdigit() else 0)


class Drainer:
    """A thread that pulls and acks the subscription on the emulator itself (never through the proxy)."""

    def __init__(self, project: str, subscription: str) -> None:
        self.project = project
        self.subscription = subscription
        self.messages: list[Received] = []
        self.epoch = 0
        self._seen: set[tuple[int, str]] = set()
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self._stopped = threading.Event()
        self._subscriber: Any = None
        self._thread = threading.Thread(target=self._loop, name="drainer", daemon=True)

    @property
    def path(self) -> str:
        """The subscription's resource name."""
        return f"projects/{self.project}/subscriptions/{self.subscription}"

    def start(self) -> Drainer:
        """Begin pulling."""
        self._connect()
        self._thread.start()
        return self

    def _connect(self) -> None:
        from google.cloud import pubsub_v1

        self._subscriber = pubsub_v1.SubscriberClient()

    def pull_once(self) -> int:
        """One pull and ack; how many new messages it brought."""
        response = self._subscriber.pull(
            request={"subscription": self.path, "max_messages": 500, "return_immediately": True},
            timeout=5,
            retry=None,
        )
        received = response.received_messages
        if not received:
            return 0
        fresh = 0
        now = time.time()
        with self._lock:
            for item in received:
                message = item.message
                ident = (self.epoch, message.message_id)
                if ident in self._seen:
                    continue
                self._seen.add(ident)
                fresh += 1
                self.messages.append(
                    Received(
                        epoch=self.epoch,
                        message_id=message.message_id,
                        publish_time=message.publish_time.timestamp(),
                        attributes=dict(message.attributes),
                        data=json.loads(message.data.decode("utf-8")),
                        received_at=now,
                    )
                )
        # Acked only once recorded: a message whose ack is lost comes again and is recognised by its id.
        self._subscriber.acknowledge(
            request={"subscription": self.path, "ack_ids": [m.ack_id for m in received]}, timeout=5, retry=None
        )
        return fresh

    def drain(self, quiet: float = 1.5, timeout: float = 30.0) -> int:
        """Pull until `quiet` seconds bring nothing new (the caller has stopped publishers); messages pulled."""
        self._paused.set()
        self._idle.wait(10)
        total, deadline, quiet_since = 0, time.monotonic() + timeout, time.monotonic()
        try:
            while time.monotonic() < deadline:
                got = self.pull_once()
                total += got
                if got:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= quiet:
                    return total
                time.sleep(0.05)
            raise RuntimeError(f"the subscription did not go quiet within {timeout}s")
        finally:
            self._paused.clear()

    def pause(self) -> None:
        """Stop pulling (the emulator is about to go away) and wait for the loop to notice."""
        self._paused.set()
        self._idle.wait(10)

    def resume(self, new_epoch: bool) -> None:
        """Pull again, on a fresh client; `new_epoch` after a restart (message ids start again)."""
        if new_epoch:
            self.epoch += 1
        self._connect()
        self._paused.clear()

    def stop(self) -> None:
        """End the thread."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            if self._paused.is_set():
                self._idle.set()
                time.sleep(0.05)
                continue
            self._idle.clear()
            try:
                got = self.pull_once()
            except Exception:  # noqa: BLE001 - an unreachable emulator only delays the drain
                got = 0
                time.sleep(0.2)
            if not got:
                time.sleep(0.1)
