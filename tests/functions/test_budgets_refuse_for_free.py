"""Budgets: reads are budgeted like captures, and a request refused for its budget writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devtools import opscenarios
from devtools.opscenarios import Counting
from tests.support import function_client, register, tweet_body


@pytest.fixture(name="counting")
def _counting(setenv: Callable[..., None]) -> Counting:
    """The instance's Firestore client, replaced by one whose RPCs are counted."""
    return Counting.start(function_client, setenv)


def test_a_capture_over_its_budget_writes_nothing(setenv: Any, counting: Counting) -> None:
    """With one capture a minute, the second capture is a 429 with Retry-After that writes nothing."""
    setenv(RATE_LIMIT_PER_MINUTE="1")
    token = register()["accessToken"]
    assert opscenarios.capture(counting, token, tweet_body(), "published").status == 200
    refused = counting.post("capture", tweet_body(), 429, token)
    assert refused.status == 429
    assert (refused.writes, refused.deletes) == (0, 0)


def test_a_batch_with_no_room_left_writes_nothing(setenv: Any, counting: Counting) -> None:
    """Once the day's captures are spent, a whole batch is rate_limited and writes nothing."""
    setenv(DAILY_CAPTURE_LIMIT="3")
    token = register()["accessToken"]
    assert opscenarios.batch(counting, token, [tweet_body() for _ in range(3)]).status == 200
    refused = opscenarios.batch(counting, token, [tweet_body() for _ in range(5)])
    assert refused.body["summary"]["rate_limited"] == 5
    assert (refused.writes, refused.deletes) == (0, 0)


def test_lookups_are_budgeted_per_minute(setenv: Any, counting: Counting) -> None:
    """With 1,000 reads a minute, two lookups of 500 ids pass; the third is a 429 reading no tweet, writing nothing."""
    setenv(READ_LIMIT_PER_MINUTE="1000")
    token = register()["accessToken"]
    ids = [tweet_body()["tweetId"] for _ in range(500)]
    for _ in range(2):
        assert opscenarios.lookup(counting, token, ids).status == 200
    refused = counting.post("lookup", {"tweetIds": ids}, 429, token)
    assert refused.status == 429
    assert (refused.reads, refused.writes) == (2, 0)  # the two counters, no tweet
    again = function_client("lookup").post("/", json={"tweetIds": ids}, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60


def test_listing_pages_are_budgeted_per_day(setenv: Any, counting: Counting) -> None:
    """A page must fit what it may read (limit + 1): with 200 reads a day, two pages of 50 pass, the third is a 429."""
    setenv(DAILY_READ_LIMIT="200")
    token = register()["accessToken"]
    opscenarios.batch(counting, token, [tweet_body() for _ in range(50)])
    statuses = [opscenarios.list_page(counting, token, 100).status for _ in range(3)]
    assert statuses[:2] == [200, 200]
    assert statuses[2] == 429


def test_the_read_budget_is_per_user(setenv: Any, counting: Counting) -> None:
    """One user's spent read budget does not refuse another user's lookup."""
    setenv(READ_LIMIT_PER_MINUTE="500")
    first, second = register()["accessToken"], register()["accessToken"]
    ids = [tweet_body()["tweetId"] for _ in range(500)]
    assert opscenarios.lookup(counting, first, ids).status == 200
    assert counting.post("lookup", {"tweetIds": ids}, 429, first).status == 429
    assert opscenarios.lookup(counting, second, ids).status == 200


def test_a_republish_over_the_capture_budget_writes_nothing(setenv: Any, counting: Counting) -> None:
    """Five batch captures a minute, three spent: a republish of those three ids is a 429 that reads only counters."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="5")
    token = register()["accessToken"]
    tweets = [tweet_body() for _ in range(3)]
    assert opscenarios.batch(counting, token, tweets).status == 200
    refused = counting.post("republish", {"tweetIds": [t["tweetId"] for t in tweets]}, 429, token)
    assert refused.status == 429
    assert (refused.reads, refused.writes, refused.deletes) == (4, 0, 0)  # the two budgets' counters


def test_a_republish_by_date_with_no_capture_room_reads_no_capture(setenv: Any, counting: Counting) -> None:
    """With the minute's batch captures spent, a republish by `since` is a 429 before it reads a capture."""
    setenv(BATCH_RATE_LIMIT_PER_MINUTE="3")
    token = register()["accessToken"]
    assert opscenarios.batch(counting, token, [tweet_body() for _ in range(3)]).status == 200
    refused = counting.post("republish", {"since": "2020-01-01T00:00:00Z"}, 429, token)
    assert refused.status == 429
    assert (refused.reads, refused.writes, refused.deletes) == (4, 0, 0)
    assert refused.ops.get("rpc:RunQuery", 0) == 0


def test_a_short_page_gives_back_the_reads_it_did_not_make(setenv: Any, counting: Counting) -> None:
    """With 300 reads a day, pages of 100 over 5 captures cost what they read (at least 10): the budget lasts."""
    setenv(DAILY_READ_LIMIT="300")
    token = register()["accessToken"]
    opscenarios.batch(counting, token, [tweet_body() for _ in range(5)])
    statuses = [opscenarios.list_page(counting, token, 100).status for _ in range(5)]
    assert statuses == [200] * 5  # each reserves 101 and keeps 10
