"""Helpers for tests that talk to the emulators and the real functions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

from devtools import server
from devtools.apps import function_client
from devtools.emulators import Emulator, free_port, start_pair
from devtools.samples import new_email, tweet_body, tweet_id
from devtools.server import ROOT
from shared import clients, errors
from shared.tweets.publish import PublishFailed, PubSubPublisher, TweetMessage, topic_path
from shared.web.endpoints import ENDPOINTS, Endpoint

__all__ = [
    "HTTP_ENDPOINTS",
    "JWT_KEY",
    "PROJECT",
    "ROOT",
    "STRONG_PASSWORD",
    "TOPIC",
    "Emulators",
    "PublishesOneByOne",
    "assert_problem",
    "decode",
    "endpoint_id",
    "function_client",
    "headless_chromium",
    "new_email",
    "pubsub_down",
    "pull",
    "register",
    "server_env",
    "start_emulators",
    "subscribe",
    "topic_publisher",
    "tweet_body",
    "tweet_id",
    "valid_body",
    "ways_in",
]

PROJECT = "demo-tweet-capture"
TOPIC = "tweet-likes-raw"
JWT_KEY = "test-key-" + "k" * 40
STRONG_PASSWORD = "Correct-Horse-9"
PROBLEM = "application/problem+json"

# Every declared HTTP endpoint: each served by its own function, and the router's own pages.
HTTP_ENDPOINTS = [e for e in ENDPOINTS if e.kind == "http" and e.methods]


def ways_in(endpoint: Endpoint) -> list[tuple[str, str]]:
    """(target, path) pairs that reach `endpoint`: its own function at "/", and the `api` router at its path."""
    own = [(endpoint.entry_point, "/")] if endpoint.entry_point else []
    return [*own, *([("api", endpoint.path)] if endpoint.path else [])]


def endpoint_id(endpoint: Endpoint) -> str:
    """A readable test id for an endpoint."""
    return endpoint.entry_point or endpoint.path or "?"


def assert_problem(response: Any, *statuses: int) -> dict[str, Any]:
    """A 4xx RFC 9457 problem (with one of `statuses`, when given); its body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM
    problem = json.loads(response.get_data())
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem["status"] == response.status_code
    kind = problem["type"].removeprefix(errors.PROBLEM_TYPES_PATH)
    assert problem["type"] == errors.problem_type(kind) and errors.PROBLEM_TYPES[kind][0] == response.status_code
    return problem


class Emulators:
    """The session's running emulators."""

    def __init__(self, firestore: Emulator, pubsub: Emulator) -> None:
        self.firestore = firestore
        self.pubsub = pubsub

    def env(self) -> dict[str, str]:
        """Environment variables that point the client libraries at these emulators."""
        return {self.firestore.env_var: self.firestore.host, self.pubsub.env_var: self.pubsub.host}


def start_emulators(project: str = PROJECT, topic: str = TOPIC) -> Emulators:
    """Start both emulators side by side and create the topic; only for a demo- project."""
    if not project.startswith("demo-"):
        raise RuntimeError("tests run only against a demo- project on the local emulators")
    return Emulators(*start_pair(project, topic))


CHROMIUM = shutil.which("chromium")
CHROMIUM_TIMEOUT_SECONDS = 30
# Chromium as this machine runs it: no sandbox (root), and none of its own connections out.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def headless_chromium(url: str, *flags: str, timeout: float = CHROMIUM_TIMEOUT_SECONDS) -> tuple[str, str, int]:
    """Open `url` in a fresh headless Chromium profile with `flags`; (stdout, stderr, exit status).

    Fails the test when Chromium does not finish in time; none of its processes outlive it.
    """
    import pytest

    assert CHROMIUM is not None, "chromium is not installed (devtools/ensure-system-packages.sh installs it)"
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"chromium did not finish within {timeout}s: {err[-2000:]}")
        finally:
            # Chromium's helpers share its process group; none may outlive the page.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return out, err, process.returncode


def server_env(emulators: Emulators, **overrides: str) -> dict[str, str]:
    """The environment of a function process in the tests: these emulators, the demo project, cheap bcrypt."""
    return server.server_env(emulators.env(), PROJECT, JWT_KEY, **{"BCRYPT_ROUNDS": "4", **overrides})


def valid_body(entry_point: str) -> dict[str, Any]:
    """A fresh body the endpoint's request schema accepts, for tests that then break one part of it."""
    refresh_token = "rt1." + "0" * 32 + ".not-a-live-token"
    bodies = {
        "register": lambda: {"email": new_email(), "password": STRONG_PASSWORD},
        "login": lambda: {"email": new_email(), "password": STRONG_PASSWORD},
        "refresh": lambda: {"refreshToken": refresh_token},
        "logout": lambda: {"refreshToken": refresh_token},
        "capture": tweet_body,
        "capture_batch": lambda: {"tweets": [tweet_body(), tweet_body()]},
        "lookup": lambda: {"tweetIds": [tweet_id(), tweet_id()]},
        "unlike": lambda: {"tweetId": tweet_id()},
        "republish": lambda: {"tweetIds": [tweet_id(), tweet_id()]},
        "queue_retry": lambda: {"tweetIds": [tweet_id(), tweet_id()]},
    }
    return bodies[entry_point]()


