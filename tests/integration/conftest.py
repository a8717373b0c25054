"""Every test here runs the shared code against the session emulators, with a database of its own."""

from __future__ import annotations

import pytest

from tests.support import Emulators


@pytest.fixture(autouse=True)
def _on_emulators(backends: Emulators) -> None:
    """Run this test on the session emulators."""
