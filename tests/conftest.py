"""Fixtures for every test: an isolated environment, emulators started once per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.emulators import Emulator, start_pair
from shared import clients, config

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "demo-tweet-capture"
TOPIC = "tweet-likes-raw"
JWT_KEY = "test-key-" + "k" * 40
CONFIG_VARS = [
    "GCP_PROJECT_ID",
    "GOOGLE_CLOUD_PROJECT",
    "JWT_SECRET_KEY",
    "PUBSUB_TOPIC",
    "FIRESTORE_DATABASE",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "REFRESH_TOKEN_EXPIRE_DAYS",
    "RATE_LIMIT_PER_MINUTE",
    "LOG_LEVEL",
    "ALLOWED_ORIGINS",
    "ALLOWED_EMAILS",
    "BCRYPT_ROUNDS",
    "PUBLISH_TIMEOUT_SECONDS",
    "MAX_RETRY_ATTEMPTS",
    "REFRESH_TOKEN_ROTATION",
    "REFRESH_TOKEN_GRACE_SECONDS",
    "TRUSTED_PROXY_HOPS",
    "FUNCTION_TARGET",
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "K_SERVICE",
]


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


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the same known configuration and fresh settings."""
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GCP_PROJECT_ID", PROJECT)
    monkeypatch.setenv("JWT_SECRET_KEY", JWT_KEY)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("FUNCTION_TARGET", "")
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


@pytest.fixture(scope="session", name="emulators")
def _emulators() -> Iterator[Emulators]:
    """Firestore and Pub/Sub emulators shared by the whole session."""
    running = start_emulators()
    yield running
    running.firestore.stop()
    running.pubsub.stop()


@pytest.fixture(name="uid")
def _uid() -> str:
    """A short unique token for names, so tests never collide and nothing needs wiping."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(name="backends")
def _backends(emulators: Emulators, monkeypatch: pytest.MonkeyPatch, uid: str) -> Emulators:
    """Point this test at the session emulators, with a Firestore database of its own.

    The emulator serves any number of named databases, so every test starts from
    an empty one and nothing needs wiping between tests.
    """
    for name, value in emulators.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FIRESTORE_DATABASE", f"test-{uid}")
    config.get_settings.cache_clear()
    clients.reset()
    return emulators


@pytest.fixture(name="db")
def _db(backends: Emulators):
    """The instance's Firestore client, on the session emulator."""
    return clients.firestore_client()
