"""The outbox: every event bound for the topic is first a queue item, written with the change it announces.

A like (a capture or a re-like) or an unlike changes the tweet document and
creates its queue item in one atomic commit; then the event is published and
settled (the queue item deleted, the delivery recorded on the tweet). If the
publish fails the item is made due at once; if the process dies, the item comes
due after its lease. Either way `shared.tweets.replay` replays it, so an event that
reached Firestore always reaches the topic at least once, with the same dedupKey
and sequence on every copy.

Events of one tweet are numbered: the first like is sequence 0 and has the queue
item `{userId}_{tweetId}`; each unlike or re-like adds one and has the item
`{userId}_{tweetId}~{sequence}`. A replay (the owner's republish of a capture's
current event) has the item `{userId}_{tweetId}~{sequence}~replay`, carries its
own body and, once published, only loses its item: it changes nothing on the tweet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.db import QUEUE, TWEETS, bounded, dedup_key
from shared.logs import log
from shared.tweets.publish import LIKED, SOURCE, Publisher, PublishFailed, TweetMessage, build_message

IN_FLIGHT_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Event:
    """One event bound for the topic: a like (with the tweet) or an unlike, numbered per tweet."""

    user_id: str
    tweet_id: str
    event: str
    sequence: int
    data: dict[str, Any]
    source: str
    date: str
    replay: bool = False

    @property
    def key(self) -> str:
        """The capture's id: the tweet document and the message's dedupKey."""
        return dedup_key(self.user_id, self.tweet_id)

    @property
    def item_id(self) -> str:
        """The queue item's document id."""
        if self.replay:
            return f"{self.key}~{self.sequence}~replay"
        return self.key if self.sequence == 0 else f"{self.key}~{self.sequence}"

    def message(self) -> TweetMessage:
        """The message this event publishes."""
        return build_message(
            self.user_id, self.data, self.date, self.event, self.sequence, self.source, replay=self.replay
        )

    def queue_item(self, now: datetime) -> dict[str, Any]:
        """The queue item that keeps this event until it is published; due after the in-flight lease.

        A first like's item does not copy the tweet: the tweet document, written in the
        same commit, holds it (`rawData`, or `firstLikeData` once a re-like has replaced
        it), and the replay reads it from there. A re-like's item (rare) and an
        unlike's carry their own body, so no later change of the tweet alters them.
        """
        item = {
            "userId": self.user_id,
            "tweetId": self.tweet_id,
            "event": self.event,
            "sequence": self.sequence,
            "source": self.source,
            "captureDate": self.date,
            "status": "pending",
            "attempts": 0,
            "nextAttemptAt": now + IN_FLIGHT_LEASE,
            "lastAttemptAt": None,
            "errorMessage": None,
            "createdAt": now,
            "updatedAt": now,
        }
        if self.event != LIKED or self.sequence > 0 or self.replay:
            item["tweetData"] = self.data
        if self.replay:
            item["replay"] = True
        return item

    @classmethod
    def from_queue_item(cls, item: dict[str, Any], tweet: dict[str, Any] | None = None) -> Event:
        """The event a queue item holds; a first like's data is `tweet`, read from its document."""
        return cls(
            user_id=item["userId"],
            tweet_id=item["tweetId"],
            event=item["event"],
            sequence=item["sequence"],
            data=item.get("tweetData") or tweet or {"tweetId": item["tweetId"]},
            source=item["source"],
            date=item["captureDate"],
            replay=bool(item.get("replay")),
        )


def like_event(user_id: str, tweet: dict[str, Any], sequence: int, now: datetime) -> Event:
    """The `liked` event of a capture (sequence 0) or a re-like."""
    source = tweet.get("source") or SOURCE
    return Event(user_id, tweet["tweetId"], LIKED, sequence, tweet, source, now.date().isoformat())


def add_settled(db: Any, batch: Any, event: Event, message_id: str, published_at: datetime) -> None:
    """Add to `batch`: the delivery recorded on the tweet, the queue item deleted.

    `published_at` is this instance's clock once Pub/Sub has answered (a server-time
    transform would cost the commit more and say the same within milliseconds).
    """
    if not event.replay:
        delivered: dict[str, Any] = {f"deliveries.`{event.sequence}`": message_id}
        if event.event == LIKED:
            delivered.update(pubsubMessageId=message_id, publishedAt=published_at)
        batch.update(db.collection(TWEETS).document(event.key), delivered)
    batch.delete(db.collection(QUEUE).document(event.item_id))


def deliver(db: Any, publisher: Publisher, events: Sequence[Event], now: datetime) -> list[str | PublishFailed]:
    """Publish stored events together and settle them in one commit; each one's message id or failure.

    A failed event's queue item is made due at once. If the settle itself is lost,
    the items still come due after their lease and are replayed (same dedupKey).
    """
    outcomes = publisher.publish_all([event.message() for event in events])
    published_at = datetime.now(UTC)
    batch = db.batch()
    for event, outcome in zip(events, outcomes, strict=True):
        if isinstance(outcome, PublishFailed):
            log(
                "WARNING", "publish failed; event queued", dedupKey=event.key, likeEvent=event.event, error=str(outcome)
            )
            update = {"nextAttemptAt": now, "errorMessage": str(outcome), "updatedAt": now}
            batch.update(db.collection(QUEUE).document(event.item_id), update)
        else:
            add_settled(db, batch, event, outcome, published_at)
    try:
        batch.commit(**bounded())
    except Exception as late:  # noqa: BLE001 - the items still come due after their lease (same dedupKey)
        log("ERROR", "could not settle; the replay sends these", count=len(events), error=type(late).__name__)
    return outcomes
