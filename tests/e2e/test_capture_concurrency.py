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