def register(client: FlaskClient | None = None, email: str | None = None) -> dict[str, Any]:
    """Register a fresh account through the register function; its JSON response."""
    client = client or function_client("register")
    response = client.post("/", json={"email": email or new_email(), "password": STRONG_PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


class PublishesOneByOne:
    """Base of the tests' own publishers: `publish_all` is `publish` on each message in turn."""

    def publish(self, message: TweetMessage) -> str:
        """Publish one message (subclasses decide how)."""
        raise NotImplementedError

    def publish_all(self, messages: list[TweetMessage]) -> list[str | PublishFailed]:
        """Each message's id, or the PublishFailed it met."""
        outcomes: list[str | PublishFailed] = []
        for message in messages:
            try:
                outcomes.append(self.publish(message))
            except PublishFailed as exc:
                outcomes.append(exc)
        return outcomes


def count_bcrypt_checks(monkeypatch: Any) -> list[bytes]:
    """A list that gains the hash of every bcrypt check from now on (the real check still runs)."""
    import bcrypt

    checks: list[bytes] = []
    real_checkpw = bcrypt.checkpw

    def counted_checkpw(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted_checkpw)
    return checks


@contextlib.contextmanager
def pubsub_down(setenv: Any) -> Iterator[None]:
    """Pub/Sub unreachable for this instance only: a dead loopback port and a fresh publisher client."""
    saved = {name: os.environ.get(name, "") for name in ("PUBSUB_EMULATOR_HOST", "PUBLISH_TIMEOUT_SECONDS")}
    clients.PUBLISHER.discard()
    setenv(PUBSUB_EMULATOR_HOST=f"127.0.0.1:{free_port()}", PUBLISH_TIMEOUT_SECONDS="0.5")
    try:
        yield
    finally:
        clients.PUBLISHER.discard()
        setenv(**saved)


def topic_publisher(timeout: float = 3.0) -> PubSubPublisher:
    """A publisher to the test topic on the instance's publisher client."""
    return PubSubPublisher(clients.PUBLISHER, topic_path(PROJECT, TOPIC), timeout)


def subscribe(name: str) -> str:
    """Create a pull subscription on the topic; its path."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(PROJECT, name)
    with subscriber:
        subscriber.create_subscription(name=path, topic=f"projects/{PROJECT}/topics/{TOPIC}")
    return path


def pull(subscription: str, expect: int, timeout: float = 10.0, settle: float = 1.0) -> list[Any]:
    """Pull and ack messages until `expect` arrived and `settle` more seconds brought no more."""
    from google.cloud import pubsub_v1

    received: list[Any] = []
    subscriber = pubsub_v1.SubscriberClient()
    deadline = time.monotonic() + timeout
    quiet_until = None
    with subscriber:
        while time.monotonic() < deadline:
            response = subscriber.pull(
                # The emulator still honours return_immediately: poll instead of long-polling.
                request={"subscription": subscription, "max_messages": 100, "return_immediately": True},
                timeout=5,
                retry=None,
            )
            if response.received_messages:
                received.extend(m.message for m in response.received_messages)
                subscriber.acknowledge(
                    request={"subscription": subscription, "ack_ids": [m.ack_id for m in response.received_messages]}
                )
                quiet_until = None
            elif len(received) >= expect:
                quiet_until = quiet_until or time.monotonic() + settle
                if time.monotonic() >= quiet_until:
                    break
            time.sleep(0.05)
    return received


def decode(message: Any) -> dict[str, Any]:
    """The JSON body of a Pub/Sub message."""
    return json.loads(message.data.decode("utf-8"))


# Headers that are huge, repeated or not ASCII: every endpoint still answers them.
ABUSIVE_HEADERS = [
    ("Authorization", "Bearer " + "a" * 20_000),
    ("Authorization", "Basic eDp5"),
    ("X-Forwarded-For", ", ".join(["999.999.999.999"] * 500)),
    ("X-Cloud-Trace-Context", "\xff" * 300),
    ("traceparent", "00-" + "g" * 32 + "-" + "z" * 16 + "-01"),
    ("User-Agent", "\u00e9" * 10_000),
    ("Origin", "chrome-extension://" + "a" * 5000),
]


def login_window_start() -> datetime:
    """The start of a 15-minute login window well ahead of now, so nothing else counts in it."""
    from shared.accounts import login_limits

    seconds = login_limits.LOGIN_WINDOW_SECONDS
    return datetime.fromtimestamp((int(time.time()) // seconds + 8) * seconds, tz=UTC)


def attempt_login(db: Any, email: str, password: str, address: str, now: datetime) -> tuple[int, int | None]:
    """One login at simulated time `now`, straight through shared.accounts.auth: its status and Retry-After."""
    from shared import errors
    from shared.accounts import auth
    from shared.config import get_settings

    try:
        auth.login(db, email, password, address, get_settings(), now)
    except errors.ApiError as exc:
        retry_after = exc.headers.get("Retry-After")
        return exc.status, int(retry_after) if retry_after else None
    return 200, None
