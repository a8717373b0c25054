"""Firestore contention answers 503 with Retry-After, not 500: real lock contention on the emulator.

A transaction that has read a document holds its lock; a write to that document
from a request then waits and fails with `Aborted` ("Transaction lock timeout",
after about 2 s on the emulator), as it does in production under contention.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import firestore

from shared import counters
from shared.db import SESSIONS
from shared.logs import get_logger
from shared.web.edge import _backend_busy
from tests.support import function_client, register, tweet_body

PROBLEM = "application/problem+json"


@contextlib.contextmanager
def locked(db: Any, refs: list[Any]) -> Iterator[None]:
    """Hold a Firestore transaction that has read `refs` (so holds their locks) until the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold(transaction: Any) -> None:
        for ref in refs:
            ref.get(transaction=transaction)
        held.set()
        release.wait(30)

    def run() -> None:
        with contextlib.suppress(Exception):  # its commit may itself lose the lock; that is not under test
            firestore.transactional(hold)(db.transaction(max_attempts=1))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(10), "the holding transaction never read its documents"
    try:
        yield
    finally:
        release.set()
        thread.join(15)


@pytest.fixture(name="service_log")
def _service_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The captured log, attached to the service logger (which does not propagate)."""
    logger = get_logger()
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def _assert_busy(response: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert int(response.headers["Retry-After"]) >= 1
    assert "busy" in response.get_json()["detail"]
    assert "backend busy: Aborted" in caplog.text


@pytest.mark.parametrize("target", ["refresh", "logout"])
def test_a_locked_session_is_a_503_with_retry_after(
    target: str, db: Any, service_log: pytest.LogCaptureFixture
) -> None:
    """Refresh and logout of a session another transaction holds answer 503 busy, and the error is logged."""
    user = register()
    session = db.collection(SESSIONS).document(user["refreshToken"].split(".")[1])
    with locked(db, [session]):
        response = function_client(target).post("/", json={"refreshToken": user["refreshToken"]})
    _assert_busy(response, service_log)
    # Once the lock is gone the same request succeeds.
    assert function_client(target).post("/", json={"refreshToken": user["refreshToken"]}).status_code in {200, 204}


def test_a_locked_rate_limit_counter_makes_capture_a_503(db: Any, service_log: pytest.LogCaptureFixture) -> None:
    """A capture whose rate-limit counter is locked answers 503 busy, never 500 and never 200."""
    user = register()
    now = datetime.now(UTC)
    windows = [
        counters.counter(db, counters.window("capture", user["userId"], moment, 60))
        for moment in (now, now + timedelta(minutes=1))  # a minute may end while the lock is held
    ]
    with locked(db, windows):
        response = function_client("capture").post(
            "/", json=tweet_body(), headers={"Authorization": f"Bearer {user['accessToken']}"}
        )
    _assert_busy(response, service_log)


@pytest.mark.parametrize(
    "exc",
    [gexc.Aborted("Transaction lock timeout."), gexc.ResourceExhausted("Quota exceeded.")],
    ids=["aborted", "resource-exhausted"],
)
def test_contention_and_quota_errors_count_as_busy(exc: Exception) -> None:
    """Aborted and ResourceExhausted (which the emulator cannot be made to raise on demand) map to 503 busy."""
    assert _backend_busy(exc)
    assert not _backend_busy(ValueError("not from Google"))
