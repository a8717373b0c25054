"""The retry_queue entry point, driven by CloudEvents the way functions-framework's own tests build them."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from devtools.emulators import free_port
from shared import clients
from shared.db import QUEUE, TWEETS, dedup_key
from shared.tweets.capture import IN_FLIGHT_LEASE, store_captures
from tests.support import PROJECT, decode, function_client, pull, subscribe, tweet_body


def _tick() -> CloudEvent:
    """Cloud Scheduler's tick as Eventarc delivers it: a Pub/Sub messagePublished event (payload ignored)."""
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/tweet-capture-retry-tick",
            "specversion": "1.0",
        },
        {
            "message": {"data": base64.b64encode(b"tick").decode(), "messageId": uuid.uuid4().hex},
            "subscription": f"projects/{PROJECT}/subscriptions/eventarc-tick",
        },
    )


def _deliver(mode: str) -> Any:
    headers, data = (to_binary if mode == "binary" else to_structured)(_tick())
    return function_client("retry_queue").post("/", headers=headers, data=data)


def _queued(db: Any, user_id: str, count: int) -> list[str]:
    """Captures stored long enough ago that their in-flight lease is over: due for the replay."""
    created = datetime.now(UTC) - IN_FLIGHT_LEASE - timedelta(seconds=5)
    keys = []
    for _ in range(count):
        tweet = tweet_body()
        assert store_captures(db, user_id, [tweet], created)
        keys.append(dedup_key(user_id, tweet["tweetId"]))
    return keys


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_a_tick_publishes_the_due_items_and_settles_them(db: Any, uid: str, mode: str) -> None:
    """A tick in either CloudEvent mode publishes every due item once, records its message id and empties the queue."""
    subscription = subscribe(f"tick-{uid}")
    keys = _queued(db, f"u-{uid}", 3)
    response = _deliver(mode)
    assert response.status_code == 200, response.get_data(as_text=True)
    messages = pull(subscription, expect=3)
    assert sorted(m.attributes["dedupKey"] for m in messages) == sorted(keys)
    for message in messages:
        key = message.attributes["dedupKey"]
        assert decode(message)["data"]["tweetId"] == key.split("_", 1)[1]
        assert db.collection(TWEETS).document(key).get().get("pubsubMessageId") == message.message_id
        assert not db.collection(QUEUE).document(key).get().exists


def test_an_empty_queue_is_a_quiet_success(db: Any) -> None:
    """Nothing due: the tick is acknowledged (200) and nothing is published."""
    assert _deliver("binary").status_code == 200


def test_an_unreachable_database_fails_the_tick(db: Any, setenv: Any) -> None:
    """Firestore down: the function raises, so the tick is answered 500 (the next tick tries again)."""
    setenv(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    clients.reset()
    try:
        assert _deliver("binary").status_code == 500
    finally:
        clients.reset()


def test_a_request_that_is_not_a_cloudevent_is_refused(db: Any) -> None:
    """A plain POST without CloudEvent headers is a 400 from functions-framework, and replays nothing."""
    assert function_client("retry_queue").post("/", json={"hello": "world"}).status_code == 400
