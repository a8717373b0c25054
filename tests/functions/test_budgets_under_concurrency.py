"""Budgets under parallel requests: together they never get past a limit."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from shared import counters
from shared.counters import DAY_SECONDS
from tests.support import function_client, register, tweet_body


def _day_count(db: Any, prefix: str, user_id: str) -> int:
    window = counters.window(prefix, user_id, datetime.now(UTC), DAY_SECONDS)
    return counters.count_of(counters.counter(db, window).get())


def test_parallel_lookups_never_read_past_the_budget(setenv: Any, db: Any) -> None:
    """1,000 reads a day and 8 lookups of 500 ids at once: two are answered, six are 429, 1,000 reads counted."""
    setenv(DAILY_READ_LIMIT="1000")
    user = register()
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    ids = [tweet_body()["tweetId"] for _ in range(500)]
    client = function_client("lookup")

    def lookup(_: int) -> int:
        return client.post("/", json={"tweetIds": ids}, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(lookup, range(8)))
    assert statuses == {200: 2, 429: 6}
    assert _day_count(db, "read-day", user["userId"]) == 1000


def test_parallel_republishes_never_send_past_the_capture_budget(setenv: Any, db: Any) -> None:
    """30 captures a day, 20 of them spent: 6 republishes of 5 ids at once send 10 captures again, no more."""
    setenv(DAILY_CAPTURE_LIMIT="30")
    user = register()
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    tweets = [tweet_body() for _ in range(20)]
    assert function_client("capture_batch").post("/", json={"tweets": tweets}, headers=headers).status_code == 200
    client = function_client("republish")

    def republish(start: int) -> int:
        body = {"tweetIds": [t["tweetId"] for t in tweets[start : start + 5]]}
        return client.post("/", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = Counter(pool.map(republish, [0, 5, 10, 15, 0, 5]))
    assert statuses == {200: 2, 429: 4}
    assert _day_count(db, "capture-day", user["userId"]) == 30
