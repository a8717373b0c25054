"""Capture a liked tweet: store it once per user, publish it, never lose it.

Order of writes, chosen so that a process dying between any two steps leaves the
tweet recoverable by the queue replay:

1. One atomic batch creates the tweet document and its queue item (both keyed by
   `{userId}_{tweetId}`). `create` fails if the tweet exists: that is the dedup, with
   no read before it and no transaction. The queue item is due only after a short
   lease, so the replay leaves an in-flight capture alone.
2. Publish to Pub/Sub, bounded by PUBLISH_TIMEOUT_SECONDS.
3. On success one batch records the message id and deletes the queue item; on
   failure the queue item is made due at once. If this last step is lost, the
   item simply comes due after its lease and is replayed (same dedupKey).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.logs import log
from shared.publish import Publisher, PublishFailed, build_message
from shared.store import QUEUE, TWEETS, bounded, dedup_key

IN_FLIGHT_LEASE = timedelta(minutes=2)


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


def store_capture(db: Any, user_id: str, tweet: dict[str, Any], now: datetime) -> bool:
    """Step 1: create the tweet and its queue item atomically; False if already captured."""
    from google.api_core.exceptions import Conflict
    from google.cloud import firestore

    key = dedup_key(user_id, tweet["tweetId"])
    batch = db.batch()
    batch.create(
        db.collection(TWEETS).document(key),
        {
            "userId": user_id,
            "tweetId": tweet["tweetId"],
            "pubsubMessageId": None,
            "rawData": tweet,
            "publishedAt": None,
            "createdAt": firestore.SERVER_TIMESTAMP,
        },
    )
    batch.create(
        db.collection(QUEUE).document(key),
        {
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
        },
    )
    try:
        batch.commit(**bounded())
    except Conflict:
        return False
    return True


def mark_published(db: Any, key: str, message_id: str) -> None:
    """Step 3a: record the message id on the tweet and drop its queue item, in one batch."""
    from google.cloud import firestore

    batch = db.batch()
    batch.update(
        db.collection(TWEETS).document(key),
        {"pubsubMessageId": message_id, "publishedAt": firestore.SERVER_TIMESTAMP},
    )
    batch.delete(db.collection(QUEUE).document(key))
    batch.commit(**bounded())


def mark_due_now(db: Any, key: str, error: str, now: datetime) -> None:
    """Step 3b: the publish failed, so the queue item is due at the next replay."""
    db.collection(QUEUE).document(key).update(
        {"nextAttemptAt": now, "errorMessage": error, "updatedAt": now}, **bounded()
    )


def capture_tweet(db: Any, publisher: Publisher, user_id: str, tweet: dict[str, Any], now: datetime) -> CaptureResult:
    """Store, publish and settle one capture (see the module docstring for the order)."""
    tweet_id = tweet["tweetId"]
    if not store_capture(db, user_id, tweet, now):
        return CaptureResult("duplicate", tweet_id)
    key = dedup_key(user_id, tweet_id)
    message = build_message(user_id, tweet, now.date().isoformat())
    try:
        message_id = publisher.publish(message)
    except PublishFailed as exc:
        log("WARNING", "publish failed; capture queued", dedupKey=key, error=str(exc))
        try:
            mark_due_now(db, key, str(exc), now)
        except Exception as late:  # noqa: BLE001 - the item still comes due after its lease
            log("WARNING", "could not mark queue item due", dedupKey=key, error=type(late).__name__)
        return CaptureResult("queued", tweet_id)
    try:
        mark_published(db, key, message_id)
    except Exception as late:  # noqa: BLE001 - published; the replay will re-send (same dedupKey)
        log("ERROR", "published but could not settle; the replay will re-send", dedupKey=key, error=type(late).__name__)
    return CaptureResult("published", tweet_id, message_id)
