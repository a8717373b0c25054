"""The floors the request paths are held to: their Firestore and Pub/Sub calls issued straight from this process.

Each floor is the calls a request cannot do without, made with the client
libraries' public API on this process's clients, measured round-robin with the
requests themselves so that load from elsewhere hits both alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.bench.stats import percentile, summarize
from devtools.samples import tweet_body

RATIO_TARGET = 1.2  # single capture p50 / its floor p50
BATCH_RATIO_TARGET = 1.3  # batch of 100 p50 / the raw outbox floor p50
LOOKUP_RATIO_TARGET = 1.25  # lookup of 500 ids p50 / the raw batched read p50
FLOOR_STEPS = ("ratelimit", "store", "publish", "settle")
FLOOR_HOW = (
    "shared.tweets.budget.reserve, shared.tweets.capture.store_captures, one Publish request "
    "(PubSubPublisher.publish_all), one settle commit (WriteBatch) - called in the bench process"
)
BATCH_FLOOR_HOW = (
    "one WriteBatch commit creating 100 tweets + 100 queue items, one Publish of 100 (the generated "
    "client's publish), one WriteBatch commit settling them - straight from the bench process"
)
LOOKUP_FLOOR_HOW = "Client.get_all of the same 500 documents with the lookup's field mask, one batched read"


def publish_raw(messages: list[Any], topic: str) -> list[str]:
    """Message ids of one Publish request of (data, attributes) pairs, through the generated client's public method."""
    from google.pubsub_v1 import PublisherClient as GeneratedPublisher
    from google.pubsub_v1.types import PubsubMessage

    from shared import clients

    request = [PubsubMessage(data=data, attributes=attributes) for data, attributes in messages]
    return list(GeneratedPublisher.publish(clients.PUBLISHER.get(), topic=topic, messages=request).message_ids)


def settle_raw(db: Any, events: list[Any], message_ids: list[str], now: datetime) -> None:
    """One commit recording each delivery on its tweet and deleting its queue item."""
    from shared.db import QUEUE, TWEETS

    batch = db.batch()
    for event, message_id in zip(events, message_ids, strict=True):
        delivered = {"deliveries.`0`": message_id, "pubsubMessageId": message_id, "publishedAt": now}
        batch.update(db.collection(TWEETS).document(event.key), delivered)
        batch.delete(db.collection(QUEUE).document(event.item_id))
    batch.commit()


@dataclass
class Floor:
    """The four calls of one published capture, issued directly with this process's clients."""

    db: Any
    publisher: Any
    user_id: str
    rate_limit: int

    def once(self) -> dict[str, float]:
        """Seconds of each step and of all four, for a fresh tweet."""
        from shared.tweets.budget import Budget, reserve
        from shared.tweets.capture import store_captures

        tweet = tweet_body()
        now = datetime.now(UTC)
        budget = Budget("capture", self.rate_limit, "capture-day", 10**7, "The capture limit is reached.")
        t0 = time.perf_counter()
        reserve(self.db, self.user_id, {budget: 1}, now)
        t1 = time.perf_counter()
        stored = store_captures(self.db, self.user_id, [tweet], now)
        if not stored:
            raise RuntimeError("floor: tweet already stored")
        t2 = time.perf_counter()
        (message_id,) = self.publisher.publish_all([stored[0].message()])
        t3 = time.perf_counter()
        settle_raw(self.db, stored, [message_id], datetime.now(UTC))
        t4 = time.perf_counter()
        return {"ratelimit": t1 - t0, "store": t2 - t1, "publish": t3 - t2, "settle": t4 - t3, "total": t4 - t0}


def batch_floor(db: Any, topic: str, user_id: str, size: int) -> float:
    """Seconds of the raw outbox floor of a batch of `size` new tweets (documents built before the clock starts)."""
    from shared.db import QUEUE, TWEETS
    from shared.tweets.capture import _tweet_document
    from shared.tweets.outbox import like_event

    now = datetime.now(UTC)
    tweets = [tweet_body() for _ in range(size)]
    events = [like_event(user_id, tweet, 0, now) for tweet in tweets]
    documents = [_tweet_document(user_id, tweet, order) for order, tweet in enumerate(tweets)]
    items = [event.queue_item(now) for event in events]
    messages = [(m.data, m.attributes) for m in (event.message() for event in events)]
    started = time.perf_counter()
    batch = db.batch()
    for event, document, item in zip(events, documents, items, strict=True):
        batch.create(db.collection(TWEETS).document(event.key), document)
        batch.create(db.collection(QUEUE).document(event.item_id), item)
    batch.commit()
    settle_raw(db, events, publish_raw(messages, topic), now)
    return time.perf_counter() - started


def results(floors: list[dict[str, float]], captures: list[float], in_process: list[float]) -> dict[str, Any]:
    """The floor's figures, step by step, and the ratios of the captures (HTTP, in-process) to it."""
    floor_p50 = percentile([f["total"] for f in floors], 50)
    return {
        "how": FLOOR_HOW,
        "total_ms": summarize([f["total"] for f in floors]),
        **{f"{step}_ms": summarize([f[step] for f in floors]) for step in FLOOR_STEPS},
        "overhead_ratio": round(percentile(captures, 50) / floor_p50, 2),
        "in_process_ratio": round(percentile(in_process, 50) / floor_p50, 2),
        "ratio_target": RATIO_TARGET,
    }


def verdict(value: float | None, target: float) -> str:
    """Whether a ratio is within its target."""
    return "-" if value is None else ("met" if value <= target else "NOT met")
