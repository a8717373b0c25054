"""Capture liked tweets: store each once per user, publish it, never lose it.

One request captures one tweet (`capture_tweet`) or up to a hundred
(`capture_tweets`); both take the same steps through the outbox (`shared.tweets.outbox`),
chosen so that a process dying between any two of them leaves every stored tweet
recoverable by the queue replay:

1. One atomic commit creates each tweet document and its queue item (both keyed by
   `{userId}_{tweetId}`). `create` fails if the tweet exists: that is the dedup, with
   no read before it and no transaction. When the commit fails on an existing tweet,
   one batched read tells the tweets already captured (`duplicate`) from those the
   user had unliked, which are liked again: their documents are updated, conditioned
   on the version just read, with a new queue item for the new `liked` event. Then
   the rest is committed again (a concurrent capture or unlike can only change what
   the next read shows, so this ends). Queue items are due only after a short lease,
   so the replay leaves in-flight captures alone.
2. Publish every stored tweet's event to Pub/Sub, together bounded by PUBLISH_TIMEOUT_SECONDS.
3. One commit settles them: each published event is recorded on its tweet and loses
   its queue item; each failed one has its queue item made due at once. If this last
   step is lost, the items simply come due after their lease and are replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import errors
from shared.db import MAX_CONFLICT_ROUNDS, QUEUE, TWEETS, bounded, dedup_key
from shared.tweets.outbox import IN_FLIGHT_LEASE, Event, deliver, like_event
from shared.tweets.publish import Publisher, PublishFailed

__all__ = ["IN_FLIGHT_LEASE", "CaptureResult", "capture_tweet", "capture_tweets", "store_captures"]


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


def _tweet_document(user_id: str, tweet: dict[str, Any], order: int) -> dict[str, Any]:
    """A new capture document.

    `createdAt` is the commit's time, the same for a whole batch; `captureOrder` keeps the
    batch's request order among them (the listing sorts by both).
    """
    from google.cloud import firestore

    return {
        "userId": user_id,
        "tweetId": tweet["tweetId"],
        "pubsubMessageId": None,
        "rawData": tweet,
        "publishedAt": None,
        "createdAt": firestore.SERVER_TIMESTAMP,
        "captureOrder": order,
        "likeSeq": 0,
        "unlikedAt": None,
        "deliveries": {},
        "failedSeq": None,
    }


def _relike(tweet: dict[str, Any], sequence: int, stored: dict[str, Any]) -> dict[str, Any]:
    """The update that likes an unliked capture again (its capture time stays the first one's).

    `rawData` becomes the new body. The first like's queue item does not copy its
    tweet (the replay reads `rawData`), so while that like is not recorded as
    delivered, its body is kept as `firstLikeData` for the replay: every copy of an
    event carries the same data. `stored` is the tweet document as read.
    """
    update = {
        "rawData": tweet,
        "likeSeq": sequence,
        "unlikedAt": None,
        "pubsubMessageId": None,
        "publishedAt": None,
        "failedSeq": None,
    }
    first_pending = "0" not in (stored.get("deliveries") or {})
    if first_pending and stored.get("firstLikeData") is None and stored.get("rawData") is not None:
        update["firstLikeData"] = stored["rawData"]
    return update


def _commit(db: Any, user_id: str, tweets: Sequence[dict[str, Any]], unliked: dict[str, Any], now: datetime) -> None:
    """One atomic commit: new tweets created, unliked ones (snapshots in `unliked`) liked again, each with its item."""
    batch, tweet_docs, queue = db.batch(), db.collection(TWEETS), db.collection(QUEUE)
    for order, tweet in enumerate(tweets):
        ref = tweet_docs.document(dedup_key(user_id, tweet["tweetId"]))
        snapshot = unliked.get(tweet["tweetId"])
        if snapshot is None:
            batch.create(ref, _tweet_document(user_id, tweet, order))
            event = like_event(user_id, tweet, 0, now)
        else:
            event = like_event(user_id, tweet, (snapshot.get("likeSeq") or 0) + 1, now)
            batch.update(
                ref,
                _relike(tweet, event.sequence, snapshot.to_dict()),
                option=db.write_option(last_update_time=snapshot.update_time),
            )
        batch.create(queue.document(event.item_id), event.queue_item(now))
    batch.commit(**bounded())


def _captured(db: Any, user_id: str, tweets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The snapshots of the tweets among `tweets` that this user has captured (one batched read)."""
    refs = [db.collection(TWEETS).document(dedup_key(user_id, t["tweetId"])) for t in tweets]
    return {snapshot.get("tweetId"): snapshot for snapshot in db.get_all(refs, **bounded()) if snapshot.exists}


def store_captures(db: Any, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime) -> list[Event]:
    """Step 1 for distinct tweets: the `liked` events stored (new captures and re-likes), in order."""
    from google.api_core.exceptions import Conflict, FailedPrecondition

    pending, unliked = list(tweets), {}
    for _ in range(MAX_CONFLICT_ROUNDS):
        if not pending:
            return []
        try:
            _commit(db, user_id, pending, unliked, now)
        except (Conflict, FailedPrecondition):
            captured = _captured(db, user_id, pending)
            unliked = {tid: snap for tid, snap in captured.items() if snap.get("unlikedAt") is not None}
            pending = [t for t in pending if t["tweetId"] not in captured or t["tweetId"] in unliked]
            continue
        return [like_event(user_id, t, _next_sequence(unliked.get(t["tweetId"])), now) for t in pending]
    raise errors.ServiceUnavailable("These tweets are being changed by other requests; send them again.", 1)


def _next_sequence(snapshot: Any) -> int:
    return 0 if snapshot is None else (snapshot.get("likeSeq") or 0) + 1


def capture_tweets(
    db: Any, publisher: Publisher, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime
) -> dict[str, CaptureResult]:
    """Store, publish and settle distinct tweets (see the module docstring); each tweet id's result."""
    results = {t["tweetId"]: CaptureResult("duplicate", t["tweetId"]) for t in tweets}
    stored = store_captures(db, user_id, tweets, now)
    if stored:
        for event, outcome in zip(stored, deliver(db, publisher, stored, now), strict=True):
            failed = isinstance(outcome, PublishFailed)
            results[event.tweet_id] = CaptureResult(
                "queued" if failed else "published", event.tweet_id, None if failed else outcome
            )
    return results


def capture_tweet(db: Any, publisher: Publisher, user_id: str, tweet: dict[str, Any], now: datetime) -> CaptureResult:
    """Store, publish and settle one capture."""
    return capture_tweets(db, publisher, user_id, [tweet], now)[tweet["tweetId"]]
