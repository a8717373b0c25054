"""Republish: send captures' current state to the topic again, so a downstream index can be rebuilt.

A request selects captures by id, or those created at or after `since` a page at a
time (the cursor says where the previous page ended). Before anything is read, the
selection is reserved against the user's read budget (one unit per id, or per
document the page may read) and batch capture budget (one per capture it may send),
in one step: a request they cannot take is refused without a write. What the read
shows was not needed (ids never captured, a short page) is given back.

Each selected capture's current event (its like with the stored tweet, or its
unlike) goes through the outbox like any capture: a chunk's queue items (marked
`replay`, each carrying its own body) are committed, then the chunk is published
and settled. A Pub/Sub outage leaves them queued for the replay run. The messages
carry the capture's current `event` and `sequence` and `replay: "true"`; they
change nothing on the tweet documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared import errors
from shared.config import Settings
from shared.db import QUEUE, bounded
from shared.tweets import likes
from shared.tweets.budget import batch_captures, reads, reserve
from shared.tweets.likes import Cursor, captures_page, iso
from shared.tweets.outbox import Event, deliver
from shared.tweets.publish import LIKED, SOURCE, UNLIKED, Publisher, PublishFailed

PAGE_SIZE = 500
# One commit and one Publish request per chunk: 100 captures of at most 64 KiB stay under Firestore's
# 10 MiB a commit and Pub/Sub's 10 MB a request.
PUBLISH_CHUNK = 100


@dataclass
class Republished:
    """How many captures one republish call published, and how many it left queued."""

    republished: int = 0
    queued: int = 0


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


def republish_request(
    db: Any, publisher: Publisher, user_id: str, body: dict[str, Any], settings: Settings, now: datetime
) -> dict[str, Any]:
    """The answer to a validated republish body: republished, queued, absent and nextCursor.

    429 (nothing written) when the budgets cannot take the selection; 400 for a cursor
    this view did not give the user.
    """
    key, captures, read = settings.require_jwt_secret(), batch_captures(settings), reads(settings)
    if "tweetIds" in body:
        tweet_ids = list(dict.fromkeys(body["tweetIds"]))
        held = reserve(db, user_id, {read: len(tweet_ids), captures: len(tweet_ids)}, now)
        found = likes.captured(db, user_id, tweet_ids)
        held.keep(db, {read: len(tweet_ids), captures: len(found)})
        tweets, absent, following = list(found.values()), [t for t in tweet_ids if t not in found], None
    else:
        cursor = Cursor.decode(body["cursor"], user_id, key, Cursor.REPUBLISH) if body["cursor"] else None
        since = datetime.fromisoformat(body["since"])
        held = reserve(db, user_id, {read: PAGE_SIZE + 1, captures: PAGE_SIZE}, now, fewer=True)
        if not held.held[captures]:
            raise errors.TooManyRequests(
                "The capture or read budget is spent; come back later.", held.retry_after or 60
            )
        # A page holds as many captures as the budgets had room for, up to PAGE_SIZE.
        tweets, following = captures_page(
            db, user_id, held.held[captures], cursor, since.replace(tzinfo=since.tzinfo or UTC)
        )
        held.keep(db, {read: len(tweets) + (following is not None), captures: len(tweets)})
        absent = []
    done = send_again(db, publisher, user_id, tweets, now)
    return {
        "republished": done.republished,
        "queued": done.queued,
        "absent": absent,
        "nextCursor": following.encode(user_id, key, Cursor.REPUBLISH) if following else None,
    }


def send_again(
    db: Any, publisher: Publisher, user_id: str, tweets: Sequence[dict[str, Any]], now: datetime
) -> Republished:
    """Send these captures' current events again through the outbox, PUBLISH_CHUNK at a time.

    Each chunk's queue items are committed, then the chunk is published and settled.
    After a chunk fails to publish, the rest are only written to the queue, for the
    replay run, rather than each waiting out PUBLISH_TIMEOUT_SECONDS again.
    """
    result = Republished()
    queue = db.collection(QUEUE)
    for start in range(0, len(tweets), PUBLISH_CHUNK):
        chunk = [current_event(user_id, tweet) for tweet in tweets[start : start + PUBLISH_CHUNK]]
        batch = db.batch()
        for event in chunk:
            # set, not create: a replay of the same event still waiting in the queue is simply renewed.
            batch.set(queue.document(event.item_id), event.queue_item(now))
        batch.commit(**bounded())
        if result.queued:
            result.queued += len(chunk)
            continue
        failed = sum(isinstance(outcome, PublishFailed) for outcome in deliver(db, publisher, chunk, now))
        result.republished += len(chunk) - failed
        result.queued += failed
    return result
