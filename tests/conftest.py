"""Fixtures for every test: an isolated environment; emulators started once per session for those that ask.

tests/functions and tests/integration ask for `backends` in their own conftest.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from shared import clients, config, health
from shared.accounts import throttle
from tests.support import JWT_KEY, PROJECT, Emulators, start_emulators


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the same known configuration, and its changes to os.environ end with it.

    A snapshot restored afterwards, as functions-framework's own test suite does,
    so a test may set any variable; every configuration variable starts unset.
    """
    snapshot = os.environ.copy()
    for name in config.ENV_VARS:
        os.environ.pop(name, None)
    os.environ.update(GCP_PROJECT_ID=PROJECT, JWT_SECRET_KEY=JWT_KEY, BCRYPT_ROUNDS="4")
    config.get_settings.cache_clear()
    # What an instance keeps in memory starts afresh too: the per-address counts and the health answer.
    monkeypatch.setattr(throttle, "_window", 0)
    monkeypatch.setattr(throttle, "_counts", {})
    monkeypatch.setattr(health, "_cached", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(snapshot)
        config.get_settings.cache_clear()


@pytest.fixture(name="setenv")
def _setenv(_isolated_env: None) -> Callable[..., None]:
    """Set configuration variables for this test and reload the settings (the only way tests change them).

    After the environment is isolated, so every change ends with the test.
    """

    def setenv(**values: str) -> None:
        os.environ.update(values)
        config.get_settings.cache_clear()

    return setenv


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
def _backends(emulators: Emulators, setenv: Callable[..., None], uid: str) -> Emulators:
    """Point this test at the session emulators, with a Firestore database of its own.

    The emulator serves any number of named databases, so every test starts from
    an empty one and nothing needs wiping between tests.
    """
    setenv(**emulators.env(), FIRESTORE_DATABASE=f"test-{uid}")
    clients.reset()
    return emulators


@pytest.fixture(name="db")
def _db(backends: Emulators):
    """The instance's Firestore client, on the session emulator."""
    return clients.firestore_client()
