"""What each request really costs in Firestore, counted on the wire by a real client's channel.

The scenarios live in devtools.opscenarios, which the benchmark's table of operations also runs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devtools import opscenarios
from devtools.opscenarios import Counting
from tests.support import function_client, register, tweet_body

# reads, writes, deletes of every case the benchmark reports (the README's cost table).
DOCUMENTED = {
    "register": (0, 3, 0),
    "login (success)": (3, 5, 0),
    "login (wrong password)": (3, 4, 0),
    "refresh (rotation on)": (2, 1, 0),
    "refresh (rotation off)": (2, 1, 0),
    "logout": (1, 1, 0),
    "health": (1, 0, 0),
    "retry_queue (empty queue)": (1, 0, 0),
    "capture (published)": (2, 5, 1),
    "capture (duplicate)": (3, 2, 0),
    "capture (rate-limited)": (2, 0, 0),
    "capture (queued)": (2, 5, 0),
    "queue_status (1 item)": (3, 4, 0),
    "queue_retry (none failed)": (1, 0, 0),
    "retry_queue (one due item)": (2, 2, 1),
    "capture_batch (100 new)": (2, 302, 100),
    "capture_batch (100, 50 captured before)": (102, 152, 50),
    "republish (100 ids)": (104, 104, 100),
    "lookup (500 ids)": (502, 2, 0),
    "list_tweets (page of 100)": (103, 2, 0),
    "unlike": (1, 3, 1),
    "unlike (already unliked)": (1, 0, 0),
    "capture (re-like)": (3, 5, 1),
}


@pytest.fixture(name="counting")
def _counting(setenv: Callable[..., None]) -> Counting:
    """The instance's Firestore client, replaced by one whose RPCs are counted."""
    return Counting.start(function_client, setenv)


def test_refresh_reads_the_session_directly(counting: Counting) -> None:
    """Refresh is two direct document reads (session, then its user) and one write: no query."""
    user = register()
    ops = opscenarios.refresh(counting, user["refreshToken"]).ops
    assert ops.get("rpc:RunQuery", 0) == 0
    assert (ops["reads"], ops["writes"]) == (2, 1)


def test_a_published_capture_reads_only_its_budget(counting: Counting) -> None:
    """Dedup is a create, not a read: a published capture reads its two budget counters and makes three commits.

    The counters are read first so that a refused capture writes nothing. The writes: the minute and
    day counters, the tweet, its queue item, its message id. A duplicate costs its failed create and one
    more read, which tells it from a re-like of an unliked tweet.
    """
    token = register()["accessToken"]
    body = tweet_body()
    ops = opscenarios.capture(counting, token, body, "published").ops
    assert (ops["rpc:BatchGetDocuments"], ops["reads"]) == (1, 2)
    assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (3, 5, 1)
    duplicate = opscenarios.capture(counting, token, body, "duplicate").ops
    assert duplicate["reads"] == 3 and duplicate["failed_commits"] == 1 and duplicate["writes"] == 2


def test_register_is_one_commit(counting: Counting) -> None:
    """E-mail claim, user and session are written in one atomic commit."""
    ops = opscenarios.register(counting).ops
    assert ops == {"rpc:Commit": 1, "writes": 3, "deletes": 0}


def test_a_batch_costs_the_same_round_trips_whatever_its_size(counting: Counting) -> None:
    """A batch of new tweets is one read of its budget and three commits (budget, store, settle), 10 items or 100."""
    token = register()["accessToken"]
    for size in (10, 100):
        ops = opscenarios.batch(counting, token, [tweet_body() for _ in range(size)]).ops
        assert ops["reads"] == 2 and ops["rpc:BatchGetDocuments"] == 1
        assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (3, 2 + 3 * size, size)


def test_a_batch_with_earlier_captures_reads_them_once(counting: Counting) -> None:
    """Already captured tweets in a batch cost one batched read of the batch and one more commit, not one per item."""
    token = register()["accessToken"]
    old = [tweet_body() for _ in range(5)]
    opscenarios.batch(counting, token, old)
    ops = opscenarios.batch(counting, token, [*old, *(tweet_body() for _ in range(45))]).ops
    assert (ops["rpc:BatchGetDocuments"], ops["reads"], ops["failed_commits"]) == (2, 52, 1)  # budget, then tweets
    assert (ops["rpc:Commit"], ops["writes"], ops["deletes"]) == (4, 2 + 3 * 45, 45)


def test_reading_back_is_one_round_trip(counting: Counting) -> None:
    """A lookup of 500 ids is one batched read; a page of 100 is one query (101 documents: one tells there is more).

    Each also reads its two read-budget counters first and adds to them in one commit.
    """
    token = register()["accessToken"]
    tweets = [tweet_body() for _ in range(150)]
    opscenarios.batch(counting, token, tweets[:100])
    opscenarios.batch(counting, token, tweets[100:])
    ids = [t["tweetId"] for t in tweets] + [tweet_body()["tweetId"] for _ in range(350)]
    found = opscenarios.lookup(counting, token, ids).ops
    assert (found["rpc:BatchGetDocuments"], found["reads"], found["writes"]) == (2, 502, 2)
    page = opscenarios.list_page(counting, token, 100).ops
    assert (page["rpc:RunQuery"], page["reads"], page["writes"]) == (1, 103, 2)


def test_republish_and_the_queue_view_cost_per_capture_and_per_page(counting: Counting) -> None:
    """Republish: one read per id, one queue write and one delete per capture, plus the two budgets' counters.

    The read and capture budgets' four counters are read in one batched read and reserved in one commit. A
    page of the queue view is one query (its items, plus one read that tells there is more) and the read
    budget's; a page of fewer documents than it reserved (at least ten) gives the rest back in one more commit.
    """
    token = register()["accessToken"]
    tweets = [tweet_body() for _ in range(10)]
    opscenarios.batch(counting, token, tweets)
    ops = opscenarios.republish(counting, token, [t["tweetId"] for t in tweets]).ops
    assert (ops["rpc:BatchGetDocuments"], ops["reads"], ops["rpc:Commit"]) == (2, 2 + 2 + 10, 3)
    assert (ops["writes"], ops["deletes"]) == (2 + 2 + 10, 10)
    for _ in range(5):
        opscenarios.queued_capture(counting, token, tweet_body())
    page = opscenarios.queue_page(counting, token, 3).ops
    assert (page["rpc:RunQuery"], page["reads"], page["writes"]) == (1, 2 + 4, 2)


def test_every_case_of_the_benchmark_answers_and_costs_as_documented(counting: Counting) -> None:
    """Every request the benchmark counts answers as expected, with the reads, writes and deletes documented."""
    cases = opscenarios.every_case(counting)
    assert {name: case.status for name, case in cases.items() if not case.as_expected} == {}
    assert {name: (case.reads, case.writes, case.deletes) for name, case in cases.items()} == DOCUMENTED
