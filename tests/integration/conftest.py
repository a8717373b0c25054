"""Every test here runs against the session's Firestore and Pub/Sub emulators."""

import pytest


@pytest.fixture(autouse=True)
def _on_emulators(backends):
    """Use the session emulators."""
    return backends
