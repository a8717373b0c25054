"""End-to-end fixtures: entry points in real functions-framework processes on loopback."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from devtools.server import FunctionServer
from shared.config import DEFAULT_ALLOWED_ORIGINS
from tests.conftest import CONFIG_VARS, JWT_KEY, PROJECT, Emulators


def server_env(emulators: Emulators, **overrides: str) -> dict[str, str]:
    """The environment of a function process in these tests, whatever the shell running them has set.

    Every configuration variable is given explicitly (blank means its default):
    the emulators, the demo project, the test signing key and cheap bcrypt, then `overrides`.
    """
    env = {name: "" for name in CONFIG_VARS if name != "FUNCTION_TARGET"}
    env.update(emulators.env())
    env.update(
        GCP_PROJECT_ID=PROJECT,
        JWT_SECRET_KEY=JWT_KEY,
        BCRYPT_ROUNDS="4",
        LOG_LEVEL="INFO",
        ALLOWED_ORIGINS=DEFAULT_ALLOWED_ORIGINS,
    )
    env.update(overrides)
    return env


@pytest.fixture(name="serve")
def _serve(backends: Emulators) -> Iterator[Callable[..., FunctionServer]]:
    """Start entry points as processes on the session emulators and this test's database."""
    started: list[FunctionServer] = []
    database = os.environ["FIRESTORE_DATABASE"]

    def serve(target: str, **env: str) -> FunctionServer:
        server = FunctionServer(target, server_env(backends, FIRESTORE_DATABASE=database, **env)).start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()
