"""Twenty identical captures at once through one functions-framework process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.support import STRONG_PASSWORD, new_email, pull, subscribe, tweet_body


def test_twenty_identical_captures_publish_once(serve: Any, uid: str) -> None:
    """Exactly one `published`, nineteen `duplicate`, one message on the topic."""
    register, capture = serve("register"), serve("capture")
    user = requests.post(register.url, json={"email": new_email(), "password": STRONG_PASSWORD}, timeout=30).json()
    subscription = subscribe(f"twenty-{uid}")
    body = tweet_body()
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda _: requests.post(capture.url, json=body, headers=headers, timeout=30), range(20))
        )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 19 + ["published"]
    messages = pull(subscription, expect=1, settle=2.0)
    assert [m.attributes["dedupKey"] for m in messages] == [f"{user['userId']}_{body['tweetId']}"]


def test_concurrent_batches_and_single_captures_publish_each_tweet_once(serve: Any, uid: str) -> None:
    """Two identical batches of 50 new tweets and single captures of ten of them, all at once: one message each."""
    register, capture, batch = serve("register"), serve("capture"), serve("capture_batch")
    user = requests.post(register.url, json={"email": new_email(), "password": STRONG_PASSWORD}, timeout=30).json()
    subscription = subscribe(f"batches-{uid}")
    tweets = [tweet_body() for _ in range(50)]
    headers = {"Authorization": f"Bearer {user['accessToken']}"}
    calls = [(batch.url, {"tweets": tweets})] * 2 + [(capture.url, tweet) for tweet in tweets[::5]]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        responses = list(
            pool.map(lambda call: requests.post(call[0], json=call[1], headers=headers, timeout=60), calls)
        )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    statuses: dict[str, list[str]] = {t["tweetId"]: [] for t in tweets}
    for response in responses:
        body = response.json()
        for result in body.get("results", [body]):
            statuses[result["tweetId"]].append(result["status"])
    for tweet_id, seen in statuses.items():
        assert sorted(seen)[-1] in {"published", "queued"} and seen.count("published") + seen.count("queued") == 1, (
            tweet_id,
            seen,
        )
        assert set(seen) - {"published", "queued"} <= {"duplicate"}
    messages = pull(subscription, expect=50, settle=2.0)
    assert sorted(m.attributes["dedupKey"] for m in messages) == sorted(f"{user['userId']}_{t}" for t in statuses)
