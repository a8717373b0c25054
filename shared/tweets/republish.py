"""Republish: send captures' current state to the topic again, so a downstream index can be rebuilt.

Each selected capture's current event (its like with the stored tweet, or its
unlike) goes through the outbox like any capture: its queue item (marked `replay`,
carrying its own body) is committed first, then the events are published and
settled. A Pub/Sub outage leaves them queued for the replay run. The messages carry
the capture's current `event` and `sequence` and `replay: "true"`; they change
nothing on the tweet documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.db import QUEUE, TWEETS, bounded, dedup_key
from shared.tweets.budget import CaptureBudget, enforce_capture_limit
from shared.tweets.likes import Cursor, captures_page, iso
from shared.tweets.outbox import Event, deliver
from shared.tweets.publish import LIKED, SOURCE, UNLIKED, Publisher, PublishFailed

PAGE_SIZE = 500
# One Publish request per chunk: 100 captures of at most 64 KiB stay under Pub/Sub's 10 MB a request.
PUBLISH_CHUNK = 100


@dataclass
class Republished:
    """What one republish call did, and where the next call (by `since`) goes on."""

    republished: int = 0
    queued: int = 0
    absent: list[str] = field(default_factory=list)
    next_cursor: Cursor | None = None


def current_event(user_id: str, tweet: dict[str, Any]) -> Event:
    """The replay of a capture's current state: its like (the stored tweet) or its unlike, at its sequence.

    `captureDate` is the date of the capture's first like, or of its unlike.
    """
    raw = tweet.get("rawData") or {"tweetId": tweet["tweetId"]}
    source = raw.get("source") or SOURCE
    sequence = tweet.get("likeSeq") or 0
    unliked_at = tweet.get("unlikedAt")
    if unliked_at is not None:
        data = {"tweetId": tweet["tweetId"], "unlikedAt": iso(unliked_at)}
        return Event(
            user_id, tweet["tweetId"], UNLIKED, sequence, data, source, unliked_at.date().isoformat(), replay=True
        )
    date = tweet["createdAt"].date().isoformat()
    return Event(user_id, tweet["tweetId"], LIKED, sequence, raw, source, date, replay=True)


def captures_by_id(db: Any, user_id: str, tweet_ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The user's tweet documents of these ids (one batched read), in request order, and the ids never captured."""
    distinct = list(dict.fromkeys(tweet_ids))
    refs = [db.collection(TWEETS).document(dedup_key(user_id, tweet_id)) for tweet_id in distinct]
    found = {s.id: s.to_dict() for s in db.get_all(refs, **bounded(10.0)) if s.exists}
    return [found[r.id] for r in refs if r.id in found], [
        t for t, r in zip(distinct, refs, strict=True) if r.id not in found
    ]


def captures_since(
    db: Any, user_id: str, since: datetime, cursor: Cursor | None
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to PAGE_SIZE of the user's captures created at or after `since`, oldest first, and the next cursor."""
    return captures_page(db, user_id, PAGE_SIZE, cursor, since)


def republish(
    db: Any, publisher: Publisher, user_id: str, tweets: Sequence[dict[str, Any]], budget: CaptureBudget, now: datetime
) -> Republished:
    """Send these captures' current events again through the outbox; how many were published and queued.

    They count against the capture budget, all or none (429 before anything is written).
    After a chunk fails to publish, the rest are left queued for the replay run
    rather than each waiting out PUBLISH_TIMEOUT_SECONDS again.
    """
    result = Republished()
    if not tweets:
        return result
    enforce_capture_limit(db, user_id, budget, now, len(tweets))
    events = [current_event(user_id, tweet) for tweet in tweets]
    batch, queue = db.batch(), db.collection(QUEUE)
    for event in events:
        # set, not create: a replay of the same event still waiting in the queue is simply renewed.
        batch.set(queue.document(event.item_id), event.queue_item(now))
    batch.commit(**bounded())
    for start in range(0, len(events), PUBLISH_CHUNK):
        chunk = events[start : start + PUBLISH_CHUNK]
        outcomes = deliver(db, publisher, chunk, now)
        failed = sum(isinstance(outcome, PublishFailed) for outcome in outcomes)
        result.republished += len(chunk) - failed
        result.queued += failed
        if failed:
            result.queued += len(events) - start - len(chunk)
            break
    return result
