"""What each request really costs in Firestore, counted on the wire by a real client's channel."""

from __future__ import annotations

import os
from typing import Any

import pytest

from devtools.opcount import OpCounter, counted_firestore_client
from shared import clients
from tests.support import PROJECT, STRONG_PASSWORD, function_client, new_email, register, tweet_body


@pytest.fixture(name="counter")
def _counter() -> OpCounter:
    """The instance's Firestore client, replaced by one whose RPCs are counted."""
    client, counter = counted_firestore_client(PROJECT, os.environ["FIRESTORE_DATABASE"])
    clients.FIRESTORE.install(client)
    return counter


def _counted(counter: OpCounter, call: Any) -> dict[str, int]:
    counter.reset()
    call()
    return counter.snapshot()


def test_refresh_reads_the_session_directly(counter: OpCounter) -> None:
    """Refresh is two direct document reads (session, then its user) and one write: no query."""
    user = register()
    ops = _counted(counter, lambda: function_client("refresh").post("/", json={"refreshToken": user["refreshToken"]}))
    assert ops.get("rpc:RunQuery", 0) == 0
    assert (ops["reads"], ops["writes"]) == (2, 1)


def test_a_published_capture_reads_nothing(counter: OpCounter) -> None:
    """Dedup is a create, not a read: a published capture is three commits and zero reads.

    A duplicate costs its failed create and one read, which tells it from a re-like of an unliked tweet.

    The writes: the minute and day rate-limit counters, the tweet, its queue item, its message id.
    """
    token = register()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    body = tweet_body()
    ops = _counted(counter, lambda: function_client("capture").post("/", json=body, headers=headers))
    assert ops.get("reads", 0) == 0
    assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (3, 5, 1)
    duplicate = _counted(counter, lambda: function_client("capture").post("/", json=body, headers=headers))
    assert duplicate["reads"] == 1 and duplicate["failed_commits"] == 1 and duplicate["writes"] == 2


def test_register_is_one_commit(counter: OpCounter) -> None:
    """E-mail claim, user and session are written in one atomic commit."""
    body = {"email": new_email(), "password": STRONG_PASSWORD}
    ops = _counted(counter, lambda: function_client("register").post("/", json=body))
    assert ops == {"rpc:Commit": 1, "writes": 3, "deletes": 0}


def test_a_batch_costs_the_same_round_trips_whatever_its_size(counter: OpCounter) -> None:
    """A batch of new tweets is three commits (budget, store, settle) and no read, for 10 items as for 100."""
    token = register()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    for size in (10, 100):
        body = {"tweets": [tweet_body() for _ in range(size)]}
        ops = _counted(
            counter, lambda body=body: function_client("capture_batch").post("/", json=body, headers=headers)
        )
        assert ops.get("reads", 0) == 0 and ops.get("rpc:BatchGetDocuments", 0) == 0
        assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (3, 2 + 3 * size, size)


def test_a_batch_with_earlier_captures_reads_them_once(counter: OpCounter) -> None:
    """Already captured tweets in a batch cost one batched read of the batch and one more commit, not one per item."""
    token = register()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    old = [tweet_body() for _ in range(5)]
    function_client("capture_batch").post("/", json={"tweets": old}, headers=headers)
    body = {"tweets": [*old, *(tweet_body() for _ in range(45))]}
    ops = _counted(counter, lambda: function_client("capture_batch").post("/", json=body, headers=headers))
    assert (ops["rpc:BatchGetDocuments"], ops["reads"], ops["failed_commits"]) == (1, 50, 1)
    assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (4, 2 + 3 * 45, 45)
