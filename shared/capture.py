"""Capture liked tweets: store each once per user, publish it, never lose it.

One request captures one tweet (`capture_tweet`) or up to a hundred
(`capture_tweets`); both take the same steps, chosen so that a process dying
between any two of them leaves every stored tweet recoverable by the queue replay:

1. One atomic batch creates each tweet document and its queue item (both keyed by
   `{userId}_{tweetId}`). `create` fails if the tweet exists: that is the dedup, with
   no read before it and no transaction. When the batch fails on an existing tweet,
   one batched read names the tweets already captured and the rest are created
   again (a concurrent capture can only shrink the set, so this ends). The queue
   items are due only after a short lease, so the replay leaves in-flight captures alone.
2. Publish every stored tweet to Pub/Sub, together bounded by PUBLISH_TIMEOUT_SECONDS.
3. One batch settles them: each published tweet gets its message id and loses its
   queue item; each failed one has its queue item made due at once. If this last
   step is lost, the items simply come due after their lease and are replayed
   (same dedupKey).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.logs import log
from shared.publish import Publisher, PublishFailed, build_message
from shared.store import QUEUE, TWEETS, bounded, dedup_key

IN_FLIGHT_LEASE = timedelta(minutes=2)
# A commit holds at most 500 writes; a batch of 100 tweets writes 200.
MAX_BATCH_ITEMS = 100


@dataclass(frozen=True)
class CaptureResult:
    """How a capture ended: published, queued or duplicate."""

    status: str
    tweet_id: str
    message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The response body, as the spec words it."""
        if self.status == "published":
            return {"status": "published", "tweetId": self.tweet_id, "messageId": self.message_id}
        if self.status == "queued":
            return {
                "status": "queued",
                "tweetId": self.tweet_id,
                "message": "Queued for retry - will publish when service recovers",
            }
        return {"status": "duplicate", "tweetId": self.tweet_id, "message": "Tweet already captured"}


def _tweet_document(user_id: str, tweet: dict[str, Any]) -> dict[str, Any]:
    from google.cloud import firestore

    return {
        "userId": user_id,
        "tweetId": tweet["tweetId"],
        "pubsubMessageId": None,
        "rawData": tweet,
        "publishedAt": None,
        "createdAt": firestore.SERVER_TIMESTAMP,
    }


def _queue_item(user_id: str, tweet: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "userId": user_id,
        "tweetId": tweet["tweetId"],
        "tweetData": tweet,
        "captureDate": now.date().isoformat(),
        "status": "pending",
        "attempts": 0,
        "nextAttemptAt": now + IN_FLIGHT_LEASE,
        "lastAttemptAt": None,
        "errorMessage": None,
        "createdAt": now,
        "updatedAt": now,
    }


def _create_all(db: Any, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime) -> None:
    """Create every tweet and its queue item in one atomic commit; Conflict if any tweet exists."""
    batch = db.batch()
    for tweet in tweets:
        key = dedup_key(user_id, tweet["tweetId"])
        batch.create(db.collection(TWEETS).document(key), _tweet_document(user_id, tweet))
        batch.create(db.collection(QUEUE).document(key), _queue_item(user_id, tweet, now))
    batch.commit(**bounded())


def _already_captured(db: Any, user_id: str, tweets: Sequence[dict[str, Any]]) -> set[str]:
    """The tweet ids among `tweets` that this user has captured (one batched read)."""
    refs = [db.collection(TWEETS).document(dedup_key(user_id, t["tweetId"])) for t in tweets]
    return {snapshot.get("tweetId") for snapshot in db.get_all(refs, **bounded()) if snapshot.exists}


def store_captures(db: Any, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Step 1 for distinct tweets: create the new ones with their queue items; the tweets created, in order."""
    from google.api_core.exceptions import Conflict

    pending = list(tweets)
    while pending:
        try:
            _create_all(db, user_id, pending, now)
        except Conflict:
            if len(pending) == 1:
                return []
            existing = _already_captured(db, user_id, pending)
            if not existing:  # the conflicting queue item outlived its tweet: settle one by one
                return [t for t in pending if store_captures(db, user_id, [t], now)]
            pending = [t for t in pending if t["tweetId"] not in existing]
            continue
        return pending
    return []


def store_capture(db: Any, user_id: str, tweet: dict[str, Any], now: datetime) -> bool:
    """Step 1 for one tweet: create it and its queue item atomically; False if already captured."""
    return bool(store_captures(db, user_id, [tweet], now))


def mark_published(db: Any, key: str, message_id: str) -> None:
    """Step 3a: record the message id on the tweet and drop its queue item, in one batch."""
    batch = db.batch()
    _settle_published(db, batch, key, message_id)
    batch.commit(**bounded())


def _settle_published(db: Any, batch: Any, key: str, message_id: str) -> None:
    from google.cloud import firestore

    batch.update(
        db.collection(TWEETS).document(key),
        {"pubsubMessageId": message_id, "publishedAt": firestore.SERVER_TIMESTAMP},
    )
    batch.delete(db.collection(QUEUE).document(key))


def _settle(db: Any, outcomes: Sequence[tuple[str, str | PublishFailed]], now: datetime) -> None:
    """Step 3 in one commit: published tweets get their message id, failed ones' queue items are due now."""
    batch = db.batch()
    for key, outcome in outcomes:
        if isinstance(outcome, PublishFailed):
            update = {"nextAttemptAt": now, "errorMessage": str(outcome), "updatedAt": now}
            batch.update(db.collection(QUEUE).document(key), update)
        else:
            _settle_published(db, batch, key, outcome)
    batch.commit(**bounded())


def capture_tweets(
    db: Any, publisher: Publisher, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime
) -> dict[str, CaptureResult]:
    """Store, publish and settle distinct tweets (see the module docstring); each tweet id's result."""
    stored = store_captures(db, user_id, tweets, now)
    results = {t["tweetId"]: CaptureResult("duplicate", t["tweetId"]) for t in tweets}
    if not stored:
        return results
    capture_date = now.date().isoformat()
    published = publisher.publish_all([build_message(user_id, tweet, capture_date) for tweet in stored])
    outcomes = [(dedup_key(user_id, t["tweetId"]), outcome) for t, outcome in zip(stored, published, strict=True)]
    for tweet, (key, outcome) in zip(stored, outcomes, strict=True):
        if isinstance(outcome, PublishFailed):
            log("WARNING", "publish failed; capture queued", dedupKey=key, error=str(outcome))
            results[tweet["tweetId"]] = CaptureResult("queued", tweet["tweetId"])
        else:
            results[tweet["tweetId"]] = CaptureResult("published", tweet["tweetId"], outcome)
    try:
        _settle(db, outcomes, now)
    except Exception as late:  # noqa: BLE001 - the items still come due after their lease (same dedupKey)
        log("ERROR", "could not settle captures; the replay sends them", count=len(outcomes), error=type(late).__name__)
    return results


def capture_tweet(db: Any, publisher: Publisher, user_id: str, tweet: dict[str, Any], now: datetime) -> CaptureResult:
    """Store, publish and settle one capture."""
    return capture_tweets(db, publisher, user_id, [tweet], now)[tweet["tweetId"]]
