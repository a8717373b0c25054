"""End-to-end fixtures: entry points in real functions-framework processes on loopback."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from devtools.server import FunctionServer
from tests.support import Emulators, server_env


@pytest.fixture(name="serve")
def _serve(backends: Emulators) -> Iterator[Callable[..., FunctionServer]]:
    """Start entry points as processes on the session emulators and this test's database."""
    started: list[FunctionServer] = []
    database = os.environ["FIRESTORE_DATABASE"]

    def serve(target: str, **env: str) -> FunctionServer:
        process = FunctionServer(target, server_env(backends, FIRESTORE_DATABASE=database, **env)).start()
        started.append(process)
        return process

    yield serve
    for process in started:
        process.stop()
